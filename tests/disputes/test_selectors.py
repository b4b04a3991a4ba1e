"""Dispute reads: scope (an officer of beat A never sees beat B's disputes), filters, and the
statistics over a small set whose answers are known."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.http import Http404
from pytest_django import DjangoAssertNumQueries

from safecommunity.disputes import selectors
from safecommunity.disputes.models import Dispute, DisputeState, Outcome
from tests.conftest import World
from tests.disputes.conftest import report

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 15, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture
def spread(world: World) -> dict[str, Dispute]:
    """One dispute in each of beats A, B and C."""
    return {
        "a": report(world, beat=world.beat_a),
        "b": report(world, beat=world.beat_b, category="family"),
        "c": report(world, beat=world.beat_c, category="tenancy", risk="high"),
    }


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("officer", {"a"}),
        ("grid", {"a"}),
        ("neighbour", {"b"}),
        ("station", {"a", "b"}),
        ("district", {"a", "b"}),
        ("other_district", {"c"}),
        ("city", {"a", "b", "c"}),
        ("admin", {"a", "b", "c"}),
    ],
)
def test_each_user_sees_exactly_the_disputes_of_their_jurisdiction(
    world: World, spread: dict[str, Dispute], who: str, sees: set[str]
) -> None:
    user = world.users[who]
    listed = set(selectors.dispute_list(user=user).values_list("pk", flat=True))
    assert listed == {spread[k].pk for k in sees}
    for key, dispute in spread.items():
        if key in sees:
            assert selectors.dispute_get(user=user, pk=dispute.pk) == dispute
        else:
            with pytest.raises(Http404):
                selectors.dispute_get(user=user, pk=dispute.pk)


def test_an_officer_of_beat_a_counts_nothing_of_beat_b(
    world: World, spread: dict[str, Dispute]
) -> None:
    stats = selectors.dispute_statistics(user=world.users["officer"])
    assert (stats.total, stats.total_since) == (1, 1)
    assert [p.name for p in stats.by_place] == [world.beat_a.name]


def test_the_list_filters_by_state_category_escalation_and_repeat(
    world: World, spread: dict[str, Dispute]
) -> None:
    admin = world.users["admin"]
    repeat = report(world, beat=world.beat_a, dwelling=world.dwelling_a)
    again = report(world, beat=world.beat_a, dwelling=world.dwelling_a)
    assert again.repeat_of == repeat

    def ids(**filters: Any) -> set[int]:
        return set(selectors.dispute_list(user=admin, **filters).values_list("pk", flat=True))

    assert ids(category="family") == {spread["b"].pk}
    assert ids(escalated=True) == {spread["c"].pk}
    assert ids(repeat=True) == {again.pk}
    assert again.pk not in ids(repeat=False)
    assert ids(state="accepted") == set()
    assert len(ids(state="reported")) == 5


def test_a_repeat_out_of_scope_is_flagged_but_not_shown(world: World) -> None:
    from tests.people.registry import register

    resident = register("张伟", world.dwelling_a)
    first = report(world, beat=world.beat_a, parties=[{"resident": resident}])
    second = report(world, beat=world.beat_b, parties=[{"resident": resident}])
    assert second.repeat_of == first
    neighbour, station = world.users["neighbour"], world.users["station"]
    seen = selectors.dispute_get(user=neighbour, pk=second.pk)
    assert seen.is_repeat
    assert selectors.shown_repeat_of_id(user=neighbour, dispute=seen) is None
    listed = selectors.dispute_list(user=neighbour).get(pk=second.pk)
    assert selectors.shown_repeat_of_id(user=neighbour, dispute=listed) is None
    seen = selectors.dispute_get(user=station, pk=second.pk)
    assert selectors.shown_repeat_of_id(user=station, dispute=seen) == first.pk
    listed = selectors.dispute_list(user=station).get(pk=second.pk)
    assert selectors.shown_repeat_of_id(user=station, dispute=listed) == first.pk


# --- statistics -----------------------------------------------------------------------------


def _dispute(
    world: World,
    *,
    beat: str,
    reported: datetime,
    category: str = "neighbours",
    settled_days: float | None = None,
    outcome: str = "",
    state: str = DisputeState.REPORTED,
) -> Dispute:
    with time_machine.travel(reported, tick=False):
        dispute = report(world, beat=getattr(world, f"beat_{beat}"), category=category)
    # Later stages are not yet due (the report's own deadline stays for a reported one).
    fields: dict[str, Any] = {"state": state, "outcome": outcome}
    if state != DisputeState.REPORTED or settled_days is not None:
        fields.update(due_at=NOW + timedelta(days=10))
    if settled_days is not None:
        fields.update(
            settled_at=reported + timedelta(days=settled_days),
            outcome=Outcome.SETTLED,
            state=DisputeState.FOLLOW_UP,
        )
    if outcome == Outcome.REFERRED:
        fields.update(referred_to="court")
    if state == DisputeState.CLOSED:
        fields.update(closed_at=reported + timedelta(days=1), due_at=None)
    Dispute.objects.filter(pk=dispute.pk).update(**fields)
    return dispute


@pytest.fixture
def known(world: World) -> None:
    """Nine disputes:

    beat A: 2025-01-10 neighbours settled in 2 days; 2025-01-20 family settled in 4 days;
            2025-02-05 neighbours settled in 10 days; 2025-02-06 tenancy referred;
            2024-06-01 neighbours settled in 1 day (before the window)
    beat B: 2025-02-10 neighbours failed; 2025-03-01 wages owed, reported (open, overdue);
            2025-03-02 other, rejected (closed)
    beat C: 2025-02-11 traffic settled in 7 days
    """

    def at(y: int, m: int, d: int) -> datetime:
        return datetime(y, m, d, 9, 0, tzinfo=SHANGHAI)

    _dispute(world, beat="a", reported=at(2025, 1, 10), settled_days=2)
    _dispute(world, beat="a", reported=at(2025, 1, 20), category="family", settled_days=4)
    _dispute(world, beat="a", reported=at(2025, 2, 5), settled_days=10)
    _dispute(
        world,
        beat="a",
        reported=at(2025, 2, 6),
        category="tenancy",
        outcome=Outcome.REFERRED,
        state=DisputeState.REFERRED,
    )
    _dispute(world, beat="a", reported=at(2024, 6, 1), settled_days=1)
    _dispute(world, beat="b", reported=at(2025, 2, 10), outcome=Outcome.FAILED, state="failed")
    _dispute(world, beat="b", reported=at(2025, 3, 1), category="wages_owed")
    _dispute(
        world,
        beat="b",
        reported=at(2025, 3, 2),
        category="other",
        outcome=Outcome.REJECTED,
        state=DisputeState.CLOSED,
    )
    _dispute(world, beat="c", reported=at(2025, 2, 11), category="traffic", settled_days=7)


@time_machine.travel(NOW, tick=False)
def test_statistics_of_a_district_leader_over_a_known_set(world: World, known: None) -> None:
    stats = selectors.dispute_statistics(user=world.users["district"], since=date(2025, 1, 1))
    assert (stats.total, stats.total_since) == (8, 7)
    counts = {value: n for value, _label, n in stats.by_category}
    assert counts == {
        "neighbours": 3,
        "family": 1,
        "property_management": 0,
        "tenancy": 1,
        "wages_owed": 1,
        "traffic": 0,
        "other": 1,
    }
    # Settled 3 of 5 with an outcome (3 settled, 1 referred, 1 failed; the rejection is none).
    assert (stats.settled, stats.with_outcome) == (3, 5)
    assert stats.settlement_rate == pytest.approx(0.6)
    assert stats.median_days_to_settle == 4.0  # of 2, 4 and 10 days
    # Rolled up one level below the district: its one subdistrict.
    assert [(p.name, p.kind, p.count) for p in stats.by_place] == [("万兴街道", "subdistrict", 7)]
    months = {m.month: (m.reported, m.settled) for m in stats.by_month}
    assert months == {
        date(2025, 1, 1): (2, 2),
        date(2025, 2, 1): (3, 1),
        date(2025, 3, 1): (2, 0),
    }
    assert stats.open == 6  # all but the rejected one (follow-up is still open)
    assert stats.overdue == 1  # the wages dispute: not accepted within a day
    assert stats.by_outcome == {"settled": 3, "referred": 1, "failed": 1, "rejected": 1}


@time_machine.travel(NOW, tick=False)
def test_statistics_roll_up_to_districts_for_the_city_and_to_beats_for_a_station(
    world: World, known: None
) -> None:
    city = selectors.dispute_statistics(user=world.users["admin"], since=date(2024, 1, 1))
    assert [(p.name, p.count) for p in city.by_place] == [("南开区", 8), ("河北区", 1)]
    assert city.median_days_to_settle == 4.0  # of 1, 2, 4, 7 and 10 days
    station = selectors.dispute_statistics(user=world.users["station"], since=date(2025, 1, 1))
    assert [(p.name, p.kind, p.count) for p in station.by_place] == [
        (world.beat_a.name, "beat", 4),
        (world.beat_b.name, "beat", 3),
    ]


@time_machine.travel(NOW, tick=False)
def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(
    world: World, known: None
) -> None:
    stats = selectors.dispute_statistics(user=world.users["station"], since=date(2024, 1, 1))
    # Settled in beats A and B since 2024: 1, 2, 4 and 10 days → (2 + 4) / 2.
    assert stats.median_days_to_settle == 3.0


@time_machine.travel(NOW, tick=False)
def test_statistics_take_a_fixed_number_of_queries(
    world: World, known: None, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    user = world.users["district"]
    with django_assert_num_queries(6):
        selectors.dispute_statistics(user=user, since=date(2024, 1, 1))
    for _ in range(5):
        report(world, beat=world.beat_b)
    with django_assert_num_queries(6):
        selectors.dispute_statistics(user=user, since=date(2024, 1, 1))
