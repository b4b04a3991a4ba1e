"""Reads for teams, scoped through the beats a record belongs to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    """Staff assigned to at least one beat in scope.

    A semi-join (``pk IN (scoped assignments)``) rather than a join with DISTINCT: counting
    the officers of a whole city with DISTINCT over every column took a second on PostgreSQL.
    """
    assigned = scope_filter(Assignment.objects.all(), user).values("staff_id")
    qs = Staff.objects.filter(pk__in=assigned)
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


def breaks_rule(officers: int, workers: int, grid_workers: int) -> bool:
    return officers != 1 or workers < MIN_COMMUNITY_WORKERS or grid_workers < MIN_GRID_WORKERS


# (beat id, path, station id, responsible officers, community workers, grid workers)
_Counts = tuple[int, str, int, int, int, int]


def _team_counts(user: User) -> list[_Counts]:
    """The team counts of every beat in scope as plain tuples: one grouped query and no model
    instances, so a city of thousands of beats costs milliseconds of Python."""
    rows = (
        _annotated_beats(beat_list(user=user))
        .order_by("path")
        # The stubs cannot see annotations made in _annotated_beats.
        .values_list("id", "path", "station_id", "n_officers", "n_workers", "n_grid")  # type: ignore[misc]
    )
    return list(rows)


def _with_beats(rows: list[_Counts]) -> list[BeatCompliance]:
    beats = Beat.objects.select_related("station", "grid__community").in_bulk(
        [row[0] for row in rows]
    )
    return [
        BeatCompliance(beats[beat_id], o, w, g, compliance_problems(o, w, g))
        for beat_id, _path, _station, o, w, g in rows
    ]


def beat_compliance(*, user: User, only_breaking: bool = False) -> list[BeatCompliance]:
    """The team rule for every beat in scope, in path order (two queries)."""
    rows = _team_counts(user)
    if only_breaking:
        rows = [row for row in rows if breaks_rule(*row[3:])]
    return _with_beats(rows)


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


def _summary(user: User, beats: int, compliant: int) -> ComplianceSummary:
    officers = staff_list(user=user, kind=StaffKind.COMMUNITY_OFFICER)
    current_post = CommitteePost.objects.filter(staff=OuterRef("pk"), until__isnull=True)
    return ComplianceSummary(
        beats=beats,
        compliant=compliant,
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
    summary: ComplianceSummary
    by_station: list[GroupCompliance]
    by_district: list[GroupCompliance]
    breaking: list[BeatCompliance]


def compliance_report(*, user: User) -> ComplianceReport:
    """The 1+2+N rule for every beat in scope, grouped by station and by district, with the
    share of officers holding a committee post, and the breaking beats with their reasons.

    A fixed handful of queries at any scale; only the breaking beats become model objects.
    """
    rows = _team_counts(user)
    broken = [row for row in rows if breaks_rule(*row[3:])]
    stations = PoliceStation.objects.in_bulk({row[2] for row in rows})
    district_of = {row[1]: ".".join(row[1].split(".")[:3]) for row in rows}
    districts = {d.path: d for d in Division.objects.filter(path__in=set(district_of.values()))}
    by_station: dict[int, GroupCompliance] = {}
    by_district: dict[str, GroupCompliance] = {}
    broken_ids = {row[0] for row in broken}
    for beat_id, path, station_id, _o, _w, _g in rows:
        station = by_station.setdefault(station_id, GroupCompliance(stations[station_id]))
        district = by_district.setdefault(
            district_of[path], GroupCompliance(districts[district_of[path]])
        )
        for group in (station, district):
            group.beats += 1
            group.breaking += 1 if beat_id in broken_ids else 0
    return ComplianceReport(
        summary=_summary(user, len(rows), len(rows) - len(broken)),
        by_station=sorted(by_station.values(), key=lambda g: (-g.breaking, str(g.place))),
        by_district=sorted(by_district.values(), key=lambda g: g.place.path),  # type: ignore[union-attr]  # districts only
        breaking=_with_beats(broken),
    )


def compliance_by_station(*, user: User) -> list[dict[str, object]]:
    """Beats and breaking beats per police station in scope."""
    return [
        {"station": g.place, "beats": g.beats, "breaking": g.breaking}
        for g in compliance_report(user=user).by_station
    ]


def duty_roster(
    *,
    user: User,
    office: PoliceOffice | None = None,
    offices: Sequence[PoliceOffice] | None = None,
    start: date | None = None,
    days: int = 7,
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
    in_scope = office_list(user=user)
    staff_in_scope = scope_filter(Assignment.objects.filter(staff=OuterRef("staff_id")), user)
    qs = DutyShift.objects.filter(
        Exists(staff_in_scope), office__in=in_scope, starts_at__lt=end, ends_at__gt=begin
    )
    if office is not None:
        qs = qs.filter(office=office)
    if offices is not None:
        # Further narrows the offices in scope (a page of them); never widens.
        qs = qs.filter(office__in=[o.pk for o in offices])
    return qs.select_related("office", "staff").order_by("office__code", "starts_at")
