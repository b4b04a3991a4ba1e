"""Writes for the custody register. Pages, API and the demo all come here.

Every write takes the item's row lock, checks the move against ``custody.states``, writes a
``CustodyMovement`` (the item's own trail) and an ``accounts`` audit entry in the same
transaction. Input errors are ``ValidationError``s naming the field and the reason.

``actor`` is the login doing it. When it is given, the beat (and the owner, for a registry
resident) must lie in its scope — callers fetch them through scoped selectors, and this is
the second lock on the door. ``actor=None`` is the system (the demo generator).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.models import User
from safecommunity.accounts.scope import scope_for
from safecommunity.accounts.services import audit_record
from safecommunity.custody.models import CustodyItem, CustodyMovement, ItemKind, MovementAction
from safecommunity.custody.states import TransitionRefused, next_state
from safecommunity.people import identity
from safecommunity.people.models import Resident
from safecommunity.people.services import protect_phone
from safecommunity.places.models import Beat
from safecommunity.teams.models import Staff

# Clocks of phones and servers disagree a little: a time this far ahead is still "now".
CLOCK_SKEW = timedelta(minutes=5)
# The register starts well after this; an earlier time is a typing error (and year 1 in a
# zone east of UTC is not even a date PostgreSQL or Python can store).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
TAG_MAX = 20
DESCRIPTION_MAX = 200
NAME_MAX = 50
NOTE_MAX = 200


def staff_of(user: User | None) -> Staff | None:
    """The staff record linked to a login, if any (who physically did it at the office)."""
    if user is None or user.pk is None:
        return None
    return Staff.objects.filter(user=user).first()


def _text(
    errors: dict[str, list[str]], field: str, value: str, *, required: bool, limit: int
) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        # The forms refuse it; the API reaches here with it, and PostgreSQL cannot store it.
        errors.setdefault(field, []).append(_nul_message())
    elif required and not value:
        errors.setdefault(field, []).append(_("This field is required."))
    elif len(value) > limit:
        errors.setdefault(field, []).append(
            _("At most %(limit)d characters (it has %(n)d).") % {"limit": limit, "n": len(value)}
        )
    return value


def _nul_message() -> str:
    return _("Contains a NUL character, which cannot be stored; remove it.")


def _when(
    errors: dict[str, list[str]], field: str, at: datetime | None, *, after: datetime | None
) -> datetime:
    """``at`` (default now), checked: aware, not before 2000, not in the future, not before
    ``after``."""
    now = timezone.now()
    if at is None:
        at = now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at < EARLIEST:
        errors.setdefault(field, []).append(
            _("Give a time not before %(earliest)s.") % {"earliest": "2000-01-01"}
        )
    elif at > now + CLOCK_SKEW:
        errors.setdefault(field, []).append(_("The time is in the future."))
    elif after is not None and at < after:
        errors.setdefault(field, []).append(
            _("The time is before the item was received (%(received)s).")
            % {"received": timezone.localtime(after).strftime("%Y-%m-%d %H:%M")}
        )
    return at


def _check_beat(errors: dict[str, list[str]], field: str, beat: Beat, actor: User | None) -> None:
    if actor is not None and not scope_for(actor).covers(beat.path):
        # Out of scope reads like unknown: the beat does not exist for this user.
        errors.setdefault(field, []).append(_("Unknown beat."))
    elif beat.office_id is None:
        errors.setdefault(field, []).append(
            _("Beat “%(beat)s” has no police office to keep items.") % {"beat": beat.name}
        )


def _fail(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _movement(
    item: CustodyItem,
    *,
    action: str,
    at: datetime,
    actor: User | None,
    staff: Staff | None,
    note: str = "",
    from_office_id: int | None = None,
) -> CustodyMovement:
    return CustodyMovement.objects.create(
        item=item,
        action=action,
        at=at,
        actor=actor,
        staff=staff,
        note=note,
        from_office_id=from_office_id,
        path=item.path,
    )


def _tag_taken(office_id: int, tag: str, *, exclude: int | None = None) -> bool:
    held = CustodyItem.objects.filter(office_id=office_id, tag=tag, state="held")
    if exclude is not None:
        held = held.exclude(pk=exclude)
    return held.exists()


def _tag_taken_message(tag: str) -> str:
    return _("Tag “%(tag)s” is already on an item held by this office.") % {"tag": tag}


def custody_receive(
    *,
    actor: User | None,
    beat: Beat,
    kind: str,
    description: str,
    tag: str,
    owner: Resident | None = None,
    owner_name: str = "",
    owner_phone: str = "",
    received_at: datetime | None = None,
    received_by: Staff | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> CustodyItem:
    """Take an item into the custody of ``beat``'s police office, under ``tag``.

    The owner is a registry resident (``owner``; their name is copied) or a person named in
    ``owner_name``, with an optional phone stored protected. Refuses, naming the field: an
    unknown kind, a missing description, tag or owner, a malformed phone, a time in the
    future, a beat without an office or out of the actor's scope, a tag already on an item
    the office holds.
    """
    errors: dict[str, list[str]] = {}
    if kind not in ItemKind.values:
        errors.setdefault("kind", []).append(_("Unknown kind “%(kind)s”.") % {"kind": kind})
    description = _text(errors, "description", description, required=True, limit=DESCRIPTION_MAX)
    tag = _text(errors, "tag", tag, required=True, limit=TAG_MAX)
    note = _text(errors, "note", note, required=False, limit=NOTE_MAX)
    _check_beat(errors, "beat", beat, actor)
    if owner is not None:
        if actor is not None and not scope_for(actor).covers(owner.path):
            errors.setdefault("owner", []).append(_("Unknown resident."))
        owner_name = owner.name.strip()
    else:
        owner_name = _text(errors, "owner_name", owner_name, required=False, limit=NAME_MAX)
    # The register keeps a name for every item (a database constraint): a registry record
    # without a name is refused like a missing one.
    if not owner_name and not errors.get("owner_name"):
        errors.setdefault("owner_name", []).append(
            _("Name the owner, or choose them from the registry.")
        )
    phone = None
    if owner_phone and "\x00" in owner_phone:
        errors.setdefault("owner_phone", []).append(_nul_message())
    elif owner_phone and owner_phone.strip():
        try:
            phone = protect_phone(identity.normalize_phone(owner_phone))
        except identity.IdentityError as exc:
            errors.setdefault("owner_phone", []).append(str(exc))
    at = _when(errors, "received_at", received_at, after=None)
    if not errors.get("tag") and beat.office_id is not None and _tag_taken(beat.office_id, tag):
        errors.setdefault("tag", []).append(_tag_taken_message(tag))
    _fail(errors)
    assert beat.office_id is not None  # noqa: S101  # checked by _check_beat
    staff = received_by or staff_of(actor)
    try:
        with transaction.atomic():
            item = CustodyItem.objects.create(
                office_id=beat.office_id,
                beat=beat,
                path=beat.path,
                owner=owner,
                owner_name=owner_name,
                owner_phone_cipher=phone.cipher if phone else None,
                owner_phone_index=phone.lookup if phone else None,
                owner_phone_masked=phone.masked if phone else "",
                kind=kind,
                description=description,
                tag=tag,
                received_at=at,
                received_by=staff,
            )
            _movement(
                item, action=MovementAction.RECEIVED, at=at, actor=actor, staff=staff, note=note
            )
            audit_record(
                actor=actor,
                action="custody.receive",
                obj=item,
                request=request,
                detail={"beat": beat.code, "kind": kind, "tag": tag},
            )
    except IntegrityError as exc:
        # Two people hung the same tag at once: the second one loses, by name.
        raise ValidationError({"tag": [_tag_taken_message(tag)]}) from exc
    return item


@dataclass(frozen=True)
class _Locked:
    item: CustodyItem
    at: datetime
    state: str


def _lock(
    item: CustodyItem,
    action: str,
    at: datetime | None,
    errors: dict[str, list[str]],
    *,
    actor: User | None,
) -> _Locked:
    """Inside a transaction: the item's current row, locked, checked again on what it is
    now — in the actor's scope (a concurrent hand-over may have moved it out) and allowing
    the move (a concurrent return has already changed the state we read). The time is
    checked into ``errors``; the caller adds its own checks of the row and calls ``_fail``."""
    locked = CustodyItem.objects.select_for_update().get(pk=item.pk)
    _check_actor(locked, actor)
    try:
        state = next_state(locked.state, action)
    except TransitionRefused as exc:
        raise ValidationError(str(exc), code="transition") from exc
    when = _when(errors, "at", at, after=locked.received_at)
    return _Locked(locked, when, state)


def _check_actor(item: CustodyItem, actor: User | None) -> None:
    """Out of scope reads like unknown (``code="unknown"``: the pages and API answer 404)."""
    if actor is not None and not scope_for(actor).covers(item.path):
        raise ValidationError(_("Unknown item."), code="unknown")


def custody_return(
    *,
    actor: User | None,
    item: CustodyItem,
    returned_to: str,
    identity_check: str,
    at: datetime | None = None,
    staff: Staff | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> CustodyItem:
    """Give a held item back: to whom (``returned_to``, the person who collected it) and how
    their identity or authority was checked. A returned or disposed-of item is refused."""
    _check_actor(item, actor)
    errors: dict[str, list[str]] = {}
    returned_to = _text(errors, "returned_to", returned_to, required=True, limit=NAME_MAX)
    identity_check = _text(errors, "identity_check", identity_check, required=True, limit=NOTE_MAX)
    note = _text(errors, "note", note, required=False, limit=NOTE_MAX)
    staff = staff or staff_of(actor)
    with transaction.atomic():
        locked = _lock(item, MovementAction.RETURNED, at, errors, actor=actor)
        _fail(errors)
        row = locked.item
        row.state = locked.state
        row.returned_at = locked.at
        row.returned_to = returned_to
        row.return_check = identity_check
        row.returned_by = staff
        row.save(
            update_fields=["state", "returned_at", "returned_to", "return_check", "returned_by"]
        )
        _movement(
            row,
            action=MovementAction.RETURNED,
            at=locked.at,
            actor=actor,
            staff=staff,
            note=note or identity_check,
        )
        audit_record(actor=actor, action="custody.return", obj=row, request=request)
    return row


def custody_transfer(
    *,
    actor: User | None,
    item: CustodyItem,
    beat: Beat,
    tag: str = "",
    at: datetime | None = None,
    staff: Staff | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> CustodyItem:
    """Hand a held item over to another beat and its office (the owner moved, or the office
    of their new beat will keep it). ``tag`` gives it a new tag there; by default it keeps
    its own, which must then be free at the receiving office."""
    _check_actor(item, actor)
    errors: dict[str, list[str]] = {}
    _check_beat(errors, "beat", beat, actor)
    new_tag = _text(errors, "tag", tag, required=False, limit=TAG_MAX)
    note = _text(errors, "note", note, required=False, limit=NOTE_MAX)
    staff = staff or staff_of(actor)
    try:
        with transaction.atomic():
            locked = _lock(item, MovementAction.HANDED_OVER, at, errors, actor=actor)
            row = locked.item
            # Where it is kept and its tag as the locked row has them, not as first read.
            if beat.pk == row.beat_id:
                errors.setdefault("beat", []).append(_("The item is already kept for this beat."))
            new_tag = new_tag or row.tag
            _fail(errors)
            assert beat.office_id is not None  # noqa: S101  # checked by _check_beat
            if _tag_taken(beat.office_id, new_tag, exclude=row.pk):
                raise ValidationError({"tag": [_tag_taken_message(new_tag)]})
            from_office = row.office_id
            row.office_id = beat.office_id
            row.beat = beat
            row.path = beat.path
            row.tag = new_tag
            row.save(update_fields=["office", "beat", "path", "tag"])
            _movement(
                row,
                action=MovementAction.HANDED_OVER,
                at=locked.at,
                actor=actor,
                staff=staff,
                note=note,
                from_office_id=from_office,
            )
            audit_record(
                actor=actor,
                action="custody.transfer",
                obj=row,
                request=request,
                detail={"beat": beat.code, "tag": new_tag},
            )
    except IntegrityError as exc:
        raise ValidationError({"tag": [_tag_taken_message(new_tag)]}) from exc
    return row


def custody_dispose(
    *,
    actor: User | None,
    item: CustodyItem,
    reason: str,
    at: datetime | None = None,
    staff: Staff | None = None,
    request: HttpRequest | None = None,
) -> CustodyItem:
    """Dispose of a held item nobody collected (handed to lost property, destroyed), with
    the reason. Closed items are refused."""
    _check_actor(item, actor)
    errors: dict[str, list[str]] = {}
    reason = _text(errors, "reason", reason, required=True, limit=NOTE_MAX)
    staff = staff or staff_of(actor)
    with transaction.atomic():
        locked = _lock(item, MovementAction.DISPOSED, at, errors, actor=actor)
        _fail(errors)
        row = locked.item
        row.state = locked.state
        row.disposed_at = locked.at
        row.save(update_fields=["state", "disposed_at"])
        _movement(
            row, action=MovementAction.DISPOSED, at=locked.at, actor=actor, staff=staff, note=reason
        )
        audit_record(actor=actor, action="custody.dispose", obj=row, reason=reason, request=request)
    return row


def custody_check(
    *,
    actor: User | None,
    item: CustodyItem,
    note: str = "",
    at: datetime | None = None,
    staff: Staff | None = None,
    request: HttpRequest | None = None,
) -> CustodyMovement:
    """Record an inventory check: the held item is where the register says it is."""
    _check_actor(item, actor)
    errors: dict[str, list[str]] = {}
    note = _text(errors, "note", note, required=False, limit=NOTE_MAX)
    staff = staff or staff_of(actor)
    with transaction.atomic():
        locked = _lock(item, MovementAction.CHECKED, at, errors, actor=actor)
        _fail(errors)
        movement = _movement(
            locked.item,
            action=MovementAction.CHECKED,
            at=locked.at,
            actor=actor,
            staff=staff,
            note=note,
        )
        audit_record(actor=actor, action="custody.check", obj=locked.item, request=request)
    return movement
