"""Reads for field work, already narrowed to the user's scope, and campaign coverage.

Coverage per beat is the target — the dwellings under the campaign's scope, counted live by
one GROUP BY over the dwellings' path index — against the visited dwellings, which the
visits count up per beat as they are logged (``CampaignBeat``, one row per beat: a city has a
few thousand). The beats are then rolled up to every division in Python. A city-wide user
over a million dwellings gets the whole table in about a tenth of a second on PostgreSQL
(``bench/campaign_coverage.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from safecommunity.accounts.models import User
from safecommunity.accounts.scope import Scope, scope_filter, scope_for
from safecommunity.fieldwork.models import (
    Campaign,
    CampaignBeat,
    CampaignDwelling,
    Patrol,
    PublicityEvent,
    StationingShift,
    Visit,
)
from safecommunity.fieldwork.services import path_ancestors
from safecommunity.places.models import Beat, Division, Dwelling
from safecommunity.places.schemas import MAX_ID

# --- logs --------------------------------------------------------------------------------------


def visit_list(*, user: User) -> QuerySet[Visit]:
    return scope_filter(Visit.objects.all(), user)


def visit_get(*, user: User, pk: int) -> Visit:
    if not 0 < pk <= MAX_ID:
        raise Http404
    return get_object_or_404(
        visit_list(user=user).select_related("dwelling", "staff", "campaign", "recorded_by"),
        pk=pk,
    )


def patrol_list(*, user: User) -> QuerySet[Patrol]:
    return scope_filter(Patrol.objects.all(), user)


def patrol_get(*, user: User, pk: int) -> Patrol:
    if not 0 < pk <= MAX_ID:
        raise Http404
    return get_object_or_404(patrol_list(user=user).select_related("beat", "staff"), pk=pk)


def stationing_list(*, user: User) -> QuerySet[StationingShift]:
    return scope_filter(StationingShift.objects.all(), user)


def publicity_list(*, user: User) -> QuerySet[PublicityEvent]:
    return scope_filter(PublicityEvent.objects.all(), user)


@dataclass(frozen=True)
class DayCounts:
    visits: int
    patrols: int
    stationing: int
    publicity: int


def day_counts(*, user: User, day: date, mine: bool = False) -> DayCounts:
    """What was logged in scope on ``day`` (local) — only by ``user`` with ``mine``."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day, time.max, tzinfo=tz)
    who = Q(recorded_by=user) if mine else Q()
    return DayCounts(
        visits=visit_list(user=user).filter(who, visited_at__range=(start, end)).count(),
        patrols=patrol_list(user=user).filter(who, started_at__range=(start, end)).count(),
        stationing=stationing_list(user=user).filter(who, started_at__range=(start, end)).count(),
        publicity=publicity_list(user=user).filter(who, held_at__range=(start, end)).count(),
    )


# --- campaigns ---------------------------------------------------------------------------------


def _touching(scope: Scope) -> Q:
    """Campaigns whose scope overlaps the user's: inside it, or above part of it."""
    if scope.prefixes is None:
        return Q()
    above = {a for p in scope.prefixes for a in path_ancestors(p)}
    return scope.q("path") | Q(path__in=sorted(above))


def campaign_list(*, user: User) -> QuerySet[Campaign]:
    """Campaigns a user takes part in: over their jurisdiction, part of it, or above it."""
    return Campaign.objects.filter(_touching(scope_for(user)))


def campaign_get(*, user: User, pk: int) -> Campaign:
    if not 0 < pk <= MAX_ID:
        raise Http404
    return get_object_or_404(campaign_list(user=user), pk=pk)


def campaigns_active(*, user: User, day: date) -> QuerySet[Campaign]:
    return campaign_list(user=user).filter(starts_on__lte=day, ends_on__gte=day)


def campaign_prefixes(*, user: User, campaign: Campaign) -> tuple[str, ...]:
    """Where the campaign and the user's scope meet, as path prefixes."""
    scope = scope_for(user)
    if scope.prefixes is None:
        return (campaign.path,)
    within = Scope((campaign.path,))
    meet: set[str] = set()
    for prefix in scope.prefixes:
        if within.covers(prefix):
            meet.add(prefix)
        elif Scope((prefix,)).covers(campaign.path):
            meet.add(campaign.path)
    return tuple(sorted(meet))


@dataclass
class CoverageRow:
    path: str
    name: str
    kind: str  # a division kind, or "beat"
    target: int = 0
    visited: int = 0
    beat_id: int | None = None
    children: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.visited / self.target if self.target else 0.0

    @property
    def percent(self) -> float:
        return round(self.share * 100, 1)

    @property
    def missing(self) -> int:
        return self.target - self.visited


