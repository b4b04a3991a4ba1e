"""Residents' requests API: the requests of the user's jurisdiction, one request with its
history, and the moves (assign, transition). Handlers are thin: reads through ``selectors``
(out of scope is a 404 like unknown), writes through ``services``; a refused move is a 400
naming why."""

# No ``from __future__ import annotations`` here: ninja reads the handlers' annotations at
# runtime to build the parameters' models.

from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from safecommunity.accounts.api import request_user
from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import may_see_names, shown_name
from safecommunity.places.schemas import Pagination
from safecommunity.service_requests import selectors, services
from safecommunity.service_requests.models import ServiceRequest, Source
from safecommunity.service_requests.models import Status as RequestStatus
from safecommunity.service_requests.schemas import (
    AssignIn,
    EventOut,
    MessageOut,
    RequestDetailOut,
    RequestOut,
    SubmitIn,
    TransitionIn,
)
from safecommunity.service_requests.workflow import TEAM

router = Router(tags=["service_requests"])


def _out(user: User, row: ServiceRequest) -> dict[str, Any]:
    return {
        "service_request_id": row.service_request_id,
        "service_code": row.service.service_code,
        "service_name": row.service.name,
        "status": row.status,
        "open311_status": row.open311_status,
        "beat_id": row.beat_id,
        "beat_name": row.beat.name,
        "assigned_to_id": row.assigned_to_id,
        "assigned_to_name": shown_name(user, row.assigned_to.name) if row.assigned_to else None,
        "description": row.description,
        "address_string": row.address_string,
        "lat": row.lat,
        "lng": row.lng,
        "requested_datetime": row.requested_datetime,
        "updated_datetime": row.updated_datetime,
        "expected_datetime": row.expected_datetime,
        "overdue": selectors.is_overdue(row),
        "source": row.source,
    }


def _detail(user: User, row: ServiceRequest) -> RequestDetailOut:
    events = [
        EventOut(
            at=e.at,
            kind=e.kind,
            from_status=e.from_status,
            to_status=e.to_status,
            note=e.note,
            actor=shown_name(user, e.actor_name) if e.actor_name else "",
            assignee_name=shown_name(user, e.assignee.name) if e.assignee else None,
            reinspected_on=e.reinspected_on.isoformat() if e.reinspected_on else None,
            reinspection_result=e.reinspection_result,
        )
        for e in selectors.request_events(row)
    ]
    return RequestDetailOut(
        **_out(user, row),
        attributes=row.attributes,
        contact_name=shown_name(user, row.contact_name) if row.contact_name else "",
        # Even masked, a phone is shown only to users who may see names (as in disputes).
        contact_phone_masked=row.contact_phone_masked if may_see_names(user) else "",
        status_notes=row.status_notes,
        events=events,
    )


@router.get("/", response=list[RequestOut], summary="Requests in scope, newest first")
@paginate(Pagination)
def request_list(
    request: HttpRequest,
    status: Annotated[RequestStatus | None, Query(description="Only this status")] = None,
    service: Annotated[
        str | None, Query(max_length=32, description="Only this service code")
    ] = None,
    overdue: Annotated[bool, Query(description="Only open requests past their date")] = False,
    mine: Annotated[bool, Query(description="Only those assigned to me")] = False,
) -> list[dict[str, object]]:
    user = request_user(request)
    filters = selectors.RequestFilter(
        status=status or "", service=service or "", overdue=overdue, mine=mine
    )
    rows: QuerySet[ServiceRequest] = selectors.request_list(
        user=user, filters=filters, now=timezone.now()
    )
    return _Rows(user, rows)  # type: ignore[return-value]  # sliced lazily by the paginator


class _Rows:
    """The queryset mapped to output rows only for the page the paginator slices."""

    def __init__(self, user: User, rows: QuerySet[ServiceRequest]) -> None:
        self.user, self.rows = user, rows

    def count(self) -> int:
        return self.rows.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[dict[str, object]]:
        return [_out(self.user, r) for r in self.rows[index]]


@router.post(
    "/",
    response={201: RequestDetailOut, 400: MessageOut, 403: MessageOut},
    summary="File a request for a resident (staff intake)",
)
def request_create(
    request: HttpRequest, body: SubmitIn
) -> Status[RequestDetailOut] | Status[MessageOut]:
    """Staff of the working roles file for a place in their own jurisdiction: another
    jurisdiction's place is refused (400) without naming its beat; a read-only role gets 403."""
    user = request_user(request)
    if user.role not in TEAM:
        return Status(403, MessageOut(detail=_("Your role may not file requests.")))
    row = services.request_submit(
        service_code=body.service_code,
        description=body.description,
        lat=body.lat,
        lng=body.lng,
        address_string=body.address_string,
        address_id=body.address_id,
        attributes=dict(body.attributes),
        contact={"name": body.contact_name, "phone": body.contact_phone},
        actor=user,
        source=Source.STAFF,
    )
    fresh = selectors.request_get(user=user, service_request_id=row.service_request_id)
    return Status(201, _detail(user, fresh))


@router.get(
    "/{service_request_id}",
    response={200: RequestDetailOut, 404: MessageOut},
    summary="One request with its history",
)
def request_detail(request: HttpRequest, service_request_id: str) -> RequestDetailOut:
    user = request_user(request)
    row = selectors.request_get(user=user, service_request_id=service_request_id[:32])
    return _detail(user, row)


@router.post(
    "/{service_request_id}/transition",
    response={200: RequestDetailOut, 400: MessageOut, 404: MessageOut},
    summary="Move a request along the workflow",
)
def request_transition(
    request: HttpRequest, service_request_id: str, body: TransitionIn
) -> RequestDetailOut:
    user = request_user(request)
    row = selectors.request_get(user=user, service_request_id=service_request_id[:32])
    services.request_transition(request=row, actor=user, to=body.to, note=body.note)
    return _detail(
        user, selectors.request_get(user=user, service_request_id=row.service_request_id)
    )


@router.post(
    "/{service_request_id}/assign",
    response={200: RequestDetailOut, 400: MessageOut, 404: MessageOut},
    summary="Give a request to a member of its beat's team",
)
def request_assign(
    request: HttpRequest, service_request_id: str, body: AssignIn
) -> RequestDetailOut | Status[MessageOut]:
    user = request_user(request)
    row = selectors.request_get(user=user, service_request_id=service_request_id[:32])
    team = {s.pk: s for s in selectors.request_team(row)}
    assignee = team.get(body.assignee)
    if assignee is None:
        return Status(400, MessageOut(detail="assignee: not on the team of this request's beat."))
    services.request_assign(request=row, actor=user, assignee=assignee, note=body.note)
    return _detail(
        user, selectors.request_get(user=user, service_request_id=row.service_request_id)
    )
