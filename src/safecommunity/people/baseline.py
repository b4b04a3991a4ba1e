"""Baseline counts (底数): who and what there is, per grid = beat and rolled up the tree.

For each grid in the user's scope: residents (with a current residence), registered vs
floating (``Residence.registered`` of the current residence), dwellings occupied / vacant /
rented (from current residences: vacant = nobody lives there, rented = at least one current
tenant), care-tagged residents, and dwellings verified within 30 / 90 / 365 days (the latest
``DwellingVerification``; a dwelling verified within 30 days also counts for 90 and 365).

How it stays fast (1M residents, city-wide user, < 300 ms on PostgreSQL): counting a
million residences on every request does not (measured ~1.5 s, bench/baseline.py), so the
resident figures — residents, registered, occupied, rented, care-tagged — are kept per grid
in ``BaselineRollup``, recomputed for the grids a write touches (``baseline_refresh``, which
the services call) and rebuildable at any time (``baseline_rebuild``, which the demo calls
after its bulk load). Dwellings and verified stamps are counted live, each in one grouped
query (``GROUP BY path`` over one table narrowed by the scope and the node). The grid rows
are then rolled up in Python by path prefix (a grid path ``12.01.04.003.017.001`` adds to
``12.01.04.003.017``, ``12.01.04.003``, ``12.01.04`` and ``12.01``). Residences and stamps
are aggregated in two steps (per dwelling, then per path) so no ``COUNT(DISTINCT)`` sorts.

Scope: every query goes through ``accounts.scope``; a node the scope does not touch is a
404, and a node the scope only partly covers (a station's subdistrict) counts only what lies
inside the scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from safecommunity.accounts.models import User
from safecommunity.accounts.scope import Scope, scope_for
from safecommunity.people.models import (
    BaselineRollup,
    CareTag,
    DwellingVerification,
    Relation,
    Residence,
)
from safecommunity.places.models import Beat, Division, DivisionKind, Dwelling

# Path segments per level: city "12.01" has two, each level below adds one.
LEVEL_SEGMENTS = {
    DivisionKind.CITY: 2,
    DivisionKind.DISTRICT: 3,
    DivisionKind.SUBDISTRICT: 4,
    DivisionKind.COMMUNITY: 5,
    "beat": 6,
}
PATH_RE = re.compile(r"\d+(\.\d+){1,5}")
VERIFIED_WITHIN_DAYS = (30, 90, 365)


@dataclass(frozen=True)
class Counts:
    residents: int = 0
    registered: int = 0
    dwellings: int = 0
    occupied: int = 0
    rented: int = 0
    care_tagged: int = 0
    verified_30d: int = 0
    verified_90d: int = 0
    verified_365d: int = 0

    @property
    def floating(self) -> int:
        return self.residents - self.registered

    @property
    def vacant(self) -> int:
        return self.dwellings - self.occupied

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def as_dict(self) -> dict[str, int]:
        """Every figure, the derived ones included (the API's and the metrics' shape)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["floating"] = self.floating
        data["vacant"] = self.vacant
        return data


ZERO = Counts()


def _within(scope: Scope, under: str | None, field: str = "path") -> Q:
    """Rows in the scope and, with ``under``, at or below that path.

    When the scope covers all of ``under`` only the path test is needed: one prefix range
    the path index answers, instead of the same test twice.
    """
    under_q = Q(**{field: under}) | Q(**{f"{field}__startswith": under + "."}) if under else Q()
    if under and scope.covers(under):
        return under_q
    return scope.q(field) & under_q


def _merge(into: dict[str, dict[str, int]], rows: Iterable[tuple[str, dict[str, int]]]) -> None:
    for path, values in rows:
        if path:
            into.setdefault(path, {}).update(values)


def grid_counts(
    *, user: User, under: str | None = None, now: datetime | None = None
) -> dict[str, Counts]:
    """Counts per grid path in ``user``'s scope (optionally only at or below ``under``).

    Grids with nothing at all (no dwellings, residents or stamps) are left out. Four queries.
    """
    return _grid_counts(scope_for(user), under, now or timezone.now())


def counts_for_beats(beats: QuerySet[Beat], now: datetime | None = None) -> dict[int, Counts]:
    """Counts per beat id for an already scoped queryset of beats (the map's metrics)."""
    paths = dict(beats.order_by().values_list("path", "id"))
    if not paths:
        return {}
    under = _common_prefix(list(paths))
    counts = _grid_counts(Scope(prefixes=None), under, now or timezone.now())
    return {paths[path]: value for path, value in counts.items() if path in paths}


