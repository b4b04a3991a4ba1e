"""The demo city's field work: three years of visits, patrols, stationing and publicity in
every beat, an ended campaign and a running one with partial coverage. Built once for the
module over the small demo city (with residents) and rolled back after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from safecommunity.accounts.models import User
from safecommunity.demo.fieldwork import populate_fieldwork
from safecommunity.demo.generator import build_demo_city
from safecommunity.fieldwork.models import (
    Campaign,
    CampaignDwelling,
    Patrol,
    PublicityEvent,
    StationingShift,
    Visit,
)
from safecommunity.fieldwork.routes import parse_route
from safecommunity.fieldwork.selectors import campaign_coverage, campaign_unvisited
from safecommunity.places.geo import invalidate_locator
from safecommunity.places.models import Beat, Dwelling

SEED = 2022
TODAY = date(2025, 1, 8)
KEYS = (
    "visits",
    "patrols",
    "stationing_shifts",
    "publicity_events",
    "campaigns",
    "ended_campaign_visited",
    "running_campaign_visited",
)


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    with django_db_blocker.unblock(), transaction.atomic():
        summary = build_demo_city(scale="small", seed=SEED, today=TODAY)
        if Visit.objects.exists():
            # The generator runs populate_fieldwork itself; its counts are in the summary.
            counts = {key: summary[key] for key in KEYS}
        else:
            counts = populate_fieldwork(seed=SEED, today=TODAY)
        yield counts
        transaction.set_rollback(True)
    invalidate_locator()


def test_it_fills_three_years_of_every_kind_of_field_work(demo: dict[str, Any], db: None) -> None:
    assert demo["visits"] == Visit.objects.count() > 27_000 * 2.5
    assert demo["patrols"] == Patrol.objects.count() > 200 * 100
    assert demo["stationing_shifts"] == StationingShift.objects.count() > 0
    assert demo["publicity_events"] == PublicityEvent.objects.count() > 200 * 30
    horizon = datetime.combine(TODAY, datetime.min.time(), tzinfo=timezone.get_default_timezone())
    span = Visit.objects.aggregate(first=Min("visited_at"), last=Max("visited_at"))
    assert span["last"] < horizon
    assert span["first"] >= horizon - timedelta(days=365 * 3)
    for model, field in (
        (Patrol, "beat"),
        (PublicityEvent, "beat"),
    ):
        assert model.objects.values(field).distinct().count() == Beat.objects.count()
    assert Patrol.objects.filter(ended_at__lt=models_f("started_at")).count() == 0


def models_f(name: str) -> Any:
    from django.db.models import F

    return F(name)


def test_every_row_carries_the_path_of_its_place(demo: dict[str, Any], db: None) -> None:
    mismatched = Visit.objects.exclude(path=models_f("dwelling__path")).count()
    assert mismatched == 0
    assert Patrol.objects.exclude(path=models_f("beat__path")).count() == 0
    assert StationingShift.objects.exclude(beat__office=models_f("office")).count() == 0


def test_patrol_routes_are_valid_lines(demo: dict[str, Any], db: None) -> None:
    for patrol in Patrol.objects.order_by("pk")[:200]:
        assert parse_route(patrol.route).length > 0
        assert patrol.length_m > 0


def test_the_running_campaign_is_partly_covered_and_the_ended_one_nearly_fully(
    demo: dict[str, Any], db: None
) -> None:
    dwellings = Dwelling.objects.count()
    ended, running = Campaign.objects.order_by("starts_on")
    assert ended.ends_on < TODAY <= running.ends_on
    assert demo["ended_campaign_visited"] == CampaignDwelling.objects.filter(campaign=ended).count()
    assert 0.85 < demo["ended_campaign_visited"] / dwellings < 0.99
    assert 0.2 < demo["running_campaign_visited"] / dwellings < 0.8
    coverage = campaign_coverage(user=User.objects.get(username="city"), campaign=running)
    assert coverage.target == dwellings
    assert coverage.visited == demo["running_campaign_visited"]
    shares = [row.share for row in coverage.beats()]
    assert min(shares) < 0.4 and max(shares) > 0.7
    grid = User.objects.get(username="grid")
    beat = grid.jurisdiction_beat
    assert beat is not None
    assert campaign_unvisited(user=grid, campaign=running, beat=beat)


def test_the_demo_logins_have_field_work_of_their_own(demo: dict[str, Any], db: None) -> None:
    grid = User.objects.get(username="grid")
    assert Visit.objects.filter(recorded_by=grid).exists()


def test_it_returns_every_count(demo: dict[str, Any], db: None) -> None:
    assert set(KEYS) <= set(demo)
    first = Visit.objects.order_by("pk").values_list("client_uuid", "visited_at")[:50]
    assert len(set(first)) == 50
