"""Teams API: the 1+2+N compliance, staff, a beat's team and the duty roster.

Handlers are thin over ``teams.selectors`` and ``places.selectors``: everything is already
narrowed to the user's scope, so an object out of scope answers 404 like an unknown one.
People are shown as ``accounts.privacy`` allows: to a user who may not see names, a name is
masked and a police number or phone is an empty string.
"""

# No ``from __future__ import annotations`` here: ninja reads the handlers' annotations at
# runtime to build the parameters' models.

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import Query, Router
from ninja.errors import HttpError
from ninja.pagination import paginate

from safecommunity.accounts.api import request_user
from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import may_see_names, shown_name
from safecommunity.accounts.scope import scope_filter
from safecommunity.places import selectors as places
from safecommunity.places.schemas import MAX_ID, MessageOut, Pagination, Ref
from safecommunity.teams import selectors
from safecommunity.teams.models import DutyShift, Staff, StaffKind
from safecommunity.teams.schemas import (
    BeatTeamOut,
    BreakingBeatOut,
    CommitteePostOut,
    ComplianceOut,
    ComplianceSummaryOut,
    NamedRef,
    ShiftOut,
    StaffBeatOut,
    StaffDetailOut,
    StaffOut,
    TeamMemberOut,
)

router = Router(tags=["teams"])

_NOT_FOUND = {404: MessageOut}

M = TypeVar("M", bound=Model)
Out = TypeVar("Out")  # an output schema


class _ShapedPage(Generic[M, Out]):
    """A queryset seen through ``shape``, for ``@paginate``: counted and sliced like the
    queryset itself, so only the rows of the requested page are fetched — and shaped, all at
    once (``shape`` may spend one query on the whole page)."""

    def __init__(self, queryset: QuerySet[M], shape: Callable[[list[M]], list[Out]]) -> None:
        self._queryset = queryset
        self._shape = shape

    def all(self) -> "_ShapedPage[M, Out]":
        # Ninja counts through ``.all().count()``.
        return self

    def count(self) -> int:
        return self._queryset.count()

    def __getitem__(self, page: slice) -> list[Out]:
        return self._shape(list(self._queryset[page]))


def _staff_fields(user: User, staff: Staff, stations: set[int]) -> dict[str, Any]:
    """What ``user`` may see of ``staff``: the name, police number and phone only when they
    may see names; the station only when it lies in their scope (``stations``)."""
    names = may_see_names(user)
    return {
        "id": staff.pk,
        "kind": staff.kind,
        "name": shown_name(user, staff.name),
        "police_number": staff.police_number if names else "",
        "phone": staff.phone if names else "",
        "station_id": staff.station_id if staff.station_id in stations else None,
    }


@router.get(
    "/compliance",
    response=ComplianceOut,
    summary="The 1+2+N team rule in scope: a summary and the beats that break it, with why",
)
def compliance(request: HttpRequest) -> ComplianceOut:
    user = request_user(request)
    report = selectors.compliance_report(user=user)
    summary, breaking = report.summary, report.breaking
    return ComplianceOut(
        summary=ComplianceSummaryOut(
            beats=summary.beats,
            compliant=summary.compliant,
            compliant_share=summary.compliant_share,
            officers=summary.officers,
            officers_with_post=summary.officers_with_post,
            committee_share=summary.committee_share,
        ),
        breaking=[
            BreakingBeatOut(
                beat=Ref.model_validate(row.beat),
                station=Ref.model_validate(row.beat.station),
                officers=row.officers,
                community_workers=row.community_workers,
                grid_workers=row.grid_workers,
                problems=row.problems,
            )
            for row in breaking
        ],
    )


@router.get("/staff", response=list[StaffOut], summary="Staff of the beats in scope")
@paginate(Pagination)
def staff_list(
    request: HttpRequest,
    kind: Annotated[StaffKind | None, Query(description="Only staff of this kind")] = None,
) -> _ShapedPage[Staff, StaffOut]:
    user = request_user(request)

    def shape(page: list[Staff]) -> list[StaffOut]:
        stations = selectors.staff_stations_in_scope(user=user, staff=page)
        return [StaffOut(**_staff_fields(user, staff, stations)) for staff in page]

    staff = selectors.staff_list(user=user, kind=kind).order_by("kind", "name", "id")
    return _ShapedPage(staff, shape)


