"""The requests API: scoped lists and details, moves with refusals as 400, 404 out of scope."""

from __future__ import annotations

from urllib.parse import quote

from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import World
from tests.service_requests.conftest import POINT_B, en_client_for, file_in_a

API = "/api/v1/requests"


def test_it_lists_the_jurisdiction_only(world: World) -> None:
    mine = file_in_a()
    data = en_client_for(world.users["officer"]).get(f"{API}/").json()
    assert [r["service_request_id"] for r in data["items"]] == [mine.service_request_id]
    assert data["items"][0]["assigned_to_name"] == "马燕"
    assert en_client_for(world.users["neighbour"]).get(f"{API}/").json()["count"] == 0
    assert (
        en_client_for(world.users["city"]).get(f"{API}/").json()["items"][0]["assigned_to_name"]
        == "马*"
    )


def test_the_list_costs_the_same_queries_for_one_or_many(world: World) -> None:
    client = en_client_for(world.users["officer"])
    file_in_a()
    with CaptureQueriesContext(connection) as one:
        client.get(f"{API}/")
    for _ in range(4):
        file_in_a()
    with CaptureQueriesContext(connection) as many:
        client.get(f"{API}/")
    assert len(many) == len(one)


def test_detail_moves_and_refusals(world: World) -> None:
    req = file_in_a()
    client = en_client_for(world.users["officer"])
    url = f"{API}/{req.service_request_id}"
    detail = client.get(url).json()
    assert detail["contact_phone_masked"] == "138****8000"
    assert detail["events"][0]["kind"] == "submitted"
    refused = client.post(f"{url}/transition", {"to": "closed"}, content_type="application/json")
    assert refused.status_code == 400
    assert "Say why" in str(refused.json()["detail"]) or refused.json()["detail"]
    assigned = client.post(
        f"{url}/assign", {"assignee": world.officer_a.pk}, content_type="application/json"
    )
    assert assigned.status_code == 200 and assigned.json()["status"] == "assigned"
    wrong = client.post(
        f"{url}/assign", {"assignee": world.officer_b.pk}, content_type="application/json"
    )
    assert wrong.status_code == 400
    moved = client.post(
        f"{url}/transition", {"to": "in_progress", "note": "上门"}, content_type="application/json"
    )
    assert moved.json()["status"] == "in_progress"
    assert moved.json()["status_notes"] == "上门"


def test_out_of_scope_is_404(world: World) -> None:
    req = file_in_a()
    client = en_client_for(world.users["neighbour"])
    url = f"{API}/{req.service_request_id}"
    assert client.get(url).status_code == 404
    assert (
        client.post(
            f"{url}/transition", {"to": "closed", "note": "x"}, content_type="application/json"
        ).status_code
        == 404
    )


def test_staff_file_a_request(world: World) -> None:
    client = en_client_for(world.users["neighbour"])
    response = client.post(
        f"{API}/",
        {
            "service_code": "hazard",
            "description": "楼道堆放杂物",
            "lat": POINT_B[0],
            "lng": POINT_B[1],
            "attributes": {"hazard_kind": "fire"},
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["beat_id"] == world.beat_b.pk
    bad = client.post(
        f"{API}/", {"service_code": "hazard", "lat": POINT_B[0]}, content_type="application/json"
    )
    assert bad.status_code == 400


def test_anonymous_is_refused(client: object, world: World) -> None:
    from django.test import Client

    assert Client().get(f"{API}/").status_code == 401


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.dictionaries(
        st.sampled_from(["status", "service", "overdue", "mine", "limit"]), st.text(max_size=20)
    ),
    body=st.dictionaries(
        st.sampled_from(["to", "note", "assignee"]),
        st.one_of(st.text(max_size=20), st.integers(), st.none()),
    ),
    request_id=st.text(max_size=40),
)
def test_garbage_never_makes_a_500(
    world: World, query: dict[str, str], body: dict[str, object], request_id: str
) -> None:
    client = en_client_for(world.users["officer"])
    assert client.get(f"{API}/", query).status_code < 500
    real = file_in_a().service_request_id
    for target in (quote(request_id, safe="") or "x", real):
        for action in ("transition", "assign"):
            response = client.post(
                f"{API}/{target}/{action}", body, content_type="application/json"
            )
            assert response.status_code < 500


def test_nul_characters_are_refused_by_name_not_by_the_database(world: World) -> None:
    """PostgreSQL cannot store or compare a NUL character; it must never reach it."""
    client = en_client_for(world.users["officer"])
    req = file_in_a()
    url = f"{API}/{req.service_request_id}"
    response = client.post(
        f"{url}/transition", {"to": "closed", "note": "a\x00b"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "NUL" in str(response.json()["detail"])
    assert client.get(f"{API}/", {"service": "no\x00ise"}).status_code == 200
    assert client.get(f"{API}/bad%00id").status_code == 404
    response = client.post(
        f"{API}/",
        {"service_code": "other", "description": "x\x00", "lat": POINT_B[0], "lng": POINT_B[1]},
        content_type="application/json",
    )
    assert response.status_code == 400
    response = client.post(
        f"{API}/",
        {
            "service_code": "noise",
            "lat": POINT_B[0],
            "lng": POINT_B[1],
            "attributes": {"noise_source": "x\x00"},
        },
        content_type="application/json",
    )
    assert response.status_code == 400
