"""Writes for the population registry. Pages, API, CLI, imports and visits all come here.

Every change writes its audit entry in the same transaction. A resident's ``path`` and the
residence's ``path`` always follow the current dwelling's grid.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, ForeignObjectRel, OuterRef, ProtectedError, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.models import User
from safecommunity.accounts.scope import scope_for
from safecommunity.accounts.services import audit_record
from safecommunity.people import identity
from safecommunity.people.baseline import baseline_refresh
from safecommunity.people.models import (
    CareTag,
    CareTagKind,
    DwellingVerification,
    Gender,
    NameKey,
    Relation,
    Residence,
    Resident,
    VerificationMethod,
)
from safecommunity.people.names import name_keys
from safecommunity.places.models import Dwelling, DwellingUse


class ProtectedValue(NamedTuple):
    """What is stored for an ID or phone number: never the plain value. (Named tuples here
    and below rather than frozen dataclasses: as immutable, and built for every row of an
    import at a fifth of the cost.)"""

    cipher: bytes
    lookup: str  # the blind index (``index`` is a tuple's method)
    masked: str


def protect_id_number(number: str) -> ProtectedValue:
    return ProtectedValue(
        cipher=identity.encrypt(number, purpose="id"),
        lookup=identity.blind_index(number, purpose="id"),
        masked=identity.mask_id_number(number),
    )


def protect_phone(phone: str) -> ProtectedValue:
    return ProtectedValue(
        cipher=identity.encrypt(phone, purpose="phone"),
        lookup=identity.blind_index(phone, purpose="phone"),
        masked=identity.mask_phone(phone),
    )


class ResidentInput(NamedTuple):
    """A validated resident, ready to store. Build it with ``resident_input``."""

    name: str
    gender: str
    birth_date: date
    id_number: str | None
    phone: str | None
    ethnicity: str = ""
    notes: str = ""


_GENDER_VALUES = frozenset(Gender.values)


# --- rows of other apps that follow a resident ---------------------------------------------------
#
# Apps downstream of the registry keep rows that must follow a resident: a screening
# verification task is handed to the team of the beat the resident lives in now, and a merge
# must move it onto the kept record without losing its outcome. The registry never imports
# those apps (data flows one way, DESIGN.md): they register here from their
# ``AppConfig.ready``, and the registry calls them inside the transaction of the move or the
# merge, so their rows never disagree with it.

# ``moved(resident ids)``: those residents' ``path`` has just been saved with their new
# dwelling's; the hook reads it from ``Resident``.
MoveHook = Callable[[Collection[int]], None]
# ``merged(keep, drop, path)``: called by ``resident_merge`` before it moves the rows that
# point at ``drop``; ``path`` is where the kept record will live ("" for nowhere). The hook
# moves its own rows (none may be left for the generic move to refuse) and returns what it
# did, for the merge's audit entry.
MergeHook = Callable[["Resident", "Resident", str], dict[str, Any]]
_move_hooks: dict[str, MoveHook] = {}
_merge_hooks: dict[str, MergeHook] = {}


def resident_followers_register(label: str, *, moved: MoveHook, merged: MergeHook) -> None:
    """Register an app's hooks (see above) under its label; again under one label replaces."""
    _move_hooks[label] = moved
    _merge_hooks[label] = merged


def residents_moved(resident_ids: Collection[int]) -> None:
    """Tell the registered apps that these residents moved (their ``path`` is saved). Every
    write that moves a resident calls it in its transaction: ``residence_move_in``, a
    re-registration and the registry import (a new resident has nothing following them yet)."""
    if resident_ids:
        for hook in _move_hooks.values():
            hook(resident_ids)