@dataclass
class Coverage:
    campaign: Campaign
    # Every beat and division in the user's part of the campaign, by path.
    rows: dict[str, CoverageRow]
    # The top rows: the user's jurisdiction(s) within the campaign.
    roots: list[str]

    @property
    def target(self) -> int:
        return sum(self.rows[r].target for r in self.roots)

    @property
    def visited(self) -> int:
        return sum(self.rows[r].visited for r in self.roots)

    @property
    def share(self) -> float:
        return self.visited / self.target if self.target else 0.0

    @property
    def percent(self) -> float:
        return round(self.share * 100, 1)

    def children(self, path: str) -> list[CoverageRow]:
        return [self.rows[p] for p in self.rows[path].children]

    def beats(self) -> list[CoverageRow]:
        return [row for row in self.rows.values() if row.kind == "beat"]


def _under(prefixes: Iterable[str], field_name: str = "path") -> Q:
    return Scope(prefixes=tuple(prefixes)).q(field_name)


def campaign_coverage(*, user: User, campaign: Campaign) -> Coverage:
    """Live coverage of ``campaign`` in ``user``'s part of it: target and visited dwellings per
    beat, rolled up to every division above, up to the campaign's scope or the user's
    jurisdiction, whichever is lower. Five queries whatever the size."""
    prefixes = campaign_prefixes(user=user, campaign=campaign)
    if not prefixes:
        raise Http404
    where = _under(prefixes)
    target = dict(
        Dwelling.objects.filter(where)
        .values("path")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("path", "n")
    )
    visited = dict(
        CampaignBeat.objects.filter(where, campaign=campaign).values_list("path", "visited")
    )
    rows: dict[str, CoverageRow] = {}
    for beat_id, path, name in (
        Beat.objects.filter(where).order_by().values_list("id", "path", "name")
    ):
        rows[path] = CoverageRow(
            path=path,
            name=name,
            kind="beat",
            target=target.get(path, 0),
            visited=visited.get(path, 0),
            beat_id=beat_id,
        )
    for path, name, kind in (
        Division.objects.filter(where).order_by().values_list("path", "name", "kind")
    ):
        rows[path] = CoverageRow(path=path, name=name, kind=kind)
    # Roll beats up into every row above them, and link each row to the nearest row above
    # (a dot-path's parent is what precedes its last dot). Parents sort before children;
    # sorted here, not by the database, whose collation may not sort dots first.
    order = sorted(rows)
    for path in order:
        parent = _nearest_parent(path, rows)
        if parent is not None:
            rows[parent].children.append(path)
    for row in rows.values():
        if row.kind != "beat":
            continue
        up = _nearest_parent(row.path, rows)
        while up is not None:
            above = rows[up]
            above.target += row.target
            above.visited += row.visited
            up = _nearest_parent(up, rows)
    roots = [p for p in prefixes if p in rows]
    return Coverage(campaign=campaign, rows={p: rows[p] for p in order}, roots=roots)


def _nearest_parent(path: str, rows: dict[str, CoverageRow]) -> str | None:
    while "." in path:
        path = path.rpartition(".")[0]
        if path in rows:
            return path
    return None


_DIGITS = re.compile(r"(\d+)")


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts 2 before 10 (楼栋 2号 before 10号)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text))


def campaign_unvisited(*, user: User, campaign: Campaign, beat: Beat) -> list[Dwelling]:
    """The dwellings of ``beat`` (in scope and in the campaign) not yet visited, in walking
    order: compound, building, entrance, dwelling."""
    if not Scope(campaign_prefixes(user=user, campaign=campaign)).covers(beat.path):
        raise Http404
    covered = CampaignDwelling.objects.filter(campaign=campaign, dwelling=OuterRef("pk"))
    dwellings = (
        scope_filter(Dwelling.objects.filter(grid_id=beat.grid_id), user)
        .filter(~Exists(covered))
        .select_related("entrance__building__compound")
    )
    return sorted(
        dwellings,
        key=lambda d: (
            _natural(d.entrance.building.compound.name),
            _natural(d.entrance.building.number),
            _natural(d.entrance.number),
            _natural(d.number),
            d.pk,
        ),
    )


def campaign_beat_get(*, user: User, campaign: Campaign, pk: int) -> Beat:
    """A beat in both the user's scope and the campaign, or 404."""
    if not 0 < pk <= MAX_ID:
        raise Http404
    prefixes = campaign_prefixes(user=user, campaign=campaign)
    if not prefixes:
        raise Http404
    return get_object_or_404(
        Beat.objects.filter(_under(prefixes)).select_related("grid", "office"), pk=pk
    )
