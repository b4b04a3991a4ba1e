"""Teams API: the 1+2+N compliance, staff, a beat's team and the duty roster.

Handlers are thin over ``teams.selectors`` and ``places.selectors``: everything is already
narrowed to the user's scope, so an object out of scope answers 404 like an unknown one.
"""

# No ``from __future__ import annotations`` here: ninja reads the handlers' annotations at
# runtime to build the parameters' models.

from datetime import date
from typing import Annotated

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router
from ninja.errors import HttpError
from ninja.pagination import paginate

from safecommunity.accounts.api import request_user
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
    ShiftOut,
    StaffBeatOut,
    StaffDetailOut,
    StaffOut,
    TeamMemberOut,
)

router = Router(tags=["teams"])

_NOT_FOUND = {404: MessageOut}

# A roster is read a few weeks at a time; the bounds keep dates inside what datetimes hold.
ROSTER_MAX_DAYS = 62
ROSTER_FIRST_DAY = date(2000, 1, 1)
ROSTER_LAST_DAY = date(2999, 12, 31)


@router.get(
    "/compliance",
    response=ComplianceOut,
    summary="The 1+2+N team rule in scope: a summary and the beats that break it, with why",
)
def compliance(request: HttpRequest) -> ComplianceOut:
    user = request_user(request)
    summary = selectors.compliance_summary(user=user)
    breaking = selectors.beat_compliance(user=user, only_breaking=True)
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
) -> QuerySet[Staff]:
    return selectors.staff_list(user=request_user(request), kind=kind).order_by(
        "kind", "name", "id"
    )


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
    # Committee posts are public posts of the community, not of a beat.
    posts = staff.committee_posts.select_related("community").order_by("since", "id")
    return StaffDetailOut(
        id=staff.pk,
        kind=staff.kind,
        name=staff.name,
        police_number=staff.police_number,
        phone=staff.phone,
        station_id=staff.station_id,
        station=Ref.model_validate(staff.station) if staff.station else None,
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
    return BeatTeamOut(
        beat=Ref.model_validate(beat),
        members=[
            TeamMemberOut(
                staff_id=m.staff_id,
                name=m.staff.name,
                kind=m.kind,
                responsible=m.responsible,
                since=m.since,
                police_number=m.staff.police_number,
                phone=m.staff.phone,
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
    days: Annotated[int, Query(ge=1, le=ROSTER_MAX_DAYS, description="How many days")] = 7,
) -> QuerySet[DutyShift]:
    user = request_user(request)
    if start is not None and not ROSTER_FIRST_DAY <= start <= ROSTER_LAST_DAY:
        raise HttpError(
            422,
            f"start must lie between {ROSTER_FIRST_DAY:%Y-%m-%d} and {ROSTER_LAST_DAY:%Y-%m-%d}.",
        )
    chosen = places.office_get(user=user, pk=office) if office is not None else None
    return selectors.duty_roster(user=user, office=chosen, start=start, days=days)
