"""Staff pages (scoped: out of jurisdiction is a 404) and the resident's public pages (no
login, CSRF on, limited per address, nothing personal shown)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safecommunity.service_requests import views_public
from safecommunity.service_requests.models import ServiceRequest, Status
from tests.conftest import World
from tests.service_requests.conftest import POINT_A, en_client_for, english, file_in_a


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> None:
    cache.clear()


# --- staff -----------------------------------------------------------------------------------


def test_the_list_shows_the_jurisdiction_only(world: World) -> None:
    mine = file_in_a()
    page = en_client_for(world.users["officer"]).get("/requests/")
    assert page.status_code == 200
    assert mine.service_request_id in page.content.decode()
    other = en_client_for(world.users["neighbour"]).get("/requests/")
    assert mine.service_request_id not in other.content.decode()
    assert (
        en_client_for(world.users["other_district"])
        .get(f"/requests/{mine.service_request_id}/")
        .status_code
        == 404
    )


def test_the_list_filters_by_status_kind_overdue_and_assignee(officer_login: World) -> None:
    world = officer_login
    noise = file_in_a()
    other = file_in_a("other", attributes={})
    ServiceRequest.objects.filter(pk=other.pk).update(status=Status.IN_PROGRESS, assigned_to=None)
    client = en_client_for(world.users["officer"])

    def listed(query: str) -> str:
        response = client.get(f"/requests/?{query}")
        assert response.status_code == 200
        return response.content.decode()

    assert other.service_request_id in listed("status=in_progress")
    assert noise.service_request_id not in listed("status=in_progress")
    assert noise.service_request_id in listed("service=noise")
    assert other.service_request_id not in listed("service=noise")
    assert noise.service_request_id in listed("mine=on")
    assert other.service_request_id not in listed("mine=on")
    ServiceRequest.objects.filter(pk=noise.pk).update(expected_datetime="2020-01-01T00:00:00Z")
    assert noise.service_request_id in listed("overdue=on")
    assert other.service_request_id not in listed("overdue=on")
    assert client.get("/requests/?status=lost").status_code == 400


def test_the_list_costs_the_same_queries_for_one_or_many(world: World) -> None:
    client = en_client_for(world.users["officer"])
    file_in_a()
    client.get("/requests/")
    with CaptureQueriesContext(connection) as one:
        client.get("/requests/")
    for _ in range(5):
        file_in_a()
    with CaptureQueriesContext(connection) as many:
        client.get("/requests/")
    assert len(many) == len(one)


def test_the_officer_works_a_request_to_closed_on_the_detail_page(officer_login: World) -> None:
    world = officer_login
    req = file_in_a()
    client = en_client_for(world.users["officer"])
    page = client.get(f"/requests/{req.service_request_id}/")
    text = page.content.decode()
    assert "138****8000" in text and "13800138000" not in text
    url = f"/requests/{req.service_request_id}"
    response = client.post(f"{url}/assign/", {"assignee": world.officer_a.pk, "note": ""})
    assert response.status_code == 302
    for to in ("in_progress", "done", "closed"):
        response = client.post(f"{url}/transition/", {"to": to, "note": f"到{to}"})
        assert response.status_code == 302, response.content.decode()
    req.refresh_from_db()
    assert req.status == Status.CLOSED
    history = client.get(f"{url}/").content.decode()
    assert "到closed" in history


def test_a_refused_move_says_why_and_changes_nothing(world: World) -> None:
    req = file_in_a()
    client = en_client_for(world.users["officer"])
    response = client.post(f"/requests/{req.service_request_id}/transition/", {"to": "done"})
    assert response.status_code == 400
    assert "cannot go from" in response.content.decode()
    response = client.post(
        f"/requests/{req.service_request_id}/assign/", {"assignee": world.officer_b.pk}
    )
    assert response.status_code == 400
    req.refresh_from_db()
    assert req.status == Status.NEW


def test_moves_out_of_scope_are_404(world: World) -> None:
    req = file_in_a()
    client = en_client_for(world.users["neighbour"])
    url = f"/requests/{req.service_request_id}"
    assert client.post(f"{url}/transition/", {"to": "closed", "note": "x"}).status_code == 404
    assert client.post(f"{url}/assign/", {"assignee": world.officer_a.pk}).status_code == 404


def test_the_reinspection_form_records_the_result(world: World) -> None:
    req = file_in_a("illegal_structure", attributes={"structure_kind": "shed"})
    ServiceRequest.objects.filter(pk=req.pk).update(status=Status.IN_PROGRESS)
    client = en_client_for(world.users["officer"])
    page = client.get(f"/requests/{req.service_request_id}/")
    assert "reinspect" in page.content.decode()
    response = client.post(
        f"/requests/{req.service_request_id}/reinspect/",
        {"on": timezone.localdate().isoformat(), "result": "rectified", "note": "复查已整改"},
    )
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == Status.DONE
    bad = client.post(f"/requests/{req.service_request_id}/reinspect/", {"on": "soon"})
    assert bad.status_code == 400


def test_staff_pages_need_a_login(client: Client, world: World) -> None:
    assert client.get("/requests/").status_code == 302


# --- public ----------------------------------------------------------------------------------


def _form(**extra: str) -> dict[str, str]:
    data = {
        "service": "noise",
        "a_noise_noise_source": "neighbours",
        "description": "楼上噪声",
        "lat": str(POINT_A[0]),
        "lng": str(POINT_A[1]),
        "name": "李四",
        "phone": "13900139000",
    }
    data.update(extra)
    return data


def test_a_resident_files_a_request_and_sees_its_status(client: Client, world: World) -> None:
    page = client.get("/help/")
    assert page.status_code == 200
    assert "csrfmiddlewaretoken" in page.content.decode()
    response = client.post("/help/", _form())
    assert response.status_code == 302
    req = ServiceRequest.objects.get()
    assert req.source == "public" and req.beat == world.beat_a
    assert response["Location"] == f"/help/requests/{req.service_request_id}/"
    status = client.get(response["Location"]).content.decode()
    assert req.service_request_id in status
    for secret in ("李四", "13900139000", "139****9000", "马燕"):
        assert secret not in status


def test_the_public_form_routes_by_address_and_says_what_is_wrong(
    client: Client, world: World
) -> None:
    response = client.post(
        "/help/", _form(lat="", lng="", address=world.dwelling_b.standard_address)
    )
    assert response.status_code == 302
    assert ServiceRequest.objects.get().beat == world.beat_b
    for data, words in [
        (_form(lat="", lng=""), "Say where"),
        (_form(lat="", lng="", address="火星路1号"), "standard address"),
        (_form(a_noise_noise_source=""), "noise_source"),
        (_form(phone="12"), "phone"),
        (_form(service="pothole"), "pothole"),
        (_form(lat="95"), "90"),
    ]:
        response = client.post("/help/", data)
        assert response.status_code == 400, data
        assert words in response.content.decode(), words


def test_the_public_form_keeps_csrf_on(world: World) -> None:
    client = english(Client(enforce_csrf_checks=True))
    assert client.post("/help/", _form()).status_code == 403
    assert not ServiceRequest.objects.exists()


def test_the_public_form_limits_submissions_per_address(client: Client, world: World) -> None:
    for _ in range(views_public.SUBMISSIONS_PER_HOUR):
        assert client.post("/help/", _form()).status_code == 302
    response = client.post("/help/", _form())
    assert response.status_code == 429
    assert ServiceRequest.objects.count() == views_public.SUBMISSIONS_PER_HOUR


def test_tracking_finds_a_request_however_it_is_typed(client: Client, world: World) -> None:
    req = file_in_a()
    typed = " " + req.service_request_id.lower()[:5] + "-" + req.service_request_id.lower()[5:]
    response = client.get("/help/track/", {"number": typed})
    assert response.status_code == 302
    assert response["Location"] == f"/help/requests/{req.service_request_id}/"
    assert client.get("/help/track/", {"number": "NOSUCHNUMBER"}).status_code == 404
    assert client.get("/help/requests/NOSUCH/").status_code == 404
    assert client.get("/help/track/").status_code == 200


def test_the_public_map_gets_beat_boundaries_without_login(client: Client, world: World) -> None:
    data = client.get("/help/map/beats.geojson").json()
    assert {f["properties"]["name"] for f in data["features"]} == {
        world.beat_a.name,
        world.beat_b.name,
        world.beat_c.name,
    }


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    form=st.dictionaries(
        st.sampled_from(
            [
                "service",
                "description",
                "lat",
                "lng",
                "address",
                "name",
                "phone",
                "a_noise_noise_source",
                "a_noise_time_of_day",
            ]
        ),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
    ),
    query=st.dictionaries(
        st.sampled_from(["status", "service", "overdue", "mine", "page", "number"]),
        st.text(max_size=20),
    ),
)
def test_garbage_never_makes_a_500(
    world: World, form: dict[str, str], query: dict[str, str]
) -> None:
    cache.clear()
    client = english(Client())
    assert client.post("/help/", form).status_code < 500
    assert client.get("/help/track/", query).status_code < 500
    staff = en_client_for(world.users["officer"])
    assert staff.get("/requests/", query).status_code < 500
