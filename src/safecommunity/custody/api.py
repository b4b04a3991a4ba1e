"""Custody register API: the items in scope, one item with its trail, intake and the moves.

Thin over ``custody.selectors`` (scoped: an item out of scope is a 404 like an unknown one)
and ``custody.services``. A refused write is a 400 naming each field and why; a move the
item's state does not allow (returning a returned item) is a 409 saying so. Owners' names
follow ``accounts.privacy``; owners' phones are only ever masked, and not shown at all to a
user who may not see names.
"""

# No ``from __future__ import annotations`` here: ninja reads the handlers' annotations at
# runtime to build the parameters' models.

from collections.abc import Callable
from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.errors import HttpError

from safecommunity.accounts.api import request_user
from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import may_see_names, shown_name
from safecommunity.custody import selectors, services
from safecommunity.custody.models import CustodyItem, CustodyMovement, ItemKind, ItemState
from safecommunity.custody.schemas import (
    CheckIn,
    DisposeIn,
    FieldErrorsOut,
    ItemDetailOut,
    ItemOut,
    ItemPageOut,
    MessageOut,
    MovementOut,
    ReceiveIn,
    Ref,
    ReturnIn,
    TransferIn,
)
from safecommunity.places.models import Beat, PoliceOffice
from safecommunity.teams.models import Staff

router = Router(tags=["custody"])

MAX_LIMIT = 200
MAX_OFFSET = 1_000_000_000
_WRITE = {400: FieldErrorsOut, 403: MessageOut, 404: MessageOut, 409: MessageOut}


def _ref(obj: Beat | PoliceOffice) -> Ref:
    return Ref(id=obj.pk, code=obj.code, name=obj.name)


def _item(user: User, item: CustodyItem) -> ItemOut:
    def name(staff: Staff | None) -> str | None:
        return shown_name(user, staff.name) if staff is not None else None

    return ItemOut(
        id=item.pk,
        tag=item.tag,
        kind=ItemKind(item.kind),
        description=item.description,
        state=item.state,
        owner_id=item.owner_id,
        owner_name=shown_name(user, item.owner_name),
        # Not even masked to a user who may not see names (as in disputes).
        owner_phone=item.owner_phone_masked if may_see_names(user) else "",
        beat=_ref(item.beat),
        office=_ref(item.office),
        received_at=item.received_at,
        received_by=name(item.received_by),
        returned_at=item.returned_at,
        returned_to=shown_name(user, item.returned_to) if item.returned_to else "",
        identity_check=item.return_check,
        returned_by=name(item.returned_by),
        disposed_at=item.disposed_at,
    )


def _movement(user: User, m: CustodyMovement) -> MovementOut:
    return MovementOut(
        action=m.action,
        at=m.at,
        staff=shown_name(user, m.staff.name) if m.staff is not None else None,
        recorded_by=m.actor.get_username() if m.actor is not None else None,
        note=m.note,
        from_office=_ref(m.from_office) if m.from_office is not None else None,
    )


def _detail(user: User, pk: int) -> ItemDetailOut:
    item = selectors.item_get(user=user, pk=pk)
    return ItemDetailOut(
        **_item(user, item).model_dump(),
        movements=[_movement(user, m) for m in selectors.item_movements(item=item)],
    )


# The services name model fields; the API's bodies name ids.
_FIELD_NAMES = {"beat": "beat_id", "owner": "owner_id"}


def _errors(exc: ValidationError, detail: str) -> FieldErrorsOut:
    if hasattr(exc, "error_dict"):
        errors = {
            _FIELD_NAMES.get(field, field): [str(m) for m in msgs]
            for field, msgs in exc.message_dict.items()
        }
    else:
        errors = {"__all__": [str(m) for m in exc.messages]}
    return FieldErrorsOut(detail=detail, errors=errors)


def _keeper(request: HttpRequest) -> User:
    user = request_user(request)
    if not selectors.may_keep_custody(user):
        raise HttpError(403, _("You may not keep the custody register."))
    return user


def _beat(user: User, beat_id: int) -> Beat | None:
    return selectors.custody_beats(user=user).filter(pk=beat_id).first()


