"""Baseline metrics for the beat map (colour by residents, floating residents, …).

``register_metrics`` is called once from ``PeopleConfig.ready``. Each metric is one grouped
query set per map request (``people.baseline.beat_counts``), keyed by beat id.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from safecommunity.people.baseline import Counts, counts_for_beats
from safecommunity.places import metrics
from safecommunity.places.models import Beat


def _metric(value: Callable[[Counts], int]) -> Callable[[QuerySet[Beat]], dict[int, float]]:
    def compute(beats: QuerySet[Beat]) -> dict[int, float]:
        return {beat_id: float(value(c)) for beat_id, c in counts_for_beats(beats).items()}

    return compute


def register_metrics() -> None:
    metrics.register("residents", _("Residents"), _metric(lambda c: c.residents))
    metrics.register("floating_residents", _("Floating residents"), _metric(lambda c: c.floating))
    metrics.register(
        "registered_residents", _("Registered residents"), _metric(lambda c: c.registered)
    )
    metrics.register("vacant_dwellings", _("Vacant dwellings"), _metric(lambda c: c.vacant))
    metrics.register("rented_dwellings", _("Rented dwellings"), _metric(lambda c: c.rented))
    metrics.register("care_tagged", _("Care-tagged residents"), _metric(lambda c: c.care_tagged))
    metrics.register(
        "verified_90d", _("Dwellings verified within 90 days"), _metric(lambda c: c.verified_90d)
    )
