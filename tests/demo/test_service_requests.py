"""The demo requests over the small demo city (places and teams), built once for the module
and rolled back after: every kind and state, their history, deterministic, and demo-key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count

from safecommunity.demo.generator import build_demo_city
from safecommunity.demo.service_requests import DEMO_API_KEY, populate_service_requests
from safecommunity.places.geo import invalidate_locator
from safecommunity.service_requests.models import RequestEvent, ServiceRequest, Status
from safecommunity.service_requests.services import api_key_check

SEED = 2022
TODAY = date(2025, 1, 8)


class _Rollback(Exception):
    pass


def _digest() -> list[tuple[Any, ...]]:
    return list(
        ServiceRequest.objects.order_by("service_request_id").values_list(
            "service_request_id",
            "service__service_code",
            "status",
            "beat__code",
            "requested_datetime",
            "contact_name",
        )
    )


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    with django_db_blocker.unblock(), transaction.atomic():
        build_demo_city(scale="small", seed=SEED, today=TODAY, residents=False)
        seen: list[tuple[str, int, int]] = []
        counts = populate_service_requests(
            seed=SEED, today=TODAY, progress=lambda *args: seen.append(args)
        )
        first = _digest()
        try:
            with transaction.atomic():
                RequestEvent.objects.all().delete()
                ServiceRequest.objects.all().delete()
                populate_service_requests(seed=SEED, today=TODAY)
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


def test_it_fills_three_years_of_every_kind_and_state(built: dict[str, Any]) -> None:
    counts = built["counts"]
    assert counts["service_requests"] == ServiceRequest.objects.count() > 4000
    assert counts["request_events"] == RequestEvent.objects.count()
    states = dict(ServiceRequest.objects.values_list("status").annotate(n=Count("id")))
    assert set(states) == set(Status.values)
    kinds = ServiceRequest.objects.values("service").distinct().count()
    assert kinds == 8
    oldest = ServiceRequest.objects.order_by("requested_datetime").first()
    assert oldest is not None and (TODAY - oldest.requested_datetime.date()).days > 900
    assert ServiceRequest.objects.filter(requested_datetime__date__gt=TODAY).count() == 0


def test_the_history_agrees_with_each_status(built: dict[str, Any]) -> None:
    for req in ServiceRequest.objects.filter(status=Status.CLOSED)[:50]:
        steps = list(req.events.order_by("at", "id").values_list("to_status", flat=True))
        assert steps[0] == Status.NEW and steps[-1] == Status.CLOSED
    reinspections = RequestEvent.objects.filter(kind="reinspection")
    assert reinspections.filter(reinspection_result="not_rectified").exists()
    assert reinspections.filter(reinspection_result="rectified").exists()
    every_path_matches = ServiceRequest.objects.exclude(path=models_path()).count()
    assert every_path_matches == 0


def models_path() -> Any:
    from django.db.models import F

    return F("beat__path")


def test_it_is_deterministic(built: dict[str, Any]) -> None:
    assert built["first"] == built["again"]


def test_the_demo_key_posts_requests(built: dict[str, Any]) -> None:
    assert api_key_check(DEMO_API_KEY) is not None
    assert built["progress"][-1][0] == "request events"
