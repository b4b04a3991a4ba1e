"""Field work API: the four kinds of log, campaigns and their coverage.

``POST /visits`` is also the offline queue's sync endpoint: the client makes ``client_uuid``,
and sending the same visit again answers 200 with the visit already stored (201 the first
time), never a second one. Everything is narrowed to the user's scope: a dwelling, beat,
office or campaign out of scope answers 404 like an unknown one. Times go out in local time
(+08:00); a time sent without a zone is taken as local time.
"""

# No ``from __future__ import annotations`` here: ninja reads the handlers' annotations at
# runtime to build the parameters' models.

import json
from datetime import datetime
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from safecommunity.accounts.api import request_user
from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import shown_name
from safecommunity.fieldwork import selectors, services
from safecommunity.fieldwork.models import Patrol, PublicityEvent, StationingShift, Visit
from safecommunity.fieldwork.schemas import (
    CampaignIn,
    CampaignOut,
    CoverageOut,
    CoverageRowOut,
    DwellingRef,
    FindingIn,
    PatrolIn,
    PatrolOut,
    PublicityIn,
    PublicityOut,
    StationingIn,
    StationingOut,
    UnvisitedOut,
    VisitIn,
    VisitOut,
)
from safecommunity.people import selectors as people
from safecommunity.people.models import Residence, Resident
from safecommunity.people.schemas import FieldErrorsOut
from safecommunity.places import selectors as places
from safecommunity.places.schemas import MessageOut, Pagination

router = Router(tags=["fieldwork"])

_NOT_FOUND = {404: MessageOut}