def resident_input(
    *,
    name: str,
    gender: str | None,
    birth_date: date | None,
    id_number: str | None = None,
    phone: str | None = None,
    ethnicity: str = "",
    notes: str = "",
    today: date | None = None,
) -> ResidentInput:
    """Validate one resident's fields; raise ``ValidationError`` with a message per field.

    The ID number is checked with python-stdnum; the birth date and gender it encodes must
    agree with the ones given (either may be left out and is then taken from the ID).
    """
    errors: dict[str, list[str]] = {}
    today = today or timezone.localdate()
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("The name is missing."))
    elif len(name) > 50:
        errors.setdefault("name", []).append(_("The name is longer than 50 characters."))
    parsed: identity.IdNumber | None = None
    if id_number and id_number.strip():
        try:
            parsed = identity.parse_id_number(id_number, today=today)
        except identity.IdentityError as exc:
            errors.setdefault("id_number", []).append(str(exc))
    if parsed is not None:
        if birth_date is not None and birth_date != parsed.birth_date:
            errors.setdefault("birth_date", []).append(
                _("The date of birth %(given)s disagrees with the ID number (%(id)s).")
                % {"given": birth_date.isoformat(), "id": parsed.birth_date.isoformat()}
            )
        if gender and gender != parsed.gender:
            errors.setdefault("gender", []).append(
                _("The gender disagrees with the ID number, which says %(id)s.")
                % {"id": Gender(parsed.gender).label}
            )
        birth_date = birth_date or parsed.birth_date
        gender = gender or parsed.gender
    if birth_date is None:
        errors.setdefault("birth_date", []).append(_("The date of birth is missing."))
    elif birth_date > today:
        errors.setdefault("birth_date", []).append(_("The date of birth is in the future."))
    if not gender:
        errors.setdefault("gender", []).append(_("The gender is missing."))
    elif gender not in _GENDER_VALUES:
        errors.setdefault("gender", []).append(_("Unknown gender “%(g)s”.") % {"g": gender})
    normalized_phone = None
    if phone and phone.strip():
        try:
            normalized_phone = identity.normalize_phone(phone)
        except identity.IdentityError as exc:
            errors.setdefault("phone", []).append(str(exc))
    if errors:
        raise ValidationError(errors)
    assert birth_date is not None and gender  # noqa: S101  # checked above
    return ResidentInput(
        name=name,
        gender=gender,
        birth_date=birth_date,
        id_number=parsed.number if parsed else None,
        phone=normalized_phone,
        ethnicity=(ethnicity or "").strip()[:20],
        notes=notes or "",
    )


def resident_possible_duplicates(data: ResidentInput) -> list[Resident]:
    """Residents who may be the same person: same ID; or same name and date of birth; or same
    name and phone. Unscoped on purpose: a person is the same person in every beat — callers
    show only what the user may see (``people.selectors.residents_visible``)."""
    from django.db.models import Q

    q = Q(name=data.name, birth_date=data.birth_date)
    if data.id_number:
        q |= Q(id_index=identity.blind_index(data.id_number, purpose="id"))
    if data.phone:
        q |= Q(name=data.name, phone_index=identity.blind_index(data.phone, purpose="phone"))
    return list(Resident.objects.filter(q).order_by("pk")[:20])


def resident_fill(resident: Resident, data: ResidentInput) -> None:
    """Set a resident's fields from validated input, protecting ID and phone numbers. The one
    place that turns plain numbers into ciphertext, index and mask (services, imports)."""
    resident.name = data.name
    resident.gender = data.gender
    resident.birth_date = data.birth_date
    resident.ethnicity = data.ethnicity
    resident.notes = data.notes
    if data.id_number:
        resident.id_cipher, resident.id_index, resident.id_masked = protect_id_number(
            data.id_number
        )
    if data.phone:
        _fill_phone(resident, data.phone)


def _fill_phone(resident: Resident, phone: str) -> None:
    resident.phone_cipher, resident.phone_index, resident.phone_masked = protect_phone(phone)


def _write_name_keys(resident: Resident) -> None:
    NameKey.objects.filter(resident=resident).delete()
    NameKey.objects.bulk_create(
        [NameKey(resident=resident, key=key) for key in sorted(name_keys(resident.name))]
    )


def resident_create(
    *,
    data: ResidentInput,
    actor: User | None,
    dwelling: Dwelling | None = None,
    since: date | None = None,
    relation: str = Relation.OTHER,
    registered: bool = False,
    request: HttpRequest | None = None,
) -> Resident:
    """Store a new resident (and, with ``dwelling``, their current residence).

    A second record for the same ID number is refused by name (the database refuses it too).
    Callers show ``resident_possible_duplicates`` before calling when it matters.
    """
    resident = Resident()
    resident_fill(resident, data)
    try:
        with transaction.atomic():
            resident.save()
            _write_name_keys(resident)
            if dwelling is not None:
                _open_residence(
                    resident, dwelling, since or timezone.localdate(), relation, registered
                )
                baseline_refresh(paths=[dwelling.path])
            audit_record(actor=actor, action="resident.create", obj=resident, request=request)
    except IntegrityError as exc:
        if (
            data.id_number
            and Resident.objects.filter(
                id_index=identity.blind_index(data.id_number, purpose="id")
            ).exists()
        ):
            raise ValidationError(
                {"id_number": _("A resident with this ID number is already registered.")}
            ) from exc
        raise
    return resident