def _common_prefix(paths: list[str]) -> str:
    """The deepest path holding all of ``paths`` (at least the city)."""
    common: list[str] = []
    for parts in zip(*(p.split(".") for p in paths), strict=False):
        if len(set(parts)) > 1:
            break
        common.append(parts[0])
    return ".".join(common[: max(len(common), LEVEL_SEGMENTS[DivisionKind.CITY])])


def _grid_counts(scope: Scope, under: str | None, now: datetime) -> dict[str, Counts]:
    """Read the rollup rows in range; recount the verified figures of rows from another day."""
    today = timezone.localdate(now)
    rows = BaselineRollup.objects.filter(_within(scope, under))
    stale = list(rows.exclude(verified_on=today).values_list("path", flat=True))
    if stale:
        _refresh(stale, now=now, only_verified=True)
    return {
        path: Counts(**dict(zip(COUNT_FIELDS, values, strict=True)))
        for path, *values in rows.values_list("path", *COUNT_FIELDS)
    }


# --- the per-grid rollup ------------------------------------------------------------------------

COUNT_FIELDS = tuple(f.name for f in fields(Counts))
VERIFIED_FIELDS = tuple(f"verified_{days}d" for days in VERIFIED_WITHIN_DAYS)


def _live(
    where: Q, resident_where: Q, now: datetime, *, only_verified: bool = False
) -> dict[str, dict[str, int]]:
    """The rollup's figures counted from the base tables (four grouped queries, or one)."""
    raw: dict[str, dict[str, int]] = {}
    _merge(raw, _verification_rows(where, now))
    if only_verified:
        return raw
    dwellings = (
        Dwelling.objects.filter(where)
        .order_by()
        .values("path")
        .annotate(n=Count("id"))
        .values_list("path", "n")
    )
    _merge(raw, ((path, {"dwellings": n}) for path, n in dwellings))
    _merge(raw, _residence_rows(where))
    tagged = (
        CareTag.objects.filter(resident_where)
        .exclude(resident__path="")
        .order_by()
        .values("resident__path")
        .annotate(n=Count("resident", distinct=True))
        .values_list("resident__path", "n")
    )
    _merge(raw, ((path, {"care_tagged": n}) for path, n in tagged))
    return raw


def live_counts(*, under: str | None = None, now: datetime | None = None) -> dict[str, Counts]:
    """Every grid's counts straight from the base tables, unscoped (checks and repairs)."""
    everything = Scope(prefixes=None)
    raw = _live(
        _within(everything, under),
        _within(everything, under, "resident__path"),
        now or timezone.now(),
    )
    return {path: Counts(**values) for path, values in raw.items()}


def baseline_refresh(*, paths: Iterable[str], now: datetime | None = None) -> None:
    """Recount the rollup rows of the grids at ``paths`` from the base tables.

    The services call it, in their transaction, after every change that moves a count, with
    the grids it touched: a resident created with a dwelling, moving in (the old and the new
    grid), moving out, a care tag added or removed, a dwelling verified or created; imports
    call it once per batch. Cost: a few milliseconds per grid.
    """
    _refresh(sorted({p for p in paths if p}), now=now or timezone.now(), only_verified=False)


def _refresh(paths: list[str], *, now: datetime, only_verified: bool) -> None:
    """Lock the rows in path order (creating missing ones), recount, write. Two transactions
    refreshing one grid take turns, and the later one counts what the earlier committed."""
    if not paths:
        return
    with transaction.atomic():
        BaselineRollup.objects.bulk_create(
            [BaselineRollup(path=p) for p in paths], ignore_conflicts=True
        )
        rows = list(
            BaselineRollup.objects.select_for_update().filter(path__in=paths).order_by("path")
        )
        if len(paths) > 500:
            # Many grids (a city's first read of the day): one range scan beats a long IN list.
            under = _common_prefix(paths)
            where = _within(Scope(prefixes=None), under)
            resident_where = _within(Scope(prefixes=None), under, "resident__path")
        else:
            where, resident_where = Q(path__in=paths), Q(resident__path__in=paths)
        fresh = _live(where, resident_where, now, only_verified=only_verified)
        names = VERIFIED_FIELDS if only_verified else COUNT_FIELDS
        day, stamp = timezone.localdate(now), timezone.now()
        ops = connection.ops
        assignments = ", ".join(
            f"{ops.quote_name(n)} = %s" for n in (*names, "verified_on", "updated_at")
        )
        table = ops.quote_name(BaselineRollup._meta.db_table)
        updates = [
            (
                *(fresh.get(row.path, {}).get(name, 0) for name in names),
                ops.adapt_datefield_value(day),
                ops.adapt_datetimefield_value(stamp),
                row.pk,
            )
            for row in rows
        ]
        with connection.cursor() as cursor:
            # One UPDATE per row by primary key: bulk_update's CASE over thousands of rows
            # costs seconds. Names come from the model, quoted; values are parameters.
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE id = %s",  # noqa: S608
                updates,
            )


