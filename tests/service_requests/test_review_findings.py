"""Pinned by the review of issue 4: who may re-inspect and file for residents, what the public
and users who may not see names are shown, dates and numbers that used to make 500s, and the
rows the database refuses by itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from safecommunity.service_requests.models import RequestEvent, ServiceRequest, Status
from safecommunity.service_requests.services import (
    RequestError,
    public_address,
    request_assign,
    request_reinspect,
    request_transition,
)
from tests.conftest import World
from tests.service_requests.conftest import POINT_A, en_client_for, file_in_a
from tests.service_requests.test_open311 import post, valid, xml_errors

BASE = "/open311/v2"
API = "/api/v1/requests"


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> None:
    cache.clear()


def _illegal_structure_in_progress(world: World) -> ServiceRequest:
    officer = world.users["officer"]
    req = file_in_a("illegal_structure", attributes={"structure_kind": "rooftop"})
    request_assign(request=req, actor=officer, assignee=world.officer_a)
    return request_transition(request=req, actor=officer, to=Status.IN_PROGRESS)


# --- 1. re-inspection needs a working role ---------------------------------------------------


def test_a_city_analyst_may_not_reinspect(world: World) -> None:
    req = _illegal_structure_in_progress(world)
    for result in ("rectified", "not_rectified"):
        with pytest.raises(RequestError, match="role"):
            request_reinspect(
                request=req, actor=world.users["city"], on=timezone.localdate(), result=result
            )
    req.refresh_from_db()
    assert req.status == Status.IN_PROGRESS
    done = request_reinspect(
        request=req, actor=world.users["grid"], on=timezone.localdate(), result="rectified"
    )
    assert done.status == Status.DONE


def test_the_reinspection_form_is_hidden_from_and_refused_to_an_analyst(world: World) -> None:
    req = _illegal_structure_in_progress(world)
    client = en_client_for(world.users["city"])
    page = client.get(f"/requests/{req.service_request_id}/").content.decode()
    assert "/reinspect/" not in page
    response = client.post(
        f"/requests/{req.service_request_id}/reinspect/",
        {"on": timezone.localdate().isoformat(), "result": "rectified"},
    )
    assert response.status_code == 400
    req.refresh_from_db()
    assert req.status == Status.IN_PROGRESS
    officer_page = en_client_for(world.users["officer"]).get(f"/requests/{req.service_request_id}/")
    assert "/reinspect/" in officer_page.content.decode()


# --- 2. staff intake: a working role, inside the jurisdiction ----------------------------------


def _intake(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_code": "noise",
        "description": "电话反映噪声",
        "lat": POINT_A[0],
        "lng": POINT_A[1],
        "attributes": {"noise_source": "neighbours"},
    }
    body.update(extra)
    return body


def test_a_city_analyst_may_not_file_a_request(world: World) -> None:
    response = en_client_for(world.users["city"]).post(
        f"{API}/", _intake(), content_type="application/json"
    )
    assert response.status_code == 403
    assert not ServiceRequest.objects.exists()


def test_staff_intake_refuses_a_place_outside_the_jurisdiction(world: World) -> None:
    client = en_client_for(world.users["officer"])
    for body in (
        _intake(lat=None, lng=None, address_id=world.dwelling_b.pk),
        _intake(lat=39.105, lng=117.115),
        _intake(lat=None, lng=None, address_string=world.dwelling_b.standard_address),
    ):
        response = client.post(f"{API}/", body, content_type="application/json")
        assert response.status_code == 400, body
        text = response.content.decode()
        assert "jurisdiction" in text
        for leak in (world.beat_b.name, f'"beat_id": {world.beat_b.pk}', "学府二"):
            assert leak not in text
    assert not ServiceRequest.objects.exists()
    ok = client.post(
        f"{API}/",
        _intake(lat=None, lng=None, address_id=world.dwelling_a.pk),
        content_type="application/json",
    )
    assert ok.status_code == 201
    assert ok.json()["beat_id"] == world.beat_a.pk


# --- 3. public reads: the building, not the flat ---------------------------------------------


def test_public_address_stops_at_the_building() -> None:
    assert public_address("学府花园1号楼1门101") == "学府花园1号楼"
    assert public_address("天津市南开区学府街100号学府花园3号楼2单元502室") == (
        "天津市南开区学府街100号学府花园3号楼"
    )
    assert public_address("天津市西青区杨柳青镇王庄村3排5号") == "天津市西青区杨柳青镇王庄村3排"
    assert public_address("学府街5号2门301") == "学府街5号"
    assert public_address("南开区学府街1号") == "南开区学府街1号"


def test_open311_and_the_status_page_show_no_dwelling(
    client: Client, api_key: str, world: World
) -> None:
    by_id = post(client, **valid(api_key, lat="", long="", address_id=str(world.dwelling_a.pk)))
    by_id_id = by_id.json()[0]["service_request_id"]
    stored = ServiceRequest.objects.get(service_request_id=by_id_id)
    assert stored.dwelling == world.dwelling_a
    assert "101" not in stored.address_string
    typed = post(
        client,
        **valid(api_key, lat="", long="", address_string=world.dwelling_b.standard_address),
    ).json()[0]["service_request_id"]
    point = post(client, **valid(api_key, lat="39.1051234", long="117.1059876")).json()[0][
        "service_request_id"
    ]
    listed = {r["service_request_id"]: r for r in client.get(f"{BASE}/requests.json").json()}
    assert listed[by_id_id]["address"] == "学府花园1号楼"
    assert listed[typed]["address"] == "南开小区1号楼"
    assert (listed[point]["lat"], listed[point]["long"]) == (39.105, 117.106)
    xml = client.get(f"{BASE}/requests/{typed}.xml").content.decode()
    assert "南开小区1号楼" in xml and "1门101" not in xml and "1号楼1门" not in xml
    for number in (by_id_id, typed):
        page = client.get(f"/help/requests/{number}/").content.decode()
        assert "1门101" not in page


def test_private_kinds_keep_their_status_notes_out_of_public_reads(
    client: Client, world: World
) -> None:
    officer = world.users["officer"]
    elderly = file_in_a("elderly", attributes={"need": "shopping", "living_alone": "yes"})
    request_assign(
        request=elderly, actor=officer, assignee=world.officer_a, note="王奶奶住3楼，明早上门"
    )
    noise = file_in_a()
    request_assign(request=noise, actor=officer, assignee=world.officer_a, note="已联系物业")
    [shown] = client.get(f"{BASE}/requests/{elderly.service_request_id}.json").json()
    assert shown["status_notes"] == ""
    assert "王奶奶" not in client.get(f"{BASE}/requests.xml").content.decode()
    assert (
        "王奶奶" not in client.get(f"/help/requests/{elderly.service_request_id}/").content.decode()
    )
    [public] = client.get(f"{BASE}/requests/{noise.service_request_id}.json").json()
    assert public["status_notes"] == "已联系物业"


# --- 4. no phones nor actors' names for users who may not see names --------------------------


def test_an_analyst_sees_neither_phone_nor_actor_names(world: World) -> None:
    req = file_in_a()
    request_assign(request=req, actor=world.users["officer"], assignee=world.officer_a)
    client = en_client_for(world.users["city"])
    page = client.get(f"/requests/{req.service_request_id}/").content.decode()
    assert "138****8000" not in page
    assert "· officer" not in page and "o******" in page
    data = client.get(f"{API}/{req.service_request_id}").json()
    assert data["contact_phone_masked"] == ""
    assert [e["actor"] for e in data["events"] if e["actor"]] == ["o******"]
    officer = en_client_for(world.users["officer"])
    assert "138****8000" in officer.get(f"/requests/{req.service_request_id}/").content.decode()
    mine = officer.get(f"{API}/{req.service_request_id}").json()
    assert mine["contact_phone_masked"] == "138****8000"
    assert "officer" in [e["actor"] for e in mine["events"]]


# --- 5. dates, numbers and characters that made 500s ----------------------------------------


@pytest.mark.parametrize(
    ("deadline", "words"),
    [
        ("0001-01-01", "2000"),
        ("9999-12-31T23:59:59-12:00", "2000"),
        ("2001-05-01", "past"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_refuses_a_deadline_out_of_range_or_past(
    client: Client, api_key: str, deadline: str, words: str, fmt: str
) -> None:
    data = valid(
        api_key,
        service_code="illegal_structure",
        **{"attribute[structure_kind]": "rooftop", "attribute[rectification_deadline]": deadline},
    )
    del data["attribute[noise_source]"]
    response = post(client, fmt, **data)
    assert response.status_code == 400
    if fmt == "json":
        description = response.json()[0]["description"]
    else:
        description = xml_errors(response.content)[0][1]
    assert "rectification_deadline" in description and words in description
    assert not ServiceRequest.objects.exists()


def test_the_public_form_refuses_a_deadline_out_of_range(client: Client, world: World) -> None:
    later = (timezone.localdate() + timedelta(days=30)).isoformat()
    for deadline, status in (
        ("0001-01-01", 400),
        ("9999-12-31T23:59:59-12:00", 400),
        ("2001-05-01", 400),
        (later, 302),
    ):
        response = client.post(
            "/help/",
            {
                "service": "illegal_structure",
                "a_illegal_structure_structure_kind": "rooftop",
                "a_illegal_structure_rectification_deadline": deadline,
                "description": "楼顶加盖",
                "lat": str(POINT_A[0]),
                "lng": str(POINT_A[1]),
            },
        )
        assert response.status_code == status, deadline
        if status == 400:
            assert "rectification_deadline" in response.content.decode()
    assert ServiceRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("start_date=0001-01-01", "start_date"),
        ("end_date=0001-01-01T00:00:00Z", "end_date"),
        ("start_date=9999-12-31", "start_date"),
        ("end_date=9999-12-31T23:59:59-12:00", "end_date"),
        ("limit=%C2%B2", "limit"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_refuses_dates_out_of_range_and_odd_digits(
    client: Client, db: None, query: str, words: str, fmt: str
) -> None:
    response = client.get(f"{BASE}/requests.{fmt}?{query}")
    assert response.status_code == 400
    if fmt == "json":
        [error] = response.json()
        assert error["code"] == 400
        description = error["description"]
    else:
        [(code, description)] = xml_errors(response.content)
        assert code == "400"
    assert words in description


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"lat": "", "long": "", "address_id": "²"}, "address_id"),
        ({"email": "a" * 250 + "@example.org"}, "email"),
        ({"first_name": "三\x00"}, "NUL"),
        ({"address_string": "学府\x00花园"}, "NUL"),
        ({"attribute[noise_source]": "neighbours\x00"}, "NUL"),
        ({"media_url": "https://example.org/\x00.jpg"}, "NUL"),
    ],
)
def test_open311_post_refuses_odd_digits_long_emails_and_nul(
    client: Client, api_key: str, change: dict[str, str], words: str
) -> None:
    response = post(client, **valid(api_key, **change))
    assert response.status_code == 400
    assert words in response.json()[0]["description"]
    assert not ServiceRequest.objects.exists()


def test_the_staff_api_and_the_public_form_refuse_nul(client: Client, world: World) -> None:
    staff = en_client_for(world.users["officer"])
    for body in (
        _intake(description="a\x00b"),
        _intake(attributes={"noise_source": "neighbours\x00"}),
        _intake(contact_name="张\x00三"),
    ):
        response = staff.post(f"{API}/", body, content_type="application/json")
        assert response.status_code == 400, body
    req = file_in_a()
    response = staff.post(
        f"{API}/{req.service_request_id}/transition",
        {"to": "closed", "note": "重复\x00"},
        content_type="application/json",
    )
    assert response.status_code == 400
    page = staff.post(
        f"/requests/{req.service_request_id}/transition/", {"to": "closed", "note": "重复\x00"}
    )
    assert page.status_code == 400
    form = client.post(
        "/help/",
        {
            "service": "noise",
            "a_noise_noise_source": "neighbours\x00",
            "description": "楼上噪声",
            "lat": str(POINT_A[0]),
            "lng": str(POINT_A[1]),
        },
    )
    assert form.status_code == 400
    req.refresh_from_db()
    assert req.status == Status.NEW
    assert ServiceRequest.objects.count() == 1


# --- 6. the database keeps a place whole and an event's kind known ---------------------------


def test_the_database_refuses_half_a_point_and_an_unknown_event_kind(world: World) -> None:
    req = file_in_a()
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceRequest.objects.filter(pk=req.pk).update(lng=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        RequestEvent.objects.create(request=req, at=timezone.now(), kind="teleported")
