"""The field-work API: the offline queue's idempotent sync, every log kind, campaigns and
coverage — each scoped, out-of-scope objects answering 404 like unknown ones."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.test import Client
from django.utils import timezone

from safecommunity.fieldwork.models import Campaign, Patrol, PublicityEvent, StationingShift, Visit
from safecommunity.people.models import Resident
from tests.conftest import World, client_for
from tests.fieldwork.conftest import hours_ago

API = "/api/v1/fieldwork"


def _post(client: Client, url: str, payload: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(payload, default=str), content_type="application/json")


def _visit(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "client_uuid": str(uuid.uuid4()),
        "dwelling_id": world.dwelling_a.pk,
        "outcome": "met",
        "visited_at": timezone.localtime(hours_ago(1)).strftime("%Y-%m-%dT%H:%M"),
        "residents_confirmed": True,
        **extra,
    }


def test_syncing_the_same_visit_twice_makes_one_record(world: World) -> None:
    client = client_for(world.users["grid"])
    payload = _visit(world, findings="一切正常")
    first = _post(client, f"{API}/visits", payload)
    second = _post(client, f"{API}/visits", payload)
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json() == second.json()
    assert Visit.objects.filter(client_uuid=payload["client_uuid"]).count() == 1
    assert Visit.objects.count() == 1


def test_a_visit_time_without_a_zone_is_local_time(world: World) -> None:
    client = client_for(world.users["grid"])
    payload = _visit(world, visited_at="2024-03-01T09:30")
    body = _post(client, f"{API}/visits", payload).json()
    assert body["visited_at"].startswith("2024-03-01T09:30:00+08:00")


def test_it_answers_404_for_a_dwelling_in_another_beat(world: World) -> None:
    client = client_for(world.users["grid"])
    response = _post(client, f"{API}/visits", _visit(world, dwelling_id=world.dwelling_b.pk))
    assert response.status_code == 404
    unknown = _post(client, f"{API}/visits", _visit(world, dwelling_id=10**9))
    assert unknown.json() == response.json()
    assert not Visit.objects.exists()


def test_it_refuses_a_city_analyst_logging(world: World) -> None:
    response = _post(client_for(world.users["city"]), f"{API}/visits", _visit(world))
    assert response.status_code == 403


def test_it_names_the_field_of_a_refused_visit(world: World) -> None:
    client = client_for(world.users["grid"])
    response = _post(
        client, f"{API}/visits", _visit(world, outcome="nobody_home", residents_confirmed=True)
    )
    assert response.status_code == 400
    assert "residents_confirmed" in response.json()["errors"]
    malformed = _post(client, f"{API}/visits", {**_visit(world), "client_uuid": "x"})
    assert malformed.status_code == 422


def test_it_moves_out_and_registers_through_the_api(
    world: World, residents: list[Resident]
) -> None:
    client = client_for(world.users["grid"])
    payload = _visit(
        world,
        moved_out=[residents[0].pk],
        new_residents=[{"name": "王芳", "gender": "female", "birth_date": "1990-05-06"}],
    )
    response = _post(client, f"{API}/visits", payload)
    assert response.status_code == 201, response.content
    changes = [c["change"] for c in response.json()["registry_changes"]]
    assert changes == ["move_out", "register", "verified"]
    wrong = _post(client, f"{API}/visits", _visit(world, moved_out=[residents[0].pk]))
    assert wrong.status_code == 400
    assert "moved_out" in wrong.json()["errors"]


def test_it_enforces_csrf_on_the_sync_endpoint(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["grid"])
    refused = _post(client, f"{API}/visits", _visit(world))
    assert refused.status_code == 403
    client.get("/fieldwork/visits/new/")
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        f"{API}/visits",
        json.dumps(_visit(world)),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 201


def test_visit_lists_are_scoped(world: World) -> None:
    _post(client_for(world.users["grid"]), f"{API}/visits", _visit(world))
    mine = client_for(world.users["officer"]).get(f"{API}/visits").json()
    theirs = client_for(world.users["neighbour"]).get(f"{API}/visits").json()
    assert mine["count"] == 1 and theirs["count"] == 0
    visit_id = mine["items"][0]["id"]
    assert client_for(world.users["neighbour"]).get(f"{API}/visits/{visit_id}").status_code == 404


def test_it_logs_patrols_stationing_and_publicity(world: World) -> None:
    client = client_for(world.users["officer"])
    start, end = hours_ago(3).isoformat(), hours_ago(1).isoformat()
    route = {"type": "LineString", "coordinates": [[117.101, 39.101], [117.105, 39.104]]}
    patrol = _post(
        client,
        f"{API}/patrols",
        {"beat_id": world.beat_a.pk, "route": route, "started_at": start, "ended_at": end},
    )
    assert patrol.status_code == 201, patrol.content
    assert patrol.json()["route"] == route
    stationing = _post(
        client,
        f"{API}/stationing",
        {"office_id": world.office.pk, "started_at": start, "ended_at": end},
    )
    assert stationing.status_code == 201, stationing.content
    publicity = _post(
        client,
        f"{API}/publicity",
        {
            "beat_id": world.beat_a.pk,
            "topic": "fire_safety",
            "place": "学府花园广场",
            "held_at": start,
            "people_reached": 80,
        },
    )
    assert publicity.status_code == 201, publicity.content
    assert (Patrol.objects.count(), StationingShift.objects.count()) == (1, 1)
    assert PublicityEvent.objects.count() == 1
    for kind in ("patrols", "stationing", "publicity"):
        assert client.get(f"{API}/{kind}").json()["count"] == 1
        assert client_for(world.users["other_district"]).get(f"{API}/{kind}").json()["count"] == 0


def test_it_refuses_bad_patrol_and_publicity_input_by_field(world: World) -> None:
    client = client_for(world.users["officer"])
    start, end = hours_ago(3).isoformat(), hours_ago(1).isoformat()
    bad_route = _post(
        client,
        f"{API}/patrols",
        {
            "beat_id": world.beat_a.pk,
            "route": {"type": "LineString", "coordinates": [[117.1, 39.1], [200, 39.1]]},
            "started_at": start,
            "ended_at": end,
        },
    )
    assert bad_route.status_code == 400
    assert "经度" in bad_route.json()["errors"]["route"][0]
    negative = _post(
        client,
        f"{API}/publicity",
        {
            "beat_id": world.beat_a.pk,
            "topic": "other",
            "place": "x",
            "held_at": start,
            "people_reached": -5,
        },
    )
    assert negative.status_code == 422
    other_beat = _post(
        client,
        f"{API}/patrols",
        {
            "beat_id": world.beat_b.pk,
            "route": bad_route.request and {},
            "started_at": start,
            "ended_at": end,
        },
    )
    assert other_beat.status_code == 404


def test_campaign_coverage_and_unvisited_through_the_api(world: World, campaign: Campaign) -> None:
    _post(client_for(world.users["grid"]), f"{API}/visits", _visit(world))
    district = client_for(world.users["district"])
    body = district.get(f"{API}/campaigns/{campaign.pk}/coverage").json()
    assert (body["target"], body["visited"]) == (2, 1)
    assert [row["path"] for row in body["rows"]] == [world.district.path, world.subdistrict.path]
    url = f"{API}/campaigns/{campaign.pk}/coverage"
    level = district.get(url, {"at": world.community.path}).json()["rows"]
    assert [row["path"] for row in level] == [
        world.community.path,
        world.beat_a.path,
        world.beat_b.path,
    ]
    assert district.get(url, {"at": world.beat_c.path}).status_code == 404
    body = district.get(url, {"all": "true"}).json()
    rows = {row["path"]: row for row in body["rows"]}
    assert rows[world.beat_a.path]["share"] == 1.0
    assert rows[world.beat_b.path]["visited"] == 0
    unvisited = district.get(f"{API}/campaigns/{campaign.pk}/beats/{world.beat_b.pk}/unvisited")
    assert [d["id"] for d in unvisited.json()] == [world.dwelling_b.pk]
    # Beat C lies in another district: not part of the campaign.
    outside = district.get(f"{API}/campaigns/{campaign.pk}/beats/{world.beat_c.pk}/unvisited")
    assert outside.status_code == 404
    # A user of the other district does not take part in this campaign at all.
    other = client_for(world.users["other_district"])
    assert other.get(f"{API}/campaigns/{campaign.pk}/coverage").status_code == 404


def test_it_starts_a_campaign_through_the_api(world: World) -> None:
    client = client_for(world.users["district"])
    today = timezone.localdate().isoformat()
    response = _post(
        client,
        f"{API}/campaigns",
        {"name": "冬季走访", "path": world.district.path, "starts_on": today, "ends_on": today},
    )
    assert response.status_code == 201
    assert response.json()["scope_name"] == "南开区"
    outside = _post(
        client,
        f"{API}/campaigns",
        {"name": "x", "path": world.other_district.path, "starts_on": today, "ends_on": today},
    )
    assert outside.status_code == 400
    assert "path" in outside.json()["errors"]
    grid = _post(
        client_for(world.users["grid"]),
        f"{API}/campaigns",
        {"name": "x", "path": world.beat_a.path, "starts_on": today, "ends_on": today},
    )
    assert grid.status_code == 403


BAD_VISITS: list[dict[str, Any]] = [
    {"dwelling_id": 0},
    {"dwelling_id": 2**63},
    {"dwelling_id": "abc"},
    {"visited_at": "0001-01-01T00:00"},
    {"visited_at": "9999-12-31T23:59"},
    {"visited_at": "0001-01-01T00:00:00+14:00"},
    {"outcome": ""},
    {"campaign_id": 2**62},
    {"moved_out": [2**62]},
    {"moved_in": [-1]},
    {"new_residents": [{"name": ""}]},
    {"new_residents": [{"name": "王五", "id_number": "123"}]},
    {"open_as": {"kind": "request", "code": "no-such-service"}},
    {"open_as": {"kind": "hazard", "attributes": {"hazard_kind": "fire"}}},
    {"findings": "x" * 6000},
]


def test_no_malformed_visit_makes_the_api_answer_5xx(world: World) -> None:
    client = client_for(world.users["grid"])
    for change in BAD_VISITS:
        response = _post(client, f"{API}/visits", {**_visit(world), **change})
        assert 400 <= response.status_code < 500, (change, response.status_code)
    assert not Visit.objects.exists()


def test_no_odd_id_makes_a_read_endpoint_answer_5xx(world: World, campaign: Campaign) -> None:
    client = client_for(world.users["grid"])
    for odd in ("0", "-1", str(2**63), "9" * 30):
        for url in (
            f"{API}/visits/{odd}",
            f"{API}/campaigns/{odd}/coverage",
            f"{API}/campaigns/{campaign.pk}/beats/{odd}/unvisited",
            f"/fieldwork/visits/{odd}/",
            f"/fieldwork/campaigns/{campaign.pk}/beats/{odd}/",
        ):
            assert client.get(url).status_code in (404, 422), url
    assert client.get(f"{API}/visits", {"limit": "0"}).status_code == 422
    assert client.get("/fieldwork/visits/new/", {"dwelling": "abc"}).status_code == 404