@router.get("/items", response=ItemPageOut, summary="Custody items in scope, newest first")
def item_list(
    request: HttpRequest,
    state: Annotated[ItemState | None, Query(description="Only items in this state")] = None,
    kind: Annotated[ItemKind | None, Query(description="Only items of this kind")] = None,
    beat: Annotated[int | None, Query(ge=1, le=selectors.MAX_ID)] = None,
    q: Annotated[
        str,
        Query(
            max_length=selectors.MAX_QUERY_LENGTH,
            description="A tag (exact), or part of the description or of the owner's name "
            "(the name only for users who may see names)",
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ItemPageOut:
    user = request_user(request)
    items = selectors.item_filter(user=user, state=state, kind=kind, beat_id=beat, q=q)
    page = list(items.select_related("received_by", "returned_by")[offset : offset + limit])
    return ItemPageOut(count=items.count(), items=[_item(user, i) for i in page])


@router.get(
    "/items/{item_id}",
    response={200: ItemDetailOut, 404: MessageOut},
    summary="One custody item in scope with its movements",
)
def item_detail(request: HttpRequest, item_id: int) -> ItemDetailOut:
    return _detail(request_user(request), item_id)


@router.post(
    "/items",
    response={201: ItemDetailOut, **_WRITE},
    summary="Take an item into custody",
    description="The owner is a registry resident (``owner_id``) or a person named in "
    "``owner_name``. 400 names each wrong field: an unknown beat or one without an office, "
    "a tag already on an item the office holds, a malformed phone, a time in the future.",
)
def item_receive(
    request: HttpRequest, payload: ReceiveIn
) -> Status[ItemDetailOut] | Status[FieldErrorsOut]:
    user = _keeper(request)
    not_saved = _("The item was not taken in.")
    beat = _beat(user, payload.beat_id)
    if beat is None:
        return Status(
            400,
            FieldErrorsOut(
                detail=not_saved,
                errors={"beat_id": [_("Choose a beat of your jurisdiction with a police office.")]},
            ),
        )
    owner = None
    if payload.owner_id is not None:
        owner = selectors.owner_find(user=user, pk=payload.owner_id)
        if owner is None:
            return Status(
                400, FieldErrorsOut(detail=not_saved, errors={"owner_id": [_("Unknown resident.")]})
            )
    try:
        item = services.custody_receive(
            actor=user,
            beat=beat,
            kind=payload.kind,
            description=payload.description,
            tag=payload.tag,
            owner=owner,
            owner_name=payload.owner_name,
            owner_phone=payload.owner_phone,
            received_at=payload.received_at,
            note=payload.note,
            request=request,
        )
    except ValidationError as exc:
        return Status(400, _errors(exc, not_saved))
    return Status(201, _detail(user, item.pk))


def _move(
    request: HttpRequest, item_id: int, run: Callable[[User, CustodyItem], object]
) -> Status[ItemDetailOut] | Status[FieldErrorsOut] | Status[MessageOut]:
    user = _keeper(request)
    item = selectors.item_get(user=user, pk=item_id)
    try:
        run(user, item)
    except ValidationError as exc:
        if getattr(exc, "code", None) == "unknown":
            # Moved out of scope while we were at it: now it is unknown here, like any other.
            raise Http404 from exc
        if getattr(exc, "code", None) == "transition":
            return Status(409, MessageOut(detail=exc.messages[0]))
        return Status(400, _errors(exc, _("Nothing was recorded.")))
    return Status(200, _detail(user, item.pk))


@router.post(
    "/items/{item_id}/return",
    response={200: ItemDetailOut, **_WRITE},
    summary="Return a held item to its owner (who collected it, how they were checked)",
)
def item_return(
    request: HttpRequest, item_id: int, payload: ReturnIn
) -> Status[ItemDetailOut] | Status[FieldErrorsOut] | Status[MessageOut]:
    def run(user: User, item: CustodyItem) -> object:
        return services.custody_return(
            actor=user,
            item=item,
            returned_to=payload.returned_to,
            identity_check=payload.identity_check,
            at=payload.at,
            note=payload.note,
            request=request,
        )

    return _move(request, item_id, run)


@router.post(
    "/items/{item_id}/transfer",
    response={200: ItemDetailOut, **_WRITE},
    summary="Hand a held item over to another beat and its police office",
)
def item_transfer(
    request: HttpRequest, item_id: int, payload: TransferIn
) -> Status[ItemDetailOut] | Status[FieldErrorsOut] | Status[MessageOut]:
    def run(user: User, item: CustodyItem) -> object:
        beat = _beat(user, payload.beat_id)
        if beat is None:
            raise ValidationError(
                {"beat_id": [_("Choose a beat of your jurisdiction with a police office.")]}
            )
        return services.custody_transfer(
            actor=user,
            item=item,
            beat=beat,
            tag=payload.tag,
            at=payload.at,
            note=payload.note,
            request=request,
        )

    return _move(request, item_id, run)


@router.post(
    "/items/{item_id}/dispose",
    response={200: ItemDetailOut, **_WRITE},
    summary="Dispose of a held item nobody collected, with the reason",
)
def item_dispose(
    request: HttpRequest, item_id: int, payload: DisposeIn
) -> Status[ItemDetailOut] | Status[FieldErrorsOut] | Status[MessageOut]:
    def run(user: User, item: CustodyItem) -> object:
        return services.custody_dispose(
            actor=user, item=item, reason=payload.reason, at=payload.at, request=request
        )

    return _move(request, item_id, run)


@router.post(
    "/items/{item_id}/check",
    response={200: ItemDetailOut, **_WRITE},
    summary="Record an inventory check of a held item",
)
def item_check(
    request: HttpRequest, item_id: int, payload: CheckIn
) -> Status[ItemDetailOut] | Status[FieldErrorsOut] | Status[MessageOut]:
    def run(user: User, item: CustodyItem) -> object:
        return services.custody_check(
            actor=user, item=item, note=payload.note, at=payload.at, request=request
        )

    return _move(request, item_id, run)
