"""Reads for disputes, every one narrowed to the user's scope (``accounts.scope``): a dispute
out of scope is not found (404), and statistics count only what the user may see."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from safecommunity.accounts.models import User
from safecommunity.accounts.scope import scope_filter, scope_for
from safecommunity.disputes import workflow
from safecommunity.disputes.models import (
    Dispute,
    DisputeCategory,
    DisputeEvent,
    MediationSession,
    Outcome,
    Party,
)
from safecommunity.people.models import Resident
from safecommunity.places.models import Beat, Division, Dwelling
from safecommunity.places.schemas import MAX_ID

# Statistics look back at most this far (and never before this day): month tables stay small.
STATISTICS_FIRST_DAY = date(2000, 1, 1)
# Segments of a grid's (= beat's) path: city (2) + district + subdistrict + community + grid.
GRID_DEPTH = 6


def _annotated(qs: QuerySet[Dispute]) -> QuerySet[Dispute]:
    """Each dispute with ``overdue`` and ``repeat_of_path`` (the earlier dispute's path, for
    ``shown_repeat_of_id``) in the same query."""
    now = timezone.now()
    return qs.annotate(
        overdue=ExpressionWrapper(
            Q(due_at__isnull=False, due_at__lt=now), output_field=BooleanField()
        ),
        repeat_of_path=F("repeat_of__path"),
    )


def dispute_list(
    *,
    user: User,
    state: str | None = None,
    category: str | None = None,
    overdue: bool | None = None,
    escalated: bool | None = None,
    repeat: bool | None = None,
    beat: Beat | None = None,
) -> QuerySet[Dispute]:
    """Disputes in scope, newest first, each annotated ``overdue`` (its stage's deadline has
    passed), with the filters given."""
    qs = scope_filter(Dispute.objects.all(), user)
    if state:
        qs = qs.filter(state=state)
    if category:
        qs = qs.filter(category=category)
    if escalated is not None:
        qs = qs.filter(escalated=escalated)
    if repeat is not None:
        qs = qs.filter(repeat_of__isnull=not repeat)
    if beat is not None:
        qs = qs.filter(beat=beat)
    if overdue is not None:
        now = timezone.now()
        late = Q(due_at__isnull=False, due_at__lt=now)
        qs = qs.filter(late) if overdue else qs.exclude(late)
    return _annotated(qs).select_related("beat").order_by("-reported_at", "-pk")


def dispute_get(*, user: User, pk: int) -> Dispute:
    """One dispute in scope (with its beat and dwelling), annotated ``overdue``; 404
    otherwise."""
    if not 0 < pk <= MAX_ID:
        raise Http404
    qs = _annotated(scope_filter(Dispute.objects.all(), user)).select_related(
        "beat", "dwelling", "reported_by"
    )
    return get_object_or_404(qs, pk=pk)


def shown_repeat_of_id(*, user: User, dispute: Dispute) -> int | None:
    """The id of the earlier dispute ``dispute`` repeats, if ``user`` may see that one.

    A repeat across a jurisdiction's boundary is still flagged (``Dispute.is_repeat``), but
    its number is not shown: an id out of scope is itself a fact about someone else's beat.
    ``dispute`` comes from ``dispute_list`` or ``dispute_get`` (annotated with the earlier
    dispute's path); anything else shows no id rather than querying per row.
    """
    path: str | None = getattr(dispute, "repeat_of_path", None)
    if dispute.repeat_of_id is None or path is None or not scope_for(user).covers(path):
        return None
    return dispute.repeat_of_id


def dispute_parties(*, dispute: Dispute) -> list[Party]:
    """The parties of a dispute already fetched through scope (a party's resident may live
    elsewhere; they are part of this dispute, which the user may see)."""
    return list(dispute.parties.select_related("resident").order_by("pk"))


def dispute_sessions(*, dispute: Dispute) -> list[MediationSession]:
    return list(dispute.sessions.order_by("held_at", "pk"))


def dispute_history(*, dispute: Dispute) -> list[DisputeEvent]:
    return list(dispute.events.select_related("actor").order_by("at", "pk"))


# --- statistics ---------------------------------------------------------------------------


@dataclass
class PlaceCount:
    path: str
    name: str
    kind: str  # a division kind or "beat"
    count: int
    id: int | None = None


@dataclass
class MonthCount:
    month: date
    reported: int
    settled: int


@dataclass
class DisputeStatistics:
    since: date
    total: int  # every dispute in scope, ever
    total_since: int  # reported on or after ``since``
    by_category: list[tuple[str, str, int]]  # (value, label, count), since ``since``
    by_place: list[PlaceCount]
    by_month: list[MonthCount]
    settled: int
    with_outcome: int
    median_days_to_settle: float | None
    open: int
    overdue: int
    escalated: int
    repeats: int
    by_outcome: dict[str, int] = field(default_factory=dict)

    @property
    def settlement_rate(self) -> float | None:
        """Settled among the disputes that reached an outcome (settled, referred, failed);
        rejected reports are no disputes and do not count."""
        return self.settled / self.with_outcome if self.with_outcome else None


def default_since(today: date) -> date:
    """Twelve months back, from the first of the month."""
    return date(today.year - 1, today.month, 1)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _median_days(qs: QuerySet[Dispute], n: int) -> float | None:
    """The median of (settled − reported) over ``qs``'s ``n`` settled rows, in days: sorted in
    the database and read at the middle (one or two rows), portable to SQLite and PostgreSQL."""
    if n == 0:
        return None
    duration = ExpressionWrapper(F("settled_at") - F("reported_at"), output_field=DurationField())
    ordered = qs.annotate(taken=duration).order_by("taken", "pk").values_list("taken", flat=True)
    middle = list(ordered[(n - 1) // 2 : n // 2 + 1])
    values = [d.total_seconds() / 86400 for d in middle if d is not None]
    return round(sum(values) / len(values), 1) if values else None


def _rollup_level(user: User) -> int:
    """How many path segments to group by: one level below the user's jurisdiction (the
    districts for a city-wide user), the beats themselves at the bottom."""
    scope = scope_for(user)
    if scope.prefixes is None:
        return 3
    if not scope.prefixes:
        return GRID_DEPTH
    depth = min(p.count(".") + 1 for p in scope.prefixes)
    return min(depth + 1, GRID_DEPTH)


def _by_place(user: User, qs: QuerySet[Dispute]) -> list[PlaceCount]:
    """Counts per beat in SQL (one row per beat with disputes), rolled up in Python to the
    level below the user's jurisdiction, then named (two small queries)."""
    level = _rollup_level(user)
    totals: dict[str, int] = {}
    for path, n in qs.order_by().values_list("path").annotate(n=Count("pk")):
        key = ".".join(path.split(".")[:level])
        totals[key] = totals.get(key, 0) + n
    names: dict[str, tuple[str, str, int]] = {}
    if level >= GRID_DEPTH:
        for pk, path, name in Beat.objects.filter(path__in=totals).values_list(
            "pk", "path", "name"
        ):
            names[path] = (name, "beat", pk)
    else:
        rows = Division.objects.filter(path__in=totals).values_list("pk", "path", "name", "kind")
        for pk, path, name, kind in rows:
            names[path] = (name, kind, pk)
    return sorted(
        (
            PlaceCount(
                path=path,
                name=names.get(path, (path, "", None))[0],
                kind=names.get(path, ("", "", None))[1],
                id=names.get(path, ("", "", None))[2],
                count=n,
            )
            for path, n in totals.items()
        ),
        key=lambda p: (-p.count, p.path),
    )


