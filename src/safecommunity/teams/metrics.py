"""Teams' metrics for the beat map: the size of each beat's team and whether it breaks 1+2+N.

``register_metrics`` is called once from ``TeamsConfig.ready``.
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from safecommunity.places import metrics
from safecommunity.places.models import Beat
from safecommunity.teams.models import StaffKind
from safecommunity.teams.selectors import compliance_problems


def team_size(beats: QuerySet[Beat]) -> dict[int, float]:
    """Everyone assigned to the beat: officers, community workers and grid workers."""
    rows = beats.order_by().annotate(n=Count("assignments")).values_list("id", "n")
    return {beat_id: float(n) for beat_id, n in rows}


def rule_breaches(beats: QuerySet[Beat]) -> dict[int, float]:
    """1 where the beat breaks the 1+2+N rule, 0 where it holds (one grouped query)."""
    rows = (
        beats.order_by()
        .annotate(
            n_officers=Count(
                "assignments",
                filter=Q(
                    assignments__kind=StaffKind.COMMUNITY_OFFICER, assignments__responsible=True
                ),
            ),
            n_workers=Count("assignments", filter=Q(assignments__kind=StaffKind.COMMUNITY_WORKER)),
            n_grid=Count("assignments", filter=Q(assignments__kind=StaffKind.GRID_WORKER)),
        )
        .values_list("id", "n_officers", "n_workers", "n_grid")
    )
    return {
        beat_id: 1.0 if compliance_problems(officers, workers, grid) else 0.0
        for beat_id, officers, workers, grid in rows
    }


def register_metrics() -> None:
    metrics.register("team_size", _("Team size (1+2+N)"), team_size)
    metrics.register("rule_breaches", _("Breaks the 1+2+N rule (1 = yes)"), rule_breaches)