def baseline_roll_day(*, now: datetime | None = None) -> int:
    """Recount the verified figures of every row not yet counted today (a nightly task, so
    the first reader of the day does not pay). Returns the rows recounted."""
    now = now or timezone.now()
    stale = list(
        BaselineRollup.objects.exclude(verified_on=timezone.localdate(now)).values_list(
            "path", flat=True
        )
    )
    _refresh(stale, now=now, only_verified=True)
    return len(stale)


def baseline_rebuild(*, now: datetime | None = None) -> int:
    """Recount every rollup row (after a bulk load, or to repair); returns the row count."""
    now = now or timezone.now()
    fresh = live_counts(now=now)
    with transaction.atomic():
        BaselineRollup.objects.all().delete()
        BaselineRollup.objects.bulk_create(
            [
                BaselineRollup(
                    path=path,
                    verified_on=timezone.localdate(now),
                    **{n: getattr(counts, n) for n in COUNT_FIELDS},
                )
                for path, counts in sorted(fresh.items())
            ],
            batch_size=2000,
        )
    return len(fresh)


def _per_path(inner: QuerySet[Any, Any], outer_select: str) -> list[tuple[Any, ...]]:
    """Aggregate a per-dwelling grouped queryset once more, per path, in the database.

    Django cannot select FROM a subquery, so the inner query is compiled (its parameters
    stay parameters) and wrapped. ``outer_select`` names the inner query's columns.
    """
    sql, params = inner.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            # The inner SQL is Django's own compilation; no user text is interpolated.
            f"SELECT per_dwelling.path, {outer_select} FROM ({sql}) per_dwelling "  # noqa: S608
            "GROUP BY per_dwelling.path",
            params,
        )
        return list(cursor.fetchall())


def _residence_rows(where: Q) -> Iterable[tuple[str, dict[str, int]]]:
    inner = (
        Residence.objects.filter(where, until__isnull=True)
        .order_by()
        .values("path", "dwelling_id")
        .annotate(
            n=Count("id"),
            n_registered=Count("id", filter=Q(registered=True)),
            n_tenants=Count("id", filter=Q(relation=Relation.TENANT)),
        )
    )
    rows = _per_path(
        inner,
        "SUM(per_dwelling.n), SUM(per_dwelling.n_registered), COUNT(*), "
        "SUM(CASE WHEN per_dwelling.n_tenants > 0 THEN 1 ELSE 0 END)",
    )
    for path, residents, registered, occupied, rented in rows:
        yield (
            str(path),
            {
                "residents": int(residents),
                "registered": int(registered),
                "occupied": int(occupied),
                "rented": int(rented),
            },
        )


def _verification_rows(where: Q, now: datetime) -> Iterable[tuple[str, dict[str, int]]]:
    """Dwellings whose latest stamp lies within each period, in whole days: "within 30
    days" on 1 July is any stamp since the start of 1 June (local time), so the figures
    hold for a whole day and the rollup can keep them."""
    today = timezone.localdate(now)
    tz = timezone.get_current_timezone()

    def since(days: int) -> datetime:
        return datetime.combine(today - timedelta(days=days), time.min, tzinfo=tz)

    inner = (
        DwellingVerification.objects.filter(
            where, verified_at__gte=since(max(VERIFIED_WITHIN_DAYS)), verified_at__lte=now
        )
        .order_by()
        .values("path", "dwelling_id")
        .annotate(
            **{
                f"within_{days}": Count("id", filter=Q(verified_at__gte=since(days)))
                for days in VERIFIED_WITHIN_DAYS
            }
        )
    )
    outer = ", ".join(
        f"SUM(CASE WHEN per_dwelling.within_{days} > 0 THEN 1 ELSE 0 END)"
        for days in VERIFIED_WITHIN_DAYS
    )
    for path, *values in _per_path(inner, outer):
        yield (
            str(path),
            {
                f"verified_{days}d": int(value)
                for days, value in zip(VERIFIED_WITHIN_DAYS, values, strict=True)
            },
        )


def rollup(counts: dict[str, Counts]) -> dict[str, Counts]:
    """Every path prefix (city, district, subdistrict, community, grid) with the sum of
    the grids below it."""
    totals: dict[str, Counts] = {}
    for path, value in counts.items():
        parts = path.split(".")
        for end in range(LEVEL_SEGMENTS[DivisionKind.CITY], len(parts) + 1):
            prefix = ".".join(parts[:end])
            totals[prefix] = totals.get(prefix, ZERO) + value
    return totals