@dataclass(frozen=True)
class Registration:
    resident: Resident
    # The ID number belonged to a resident without a current address (moved out, or never
    # housed), who is now registered at the dwelling given rather than created twice.
    reregistered: bool


def resident_register(
    *,
    data: ResidentInput,
    actor: User | None,
    dwelling: Dwelling | None = None,
    since: date | None = None,
    relation: str = Relation.OTHER,
    registered: bool = False,
    request: HttpRequest | None = None,
) -> Registration:
    """Register a person, the one path for pages and API: create a resident, or — when the
    ID number belongs to a resident with no current address — house that record again.

    A person who moved out of one beat and turns up in another keeps one record and their
    history. Someone with a current address cannot be claimed: that beat records the move
    out first (the actor may not even see the record, so the message says only that).
    """
    if data.id_number:
        index = identity.blind_index(data.id_number, purpose="id")
        with transaction.atomic():
            existing = Resident.objects.select_for_update().filter(id_index=index).first()
            if existing is not None:
                return Registration(
                    _reregister(
                        existing, data, actor, dwelling, since, relation, registered, request
                    ),
                    reregistered=True,
                )
    resident = resident_create(
        data=data,
        actor=actor,
        dwelling=dwelling,
        since=since,
        relation=relation,
        registered=registered,
        request=request,
    )
    return Registration(resident, reregistered=False)


def _reregister(
    resident: Resident,
    data: ResidentInput,
    actor: User | None,
    dwelling: Dwelling | None,
    since: date | None,
    relation: str,
    registered: bool,
    request: HttpRequest | None,
) -> Resident:
    if resident.path:
        covered = actor is not None and scope_for(actor).covers(resident.path)
        raise ValidationError(
            {
                "id_number": _("A resident with this ID number is already registered.")
                if covered
                else _(
                    "This person is registered at an address outside your jurisdiction; "
                    "the move out must be recorded there first."
                )
            }
        )
    if dwelling is None:
        raise ValidationError(
            {
                "dwelling": _(
                    "This person is already in the registry, without a current address: "
                    "choose the dwelling they live in to register them there."
                )
            }
        )
    since = since or timezone.localdate()
    last = resident.residences.order_by("-until").values_list("until", flat=True).first()
    if last is not None and since < last:
        raise ValidationError(
            {
                "since": _("This person moved out on %(date)s; they cannot move in before that.")
                % {"date": last.isoformat()}
            }
        )
    # What was entered now adds to the record; it never blanks what the record holds.
    renamed = resident.name != data.name
    resident.name = data.name
    if data.phone:
        _fill_phone(resident, data.phone)
    if data.ethnicity:
        resident.ethnicity = data.ethnicity
    if data.notes:
        resident.notes = data.notes
    resident.save()
    if renamed:
        _write_name_keys(resident)
    _open_residence(resident, dwelling, since, relation, registered)
    residents_moved([resident.pk])
    baseline_refresh(paths=[dwelling.path])
    audit_record(
        actor=actor,
        action="resident.reregister",
        obj=resident,
        request=request,
        detail={"dwelling": dwelling.pk, "since": since.isoformat()},
    )
    return resident


def resident_update(
    *,
    resident: Resident,
    data: ResidentInput,
    actor: User | None,
    request: HttpRequest | None = None,
) -> Resident:
    fields = ["name", "gender", "birth_date", "ethnicity", "notes", "updated_at"]
    if data.id_number:
        fields += ["id_cipher", "id_index", "id_masked"]
    if data.phone:
        fields += ["phone_cipher", "phone_index", "phone_masked"]
    renamed = resident.name != data.name
    resident_fill(resident, data)
    try:
        with transaction.atomic():
            resident.save(update_fields=fields)
            if renamed:
                _write_name_keys(resident)
            audit_record(actor=actor, action="resident.update", obj=resident, request=request)
    except IntegrityError as exc:
        raise ValidationError(
            {"id_number": _("A resident with this ID number is already registered.")}
        ) from exc
    return resident


