"""The demo custody register over the small demo city (places and teams; residents for a
few grids), built once for the module and rolled back after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, F, Q

from safecommunity.accounts.models import User
from safecommunity.custody.models import CustodyItem, CustodyMovement, ItemState
from safecommunity.demo.custody import populate_custody
from safecommunity.demo.generator import build_demo_city
from safecommunity.demo.residents import populate
from safecommunity.places.geo import invalidate_locator
from safecommunity.places.models import Beat, Dwelling, Grid
from tests.conftest import client_for

SEED = 2022
TODAY = date(2025, 1, 8)


class _Rollback(Exception):
    pass


def _digest() -> list[tuple[Any, ...]]:
    return list(
        CustodyItem.objects.order_by("beat__code", "tag").values_list(
            "beat__code", "tag", "kind", "state", "owner_name", "received_at", "returned_at"
        )
    )


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    with django_db_blocker.unblock(), transaction.atomic():
        build_demo_city(scale="small", seed=SEED, today=TODAY, residents=False)
        grids = list(Grid.objects.order_by("code")[:8])
        dwellings = list(
            Dwelling.objects.filter(grid__in=grids)
            .select_related("grid")
            .order_by("grid__code", "pk")
        )
        populate(dwellings, seed=SEED, today=TODAY, progress=lambda *a: None)
        seen: list[tuple[str, int, int]] = []
        counts = populate_custody(
            seed=SEED,
            today=TODAY,
            progress=lambda phase, done, total: seen.append((phase, done, total)),
        )
        first = _digest()
        # The same seed and day again, on a copy rolled back: the same register.
        try:
            with transaction.atomic():
                CustodyItem.objects.all().delete()
                populate_custody(seed=SEED, today=TODAY)
                again = _digest()
                raise _Rollback
        except _Rollback:
            pass
        yield {"counts": counts, "first": first, "again": again, "progress": seen}
        transaction.set_rollback(True)
    invalidate_locator()


@pytest.fixture
def built(demo: dict[str, Any], db: None) -> dict[str, Any]:
    return demo


def test_it_fills_every_beat_with_an_office(built: dict[str, Any]) -> None:
    counts = built["counts"]
    assert counts["custody_items"] == CustodyItem.objects.count() > 1000
    assert counts["custody_movements"] == CustodyMovement.objects.count()
    assert (
        counts["custody_held"] + counts["custody_returned"] + counts["custody_disposed"]
        == counts["custody_items"]
    )
    for state in ItemState.values:
        assert counts[f"custody_{state}"] > 0, state
    with_items = set(CustodyItem.objects.values_list("beat_id", flat=True).distinct())
    assert with_items == set(Beat.objects.filter(office__isnull=False).values_list("pk", flat=True))
    assert built["progress"][-1][1] == built["progress"][-1][2]


def test_it_is_the_same_register_for_the_same_seed_and_day(built: dict[str, Any]) -> None:
    assert built["first"] == built["again"]


def test_the_history_covers_the_last_three_years(built: dict[str, Any]) -> None:
    times = CustodyItem.objects.values_list("received_at", flat=True)
    days = {t.date() for t in times}
    assert min(days) >= TODAY - timedelta(days=3 * 365)
    assert max(days) <= TODAY
    assert {d.year for d in days} == {2022, 2023, 2024, 2025}
    # Still held now: recent items and spare keys kept for years.
    held = CustodyItem.objects.filter(state=ItemState.HELD)
    assert held.filter(received_at__year=2022).exists()
    assert held.filter(received_at__date__gte=TODAY - timedelta(days=14)).exists()


def test_items_are_consistent_with_their_trails(built: dict[str, Any]) -> None:
    assert not CustodyItem.objects.exclude(path=F("beat__path")).exists()
    assert not CustodyItem.objects.exclude(office=F("beat__office")).exists()
    firsts = CustodyMovement.objects.filter(action="received")
    assert firsts.count() == CustodyItem.objects.count()
    assert not firsts.exclude(at=F("item__received_at")).exists()
    returned = CustodyMovement.objects.filter(action="returned")
    assert returned.count() == CustodyItem.objects.filter(state=ItemState.RETURNED).count()
    assert not returned.exclude(at=F("item__returned_at")).exists()
    assert not CustodyMovement.objects.filter(at__lt=F("item__received_at")).exists()
    # Movements on a closed item never come after it closed.
    assert not CustodyMovement.objects.filter(
        item__state=ItemState.RETURNED, at__gt=F("item__returned_at")
    ).exists()
    held_twice = (
        CustodyItem.objects.filter(state=ItemState.HELD)
        .values("office", "tag")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not held_twice.exists()


def test_owners_come_from_the_registry_where_there_is_one(built: dict[str, Any]) -> None:
    owned = CustodyItem.objects.filter(owner__isnull=False)
    assert owned.exists()
    assert not owned.exclude(owner__path=F("path")).exists()
    assert not owned.exclude(owner_name=F("owner__name")).exists()
    # Spare keys of the elderly living alone.
    assert owned.filter(kind="key", owner__care_tags__kind="elderly_alone").exists()
    outsiders = CustodyItem.objects.filter(owner__isnull=True)
    assert outsiders.filter(~Q(owner_phone_masked="")).exists()
    assert not outsiders.filter(owner_phone_masked__regex=r"^1\d{10}$").exists()


def test_the_demo_officer_sees_the_register_of_their_beat_only(built: dict[str, Any]) -> None:
    officer = User.objects.get(username="officer")
    response = client_for(officer).get("/custody/?state=")
    assert response.status_code == 200
    assert officer.jurisdiction_beat is not None
    mine = (
        CustodyItem.objects.filter(beat=officer.jurisdiction_beat).order_by("-received_at").first()
    )
    assert mine is not None and mine.tag in response.content.decode()
    other = CustodyItem.objects.exclude(path=officer.jurisdiction_beat.path).first()
    assert other is not None
    assert client_for(officer).get(f"/custody/{other.pk}/").status_code == 404
