"""Filing requests: routing to a beat, attribute and contact checks, assignment and the
re-inspection of illegal structures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from safecommunity.accounts.models import AuditEntry
from safecommunity.people import identity
from safecommunity.service_requests.models import RequestEvent, Status
from safecommunity.service_requests.services import (
    RequestError,
    UnknownService,
    Unroutable,
    contact_phone,
    normalize_tracking_number,
    request_assign,
    request_reinspect,
    request_submit,
    request_transition,
)
from tests.conftest import World
from tests.service_requests.conftest import OUTSIDE, POINT_B, file_in_a


def test_it_routes_a_point_to_its_beat_and_proposes_the_responsible_officer(world: World) -> None:
    req = file_in_a()
    assert req.beat == world.beat_a
    assert req.path == world.beat_a.path
    assert req.status == Status.NEW
    assert req.assigned_to == world.officer_a
    assert req.agency_responsible == world.station.name
    assert len(req.service_request_id) == 10
    assert req.expected_datetime > req.requested_datetime
    event = RequestEvent.objects.get(request=req)
    assert event.kind == "submitted"
    assert AuditEntry.objects.filter(action="request.submit", object_id=str(req.pk)).exists()


def test_it_routes_by_standard_address_exactly_and_normalised(world: World) -> None:
    exact = request_submit(
        service_code="other", description="x", address_string=world.dwelling_b.standard_address
    )
    assert exact.beat == world.beat_b and exact.dwelling == world.dwelling_b
    spaced = request_submit(
        service_code="other", description="x", address_string="南开小区 １号楼１门101"
    )
    assert spaced.beat == world.beat_b


def test_it_routes_by_address_id_and_by_dwelling(world: World) -> None:
    by_id = request_submit(service_code="other", description="x", address_id=world.dwelling_a.pk)
    assert by_id.beat == world.beat_a
    # The dwelling is kept as a link; the address text stops at the building.
    assert by_id.dwelling == world.dwelling_a
    assert by_id.address_string == "学府花园1号楼"
    by_dwelling = request_submit(service_code="other", description="x", dwelling=world.dwelling_b)
    assert by_dwelling.beat == world.beat_b


def test_it_refuses_a_point_outside_the_city(world: World) -> None:
    with pytest.raises(Unroutable, match="outside every beat"):
        request_submit(service_code="other", description="x", lat=OUTSIDE[0], lng=OUTSIDE[1])


def test_it_refuses_an_unknown_address_and_a_missing_place(world: World) -> None:
    with pytest.raises(Unroutable, match="standard address"):
        request_submit(service_code="other", description="x", address_string="火星路1号")
    with pytest.raises(RequestError, match="Say where"):
        request_submit(service_code="other", description="x")
    with pytest.raises(RequestError, match="address_id"):
        request_submit(service_code="other", description="x", address_id=999999)
    with pytest.raises(RequestError, match="both lat and long"):
        request_submit(service_code="other", description="x", lat=39.1)


def test_it_refuses_an_unknown_service(world: World) -> None:
    with pytest.raises(UnknownService, match="pothole"):
        request_submit(service_code="pothole", description="x", lat=POINT_B[0], lng=POINT_B[1])


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({}, r"attribute\[noise_source\] is required"),
        ({"noise_source": "aliens"}, "not one of"),
        ({"noise_source": "neighbours", "colour": "red"}, "no such attribute"),
        ({"noise_source": "neighbours", "time_of_day": ["day", "never"]}, "never"),
    ],
)
def test_it_checks_attributes_against_the_definition(
    world: World, attributes: dict[str, object], message: str
) -> None:
    with pytest.raises(RequestError, match=message):
        file_in_a(attributes=attributes)


def test_it_keeps_list_attributes_and_dates(world: World) -> None:
    req = file_in_a(attributes={"noise_source": "business", "time_of_day": ["evening", "night"]})
    assert req.attributes == {"noise_source": "business", "time_of_day": ["evening", "night"]}
    deadline = (timezone.localdate() + timedelta(days=20)).isoformat()
    illegal = file_in_a(
        "illegal_structure",
        attributes={"structure_kind": "shed", "rectification_deadline": deadline},
    )
    assert timezone.localtime(illegal.expected_datetime).date().isoformat() == deadline


def test_it_stores_the_phone_encrypted_and_masked(world: World) -> None:
    req = file_in_a()
    assert req.contact_phone_masked == "138****8000"
    assert b"13800138000" not in bytes(req.contact_phone_cipher)
    assert contact_phone(req) == "13800138000"
    with pytest.raises(RequestError, match="phone"):
        file_in_a(contact={"phone": "12345"})
    with pytest.raises(RequestError, match="email"):
        file_in_a(contact={"email": "not an address"})
    assert identity.mask_phone("13800138000") == "138****8000"


def test_it_normalises_typed_tracking_numbers() -> None:
    assert normalize_tracking_number(" ab-cd ２３ ") == "ABCD23"


def test_it_assigns_to_a_team_member_of_the_beat_only(world: World) -> None:
    req = file_in_a()
    officer = world.users["officer"]
    assigned = request_assign(request=req, actor=officer, assignee=world.officer_a)
    assert assigned.status == Status.ASSIGNED
    with pytest.raises(RequestError, match="not on the team"):
        request_assign(request=req, actor=officer, assignee=world.officer_b)
    with pytest.raises(RequestError, match="Only the beat's officer"):
        request_assign(request=req, actor=world.users["grid"], assignee=world.officer_a)


def test_it_refuses_work_outside_the_jurisdiction(world: World) -> None:
    req = file_in_a()
    with pytest.raises(RequestError, match="outside your jurisdiction"):
        request_assign(request=req, actor=world.users["neighbour"], assignee=world.officer_a)


def test_an_illegal_structure_is_done_only_after_a_rectified_reinspection(world: World) -> None:
    officer = world.users["officer"]
    req = file_in_a("illegal_structure", attributes={"structure_kind": "rooftop"})
    request_assign(request=req, actor=officer, assignee=world.officer_a)
    request_transition(request=req, actor=officer, to=Status.IN_PROGRESS)
    with pytest.raises(RequestError, match="re-inspection"):
        request_transition(request=req, actor=officer, to=Status.DONE)
    today = timezone.localdate()
    later = today + timedelta(days=14)
    again = request_reinspect(
        request=req, actor=officer, on=today, result="not_rectified", new_deadline=later
    )
    assert again.status == Status.IN_PROGRESS
    assert again.attributes["rectification_deadline"] == later.isoformat()
    with pytest.raises(RequestError, match="future"):
        request_reinspect(request=req, actor=officer, on=later, result="rectified")
    done = request_reinspect(
        request=req, actor=officer, on=today, result="rectified", note="已拆除"
    )
    assert done.status == Status.DONE
    assert done.status_notes == "已拆除"
    kinds = list(req.events.values_list("kind", flat=True))
    assert kinds.count("reinspection") == 2


def test_other_kinds_have_no_reinspection(world: World) -> None:
    officer = world.users["officer"]
    req = file_in_a()
    request_assign(request=req, actor=officer, assignee=world.officer_a)
    request_transition(request=req, actor=officer, to=Status.IN_PROGRESS)
    with pytest.raises(RequestError, match="no re-inspection"):
        request_reinspect(request=req, actor=officer, on=timezone.localdate(), result="rectified")