def _open_residence(
    resident: Resident, dwelling: Dwelling, since: date, relation: str, registered: bool
) -> Residence:
    if relation not in Relation.values:
        raise ValidationError({"relation": _("Unknown relation “%(r)s”.") % {"r": relation}})
    residence = Residence.objects.create(
        resident=resident,
        dwelling=dwelling,
        since=since,
        relation=relation,
        registered=registered,
        path=dwelling.path,
    )
    dwelling_use_refresh(dwelling_ids=[dwelling.pk])
    # Saved even when the grid stays the same: ``updated_at`` tells the screening index that
    # the resident's address changed (``screening.index_store``).
    resident.path = dwelling.path
    resident.save(update_fields=["path", "updated_at"])
    return residence


def _current_residence_locked(resident: Resident) -> Residence | None:
    """The resident's open residence, locked until the caller's transaction ends, so two
    moves of one resident take turns."""
    return (
        Residence.objects.select_for_update().filter(resident=resident, until__isnull=True).first()
    )


def residence_move_in(
    *,
    resident: Resident,
    dwelling: Dwelling,
    since: date,
    relation: str,
    registered: bool,
    actor: User | None,
    request: HttpRequest | None = None,
) -> Residence:
    """Move a resident into a dwelling: the current residence (if any) ends the day before
    ``since`` or on it, a new one starts. History is never overwritten."""
    with transaction.atomic():
        current = _current_residence_locked(resident)
        if current is not None:
            if since < current.since:
                raise ValidationError(
                    {
                        "since": _(
                            "The move-in date %(since)s is before the current residence "
                            "began (%(began)s)."
                        )
                        % {"since": since.isoformat(), "began": current.since.isoformat()}
                    }
                )
            current.until = since
            current.save(update_fields=["until"])
            dwelling_use_refresh(dwelling_ids=[current.dwelling_id])
        residence = _open_residence(resident, dwelling, since, relation, registered)
        residents_moved([resident.pk])
        baseline_refresh(paths=[current.path if current else "", dwelling.path])
        audit_record(
            actor=actor,
            action="resident.move_in",
            obj=resident,
            request=request,
            detail={"dwelling": dwelling.pk, "since": since.isoformat()},
        )
    return residence


def residence_move_out(
    *, resident: Resident, until: date, actor: User | None, request: HttpRequest | None = None
) -> Residence:
    """End the current residence. The resident stays in the registry without a place."""
    with transaction.atomic():
        current = _current_residence_locked(resident)
        if current is None:
            raise ValidationError(_("%(name)s has no current residence.") % {"name": resident})
        if until < current.since:
            raise ValidationError({"until": _("The move-out date is before the residence began.")})
        current.until = until
        current.save(update_fields=["until"])
        dwelling_use_refresh(dwelling_ids=[current.dwelling_id])
        resident.path = ""
        resident.save(update_fields=["path", "updated_at"])
        baseline_refresh(paths=[current.path])
        audit_record(
            actor=actor,
            action="resident.move_out",
            obj=resident,
            request=request,
            detail={"dwelling": current.dwelling_id, "until": until.isoformat()},
        )
    return current


def care_tag_add(
    *,
    resident: Resident,
    kind: str,
    notes: str = "",
    actor: User | None,
    since: date | None = None,
) -> CareTag:
    if kind not in CareTagKind.values:
        raise ValidationError({"kind": _("Unknown care tag “%(k)s”.") % {"k": kind}})
    with transaction.atomic():
        tag, _created = CareTag.objects.update_or_create(
            resident=resident,
            kind=kind,
            defaults={"notes": notes, "since": since or timezone.localdate()},
        )
        baseline_refresh(paths=[resident.path])
        audit_record(actor=actor, action="resident.care_tag", obj=resident, detail={"kind": kind})
    return tag


def care_tag_remove(*, resident: Resident, kind: str, actor: User | None) -> None:
    with transaction.atomic():
        CareTag.objects.filter(resident=resident, kind=kind).delete()
        baseline_refresh(paths=[resident.path])
        audit_record(
            actor=actor, action="resident.care_tag_remove", obj=resident, detail={"kind": kind}
        )


def dwelling_use_refresh(*, dwelling_ids: Iterable[int] | None) -> None:
    """Derive the use of these dwellings (``None``: all) from their current residences:
    rented with a tenant, owner-occupied with anyone else, vacant with nobody. Uses recorded
    by hand are left alone. One statement; the write paths call it in their transaction."""
    current = Residence.objects.filter(dwelling=OuterRef("pk"), until__isnull=True)
    dwellings = Dwelling.objects.filter(use_recorded=False)
    if dwelling_ids is not None:
        ids = sorted(set(dwelling_ids))
        if not ids:
            return
        dwellings = dwellings.filter(pk__in=ids)
    dwellings.update(
        use=Case(
            When(Exists(current.filter(relation=Relation.TENANT)), then=Value(DwellingUse.RENTED)),
            When(Exists(current), then=Value(DwellingUse.OWNER_OCCUPIED)),
            default=Value(DwellingUse.VACANT),
        )
    )