def _months(first: date, last: date) -> list[date]:
    months = []
    day = date(first.year, first.month, 1)
    while day <= last:
        months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


def dispute_statistics(*, user: User, since: date | None = None) -> DisputeStatistics:
    """Counts by category, place (rolled up) and month, the settlement rate, the median days
    to settle and the cumulative total since ``since`` — all over the disputes in scope, with
    aggregates in the database (a fixed dozen queries at any size).

    Everything but ``total`` counts disputes reported on or after ``since`` (default: twelve
    months back). ``since`` must not be before ``STATISTICS_FIRST_DAY`` or after today;
    callers validate it.
    """
    today = timezone.localdate()
    since = since or default_since(today)
    scoped = scope_filter(Dispute.objects.all(), user)
    window = scoped.filter(reported_at__gte=_start_of(since))
    now = timezone.now()
    # One pass for the head figures, the outcomes, the categories and the reports per month:
    # grouped by month (a dozen rows), summed here. Over ``dispute_window_cover`` it reads
    # the index alone on PostgreSQL.
    outcomes = [Outcome.SETTLED, Outcome.REFERRED, Outcome.FAILED, Outcome.REJECTED]
    per_month = (
        window.order_by()
        .annotate(m=TruncMonth("reported_at"))
        .values("m")
        .annotate(
            total_since=Count("pk"),
            with_outcome=Count(
                "pk", filter=Q(outcome__in=[Outcome.SETTLED, Outcome.REFERRED, Outcome.FAILED])
            ),
            open=Count("pk", filter=Q(state__in=workflow.OPEN_STATES)),
            overdue=Count("pk", filter=Q(due_at__isnull=False, due_at__lt=now)),
            escalated=Count("pk", filter=Q(escalated=True)),
            # Not ``repeats``: that is the reverse relation of ``repeat_of``.
            repeat_count=Count("pk", filter=Q(repeat_of__isnull=False)),
            **{f"outcome_{o}": Count("pk", filter=Q(outcome=o)) for o in outcomes},
            **{f"category_{c}": Count("pk", filter=Q(category=c)) for c in DisputeCategory.values},
        )
    )

    def month_of(value: datetime | date) -> date:
        if isinstance(value, datetime):
            value = timezone.localtime(value) if timezone.is_aware(value) else value
            return date(value.year, value.month, 1)
        return date(value.year, value.month, 1)

    head: dict[str, int] = defaultdict(int)
    reported_m: dict[date, int] = defaultdict(int)
    for row in per_month:
        values: dict[str, Any] = dict(row)
        reported_m[month_of(values.pop("m"))] += values["total_since"]
        for key, n in values.items():
            head[key] += n
    head["settled"] = head[f"outcome_{Outcome.SETTLED}"]
    by_outcome = {str(o): int(head[f"outcome_{o}"]) for o in outcomes if head[f"outcome_{o}"]}
    by_category = [
        (value, str(label), head[f"category_{value}"]) for value, label in DisputeCategory.choices
    ]
    # Settlements per month count every dispute in scope settled since then, whenever it was
    # reported (``dispute_settled_cover``).
    settled = (
        scoped.filter(settled_at__gte=_start_of(since))
        .order_by()
        .annotate(m=TruncMonth("settled_at"))
        .values_list("m")
        .annotate(n=Count("pk"))
    )
    settled_m: dict[date, int] = defaultdict(int)
    for key, n in settled:
        settled_m[month_of(key)] += n
    by_month = [
        MonthCount(month=m, reported=reported_m.get(m, 0), settled=settled_m.get(m, 0))
        for m in _months(since, today)
    ]
    settled_rows = window.filter(outcome=Outcome.SETTLED, settled_at__isnull=False)
    return DisputeStatistics(
        since=since,
        total=scoped.count(),
        total_since=head["total_since"],
        by_category=by_category,
        by_place=_by_place(user, window),
        by_month=by_month,
        settled=head["settled"],
        with_outcome=head["with_outcome"],
        median_days_to_settle=_median_days(settled_rows, head["settled"]),
        open=head["open"],
        overdue=head["overdue"],
        escalated=head["escalated"],
        repeats=head["repeat_count"],
        by_outcome=by_outcome,
    )


def statistics_since_valid(since: date, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return STATISTICS_FIRST_DAY <= since <= today


# --- intake lookups -----------------------------------------------------------------------


def report_beats(*, user: User) -> QuerySet[Beat]:
    """The beats a user may report a dispute in: those in scope."""
    return scope_filter(Beat.objects.all(), user).order_by("path")


def report_residents(*, user: User, ids: list[int]) -> dict[int, Resident]:
    """The residents among ``ids`` the user may see, by id (unknown or out of scope ids are
    simply missing: the caller names them)."""
    wanted = [i for i in ids if 0 < i <= MAX_ID]
    if not wanted:
        return {}
    return scope_filter(Resident.objects.filter(pk__in=wanted), user).in_bulk()


def report_dwelling(*, user: User, pk: int) -> Dwelling | None:
    if not 0 < pk <= MAX_ID:
        return None
    return scope_filter(Dwelling.objects.filter(pk=pk), user).first()
