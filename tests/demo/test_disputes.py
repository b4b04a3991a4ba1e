"""The demo city's disputes: three years of history in every beat and every state, each
dispute's events a legal walk through the state machine. Built once for the module over the
small demo city (with residents) and rolled back after."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from safecommunity.accounts.models import User
from safecommunity.demo.disputes import populate_disputes
from safecommunity.demo.generator import build_demo_city
from safecommunity.disputes import workflow
from safecommunity.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeState,
    MediationSession,
    Outcome,
    Party,
)
from safecommunity.disputes.selectors import dispute_statistics
from safecommunity.places.geo import invalidate_locator
from safecommunity.places.models import Beat

SEED = 2022
TODAY = date(2025, 1, 8)


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    with django_db_blocker.unblock(), transaction.atomic():
        summary = build_demo_city(scale="small", seed=SEED, today=TODAY)
        # The generator runs populate_disputes itself. Clear its disputes and run it again on
        # its own: it must write the same history again (deterministic by seed), fast.
        generated = Dispute.objects.count()
        Party.objects.all().delete()
        MediationSession.objects.all().delete()
        DisputeEvent.objects.all().delete()
        Dispute.objects.update(repeat_of=None)
        Dispute.objects.all().delete()
        started = time.perf_counter()
        counts: dict[str, Any] = populate_disputes(seed=SEED, today=TODAY)
        seconds = round(time.perf_counter() - started, 2)
        if generated:
            assert counts == {key: summary[key] for key in counts}
        counts["_seconds"] = seconds
        yield counts
        transaction.set_rollback(True)
    invalidate_locator()


@pytest.fixture
def horizon(demo: dict[str, Any], db: None) -> datetime:
    return datetime.combine(TODAY, datetime.min.time(), tzinfo=timezone.get_default_timezone())


def test_it_fills_every_beat_and_every_state_with_three_years_of_disputes(
    demo: dict[str, Any], horizon: datetime
) -> None:
    assert demo["disputes"] == Dispute.objects.count() > 1000
    assert demo["dispute_events"] == DisputeEvent.objects.count()
    assert demo["mediation_sessions"] == MediationSession.objects.count()
    assert set(Dispute.objects.values_list("state", flat=True)) == set(DisputeState.values)
    assert set(Dispute.objects.values_list("beat", flat=True)) == set(
        Beat.objects.values_list("pk", flat=True)
    )
    first = Dispute.objects.order_by("reported_at").first()
    assert first is not None
    assert horizon - first.reported_at < timedelta(days=3 * 365 + 1)
    assert horizon - first.reported_at > timedelta(days=3 * 365 - 30)
    assert not DisputeEvent.objects.filter(at__gte=horizon).exists()
    assert not MediationSession.objects.filter(held_at__gte=horizon).exists()
    assert demo["_seconds"] < 20


def test_some_are_overdue_some_repeat_some_escalated(
    demo: dict[str, Any], horizon: datetime
) -> None:
    assert Dispute.objects.filter(due_at__lt=horizon).count() == demo["disputes_overdue"] > 0
    assert Dispute.objects.filter(repeat_of__isnull=False).count() == demo["disputes_repeat"] > 0
    assert Dispute.objects.filter(escalated=True).count() == demo["disputes_escalated"] > 0
    assert not Dispute.objects.filter(escalated=False, risk="high").exists()


def test_every_history_is_a_legal_walk_ending_in_the_state(demo: dict[str, Any]) -> None:
    walks: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for dispute_id, frm, to in DisputeEvent.objects.order_by("dispute_id", "at", "pk").values_list(
        "dispute_id", "from_state", "to_state"
    ):
        walks[dispute_id].append((frm, to))
    for dispute_id, state in Dispute.objects.values_list("pk", "state"):
        walk = walks[dispute_id]
        assert walk[0] == ("", DisputeState.REPORTED)
        for previous, step in zip(walk, walk[1:], strict=False):
            assert step[0] == previous[1]
            assert step in workflow.TRANSITIONS, (dispute_id, step)
        assert walk[-1][1] == state


def test_stage_fields_agree_with_the_state(demo: dict[str, Any]) -> None:
    closed = Dispute.objects.filter(state=DisputeState.CLOSED)
    assert not closed.filter(closed_at__isnull=True).exists()
    assert not closed.filter(due_at__isnull=False).exists()
    assert (
        not Dispute.objects.exclude(state=DisputeState.CLOSED).filter(due_at__isnull=True).exists()
    )
    assert not Dispute.objects.filter(state="referred", referred_to="").exists()
    settled = Dispute.objects.filter(outcome=Outcome.SETTLED)
    # Every settlement follows a session holding the agreement.
    agreed = set(
        MediationSession.objects.exclude(agreement="").values_list("dispute_id", flat=True)
    )
    assert set(settled.values_list("pk", flat=True)) <= agreed
    assert Dispute.objects.filter(outcome=Outcome.REJECTED, state=DisputeState.CLOSED).exists()
    # What the database's constraints hold, seen from the data (bulk_create passed them).
    assert not Dispute.objects.filter(escalated=True, escalated_at__isnull=True).exists()
    assert not Party.objects.filter(resident__isnull=False).exclude(phone_masked="").exists()


def test_no_event_note_names_another_dispute(demo: dict[str, Any]) -> None:
    """A repeat's earlier dispute may lie in another beat: its number is never in a note."""
    assert DisputeEvent.objects.exclude(note="").exists()
    assert not DisputeEvent.objects.filter(note__contains="#").exists()


def test_repeats_follow_the_rule(demo: dict[str, Any]) -> None:
    parties: dict[int, set[int]] = defaultdict(set)
    for dispute_id, resident_id in Party.objects.filter(resident__isnull=False).values_list(
        "dispute_id", "resident_id"
    ):
        parties[dispute_id].add(resident_id)
    for dispute in Dispute.objects.filter(repeat_of__isnull=False).select_related("repeat_of"):
        earlier = dispute.repeat_of
        assert earlier is not None
        assert timedelta(0) <= dispute.reported_at - earlier.reported_at <= workflow.REPEAT_WINDOW
        assert (
            dispute.dwelling_id is not None and dispute.dwelling_id == earlier.dwelling_id
        ) or parties[dispute.pk] & parties[earlier.pk]


def test_parties_are_residents_or_named_with_protected_phones(demo: dict[str, Any]) -> None:
    assert Party.objects.filter(resident__isnull=False).exists()
    named = Party.objects.filter(resident__isnull=True)
    assert named.exists() and not named.filter(name="").exists()
    with_phone = named.exclude(phone_masked="")
    assert with_phone.exists()
    assert not with_phone.filter(phone_cipher__isnull=True).exists()
    assert all("****" in masked for masked in with_phone.values_list("phone_masked", flat=True))


def test_the_statistics_read_the_history(demo: dict[str, Any]) -> None:
    admin = User.objects.get(username="admin")
    stats = dispute_statistics(user=admin, since=date(2022, 1, 1))
    assert stats.total == stats.total_since == demo["disputes"]
    assert stats.settlement_rate is not None and 0.5 < stats.settlement_rate < 0.95
    assert stats.median_days_to_settle is not None and 1 < stats.median_days_to_settle < 10
    assert sum(p.count for p in stats.by_place) == stats.total
    officer = User.objects.get(username="officer")
    assert 0 < dispute_statistics(user=officer, since=date(2022, 1, 1)).total < stats.total