# --- the table for one node -------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    path: str
    name: str
    kind: str  # a DivisionKind or "beat"
    code: str


@dataclass(frozen=True)
class Row:
    place: Place
    counts: Counts
    drill: bool  # the row has rows of its own below it


@dataclass(frozen=True)
class Baseline:
    node: Place
    ancestors: list[Place]
    rows: list[Row]
    totals: Counts
    child_kind: str

    @property
    def child_label(self) -> str | Promise:
        return LEVEL_LABELS[self.child_kind]


LEVEL_LABELS: dict[str, str | Promise] = {
    DivisionKind.CITY: _("City"),
    DivisionKind.DISTRICT: _("District"),
    DivisionKind.SUBDISTRICT: _("Subdistrict"),
    DivisionKind.COMMUNITY: _("Community"),
    "beat": _("Beat"),
}
CHILD_KIND = {
    DivisionKind.CITY: DivisionKind.DISTRICT,
    DivisionKind.DISTRICT: DivisionKind.SUBDISTRICT,
    DivisionKind.SUBDISTRICT: DivisionKind.COMMUNITY,
    DivisionKind.COMMUNITY: "beat",
    "beat": "beat",
}


def _division_place(division: Division) -> Place:
    return Place(division.path, division.name, str(division.kind), division.code)


def _beat_place(beat: Beat) -> Place:
    return Place(beat.path, beat.name, "beat", beat.code)


def default_path(user: User) -> str:
    """Where a user's baseline starts: their jurisdiction, or the city for everything."""
    scope = scope_for(user)
    if scope.prefixes is None:
        city = Division.objects.filter(kind=DivisionKind.CITY).order_by("path").first()
        if city is None:
            raise Http404("No places yet.")
        return city.path
    if not scope.prefixes:
        raise Http404("No jurisdiction.")
    # A station's beats: the deepest place holding all of them.
    return _common_prefix(list(scope.prefixes))


def _node(path: str) -> Place:
    segments = path.count(".") + 1
    if segments == LEVEL_SEGMENTS["beat"]:
        beat = Beat.objects.filter(path=path).first()
        if beat is None:
            raise Http404("No such beat.")
        return _beat_place(beat)
    division = Division.objects.filter(path=path).first()
    if division is None:
        raise Http404("No such place.")
    return _division_place(division)


def _children(node: Place, scope: Scope) -> list[Place]:
    if node.kind == "beat":
        return [node]
    if node.kind == DivisionKind.COMMUNITY:
        beats = Beat.objects.filter(Q(path__startswith=node.path + ".") & scope.q()).order_by(
            "path"
        )
        return [_beat_place(b) for b in beats]
    divisions = Division.objects.filter(parent__path=node.path).order_by("path")
    return [_division_place(d) for d in divisions if scope.touches(d.path)]


def _ancestors(node: Place, scope: Scope) -> list[Place]:
    parts = node.path.split(".")
    prefixes = [".".join(parts[:end]) for end in range(LEVEL_SEGMENTS["city"], len(parts))]
    return [
        _division_place(d)
        for d in Division.objects.filter(path__in=prefixes).order_by("path")
        if scope.touches(d.path)
    ]


def baseline_for(*, user: User, path: str | None = None, now: datetime | None = None) -> Baseline:
    """The baseline table for ``path`` (default: the user's jurisdiction): one row per child
    place, with totals. Raises ``Http404`` for a malformed path, an unknown place or one the
    user's scope does not touch."""
    scope = scope_for(user)
    path = (path or "").strip() or default_path(user)
    if not PATH_RE.fullmatch(path) or not scope.touches(path):
        raise Http404("No such place in your jurisdiction.")
    node = _node(path)
    counts = grid_counts(user=user, under=node.path, now=now)
    children = _children(node, scope)
    depth = node.path.count(".") + 2
    by_child: dict[str, Counts] = {}
    for grid_path, value in counts.items():
        key = ".".join(grid_path.split(".")[:depth]) if node.kind != "beat" else node.path
        by_child[key] = by_child.get(key, ZERO) + value
    totals = sum(counts.values(), ZERO)
    rows = [
        Row(place=child, counts=by_child.get(child.path, ZERO), drill=child.kind != "beat")
        for child in children
    ]
    return Baseline(
        node=node,
        ancestors=_ancestors(node, scope),
        rows=rows,
        totals=totals,
        child_kind=CHILD_KIND[node.kind],
    )
