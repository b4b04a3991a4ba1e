"""The workflow table, over every pair of states and the roles allowed for each move."""

from __future__ import annotations

from itertools import product

import pytest

from safecommunity.accounts.models import Role
from safecommunity.service_requests.models import ServiceRequest, Status
from safecommunity.service_requests.services import RequestError, request_transition
from safecommunity.service_requests.workflow import TRANSITIONS, transitions_from
from tests.conftest import World
from tests.service_requests.conftest import file_in_a

ALLOWED = {
    (Status.NEW, Status.ASSIGNED),
    (Status.ASSIGNED, Status.IN_PROGRESS),
    (Status.IN_PROGRESS, Status.DONE),
    (Status.DONE, Status.CLOSED),
    (Status.DONE, Status.IN_PROGRESS),
    (Status.NEW, Status.CLOSED),
    (Status.ASSIGNED, Status.CLOSED),
}


def test_the_table_holds_exactly_the_documented_moves() -> None:
    assert set(TRANSITIONS) == ALLOWED


def _in_state(status: str) -> ServiceRequest:
    req = file_in_a()
    ServiceRequest.objects.filter(pk=req.pk).update(status=status)
    req.refresh_from_db()
    return req


@pytest.mark.parametrize(("source", "target"), list(product(Status.values, Status.values)))
def test_every_pair_of_states_is_allowed_or_refused_with_a_clear_message(
    world: World, source: str, target: str
) -> None:
    req = _in_state(source)
    officer = world.users["officer"]
    if (source, target) in ALLOWED:
        moved = request_transition(request=req, actor=officer, to=target, note="理由")
        assert moved.status == target
        assert moved.events.filter(kind="transition", from_status=source, to_status=target).exists()
    else:
        with pytest.raises(RequestError, match="cannot go from") as refused:
            request_transition(request=req, actor=officer, to=target, note="理由")
        assert str(Status(source).label) in refused.value.messages[0]
        req.refresh_from_db()
        assert req.status == source


def test_it_refuses_an_unknown_target_by_name(world: World) -> None:
    with pytest.raises(RequestError, match="“lost”"):
        request_transition(request=_in_state(Status.NEW), actor=world.users["officer"], to="lost")


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_move_is_open_only_to_its_roles(
    world: World, source: str, target: str, role: str
) -> None:
    user = world.users["officer"]
    user.role = role
    req = _in_state(source)
    move = TRANSITIONS[(source, target)]
    if role in move.roles:
        request_transition(request=req, actor=user, to=target, note="理由")
    else:
        with pytest.raises(RequestError, match="Your role may not"):
            request_transition(request=req, actor=user, to=target, note="理由")


def test_closing_without_action_or_reopening_needs_a_note(world: World) -> None:
    officer = world.users["officer"]
    for source, target in [(Status.NEW, Status.CLOSED), (Status.DONE, Status.IN_PROGRESS)]:
        with pytest.raises(RequestError, match="Say why"):
            request_transition(request=_in_state(source), actor=officer, to=target)


def test_accepting_needs_someone_assigned(world: World) -> None:
    req = _in_state(Status.NEW)
    ServiceRequest.objects.filter(pk=req.pk).update(assigned_to=None)
    req.refresh_from_db()
    with pytest.raises(RequestError, match="Assign the request"):
        request_transition(request=req, actor=world.users["officer"], to=Status.ASSIGNED)


def test_the_latest_note_is_the_public_status_note(world: World) -> None:
    officer = world.users["officer"]
    req = _in_state(Status.ASSIGNED)
    moved = request_transition(request=req, actor=officer, to=Status.IN_PROGRESS, note="已上门")
    assert moved.status_notes == "已上门"
    assert moved.open311_status == "open"
    done = request_transition(request=moved, actor=officer, to=Status.DONE)
    assert done.status_notes == ""
    assert done.open311_status == "closed"


def test_a_grid_worker_sees_only_the_work_moves() -> None:
    assert [t.target for t in transitions_from(Status.ASSIGNED, Role.GRID_WORKER)] == [
        Status.IN_PROGRESS
    ]
    assert transitions_from(Status.DONE, Role.GRID_WORKER) == []
    assert transitions_from(Status.NEW, Role.CITY_ANALYST) == []