def _errors(exc: ValidationError, detail: str) -> FieldErrorsOut:
    if hasattr(exc, "error_dict"):
        errors = {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
    else:
        errors = {"__all__": [str(m) for m in exc.messages]}
    return FieldErrorsOut(detail=detail, errors=errors)


def _aware(value: datetime | None) -> datetime | None:
    """A time without a zone is local time (Asia/Shanghai)."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _who(user: User, recorder: User | None) -> str:
    if recorder is None:
        return ""
    return shown_name(user, recorder.get_full_name() or recorder.get_username())


def _finding(value: FindingIn | None) -> services.Finding | None:
    if value is None:
        return None
    return services.Finding(
        kind=value.kind, code=value.code, risk=value.risk, attributes=dict(value.attributes)
    )


def _require_log(user: User) -> None:
    if not services.may_log(user):
        raise HttpError(403, _("You may read field work but not log it."))


# --- visits ------------------------------------------------------------------------------------


def visit_out(user: User, visit: Visit) -> VisitOut:
    return VisitOut(
        id=visit.pk,
        client_uuid=visit.client_uuid,
        dwelling=DwellingRef(
            id=visit.dwelling_id, standard_address=visit.dwelling.standard_address
        ),
        visited_at=timezone.localtime(visit.visited_at),
        outcome=visit.outcome,
        residents_confirmed=visit.residents_confirmed,
        findings=visit.findings,
        campaign_id=visit.campaign_id,
        opened_kind=visit.opened_kind,
        opened_id=visit.opened_id,
        registry_changes=visit.registry_changes,
        recorded_by=_who(user, visit.recorded_by),
    )


def _residents(ids: list[int], found: dict[int, Resident], field: str) -> list[Resident]:
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationError(
            {field: _("Unknown resident(s): %(ids)s.") % {"ids": ", ".join(map(str, missing))}}
        )
    return [found[pk] for pk in ids]


@router.post(
    "/visits",
    url_name="fieldwork_visit_create",
    response={200: VisitOut, 201: VisitOut, 400: FieldErrorsOut, 403: MessageOut, **_NOT_FOUND},
    summary="Log a household visit (idempotent by client_uuid: the offline queue's sync)",
    description="201 with the new visit; 200 with the visit already stored when the same "
    "client_uuid comes again (a resend from the offline queue), never a duplicate. 404 for a "
    "dwelling out of the caller's scope. 400 names each field that is wrong.",
)
def visit_create(
    request: HttpRequest, payload: VisitIn
) -> Status[VisitOut] | Status[FieldErrorsOut]:
    user = request_user(request)
    _require_log(user)
    dwelling = people.dwelling_get(user=user, pk=payload.dwelling_id)
    try:
        campaign = (
            selectors.campaign_get(user=user, pk=payload.campaign_id)
            if payload.campaign_id
            else None
        )
    except Http404:
        return Status(
            400,
            FieldErrorsOut(
                detail=_("The visit was not saved."),
                errors={"campaign_id": [_("Unknown campaign.")]},
            ),
        )
    try:
        current = {
            r.resident_id: r.resident
            for r in Residence.objects.filter(
                dwelling=dwelling, until__isnull=True, resident_id__in=payload.moved_out
            ).select_related("resident")
        }
        moved_out = _residents(payload.moved_out, current, "moved_out")
        visible = {r.pk: r for r in people.resident_list(user=user).filter(pk__in=payload.moved_in)}
        moved_in = _residents(payload.moved_in, visible, "moved_in")
        from safecommunity.people.services import resident_input

        new = [
            services.NewResident(
                data=resident_input(
                    name=n.name,
                    gender=n.gender,
                    birth_date=n.birth_date,
                    id_number=n.id_number,
                    phone=n.phone,
                ),
                relation=n.relation,
                registered=n.registered,
            )
            for n in payload.new_residents
        ]
        result = services.visit_record(
            actor=user,
            dwelling=dwelling,
            client_uuid=payload.client_uuid,
            outcome=payload.outcome,
            visited_at=_aware(payload.visited_at),
            residents_confirmed=payload.residents_confirmed,
            findings=payload.findings,
            campaign=campaign,
            moved_out=moved_out,
            moved_in=moved_in,
            new_residents=new,
            open_as=_finding(payload.open_as),
            request=request,
        )
    except ValidationError as exc:
        return Status(400, _errors(exc, _("The visit was not saved.")))
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from exc
    visit = Visit.objects.select_related("dwelling", "recorded_by").get(pk=result.visit.pk)
    return Status(201 if result.created else 200, visit_out(user, visit))


@router.get("/visits", response=list[VisitOut], summary="Household visits in scope, newest first")
@paginate(Pagination)
def visit_list(request: HttpRequest) -> list[VisitOut]:
    user = request_user(request)
    visits = selectors.visit_list(user=user).select_related("dwelling", "recorded_by")
    return _Shaped(visits, lambda v: visit_out(user, v))  # type: ignore[return-value]  # paged


@router.get("/visits/{visit_id}", response={200: VisitOut, **_NOT_FOUND}, summary="One visit")
def visit_detail(request: HttpRequest, visit_id: int) -> VisitOut:
    user = request_user(request)
    return visit_out(user, selectors.visit_get(user=user, pk=visit_id))


class _Shaped:
    """A queryset seen through ``shape`` for ``@paginate``: only the page's rows are shaped."""

    def __init__(self, queryset: Any, shape: Any) -> None:
        self._queryset = queryset
        self._shape = shape

    def all(self) -> "_Shaped":
        return self

    def count(self) -> int:
        return int(self._queryset.count())

    def __getitem__(self, page: slice) -> list[Any]:
        return [self._shape(row) for row in self._queryset[page]]


# --- patrols, stationing, publicity ------------------------------------------------------------


def patrol_out(user: User, patrol: Patrol) -> PatrolOut:
    return PatrolOut(
        id=patrol.pk,
        beat_id=patrol.beat_id,
        started_at=timezone.localtime(patrol.started_at),
        ended_at=timezone.localtime(patrol.ended_at),
        route=json.loads(patrol.route),
        length_m=patrol.length_m,
        findings=patrol.findings,
        opened_kind=patrol.opened_kind,
        opened_id=patrol.opened_id,
        recorded_by=_who(user, patrol.recorded_by),
    )


@router.post(
    "/patrols",
    response={201: PatrolOut, 400: FieldErrorsOut, 403: MessageOut, **_NOT_FOUND},
    summary="Log a patrol along a GeoJSON LineString route",
)
def patrol_create(
    request: HttpRequest, payload: PatrolIn
) -> Status[PatrolOut] | Status[FieldErrorsOut]:
    user = request_user(request)
    _require_log(user)
    beat = places.beat_get(user=user, pk=payload.beat_id)
    try:
        patrol = services.patrol_record(
            actor=user,
            beat=beat,
            route=payload.route,
            started_at=_aware(payload.started_at),  # type: ignore[arg-type]  # not None
            ended_at=_aware(payload.ended_at),  # type: ignore[arg-type]
            findings=payload.findings,
            open_as=_finding(payload.open_as),
            request=request,
        )
    except ValidationError as exc:
        return Status(400, _errors(exc, _("The patrol was not saved.")))
    return Status(201, patrol_out(user, patrol))


@router.get("/patrols", response=list[PatrolOut], summary="Patrols in scope, newest first")
@paginate(Pagination)
def patrol_list(request: HttpRequest) -> list[PatrolOut]:
    user = request_user(request)
    patrols = selectors.patrol_list(user=user).select_related("recorded_by")
    return _Shaped(patrols, lambda p: patrol_out(user, p))  # type: ignore[return-value]


def stationing_out(user: User, shift: StationingShift) -> StationingOut:
    return StationingOut(
        id=shift.pk,
        office_id=shift.office_id,
        beat_id=shift.beat_id,
        started_at=timezone.localtime(shift.started_at),
        ended_at=timezone.localtime(shift.ended_at),
        notes=shift.notes,
        recorded_by=_who(user, shift.recorded_by),
    )


@router.post(
    "/stationing",
    response={201: StationingOut, 400: FieldErrorsOut, 403: MessageOut, **_NOT_FOUND},
    summary="Log a stationing shift at a police office",
)
def stationing_create(
    request: HttpRequest, payload: StationingIn
) -> Status[StationingOut] | Status[FieldErrorsOut]:
    user = request_user(request)
    _require_log(user)
    office = places.office_get(user=user, pk=payload.office_id)
    beat = places.beat_get(user=user, pk=payload.beat_id) if payload.beat_id else None
    try:
        shift = services.stationing_record(
            actor=user,
            office=office,
            beat=beat,
            started_at=_aware(payload.started_at),  # type: ignore[arg-type]  # not None
            ended_at=_aware(payload.ended_at),  # type: ignore[arg-type]
            notes=payload.notes,
            request=request,
        )
    except ValidationError as exc:
        return Status(400, _errors(exc, _("The shift was not saved.")))
    return Status(201, stationing_out(user, shift))


@router.get(
    "/stationing", response=list[StationingOut], summary="Stationing shifts in scope, newest first"
)
@paginate(Pagination)
def stationing_list(request: HttpRequest) -> list[StationingOut]:
    user = request_user(request)
    shifts = selectors.stationing_list(user=user).select_related("recorded_by")
    return _Shaped(shifts, lambda s: stationing_out(user, s))  # type: ignore[return-value]


def publicity_out(user: User, event: PublicityEvent) -> PublicityOut:
    return PublicityOut(
        id=event.pk,
        beat_id=event.beat_id,
        topic=event.topic,
        place=event.place,
        held_at=timezone.localtime(event.held_at),
        people_reached=event.people_reached,
        notes=event.notes,
        recorded_by=_who(user, event.recorded_by),
    )


@router.post(
    "/publicity",
    response={201: PublicityOut, 400: FieldErrorsOut, 403: MessageOut, **_NOT_FOUND},
    summary="Log a prevention-publicity event",
)
def publicity_create(
    request: HttpRequest, payload: PublicityIn
) -> Status[PublicityOut] | Status[FieldErrorsOut]:
    user = request_user(request)
    _require_log(user)
    beat = places.beat_get(user=user, pk=payload.beat_id)
    try:
        event = services.publicity_record(
            actor=user,
            beat=beat,
            topic=payload.topic,
            place=payload.place,
            held_at=_aware(payload.held_at),  # type: ignore[arg-type]  # not None
            people_reached=payload.people_reached,
            notes=payload.notes,
            request=request,
        )
    except ValidationError as exc:
        return Status(400, _errors(exc, _("The event was not saved.")))
    return Status(201, publicity_out(user, event))


@router.get(
    "/publicity", response=list[PublicityOut], summary="Publicity events in scope, newest first"
)
@paginate(Pagination)
def publicity_list(request: HttpRequest) -> list[PublicityOut]:
    user = request_user(request)
    events = selectors.publicity_list(user=user).select_related("recorded_by")
    return _Shaped(events, lambda e: publicity_out(user, e))  # type: ignore[return-value]


# --- campaigns ---------------------------------------------------------------------------------


@router.get("/campaigns", response=list[CampaignOut], summary="Campaigns over the caller's scope")
@paginate(Pagination)
def campaign_list(request: HttpRequest) -> Any:
    return selectors.campaign_list(user=request_user(request))


@router.post(
    "/campaigns",
    response={201: CampaignOut, 400: FieldErrorsOut, 403: MessageOut},
    summary="Start a visit campaign over a division or beat in scope",
)
def campaign_create(
    request: HttpRequest, payload: CampaignIn
) -> Status[CampaignOut] | Status[FieldErrorsOut]:
    user = request_user(request)
    try:
        campaign = services.campaign_create(
            actor=user,
            name=payload.name,
            path=payload.path,
            starts_on=payload.starts_on,
            ends_on=payload.ends_on,
            request=request,
        )
    except ValidationError as exc:
        return Status(400, _errors(exc, _("The campaign was not saved.")))
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from exc
    return Status(201, CampaignOut.model_validate(campaign))


@router.get(
    "/campaigns/{campaign_id}/coverage",
    response={200: CoverageOut, **_NOT_FOUND},
    summary="Live coverage: target and visited dwellings per beat, rolled up to each division",
    description="``rows`` holds the place at ``at`` (a path; by default the caller's part of "
    "the campaign) and the places right below it, each with the paths of its own children "
    "to ask for next; ``all=true`` gives every beat and division at once.",
)
def campaign_coverage(
    request: HttpRequest,
    campaign_id: int,
    at: Annotated[str, Query(max_length=64, description="A path in the table")] = "",
    all: Annotated[bool, Query(description="Every row, not one level")] = False,  # noqa: A002
) -> CoverageOut:
    user = request_user(request)
    campaign = selectors.campaign_get(user=user, pk=campaign_id)
    coverage = selectors.campaign_coverage(user=user, campaign=campaign)
    if at and at not in coverage.rows:
        raise Http404
    if all:
        rows = list(coverage.rows.values())
    else:
        top = [at] if at else coverage.roots
        rows = [coverage.rows[p] for p in top]
        rows += [child for p in top for child in coverage.children(p)]
    return CoverageOut(
        campaign=CampaignOut.model_validate(campaign),
        target=coverage.target,
        visited=coverage.visited,
        share=round(coverage.share, 4),
        roots=coverage.roots,
        rows=[
            CoverageRowOut(
                path=row.path,
                name=row.name,
                kind=row.kind,
                beat_id=row.beat_id,
                target=row.target,
                visited=row.visited,
                share=round(row.share, 4),
                children=row.children,
            )
            for row in rows
        ],
    )


@router.get(
    "/campaigns/{campaign_id}/beats/{beat_id}/unvisited",
    response={200: list[UnvisitedOut], **_NOT_FOUND},
    summary="Dwellings of one beat not yet visited in the campaign, in walking order",
)
def campaign_unvisited(request: HttpRequest, campaign_id: int, beat_id: int) -> list[UnvisitedOut]:
    user = request_user(request)
    campaign = selectors.campaign_get(user=user, pk=campaign_id)
    beat = selectors.campaign_beat_get(user=user, campaign=campaign, pk=beat_id)
    return [
        UnvisitedOut(id=d.pk, standard_address=d.standard_address, lat=d.lat, lng=d.lng)
        for d in selectors.campaign_unvisited(user=user, campaign=campaign, beat=beat)
    ]
