"""Dispute services: intake with escalation and repeat flags, the state machine over every
pair of states and every role, deadlines, mediation sessions."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import product
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from safecommunity.accounts.models import AuditEntry, Role
from safecommunity.disputes import selectors, workflow
from safecommunity.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeState,
    Outcome,
    Party,
)
from safecommunity.disputes.services import dispute_transition, mediation_session_add
from tests.conftest import World
from tests.disputes.conftest import USER_OF_ROLE, put_in_state, report, user_of
from tests.people.registry import register

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)
STATES = list(DisputeState.values)
with translation.override("en"):
    LABELS = {value: str(label) for value, label in DisputeState.choices}


# --- intake ---------------------------------------------------------------------------------


def test_it_takes_in_a_dispute_with_its_parties_event_and_audit(world: World) -> None:
    resident = register("张伟", world.dwelling_a)
    dispute = report(
        world,
        actor=world.users["grid"],
        dwelling=world.dwelling_a,
        parties=[
            {"resident": resident, "role": "applicant"},
            {"name": "李四", "phone": "138 0013 8000", "role": "respondent"},
        ],
    )
    assert dispute.state == DisputeState.REPORTED
    assert dispute.path == world.beat_a.path
    assert dispute.place == world.dwelling_a.standard_address
    assert dispute.reported_by == world.users["grid"]
    parties = list(dispute.parties.order_by("pk"))
    assert [(p.resident_id, p.name, p.role) for p in parties] == [
        (resident.pk, "", "applicant"),
        (None, "李四", "respondent"),
    ]
    event = DisputeEvent.objects.get(dispute=dispute)
    assert (event.from_state, event.to_state) == ("", DisputeState.REPORTED)
    assert AuditEntry.objects.filter(action="dispute.report", object_id=str(dispute.pk)).exists()


def test_it_stores_an_unregistered_partys_phone_only_protected(world: World) -> None:
    dispute = report(world, parties=[{"name": "李四", "phone": "13800138000"}])
    party = Party.objects.get(dispute=dispute)
    assert party.phone_masked == "138****8000"
    assert party.phone_cipher is not None and b"13800138000" not in bytes(party.phone_cipher)
    assert party.phone_index and "13800138000" not in party.phone_index


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source": "pigeon"}, "source"),
        ({"category": "aliens"}, "category"),
        ({"risk": "extreme"}, "risk"),
        ({"description": "   "}, "description"),
        ({"parties": [{"role": "applicant"}]}, "parties"),
        ({"parties": [{"name": "李四", "role": "judge"}]}, "parties"),
        ({"parties": [{"name": "李四", "phone": "12345"}]}, "parties"),
        ({"parties": [{"name": "李" * 51}]}, "parties"),
    ],
)
def test_it_refuses_bad_intake_naming_the_field(
    world: World, change: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        report(world, **change)
    assert field in refused.value.message_dict
    assert not Dispute.objects.exists()


def test_it_refuses_a_dwelling_outside_the_beat(world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        report(world, dwelling=world.dwelling_b)
    assert "dwelling" in refused.value.message_dict


def test_it_refuses_intake_by_a_city_analyst_or_outside_the_jurisdiction(world: World) -> None:
    with pytest.raises(PermissionDenied):
        report(world, actor=world.users["city"])
    with pytest.raises(PermissionDenied):
        report(world, actor=world.users["neighbour"])
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    ("risk", "violent", "escalated"),
    [("low", False, False), ("medium", False, False), ("high", False, True), ("low", True, True)],
)
def test_it_escalates_high_risk_and_possible_violence(
    world: World, risk: str, violent: bool, escalated: bool
) -> None:
    dispute = report(world, risk=risk, may_turn_violent=violent)
    assert dispute.escalated is escalated
    assert (dispute.escalated_at is not None) is escalated
    audited = AuditEntry.objects.filter(action="dispute.escalate", object_id=str(dispute.pk))
    assert audited.exists() is escalated


# --- repeats --------------------------------------------------------------------------------


def test_it_flags_a_repeat_at_the_same_dwelling_within_90_days(world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        first = report(world, dwelling=world.dwelling_a)
    with time_machine.travel(NOW + timedelta(days=89), tick=False):
        second = report(world, dwelling=world.dwelling_a)
    assert second.repeat_of == first


def test_it_does_not_flag_the_same_dwelling_after_90_days(world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        report(world, dwelling=world.dwelling_a)
    with time_machine.travel(NOW + timedelta(days=91), tick=False):
        later = report(world, dwelling=world.dwelling_a)
    assert later.repeat_of is None


def test_it_flags_a_repeat_with_the_same_resident_even_in_another_beat(world: World) -> None:
    resident = register("张伟", world.dwelling_a)
    with time_machine.travel(NOW, tick=False):
        first = report(world, parties=[{"resident": resident}])
        unrelated = report(world, parties=[{"name": "王五"}])
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        second = report(world, beat=world.beat_b, parties=[{"resident": resident}])
        stranger = report(world, parties=[{"name": "王五"}])
    assert second.repeat_of == first
    # Names outside the registry are not identities: no repeat flag.
    assert unrelated.repeat_of is None and stranger.repeat_of is None


# --- the state machine over every pair ------------------------------------------------------


def _allowed_actor(world: World, from_state: str, to_state: str) -> str:
    rule = workflow.TRANSITIONS.get((from_state, to_state))
    if rule is None:
        return USER_OF_ROLE[Role.STATION_LEADER]
    return next(USER_OF_ROLE[role] for role in USER_OF_ROLE if role in rule.roles)


@pytest.mark.parametrize(("from_state", "to_state"), list(product(STATES, STATES)))
def test_every_pair_of_states_moves_exactly_as_the_table_says(
    world: World, from_state: str, to_state: str
) -> None:
    dispute = put_in_state(report(world), from_state)
    actor = world.users[_allowed_actor(world, from_state, to_state)]
    referred_to = "mediation_committee" if to_state == DisputeState.REFERRED else ""
    if (from_state, to_state) in workflow.TRANSITIONS:
        moved = dispute_transition(
            actor=actor, dispute=dispute, to_state=to_state, note="理由", referred_to=referred_to
        )
        assert moved.state == to_state
        event = DisputeEvent.objects.filter(dispute=dispute).latest("pk")
        assert (event.from_state, event.to_state, event.actor) == (from_state, to_state, actor)
        assert AuditEntry.objects.filter(
            action="dispute.transition", object_id=str(dispute.pk)
        ).exists()
    else:
        events = DisputeEvent.objects.filter(dispute=dispute).count()
        with translation.override("en"), pytest.raises(ValidationError) as refused:
            dispute_transition(
                actor=actor,
                dispute=dispute,
                to_state=to_state,
                note="理由",
                referred_to=referred_to,
            )
        message = refused.value.messages[0]
        assert (
            message == f"A dispute cannot go from “{LABELS[from_state]}” to “{LABELS[to_state]}”."
        )
        dispute.refresh_from_db()
        assert dispute.state == from_state
        assert DisputeEvent.objects.filter(dispute=dispute).count() == events


def test_it_refuses_an_unknown_state_by_name(world: World) -> None:
    dispute = report(world)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        dispute_transition(actor=world.users["officer"], dispute=dispute, to_state="solved")
    assert refused.value.messages == ["A dispute cannot go from “Reported” to “solved”."]


@pytest.mark.parametrize(
    ("transition", "role"), list(product(list(workflow.TRANSITIONS), list(USER_OF_ROLE)))
)
def test_only_the_roles_in_the_table_may_make_a_transition(
    world: World, transition: tuple[str, str], role: str
) -> None:
    from_state, to_state = transition
    dispute = put_in_state(report(world), from_state)
    referred_to = "court" if to_state == DisputeState.REFERRED else ""
    move = {"dispute": dispute, "to_state": to_state, "note": "理由", "referred_to": referred_to}
    if role in workflow.TRANSITIONS[transition].roles:
        assert dispute_transition(actor=user_of(world, role), **move).state == to_state
    else:
        with translation.override("en"), pytest.raises(PermissionDenied) as refused:
            dispute_transition(actor=user_of(world, role), **move)
        assert "may not move a dispute from" in str(refused.value)
        dispute.refresh_from_db()
        assert dispute.state == from_state


def test_it_refuses_a_transition_outside_the_actors_jurisdiction(world: World) -> None:
    dispute = report(world)
    with pytest.raises(PermissionDenied):
        dispute_transition(actor=world.users["neighbour"], dispute=dispute, to_state="accepted")


def test_settling_needs_a_recorded_agreement(world: World) -> None:
    dispute = report(world)
    officer = world.users["officer"]
    dispute_transition(actor=officer, dispute=dispute, to_state="accepted")
    dispute_transition(actor=officer, dispute=dispute, to_state="mediating")
    with pytest.raises(ValidationError):
        dispute_transition(actor=officer, dispute=dispute, to_state="settled")
    mediation_session_add(
        actor=officer,
        dispute=Dispute.objects.get(pk=dispute.pk),
        held_at=timezone.now(),
        mediators="马燕、社工0",
        agreement="赔偿500元",
    )
    settled = dispute_transition(actor=officer, dispute=dispute, to_state="settled")
    assert settled.outcome == Outcome.SETTLED and settled.settled_at is not None


@pytest.mark.parametrize(
    ("from_state", "to_state", "field"),
    [
        ("mediating", "referred", "referred_to"),  # where to
        ("mediating", "failed", "note"),  # why
        ("reported", "closed", "note"),  # why rejected
    ],
)
def test_it_refuses_a_transition_missing_what_it_needs(
    world: World, from_state: str, to_state: str, field: str
) -> None:
    dispute = put_in_state(report(world), from_state)
    with pytest.raises(ValidationError) as refused:
        dispute_transition(actor=world.users["station"], dispute=dispute, to_state=to_state)
    assert field in refused.value.message_dict


def test_rejecting_a_report_closes_it_as_rejected(world: World) -> None:
    dispute = report(world)
    closed = dispute_transition(
        actor=world.users["station"], dispute=dispute, to_state="closed", note="重复上报"
    )
    assert (closed.state, closed.outcome, closed.due_at) == ("closed", Outcome.REJECTED, None)
    assert closed.closed_at is not None


def test_reopening_after_follow_up_clears_the_outcome(world: World) -> None:
    dispute = put_in_state(report(world), DisputeState.FOLLOW_UP)
    Dispute.objects.filter(pk=dispute.pk).update(outcome=Outcome.SETTLED, settled_at=NOW)
    reopened = dispute_transition(
        actor=world.users["officer"], dispute=dispute, to_state="mediating", note="协议未履行"
    )
    assert (reopened.outcome, reopened.settled_at) == ("", None)


# --- deadlines ------------------------------------------------------------------------------


def test_each_stage_gets_its_deadline_and_turns_overdue_after_it(world: World) -> None:
    officer = world.users["officer"]
    with time_machine.travel(NOW, tick=False):
        dispute = report(world)
        assert dispute.due_at == NOW + workflow.STAGE_DEADLINES["reported"]
        assert not selectors.dispute_get(user=officer, pk=dispute.pk).overdue  # type: ignore[attr-defined]
    with time_machine.travel(NOW + timedelta(days=1, minutes=1), tick=False):
        assert selectors.dispute_get(user=officer, pk=dispute.pk).overdue  # type: ignore[attr-defined]
        assert list(selectors.dispute_list(user=officer, overdue=True)) == [dispute]
        assert not selectors.dispute_list(user=officer, overdue=False).exists()
        accepted = dispute_transition(actor=officer, dispute=dispute, to_state="accepted")
        assert accepted.due_at == NOW + timedelta(days=1, minutes=1) + timedelta(days=2)
        assert not selectors.dispute_list(user=officer, overdue=True).exists()


def test_a_closed_dispute_is_never_overdue(world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        dispute = report(world)
        dispute_transition(
            actor=world.users["station"], dispute=dispute, to_state="closed", note="不属纠纷"
        )
    with time_machine.travel(NOW + timedelta(days=400), tick=False):
        assert not selectors.dispute_list(user=world.users["officer"], overdue=True).exists()


def test_every_open_state_has_a_deadline() -> None:
    assert set(workflow.STAGE_DEADLINES) == set(workflow.OPEN_STATES)


# --- sessions -------------------------------------------------------------------------------


def test_sessions_are_recorded_only_while_mediating_by_a_mediator(world: World) -> None:
    dispute = report(world)
    officer = world.users["officer"]
    with pytest.raises(ValidationError):
        mediation_session_add(
            actor=officer, dispute=dispute, held_at=timezone.now(), mediators="马燕"
        )
    dispute = put_in_state(dispute, DisputeState.MEDIATING)
    with pytest.raises(PermissionDenied):
        mediation_session_add(
            actor=world.users["grid"], dispute=dispute, held_at=timezone.now(), mediators="马燕"
        )
    with pytest.raises(ValidationError) as future:
        mediation_session_add(
            actor=officer,
            dispute=dispute,
            held_at=timezone.now() + timedelta(days=1),
            mediators="马燕",
        )
    assert "held_at" in future.value.message_dict
    with pytest.raises(ValidationError) as nobody:
        mediation_session_add(actor=officer, dispute=dispute, held_at=timezone.now(), mediators=" ")
    assert "mediators" in nobody.value.message_dict
    session = mediation_session_add(
        actor=world.users["worker"],
        dispute=dispute,
        held_at=timezone.now(),
        mediators="马燕、社工0",
        participants="双方当事人",
        notes="双方同意协商",
    )
    assert session.recorded_by == world.users["worker"]


def test_a_reopened_dispute_is_not_settled_again_on_the_old_agreement(world: World) -> None:
    """When the follow-up finds the agreement did not hold, mediation resumes: settling again
    needs a new session with an agreement, held after the dispute went back to mediating."""
    officer = world.users["officer"]
    with time_machine.travel(NOW, tick=False):
        dispute = report(world)
        dispute_transition(actor=officer, dispute=dispute, to_state="accepted")
        dispute_transition(actor=officer, dispute=dispute, to_state="mediating")
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        mediation_session_add(
            actor=officer,
            dispute=dispute,
            held_at=timezone.now(),
            mediators="马燕",
            agreement="赔偿",
        )
        dispute_transition(actor=officer, dispute=dispute, to_state="settled")
    with time_machine.travel(NOW + timedelta(days=10), tick=False):
        dispute_transition(actor=officer, dispute=dispute, to_state="follow_up")
        dispute_transition(actor=officer, dispute=dispute, to_state="mediating", note="协议未履行")
    with time_machine.travel(NOW + timedelta(days=11), tick=False):
        with translation.override("en"), pytest.raises(ValidationError) as refused:
            dispute_transition(actor=officer, dispute=dispute, to_state="settled")
        assert refused.value.messages == [
            "Record the mediation session with the agreement before settling."
        ]
        mediation_session_add(
            actor=officer, dispute=dispute, held_at=timezone.now(), mediators="马燕", notes="再谈"
        )
        with pytest.raises(ValidationError):
            dispute_transition(actor=officer, dispute=dispute, to_state="settled")
        mediation_session_add(
            actor=officer,
            dispute=dispute,
            held_at=timezone.now(),
            mediators="马燕",
            agreement="分期",
        )
        settled = dispute_transition(actor=officer, dispute=dispute, to_state="settled")
    assert settled.outcome == Outcome.SETTLED
    assert settled.settled_at == NOW + timedelta(days=11)


def test_a_session_cannot_be_held_before_the_current_mediation_began(world: World) -> None:
    officer = world.users["officer"]
    with time_machine.travel(NOW, tick=False):
        dispute = report(world)
        dispute_transition(actor=officer, dispute=dispute, to_state="accepted")
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        dispute_transition(actor=officer, dispute=dispute, to_state="mediating")
        with pytest.raises(ValidationError) as refused:
            mediation_session_add(
                actor=officer,
                dispute=dispute,
                held_at=NOW + timedelta(hours=1),
                mediators="马燕",
                agreement="赔偿",
            )
    assert "held_at" in refused.value.message_dict


def test_a_session_is_checked_against_the_disputes_current_state_not_a_stale_copy(
    world: World,
) -> None:
    dispute = put_in_state(report(world), DisputeState.MEDIATING)
    stale = Dispute.objects.get(pk=dispute.pk)
    dispute_transition(actor=world.users["officer"], dispute=dispute, to_state="settled")
    with pytest.raises(ValidationError):
        mediation_session_add(
            actor=world.users["officer"], dispute=stale, held_at=timezone.now(), mediators="马燕"
        )
    assert dispute.sessions.count() == 1  # put_in_state's only


# --- text input: no NUL characters, lengths checked in the service ---------------------------

NUL = "a\x00b"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"description": NUL}, "description"),
        ({"place": NUL}, "place"),
        ({"parties": [{"name": NUL}]}, "parties"),
        ({"parties": [{"name": "李四", "phone": "138\x0000138000"}]}, "parties"),
        ({"description": "x" * 5001}, "description"),
        ({"place": "x" * 201}, "place"),
    ],
)
def test_intake_refuses_nul_characters_and_overlong_text_naming_the_field(
    world: World, change: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        report(world, **change)
    assert list(refused.value.message_dict) == [field]
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"note": NUL}, "note"),
        ({"note": "x" * 2001}, "note"),
        ({"referred_to": "court\x00"}, "referred_to"),
    ],
)
def test_a_transition_refuses_nul_characters_and_overlong_text_naming_the_field(
    world: World, change: dict[str, str], field: str
) -> None:
    dispute = put_in_state(report(world), DisputeState.MEDIATING)
    with pytest.raises(ValidationError) as refused:
        dispute_transition(
            actor=world.users["station"], dispute=dispute, to_state="referred", **change
        )
    assert list(refused.value.message_dict) == [field]
    dispute.refresh_from_db()
    assert dispute.state == DisputeState.MEDIATING


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mediators": NUL}, "mediators"),
        ({"participants": NUL}, "participants"),
        ({"notes": NUL}, "notes"),
        ({"agreement": NUL}, "agreement"),
        ({"mediators": "马" * 201}, "mediators"),
        ({"participants": "x" * 5001}, "participants"),
        ({"notes": "x" * 5001}, "notes"),
        ({"agreement": "x" * 5001}, "agreement"),
    ],
)
def test_a_session_refuses_nul_characters_and_overlong_text_naming_the_field(
    world: World, change: dict[str, str], field: str
) -> None:
    dispute = put_in_state(report(world), DisputeState.MEDIATING)
    fields = {"mediators": "马燕", **change}
    with pytest.raises(ValidationError) as refused:
        mediation_session_add(
            actor=world.users["officer"], dispute=dispute, held_at=timezone.now(), **fields
        )
    assert list(refused.value.message_dict) == [field]
    assert dispute.sessions.count() == 1


def test_the_intake_note_flags_a_repeat_without_naming_the_earlier_dispute(world: World) -> None:
    """The event note is shown to everyone who sees this dispute, and the earlier one may lie
    outside their jurisdiction: the link is drawn from ``repeat_of`` where it is in scope."""
    first = report(world, dwelling=world.dwelling_a)
    second = report(world, dwelling=world.dwelling_a)
    assert second.repeat_of == first
    note = DisputeEvent.objects.get(dispute=second).note
    assert note and "#" not in note and not any(c.isdigit() for c in note)