def dwelling_use_record(
    *,
    dwelling: Dwelling,
    use: str | None,
    actor: User | None,
    request: HttpRequest | None = None,
) -> Dwelling:
    """Record a dwelling's use by hand (a business, say), or with ``None`` go back to the use
    its residences give. Audited."""
    if use is not None and use not in DwellingUse.values:
        raise ValidationError({"use": _("Unknown use “%(u)s”.") % {"u": use}})
    with transaction.atomic():
        before = dwelling.use
        if use is None:
            dwelling.use_recorded = False
            dwelling.save(update_fields=["use_recorded"])
            dwelling_use_refresh(dwelling_ids=[dwelling.pk])
            dwelling.refresh_from_db(fields=["use"])
        else:
            dwelling.use, dwelling.use_recorded = use, True
            dwelling.save(update_fields=["use", "use_recorded"])
        audit_record(
            actor=actor,
            action="dwelling.use",
            obj=dwelling,
            request=request,
            detail={"from": before, "to": dwelling.use, "recorded": dwelling.use_recorded},
        )
    return dwelling


def dwelling_verify(
    *,
    dwelling: Dwelling,
    actor: User | None,
    method: str,
    at: datetime | None = None,
    note: str = "",
) -> DwellingVerification:
    """Stamp a dwelling's residents as verified (a household visit, a call, documents)."""
    if method not in VerificationMethod.values:
        raise ValidationError({"method": _("Unknown method “%(m)s”.") % {"m": method}})
    with transaction.atomic():
        stamp = DwellingVerification.objects.create(
            dwelling=dwelling,
            verified_at=at or timezone.now(),
            verified_by=actor,
            method=method,
            note=note,
            path=dwelling.path,
        )
        baseline_refresh(paths=[dwelling.path])
        audit_record(actor=actor, action="dwelling.verify", obj=dwelling, detail={"method": method})
    return stamp


def resident_unmask(
    *, resident: Resident, field: str, reason: str, actor: User, request: HttpRequest | None = None
) -> str:
    """The plain ID or phone number, for a user with ``people.unmask_resident``, with a
    stated reason; writes who, whom, why and when to the audit log."""
    if not actor.has_perm("people.unmask_resident"):
        raise PermissionError(_("You may not see unmasked personal data."))
    if not reason.strip():
        raise ValidationError({"reason": _("State why you need the unmasked value.")})
    blob = {"id_number": resident.id_cipher, "phone": resident.phone_cipher}.get(field)
    if field not in {"id_number", "phone"}:
        raise ValidationError({"field": _("Only the ID or phone number can be unmasked.")})
    if blob is None:
        return ""
    value = identity.decrypt(blob, purpose="id" if field == "id_number" else "phone")
    audit_record(
        actor=actor,
        action="resident.unmask",
        obj=resident,
        reason=reason.strip(),
        request=request,
        detail={"field": field},
    )
    return value


