"""Per-beat metrics the map can colour by. Apps register theirs in ``AppConfig.ready``.

A metric is a function from a queryset of beats (already scoped) to ``{beat_id: value}``, so
one grouped query answers it for every beat on the map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from safecommunity.places.models import Beat, Compound, Dwelling

MetricFunction = Callable[[QuerySet[Beat]], dict[int, float]]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str | Promise
    compute: MetricFunction


_REGISTRY: dict[str, Metric] = {}


def register(key: str, label: str | Promise, compute: MetricFunction) -> None:
    _REGISTRY[key] = Metric(key, label, compute)


def available() -> list[Metric]:
    return list(_REGISTRY.values())


def get(key: str) -> Metric | None:
    return _REGISTRY.get(key)


def _dwellings(beats: QuerySet[Beat]) -> dict[int, float]:
    rows = (
        Dwelling.objects.filter(grid__beat__in=beats)
        .values("grid__beat")
        .annotate(n=Count("id"))
        .values_list("grid__beat", "n")
    )
    return {beat_id: float(n) for beat_id, n in rows}


def _compounds(beats: QuerySet[Beat]) -> dict[int, float]:
    rows = (
        Compound.objects.filter(grid__beat__in=beats)
        .values("grid__beat")
        .annotate(n=Count("id"))
        .values_list("grid__beat", "n")
    )
    return {beat_id: float(n) for beat_id, n in rows}


def register_builtin() -> None:
    register("dwellings", _("Dwellings"), _dwellings)
    register("compounds", _("Compounds"), _compounds)
