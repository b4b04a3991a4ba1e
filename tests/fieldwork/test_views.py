"""Field-work pages: every page answers in scope, 404 out of it; the forms log through the
services; the installable app's manifest and service worker are served under /fieldwork/."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.utils import timezone

from safecommunity.fieldwork.models import Campaign, Patrol, PublicityEvent, StationingShift, Visit
from safecommunity.people.models import Residence, Resident
from tests.conftest import World, client_for
from tests.fieldwork.conftest import hours_ago


def _local(hours: float) -> str:
    return timezone.localtime(hours_ago(hours)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(
    "url",
    [
        "/fieldwork/",
        "/fieldwork/visits/",
        "/fieldwork/visits/new/",
        "/fieldwork/patrols/",
        "/fieldwork/patrols/new/",
        "/fieldwork/stationing/",
        "/fieldwork/stationing/new/",
        "/fieldwork/publicity/",
        "/fieldwork/publicity/new/",
        "/fieldwork/campaigns/",
    ],
)
def test_every_page_answers_for_a_grid_worker(world: World, url: str) -> None:
    response = client_for(world.users["grid"]).get(url)
    assert response.status_code == 200
    assert b"fieldwork.css" in response.content


def test_pages_need_a_login(world: World) -> None:
    from django.test import Client

    response = Client().get("/fieldwork/")
    assert response.status_code == 302


def test_a_city_analyst_reads_but_may_not_open_the_log_forms(world: World) -> None:
    client = client_for(world.users["city"])
    assert client.get("/fieldwork/").status_code == 200
    assert client.get("/fieldwork/visits/new/").status_code == 403


def test_the_visit_form_for_a_dwelling_lists_its_residents_to_move_out(
    world: World, residents: list[Resident]
) -> None:
    client = client_for(world.users["grid"])
    page = client.get(f"/fieldwork/visits/new/?dwelling={world.dwelling_a.pk}")
    assert page.status_code == 200
    assert "张伟" in page.content.decode()
    other = client.get(f"/fieldwork/visits/new/?dwelling={world.dwelling_b.pk}")
    assert other.status_code == 404


def test_posting_the_visit_form_without_javascript_saves_once(
    world: World, residents: list[Resident]
) -> None:
    client = client_for(world.users["grid"])
    form = {
        "client_uuid": str(uuid.uuid4()),
        "dwelling": world.dwelling_a.pk,
        "visited_at": _local(1),
        "outcome": "met",
        "residents_confirmed": "on",
        "moved_out": [residents[0].pk],
        "findings": "",
    }
    url = f"/fieldwork/visits/new/?dwelling={world.dwelling_a.pk}"
    first = client.post(url, form)
    again = client.post(url, form)
    visit = Visit.objects.get()
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == f"/fieldwork/visits/{visit.pk}/"
    assert not Residence.objects.filter(resident=residents[0], until__isnull=True).exists()
    detail = client.get(first["Location"])
    assert world.dwelling_a.standard_address in detail.content.decode()
    assert client_for(world.users["neighbour"]).get(first["Location"]).status_code == 404


def test_a_visit_form_for_another_beat_is_refused(world: World) -> None:
    response = client_for(world.users["grid"]).post(
        "/fieldwork/visits/new/",
        {
            "client_uuid": str(uuid.uuid4()),
            "dwelling": world.dwelling_b.pk,
            "visited_at": _local(1),
            "outcome": "met",
        },
    )
    assert response.status_code == 400
    assert "请选择您辖区内的房屋" in response.content.decode() or "jurisdiction" in (
        response.content.decode()
    )
    assert not Visit.objects.exists()


def test_the_log_forms_save_patrols_stationing_and_publicity(world: World) -> None:
    client = client_for(world.users["officer"])
    route = json.dumps({"type": "LineString", "coordinates": [[117.101, 39.101], [117.104, 39.1]]})
    patrol = client.post(
        "/fieldwork/patrols/new/",
        {"beat": world.beat_a.pk, "started_at": _local(3), "ended_at": _local(1), "route": route},
    )
    assert patrol.status_code == 302, patrol.content.decode()
    bad = client.post(
        "/fieldwork/patrols/new/",
        {"beat": world.beat_a.pk, "started_at": _local(3), "ended_at": _local(1), "route": "[]"},
    )
    assert bad.status_code == 400
    stationing = client.post(
        "/fieldwork/stationing/new/",
        {"office": world.office.pk, "started_at": _local(8), "ended_at": _local(1)},
    )
    assert stationing.status_code == 302, stationing.content.decode()
    publicity = client.post(
        "/fieldwork/publicity/new/",
        {
            "beat": world.beat_a.pk,
            "topic": "anti_fraud",
            "place": "社区广场",
            "held_at": _local(2),
            "people_reached": 40,
        },
    )
    assert publicity.status_code == 302, publicity.content.decode()
    assert Patrol.objects.count() == StationingShift.objects.count() == 1
    assert PublicityEvent.objects.count() == 1
    # Beat B is not the officer's: the form does not offer it.
    other = client.post(
        "/fieldwork/publicity/new/",
        {
            "beat": world.beat_b.pk,
            "topic": "other",
            "place": "x",
            "held_at": _local(2),
            "people_reached": 1,
        },
    )
    assert other.status_code == 400


def test_campaign_pages_show_coverage_and_the_route_sheet(world: World, campaign: Campaign) -> None:
    client = client_for(world.users["district"])
    page = client.get(f"/fieldwork/campaigns/{campaign.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "学府社区" in text or "万兴街道" in text
    deeper = client.get(f"/fieldwork/campaigns/{campaign.pk}/?at={world.community.path}")
    assert "学府一警务区" in deeper.content.decode()
    assert client.get(f"/fieldwork/campaigns/{campaign.pk}/?at=99").status_code == 404
    sheet = client.get(f"/fieldwork/campaigns/{campaign.pk}/beats/{world.beat_a.pk}/")
    assert sheet.status_code == 200
    assert world.dwelling_a.standard_address in sheet.content.decode()
    assert b"window.print()" in sheet.content
    outsider = client_for(world.users["other_district"])
    assert outsider.get(f"/fieldwork/campaigns/{campaign.pk}/").status_code == 404
    grid = client_for(world.users["grid"])
    assert grid.get(f"/fieldwork/campaigns/{campaign.pk}/beats/{world.beat_b.pk}/").status_code == (
        404
    )


def test_leaders_start_campaigns_on_the_page(world: World) -> None:
    client = client_for(world.users["district"])
    today = timezone.localdate().isoformat()
    response = client.post(
        "/fieldwork/campaigns/",
        {"name": "冬防走访", "path": world.district.path, "starts_on": today, "ends_on": today},
    )
    assert response.status_code == 302
    assert Campaign.objects.get().scope_name == "南开区"
    refused = client_for(world.users["grid"]).post(
        "/fieldwork/campaigns/",
        {"name": "x", "path": world.beat_a.path, "starts_on": today, "ends_on": today},
    )
    assert refused.status_code == 403


def test_the_app_installs_from_fieldwork(world: World) -> None:
    client = client_for(world.users["grid"])
    manifest = client.get("/fieldwork/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    data = json.loads(manifest.content)
    assert data["scope"] == "/fieldwork/"
    assert data["start_url"] == "/fieldwork/visits/new/"
    worker = client.get("/fieldwork/sw.js")
    assert worker.status_code == 200
    assert worker["Content-Type"].startswith("text/javascript")
    assert b'"/fieldwork/visits/new/"' in worker.content
    page = client.get("/fieldwork/visits/new/").content.decode()
    assert 'rel="manifest"' in page
    assert 'data-sw="/fieldwork/sw.js"' in page


# Session, user, scope, then the page's own queries: none per row.
LIST_QUERIES = {
    "/fieldwork/visits/": 5,
    "/fieldwork/patrols/": 5,
    "/fieldwork/": 14,  # eight counts for today, the lists, the campaigns
    "/api/v1/fieldwork/visits": 5,
    "/api/v1/fieldwork/patrols": 5,
}


def test_the_lists_take_the_same_queries_for_one_row_or_many(
    world: World, django_assert_max_num_queries: Any
) -> None:
    from safecommunity.fieldwork import services

    client = client_for(world.users["officer"])
    for _ in range(5):
        services.visit_record(
            actor=world.users["grid"],
            dwelling=world.dwelling_a,
            client_uuid=uuid.uuid4(),
            outcome="met",
            visited_at=hours_ago(1),
        )
        services.patrol_record(
            actor=world.users["grid"],
            beat=world.beat_a,
            route={"type": "LineString", "coordinates": [[117.1, 39.1], [117.101, 39.1]]},
            started_at=hours_ago(2),
            ended_at=hours_ago(1),
        )
    for url in (
        "/fieldwork/visits/",
        "/fieldwork/patrols/",
        "/fieldwork/",
        "/api/v1/fieldwork/visits",
        "/api/v1/fieldwork/patrols",
    ):
        with django_assert_max_num_queries(LIST_QUERIES[url]):
            assert client.get(url).status_code == 200