def resident_merge(
    *, keep: Resident, drop: Resident, actor: User | None, request: HttpRequest | None = None
) -> Resident:
    """Merge two records of one person into ``keep`` and delete ``drop``; returns ``keep``.

    Everything that points at ``drop`` — residences, care tags, name keys, and every foreign
    key of any app (the reverse relations of ``Resident._meta``, hidden ones included:
    dispute parties, custody items, screening matches and tasks…) — is moved to ``keep``.
    Where ``keep`` already has the equivalent row (a care tag of the same kind, a name key)
    a uniqueness constraint refuses the move, and the dropped resident's row goes with it
    (rows that protect their resident from deletion are never dropped: the merge is refused
    instead). Apps whose rows must not be dropped that way (screening: a match's review and
    verification task) move their rows first through their registered merge hook
    (``resident_followers_register``), which also brings their stored paths to the kept
    record's; what the hooks did is in the audit entry under each app's label.
    Both current residences cannot stay: the dropped record's ends today and becomes history.
    ``keep``'s missing ID or phone number is filled from ``drop``'s.

    Only an actor whose scope covers where both records live may merge (``actor`` None is
    the system). Audited; one transaction, both rows locked in primary-key order.
    """
    if keep.pk == drop.pk:
        raise ValidationError(_("A record cannot be merged with itself."))
    moved: dict[str, int] = {}
    dropped_rows: dict[str, int] = {}
    with transaction.atomic():
        locked = {
            r.pk: r
            for r in Resident.objects.select_for_update()
            .filter(pk__in=[keep.pk, drop.pk])
            .order_by("pk")
        }
        if len(locked) != 2:
            raise ValidationError(_("One of the two records no longer exists."))
        keep, drop = locked[keep.pk], locked[drop.pk]
        if actor is not None:
            scope = scope_for(actor)
            if not (scope.covers(keep.path) and scope.covers(drop.path)):
                raise ValidationError(
                    _("Only someone whose jurisdiction covers both records may merge them.")
                )
        touched_paths = {keep.path, drop.path}
        kept_current = Residence.objects.filter(resident=keep, until__isnull=True).first()
        dropped_current = Residence.objects.filter(resident=drop, until__isnull=True).first()
        if kept_current is not None and dropped_current is not None:
            dropped_current.until = max(timezone.localdate(), dropped_current.since)
            dropped_current.save(update_fields=["until"])
        # Where the kept record will live: its own home, else the dropped record's.
        current_then = kept_current or dropped_current
        new_path = current_then.path if current_then is not None else ""
        # The apps whose rows follow a resident move theirs first, keeping what the generic
        # move below would drop on a uniqueness conflict (a verification task's outcome).
        followers = {label: hook(keep, drop, new_path) for label, hook in _merge_hooks.items()}
        for relation in Resident._meta.get_fields(include_hidden=True):
            # Reverse relations only: the foreign keys of other models that point here.
            if relation.concrete or not (relation.one_to_many or relation.one_to_one):
                continue
            assert isinstance(relation, ForeignObjectRel)  # noqa: S101  # reverse, per the test
            model = relation.related_model
            field_name = relation.field.name
            rows = model._base_manager.filter(**{field_name: drop})
            label = model._meta.label
            try:
                with transaction.atomic():
                    count = rows.update(**{field_name: keep})
            except IntegrityError:
                count = 0
                for row in rows.order_by("pk"):
                    try:
                        with transaction.atomic():
                            model._base_manager.filter(pk=row.pk).update(**{field_name: keep})
                        count += 1
                    except IntegrityError:
                        # ``keep`` already has this row's equivalent.
                        try:
                            row.delete()
                        except ProtectedError as exc:
                            raise ValidationError(
                                _("The records cannot be merged: %(what)s refuses it.")
                                % {"what": model._meta.verbose_name}
                            ) from exc
                        dropped_rows[label] = dropped_rows.get(label, 0) + 1
            if count:
                moved[label] = count
        fill_id = keep.id_index is None and drop.id_index is not None
        fill_phone = keep.phone_index is None and drop.phone_index is not None
        id_values = (drop.id_cipher, drop.id_index, drop.id_masked)
        phone_values = (drop.phone_cipher, drop.phone_index, drop.phone_masked)
        dropped_pk = drop.pk
        # Deleted before ``keep`` takes its ID number: the number may be on one record only.
        Resident.objects.filter(pk=dropped_pk).delete()
        fields = ["path", "updated_at"]
        if fill_id:
            keep.id_cipher, keep.id_index, keep.id_masked = id_values
            fields += ["id_cipher", "id_index", "id_masked"]
        if fill_phone:
            keep.phone_cipher, keep.phone_index, keep.phone_masked = phone_values
            fields += ["phone_cipher", "phone_index", "phone_masked"]
        current = Residence.objects.filter(resident=keep, until__isnull=True).first()
        keep.path = current.path if current is not None else ""
        keep.save(update_fields=fields)
        if dropped_current is not None:
            dwelling_use_refresh(dwelling_ids=[dropped_current.dwelling_id])
        baseline_refresh(paths=sorted(p for p in touched_paths | {keep.path} if p))
        audit_record(
            actor=actor,
            action="resident.merge",
            obj=keep,
            request=request,
            detail={
                "dropped": dropped_pk,
                "moved": moved,
                "dropped_rows": dropped_rows,
                "filled": [f for f, on in (("id_number", fill_id), ("phone", fill_phone)) if on],
                **{label: detail for label, detail in followers.items() if detail},
            },
        )
    return keep
