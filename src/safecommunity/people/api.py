"""Registry API: search, one resident, register one, unmask a number.

Handlers are thin: reads go through ``people.selectors`` (scoped: a resident out of scope is a
404 exactly like an unknown one), writes through ``people.services``. Answers carry ID and
phone numbers masked; only ``/unmask`` returns a plain value, with the permission and a reason,
and writes the audit row.
"""

# No ``from __future__ import annotations`` here: ninja reads the handlers' annotations at
# runtime to build the parameters' models.

from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.errors import HttpError

from safecommunity.accounts.api import request_user
from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import may_see_names, shown_name
from safecommunity.people import selectors, services
from safecommunity.people.models import CareTag, Residence, Resident
from safecommunity.people.schemas import (
    BeatRef,
    CareTagOut,
    DuplicatesOut,
    FieldErrorsOut,
    MessageOut,
    ResidenceOut,
    ResidentDetailOut,
    ResidentIn,
    ResidentOut,
    ResidentPageOut,
    UnmaskIn,
    UnmaskOut,
)

router = Router(tags=["people"])

_NOT_FOUND = {404: MessageOut}
MAX_PAGE = 1_000_000


def _residence(residence: Residence) -> ResidenceOut:
    dwelling = residence.dwelling
    beat = getattr(dwelling.grid, "beat", None)
    return ResidenceOut(
        dwelling_id=dwelling.pk,
        address=dwelling.standard_address,
        beat=BeatRef(id=beat.pk, code=beat.code, name=beat.name) if beat is not None else None,
        since=residence.since,
        until=residence.until,
        relation=residence.relation,
        registered=residence.registered,
    )


def _care_tags(tags: list[CareTag] | None) -> list[CareTagOut] | None:
    if tags is None:
        return None
    return [
        CareTagOut(kind=t.kind, label=str(t.get_kind_display()), since=t.since, notes=t.notes)
        for t in tags
    ]


def _resident(user: User, resident: Resident, tags: list[CareTag] | None) -> ResidentOut:
    current = getattr(resident, "current", [])
    return ResidentOut(
        id=resident.pk,
        name=shown_name(user, resident.name),
        gender=resident.gender,
        birth_date=resident.birth_date if may_see_names(user) else None,
        birth_year=resident.birth_date.year,
        id_number=resident.id_masked,
        phone=resident.phone_masked,
        current=_residence(current[0]) if current else None,
        care_tags=_care_tags(tags),
    )


def _field_errors(exc: ValidationError) -> FieldErrorsOut:
    if hasattr(exc, "error_dict"):
        errors = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    else:
        errors = {"__all__": [str(m) for m in exc.messages]}
    return FieldErrorsOut(detail=_("The resident was not saved."), errors=errors)


@router.get(
    "/residents",
    response=ResidentPageOut,
    summary="Search residents in scope by ID number, phone, name (characters, pinyin, "
    "initials) or address fragment",
)
def resident_list(
    request: HttpRequest,
    q: Annotated[
        str, Query(max_length=selectors.MAX_QUERY_LENGTH, description="The search box's text")
    ] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    registered: Annotated[
        bool | None, Query(description="Current residence registered (true) or floating")
    ] = None,
) -> ResidentPageOut:
    user = request_user(request)
    search = selectors.resident_search(user=user, q=q, page=page, registered=registered)
    return ResidentPageOut(
        count=search.page.paginator.count,
        count_capped=search.capped,
        page=search.page.number,
        pages=search.page.paginator.num_pages,
        mode=search.mode.value,
        addresses_searched=search.addresses_searched,
        items=[
            _resident(user, r, getattr(r, "tags", None) if search.care_tags_shown else None)
            for r in search.page.object_list
        ],
    )