@router.get(
    "/staff/{staff_id}",
    response={200: StaffDetailOut, **_NOT_FOUND},
    summary="One staff member with the beats (in scope) and committee posts they hold",
)
def staff_detail(request: HttpRequest, staff_id: int) -> StaffDetailOut:
    user = request_user(request)
    staff = selectors.staff_get(user=user, pk=staff_id)
    # Only the beats in scope: an officer answering for two beats shows a neighbour one.
    assignments = scope_filter(
        staff.assignments.select_related("beat").order_by("beat__path"), user
    )
    # Posts of the communities the user has a part in; the station only if it is in scope.
    posts = selectors.staff_committee_posts(user=user, staff=staff)
    stations = selectors.staff_stations_in_scope(user=user, staff=[staff])
    return StaffDetailOut(
        **_staff_fields(user, staff, stations),
        station=Ref.model_validate(staff.station) if staff.station_id in stations else None,
        beats=[
            StaffBeatOut(beat=Ref.model_validate(a.beat), responsible=a.responsible, since=a.since)
            for a in assignments
        ],
        committee_posts=[CommitteePostOut.model_validate(p) for p in posts],
    )


@router.get(
    "/beats/{beat_id}/team",
    response={200: BeatTeamOut, **_NOT_FOUND},
    summary="The 1+2+N team of one beat and why it breaks the rule, if it does",
)
def beat_team(request: HttpRequest, beat_id: int) -> BeatTeamOut:
    user = request_user(request)
    beat = places.beat_get(user=user, pk=beat_id)
    members = list(selectors.beat_team(user=user, beat=beat))
    officers = sum(1 for m in members if m.responsible)
    workers = sum(1 for m in members if m.kind == StaffKind.COMMUNITY_WORKER)
    grid_workers = sum(1 for m in members if m.kind == StaffKind.GRID_WORKER)
    names = may_see_names(user)
    return BeatTeamOut(
        beat=Ref.model_validate(beat),
        members=[
            TeamMemberOut(
                staff_id=m.staff_id,
                name=shown_name(user, m.staff.name),
                kind=m.kind,
                responsible=m.responsible,
                since=m.since,
                police_number=m.staff.police_number if names else "",
                phone=m.staff.phone if names else "",
            )
            for m in members
        ],
        problems=selectors.compliance_problems(officers, workers, grid_workers),
    )


@router.get(
    "/roster",
    response={200: list[ShiftOut], **_NOT_FOUND},
    summary="Duty shifts of the police offices in scope, from a day for a number of days",
)
@paginate(Pagination)
def roster(
    request: HttpRequest,
    office: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this police office")
    ] = None,
    start: Annotated[
        date | None, Query(description="First day (YYYY-MM-DD); today by default")
    ] = None,
    days: Annotated[
        int, Query(ge=1, le=selectors.ROSTER_MAX_DAYS, description="How many days")
    ] = 7,
) -> _ShapedPage[DutyShift, ShiftOut]:
    user = request_user(request)
    first, last = selectors.ROSTER_FIRST_DAY, selectors.ROSTER_LAST_DAY
    if start is not None and not first <= start <= last:
        raise HttpError(422, f"start must lie between {first:%Y-%m-%d} and {last:%Y-%m-%d}.")
    chosen = places.office_get(user=user, pk=office) if office is not None else None

    def shape(page: list[DutyShift]) -> list[ShiftOut]:
        return [
            ShiftOut(
                id=shift.pk,
                office=Ref.model_validate(shift.office),
                staff=NamedRef(id=shift.staff_id, name=shown_name(user, shift.staff.name)),
                starts_at=shift.starts_at,
                ends_at=shift.ends_at,
            )
            for shift in page
        ]

    shifts = selectors.duty_roster(user=user, office=chosen, start=start, days=days)
    return _ShapedPage(shifts, shape)
