"""Reads for teams, scoped through the beats a record belongs to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.models import User
from safecommunity.accounts.scope import scope_filter, scope_for
from safecommunity.places.models import Beat, Division, PoliceOffice, PoliceStation
from safecommunity.places.selectors import beat_list, office_list, station_list
from safecommunity.teams.models import Assignment, CommitteePost, DutyShift, Staff, StaffKind

# The 1+2+N rule.
MIN_COMMUNITY_WORKERS = 2
MIN_GRID_WORKERS = 1

# A roster is read a few weeks at a time, from a day inside what datetimes hold with room to
# spare: a start near 0001-01-01 or 9999-12-31 would overflow when the days are added. The
# page's filter form and the API both refuse a start outside these bounds.
ROSTER_MAX_DAYS = 62
ROSTER_FIRST_DAY = date(2000, 1, 1)
ROSTER_LAST_DAY = date(2999, 12, 31)


def staff_list(*, user: User, kind: str | None = None) -> QuerySet[Staff]:
    qs = scope_filter(Staff.objects.all(), user, via="assignments__path", distinct=True)
    return qs.filter(kind=kind) if kind else qs


def staff_get(*, user: User, pk: int) -> Staff:
    return get_object_or_404(staff_list(user=user), pk=pk)


def staff_stations_in_scope(*, user: User, staff: Iterable[Staff]) -> set[int]:
    """The ids of the police stations of ``staff`` that the user may see (one query).

    A staff member's station can lie outside the jurisdiction — an officer who also helps in
    a beat of another district's station — and is then not shown.
    """
    ids = {s.station_id for s in staff if s.station_id is not None}
    if not ids:
        return set()
    return set(station_list(user=user).filter(pk__in=ids).values_list("pk", flat=True))


def staff_committee_posts(*, user: User, staff: Staff) -> list[CommitteePost]:
    """The committee posts of ``staff`` in communities that touch the user's scope.

    A post is a community's, not a beat's: a beat officer sees the posts in their own
    community (which holds their beat), a district leader those in the district, nobody the
    posts in a community they have no part of.
    """
    scope = scope_for(user)
    posts = staff.committee_posts.select_related("community").order_by("since", "id")
    return [post for post in posts if scope.touches(post.path)]


def beat_team(*, user: User, beat: Beat) -> QuerySet[Assignment]:
    """The team of one beat (the beat must already have been fetched through scope)."""
    return scope_filter(
        Assignment.objects.filter(beat=beat).select_related("staff"), user
    ).order_by("-responsible", "kind", "staff__name")


@dataclass
class BeatCompliance:
    beat: Beat
    officers: int
    community_workers: int
    grid_workers: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _annotated_beats(beats: QuerySet[Beat]) -> QuerySet[Beat]:
    return beats.annotate(
        n_officers=Count(
            "assignments",
            filter=Q(assignments__kind=StaffKind.COMMUNITY_OFFICER, assignments__responsible=True),
        ),
        n_workers=Count("assignments", filter=Q(assignments__kind=StaffKind.COMMUNITY_WORKER)),
        n_grid=Count("assignments", filter=Q(assignments__kind=StaffKind.GRID_WORKER)),
    )


def compliance_problems(officers: int, workers: int, grid_workers: int) -> list[str]:
    """Why a beat breaks the 1+2+N rule, in words; empty when it holds."""
    problems = []
    if officers == 0:
        problems.append(_("no responsible community officer"))
    elif officers > 1:
        problems.append(_("%(n)d responsible officers (must be one)") % {"n": officers})
    if workers < MIN_COMMUNITY_WORKERS:
        problems.append(
            _("%(n)d community worker(s), needs at least %(min)d")
            % {"n": workers, "min": MIN_COMMUNITY_WORKERS}
        )
    if grid_workers < MIN_GRID_WORKERS:
        problems.append(_("no grid worker"))
    return problems


def beat_compliance(*, user: User, only_breaking: bool = False) -> list[BeatCompliance]:
    """The team rule for every beat in scope (one query)."""
    beats = _annotated_beats(beat_list(user=user).select_related("station", "grid__community"))
    out = []
    for beat in beats.order_by("path"):
        problems = compliance_problems(beat.n_officers, beat.n_workers, beat.n_grid)  # type: ignore[attr-defined]  # annotated
        if only_breaking and not problems:
            continue
        out.append(
            BeatCompliance(
                beat,
                beat.n_officers,  # type: ignore[attr-defined]
                beat.n_workers,  # type: ignore[attr-defined]
                beat.n_grid,  # type: ignore[attr-defined]
                problems,
            )
        )
    return out


@dataclass
class ComplianceSummary:
    beats: int
    compliant: int
    officers: int
    officers_with_post: int

    @property
    def compliant_share(self) -> float:
        return self.compliant / self.beats if self.beats else 0.0

    @property
    def committee_share(self) -> float:
        return self.officers_with_post / self.officers if self.officers else 0.0


def compliance_summary(*, user: User) -> ComplianceSummary:
    return compliance_report(user=user).summary


def _summary(user: User, rows: list[BeatCompliance]) -> ComplianceSummary:
    officers = staff_list(user=user, kind=StaffKind.COMMUNITY_OFFICER)
    current_post = CommitteePost.objects.filter(staff=OuterRef("pk"), until__isnull=True)
    return ComplianceSummary(
        beats=len(rows),
        compliant=sum(1 for r in rows if r.ok),
        officers=officers.count(),
        officers_with_post=officers.filter(Exists(current_post)).count(),
    )


@dataclass
class GroupCompliance:
    """Beats and breaking beats under one police station or one district."""

    place: PoliceStation | Division
    beats: int = 0
    breaking: int = 0


@dataclass
class ComplianceReport:
    rows: list[BeatCompliance]
    summary: ComplianceSummary
    by_station: list[GroupCompliance]
    by_district: list[GroupCompliance]

    @property
    def breaking(self) -> list[BeatCompliance]:
        return [row for row in self.rows if not row.ok]


def compliance_report(*, user: User) -> ComplianceReport:
    """The 1+2+N rule for every beat in scope, grouped by station and by district, with the
    share of officers holding a committee post. A fixed handful of queries at any scale."""
    rows = beat_compliance(user=user)
    by_station: dict[int, GroupCompliance] = {}
    by_district: dict[str, GroupCompliance] = {}
    district_paths = {".".join(row.beat.path.split(".")[:3]) for row in rows}
    districts = {d.path: d for d in Division.objects.filter(path__in=district_paths)}
    for row in rows:
        station = by_station.setdefault(row.beat.station_id, GroupCompliance(row.beat.station))
        district_path = ".".join(row.beat.path.split(".")[:3])
        district = by_district.setdefault(district_path, GroupCompliance(districts[district_path]))
        for group in (station, district):
            group.beats += 1
            group.breaking += 0 if row.ok else 1
    return ComplianceReport(
        rows=rows,
        summary=_summary(user, rows),
        by_station=sorted(by_station.values(), key=lambda g: (-g.breaking, str(g.place))),
        by_district=sorted(by_district.values(), key=lambda g: g.place.path),  # type: ignore[union-attr]  # districts only
    )


def compliance_by_station(*, user: User) -> list[dict[str, object]]:
    """Beats and breaking beats per police station in scope."""
    return [
        {"station": g.place, "beats": g.beats, "breaking": g.breaking}
        for g in compliance_report(user=user).by_station
    ]


def duty_roster(
    *, user: User, office: PoliceOffice | None = None, start: date | None = None, days: int = 7
) -> QuerySet[DutyShift]:
    """Shifts in the offices in scope from ``start`` (today) for ``days`` days, of staff in
    the user's scope only.

    An office may serve several beats: a user of one of them sees the office, but not the
    shifts of the staff of a neighbouring beat (their names are out of scope). ``start`` must
    lie between ``ROSTER_FIRST_DAY`` and ``ROSTER_LAST_DAY``; callers validate it.
    """
    tz = timezone.get_current_timezone()
    first = start or timezone.localdate()
    begin = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    end = begin + timedelta(days=days)
    offices = office_list(user=user)
    staff_in_scope = scope_filter(Assignment.objects.filter(staff=OuterRef("staff_id")), user)
    qs = DutyShift.objects.filter(
        Exists(staff_in_scope), office__in=offices, starts_at__lt=end, ends_at__gt=begin
    )
    if office is not None:
        qs = qs.filter(office=office)
    return qs.select_related("office", "staff").order_by("office__code", "starts_at")