@router.get(
    "/residents/{resident_id}",
    response={200: ResidentDetailOut, **_NOT_FOUND},
    summary="One resident in scope with their residences (and care tags, for the beat team)",
)
def resident_detail(request: HttpRequest, resident_id: int) -> ResidentDetailOut:
    user = request_user(request)
    resident = selectors.resident_get(user=user, pk=resident_id)
    base = _resident(user, resident, selectors.resident_care_tags(user=user, resident=resident))
    return ResidentDetailOut(
        **base.model_dump(exclude={"current", "care_tags"}),
        current=base.current,
        care_tags=base.care_tags,
        ethnicity=resident.ethnicity,
        notes=resident.notes if may_see_names(user) else None,
        residences=[_residence(r) for r in selectors.resident_history(resident=resident)],
    )


@router.post(
    "/residents",
    response={201: ResidentDetailOut, 400: FieldErrorsOut, 403: MessageOut, 409: DuplicatesOut},
    summary="Register a resident and their current dwelling",
    description="400 names each field that is wrong (e.g. the date of birth disagrees with "
    "the ID number). 409 lists possible duplicates in the caller's scope (same name and date "
    "of birth, or same name and phone); send again with ``confirm_new_person: true`` when it "
    "is a different person. The same ID number as a resident with a current address is a "
    "400; as a resident without one (moved out), that record is registered at the dwelling.",
)
def resident_create(
    request: HttpRequest, payload: ResidentIn
) -> Status[ResidentDetailOut] | Status[FieldErrorsOut] | Status[DuplicatesOut]:
    user = request_user(request)
    if not selectors.may_edit_residents(user):
        raise HttpError(403, _("You may not register residents."))
    dwelling = selectors.dwelling_find(user=user, pk=payload.dwelling_id)
    if dwelling is None:
        return Status(
            400,
            FieldErrorsOut(
                detail=_("The resident was not saved."),
                errors={"dwelling_id": [_("Choose a dwelling of your jurisdiction.")]},
            ),
        )
    try:
        data = services.resident_input(
            name=payload.name,
            gender=payload.gender,
            birth_date=payload.birth_date,
            id_number=payload.id_number,
            phone=payload.phone,
            ethnicity=payload.ethnicity,
            notes=payload.notes,
        )
    except ValidationError as exc:
        return Status(400, _field_errors(exc))
    candidates = selectors.residents_visible(
        user=user, residents=services.resident_possible_duplicates(data)
    )
    same_id = selectors.candidate_with_id(data, candidates)
    if same_id is not None and same_id.path:
        return Status(
            400,
            FieldErrorsOut(
                detail=_("The resident was not saved."),
                errors={"id_number": [_("A resident with this ID number is already registered.")]},
            ),
        )
    if candidates and same_id is None and not payload.confirm_new_person:
        return Status(
            409,
            DuplicatesOut(
                detail=_(
                    "Possible duplicates exist; send confirm_new_person: true if this is a "
                    "different person."
                ),
                candidates=[c.pk for c in candidates],
            ),
        )
    try:
        registration = services.resident_register(
            data=data,
            actor=user,
            dwelling=dwelling,
            since=payload.since,
            relation=payload.relation,
            registered=payload.registered,
            request=request,
        )
    except ValidationError as exc:
        return Status(400, _field_errors(exc))
    return Status(201, resident_detail(request, registration.resident.pk))


@router.post(
    "/residents/{resident_id}/unmask",
    response={200: UnmaskOut, 400: FieldErrorsOut, 403: MessageOut, **_NOT_FOUND},
    summary="The plain ID or phone number (needs people.unmask_resident and a reason; audited)",
)
def resident_unmask(
    request: HttpRequest, resident_id: int, payload: UnmaskIn
) -> Status[UnmaskOut] | Status[FieldErrorsOut]:
    user = request_user(request)
    resident = selectors.resident_get(user=user, pk=resident_id)
    if not selectors.may_unmask(user):
        raise HttpError(403, _("You may not see unmasked personal data."))
    try:
        value = services.resident_unmask(
            resident=resident,
            field=payload.field,
            reason=payload.reason,
            actor=user,
            request=request,
        )
    except PermissionError as exc:
        raise HttpError(403, str(exc)) from exc
    except ValidationError as exc:
        return Status(400, _field_errors(exc))
    return Status(200, UnmaskOut(field=payload.field, value=value))
