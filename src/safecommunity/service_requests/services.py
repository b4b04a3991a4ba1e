"""Writes for residents' requests: submission (Open311, public page, field work, staff),
assignment, workflow, re-inspection, Open311 keys. Every caller comes here, and every change
writes its event and its audit entry in the same transaction."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from safecommunity.accounts.scope import scope_for
from safecommunity.accounts.services import audit_record
from safecommunity.people import identity
from safecommunity.places.models import Beat, Dwelling, Entrance, PoliceStation
from safecommunity.places.selectors import normalize_address
from safecommunity.places.services import beat_at
from safecommunity.service_requests.catalogue import catalogue_write
from safecommunity.service_requests.models import (
    ApiKey,
    AttributeType,
    EventKind,
    ReinspectionResult,
    RequestEvent,
    Service,
    ServiceAttribute,
    ServiceRequest,
    Source,
    Status,
)
from safecommunity.service_requests.workflow import OFFICERS, TEAM, transition_for
from safecommunity.teams.models import Assignment, Staff

if TYPE_CHECKING:
    from safecommunity.accounts.models import User

# Tracking numbers: ten characters without 0/1/I/O, so they read aloud and type back safely.
TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
TRACKING_LENGTH = 10
DESCRIPTION_MAX = 4000
ADDRESS_MAX = 300
STRING_MAX = 200
TEXT_MAX = 2000
NAME_MAX = 100
EMAIL_MAX = 254
# The rectification deadline of an illegal structure (an attribute of that service).
DEADLINE_ATTRIBUTE = "rectification_deadline"
# Every date read from input lies in these years: the database (and Python's arithmetic
# across time zones) cannot hold year 1 or 9999, and no request of this city lies beyond.
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100
# Public reads give a point to three decimals (about 100 m): the building's block, not the flat.
PUBLIC_DECIMALS = 3


class RequestError(ValidationError):
    """Input refused; ``field`` names the parameter (Open311 name) it is about."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class UnknownService(RequestError):
    """No active service with this code (Open311 answers 404)."""


class Unroutable(RequestError):
    """The place given lies outside every beat of the city."""


def service_catalogue_ensure() -> int:
    """Write the catalogue of services again when the table is empty — as ``flush`` leaves
    it, since it empties what data migrations wrote too — and return how many there are."""
    with transaction.atomic():
        if not Service.objects.exists():
            catalogue_write(Service, ServiceAttribute)
        return Service.objects.count()


def check_text(value: str, *, field: str) -> str:
    """``value`` stripped; refused when it holds a NUL character, which PostgreSQL cannot
    store in text (it would fail as a database error instead of a message)."""
    if "\x00" in value:
        raise RequestError(_("%(field)s contains a NUL character.") % {"field": field}, field=field)
    return value.strip()


def new_tracking_number() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def normalize_tracking_number(raw: str) -> str:
    """What a resident types back (lower case, spaces, dashes, full-width) → the stored form."""
    text = unicodedata.normalize("NFKC", raw or "").upper()
    return re.sub(r"[\s\-]", "", text)[:32]


# A building in a standard address: 3号楼, 3栋, 3幢, 3座 (towns), 3排 (villages' rows).
_BUILDING = re.compile(r"\d+\s*(?:号楼|栋|幢|座|排)")
# Below a building: an entrance or unit (1门, 2单元), a floor, a room (502室, 3户, -502).
_BELOW_BUILDING = re.compile(r"\d+\s*(?:门|单元|层|室|户)|[-－—]\s*\d+")


def public_address(text: str) -> str:
    """``text`` down to the building, as public reads show it: the entrance, unit, floor and
    room are dropped, so an address identifies a building, never a flat
    (学府花园1号楼1门101 → 学府花园1号楼, …王庄村3排5号 → …王庄村3排)."""
    found = _BUILDING.search(text)
    if found is not None:
        return text[: found.end()]
    below = _BELOW_BUILDING.search(text)
    if below is not None:
        return text[: below.start()].rstrip()
    return text


def public_coordinate(value: float | None) -> float | None:
    """A latitude or longitude as public reads show it: rounded to about 100 m."""
    return None if value is None else round(value, PUBLIC_DECIMALS)


def building_address(dwelling: Dwelling) -> str:
    """The dwelling's standard address without its entrance and number — what places builds
    as ``{compound}{building}号楼{entrance}门{number}`` (or ``…{row}排{house}号`` in villages)
    — so a request filed by ``address_id`` never carries the flat in its address."""
    text = dwelling.standard_address
    if dwelling.number and text.endswith(dwelling.number):
        text = text[: -len(dwelling.number)]
        entrance = (
            Entrance.objects.filter(pk=dwelling.entrance_id)
            .values_list("number", flat=True)
            .first()
        )
        for suffix in (f"{entrance}门", f"{entrance}单元") if entrance else ():
            if text.endswith(suffix):
                text = text[: -len(suffix)]
                break
    return public_address(text)


def in_years(moment: date) -> bool:
    """Whether ``moment`` lies in the years input may name (``EARLIEST_YEAR``…``LATEST_YEAR``)."""
    return EARLIEST_YEAR <= moment.year <= LATEST_YEAR


# --- routing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    beat: Beat
    dwelling: Dwelling | None


def dwelling_by_address(address: str) -> Dwelling | None:
    """The dwelling whose standard address is ``address``: exactly, else once full-width
    characters are folded and spaces dropped (both answered by the address index)."""
    text = address.strip()
    if not text:
        return None
    found = Dwelling.objects.filter(standard_address=text).first()
    if found is None:
        folded = normalize_address(text)
        if folded != text:
            found = Dwelling.objects.filter(standard_address=folded).first()
    return found


def request_route(
    *,
    beat: Beat | None = None,
    dwelling: Dwelling | None = None,
    lat: float | None = None,
    lng: float | None = None,
    address_string: str | None = None,
    address_id: int | None = None,
) -> Route:
    """The beat a request belongs to, from the first of: a beat, a dwelling (or its id), the
    point, the standard address. Raises ``RequestError``/``Unroutable`` naming the field."""
    if beat is not None:
        return Route(beat, dwelling)
    if dwelling is None and address_id is not None:
        dwelling = Dwelling.objects.filter(pk=address_id).first()
        if dwelling is None:
            raise RequestError(
                _("address_id %(id)s is not a known address.") % {"id": address_id},
                field="address_id",
            )
    if dwelling is not None:
        found = Beat.objects.filter(grid_id=dwelling.grid_id).first()
        if found is None:
            raise Unroutable(
                _("The address lies in a grid that is not a beat yet."), field="address_id"
            )
        return Route(found, dwelling)
    if (lat is None) != (lng is None):
        raise RequestError(_("Give both lat and long, or neither."), field="lat")
    if lat is not None and lng is not None:
        if not (math.isfinite(lat) and math.isfinite(lng)):
            raise RequestError(_("lat and long must be finite numbers."), field="lat")
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise RequestError(
                _("lat must lie within −90…90 and long within −180…180."), field="lat"
            )
        hit = beat_at(lat=lat, lng=lng)
        if hit is None:
            raise Unroutable(
                _("The point %(lat)s, %(lng)s lies outside every beat of the city.")
                % {"lat": lat, "lng": lng},
                field="lat",
            )
        return Route(Beat.objects.get(pk=hit.beat_id), None)
    if address_string:
        found_dwelling = dwelling_by_address(address_string)
        if found_dwelling is None:
            raise Unroutable(
                _(
                    "No dwelling has the standard address “%(address)s”; give lat and long "
                    "(or choose the place on the map)."
                )
                % {"address": address_string[:100]},
                field="address_string",
            )
        return route_dwelling(found_dwelling)
    raise RequestError(
        _("Say where: give lat and long, address_string or address_id."), field="lat"
    )


def route_dwelling(dwelling: Dwelling) -> Route:
    return request_route(dwelling=dwelling)


def responsible_officer(beat: Beat) -> Staff | None:
    """The beat's responsible community officer (teams: one per beat at most)."""
    assignment = (
        Assignment.objects.filter(beat=beat, responsible=True).select_related("staff").first()
    )
    return assignment.staff if assignment is not None else None


# --- attributes ------------------------------------------------------------------------------


def parse_w3c_datetime(raw: str) -> datetime | None:
    """A W3C datetime (``2010-01-01T00:00:00Z``, ``…+08:00``) or a date (local midnight);
    None when it is neither. A time without an offset is taken as local time."""
    text = raw.strip()
    try:
        value = parse_datetime(text)
        if value is None:
            day = parse_date(text)
            if day is None:
                return None
            value = datetime.combine(day, time.min)
    except (ValueError, OverflowError):
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def clean_attributes(service: Service, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``raw`` against the service's attribute definitions: unknown codes, missing
    required ones, wrong types and values outside the list are refused by name."""
    definitions = {a.code: a for a in service.attributes.all()}
    for code in raw:
        if code not in definitions:
            raise RequestError(
                _("attribute[%(code)s]: service %(service)s has no such attribute.")
                % {"code": code, "service": service.service_code},
                field=f"attribute[{code}]",
            )
    clean: dict[str, Any] = {}
    for code, definition in definitions.items():
        value = raw.get(code)
        where = f"attribute[{code}]"
        if isinstance(value, str):
            value = check_text(value, field=where)
        elif isinstance(value, list):
            value = [check_text(str(v), field=where) for v in value]
        if value in (None, "", []):
            if definition.required and definition.variable:
                raise RequestError(
                    _("attribute[%(code)s] is required: %(what)s")
                    % {"code": code, "what": definition.description},
                    field=f"attribute[{code}]",
                )
            continue
        clean[code] = _clean_value(definition, value)
    return clean


def _clean_value(definition: ServiceAttribute, value: Any) -> Any:
    where = f"attribute[{definition.code}]"
    keys = {str(v.get("key")) for v in definition.values if isinstance(v, dict)}
    kind = definition.datatype
    if kind == AttributeType.MULTI:
        items = value if isinstance(value, list) else str(value).split(",")
        items = [str(i).strip() for i in items if str(i).strip()]
        bad = [i for i in items if i not in keys]
        if bad:
            raise RequestError(
                _("%(where)s: “%(value)s” is not one of %(keys)s.")
                % {"where": where, "value": bad[0][:50], "keys": ", ".join(sorted(keys))},
                field=where,
            )
        return items
    if isinstance(value, list):
        if len(value) != 1:
            raise RequestError(_("%(where)s takes one value.") % {"where": where}, field=where)
        value = str(value[0]).strip()
    text = str(value)
    if kind == AttributeType.SINGLE:
        if text not in keys:
            raise RequestError(
                _("%(where)s: “%(value)s” is not one of %(keys)s.")
                % {"where": where, "value": text[:50], "keys": ", ".join(sorted(keys))},
                field=where,
            )
        return text
    if kind == AttributeType.NUMBER:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise RequestError(
                _("%(where)s: “%(value)s” is not a number.") % {"where": where, "value": text[:50]},
                field=where,
            )
        return number
    if kind == AttributeType.DATETIME:
        moment = parse_w3c_datetime(text)
        if moment is None:
            raise RequestError(
                _(
                    "%(where)s: “%(value)s” is not a date or a W3C datetime (2025-01-31T18:00:00+08:00)."
                )
                % {"where": where, "value": text[:50]},
                field=where,
            )
        if not in_years(moment):
            raise RequestError(
                _("%(where)s: “%(value)s” lies outside the years %(first)d to %(last)d.")
                % {"where": where, "value": text[:50], "first": EARLIEST_YEAR, "last": LATEST_YEAR},
                field=where,
            )
        return moment.isoformat()
    limit = STRING_MAX if kind == AttributeType.STRING else TEXT_MAX
    if len(text) > limit:
        raise RequestError(
            _("%(where)s is longer than %(limit)d characters.") % {"where": where, "limit": limit},
            field=where,
        )
    return text


# --- contact ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    name: str = ""
    phone_cipher: bytes | None = None
    phone_masked: str = ""
    email: str = ""


def clean_contact(raw: Mapping[str, str] | None) -> Contact:
    """Name (``name`` or ``first_name``/``last_name``), phone (a Chinese mobile or landline;
    stored encrypted and masked) and email; each optional, each checked."""
    if not raw:
        return Contact()
    for key, value in raw.items():
        check_text(value or "", field=key)
    name = (raw.get("name") or "").strip()
    if not name:
        # Chinese order: family name first. Open311 clients send both halves.
        name = (raw.get("last_name") or "").strip() + (raw.get("first_name") or "").strip()
    if len(name) > NAME_MAX:
        raise RequestError(
            _("The name is longer than %(limit)d characters.") % {"limit": NAME_MAX},
            field="first_name",
        )
    phone_raw = (raw.get("phone") or "").strip()
    cipher: bytes | None = None
    masked = ""
    if phone_raw:
        try:
            phone = identity.normalize_phone(phone_raw)
        except identity.IdentityError as exc:
            raise RequestError(_("phone: %(why)s") % {"why": exc}, field="phone") from exc
        cipher = identity.encrypt(phone, purpose="request_phone")
        masked = identity.mask_phone(phone)
    email = (raw.get("email") or "").strip()
    if len(email) > EMAIL_MAX:
        raise RequestError(
            _("email: longer than %(limit)d characters.") % {"limit": EMAIL_MAX}, field="email"
        )
    if email:
        try:
            EmailValidator()(email)
        except ValidationError as exc:
            raise RequestError(_("email: not an email address."), field="email") from exc
    return Contact(name=name, phone_cipher=cipher, phone_masked=masked, email=email)


def contact_phone(request: ServiceRequest) -> str:
    """The contact's phone number in clear, for the team that calls back (staff pages only)."""
    blob = request.contact_phone_cipher
    return identity.decrypt(blob, purpose="request_phone") if blob else ""


# --- submission ------------------------------------------------------------------------------


def _actor_name(actor: User | None) -> str:
    return actor.get_username() if actor is not None else ""


def request_submit(
    *,
    service_code: str,
    description: str,
    beat: Beat | None = None,
    dwelling: Dwelling | None = None,
    lat: float | None = None,
    lng: float | None = None,
    address_string: str | None = None,
    actor: User | None = None,
    source: str = "open311",
    attributes: dict[str, Any] | None = None,
    contact: dict[str, str] | None = None,
    address_id: int | None = None,
    media_url: str = "",
    api_key: ApiKey | None = None,
) -> ServiceRequest:
    """File a request (state ``new``), routed to a beat by ``beat``, ``dwelling``
    (``address_id``), the point or the standard address, and proposed to the beat's
    responsible officer. Raises ``RequestError`` (``UnknownService``, ``Unroutable``) naming
    the field; nothing is written then."""
    if source not in Source.values:
        raise RequestError(_("Unknown source “%(source)s”.") % {"source": source}, field="source")
    check_text(service_code, field="service_code")
    service = Service.objects.filter(service_code=service_code, active=True).first()
    if service is None:
        raise UnknownService(
            _("service_code “%(code)s” is not a known service.") % {"code": service_code[:50]},
            field="service_code",
        )
    description = check_text(description or "", field="description")
    if len(description) > DESCRIPTION_MAX:
        raise RequestError(
            _("description is longer than %(limit)d characters.") % {"limit": DESCRIPTION_MAX},
            field="description",
        )
    address_text = check_text(address_string or "", field="address_string")
    if len(address_text) > ADDRESS_MAX:
        raise RequestError(
            _("address_string is longer than %(limit)d characters.") % {"limit": ADDRESS_MAX},
            field="address_string",
        )
    if media_url:
        check_text(media_url, field="media_url")
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError as exc:
            raise RequestError(_("media_url: not an http(s) URL."), field="media_url") from exc
        if len(media_url) > 500:
            raise RequestError(_("media_url is too long."), field="media_url")
    if actor is not None and actor.role not in TEAM:
        raise RequestError(_("Your role may not file requests."), field="actor")
    clean = clean_attributes(service, attributes or {})
    now = timezone.now()
    expected = now + timedelta(days=service.expected_days)
    if DEADLINE_ATTRIBUTE in clean:
        deadline = parse_w3c_datetime(str(clean[DEADLINE_ATTRIBUTE]))
        if deadline is not None:
            if timezone.localtime(deadline).date() < timezone.localdate():
                raise RequestError(
                    _("attribute[%(code)s]: the deadline lies in the past.")
                    % {"code": DEADLINE_ATTRIBUTE},
                    field=f"attribute[{DEADLINE_ATTRIBUTE}]",
                )
            expected = deadline
    person = clean_contact(contact)
    route = request_route(
        beat=beat,
        dwelling=dwelling,
        lat=lat,
        lng=lng,
        address_string=address_text,
        address_id=address_id,
    )
    if actor is not None and not scope_for(actor).covers(route.beat.path):
        # Staff file for their own jurisdiction; the answer says nothing of the other beat.
        raise RequestError(_("That place lies outside your jurisdiction."), field="address_id")
    if not address_text and route.dwelling is not None:
        # Filed by address_id: the dwelling is kept as a link, the text stops at the building.
        address_text = building_address(route.dwelling)
    station_name = (
        PoliceStation.objects.filter(pk=route.beat.station_id)
        .values_list("name", flat=True)
        .first()
        or ""
    )
    officer = responsible_officer(route.beat)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                request = ServiceRequest.objects.create(
                    service_request_id=new_tracking_number(),
                    token=secrets.token_hex(16),
                    service=service,
                    description=description,
                    lat=lat,
                    lng=lng,
                    address_string=address_text,
                    dwelling=route.dwelling,
                    beat=route.beat,
                    path=route.beat.path,
                    status=Status.NEW,
                    assigned_to=officer,
                    attributes=clean,
                    contact_name=person.name,
                    contact_phone_cipher=person.phone_cipher,
                    contact_phone_masked=person.phone_masked,
                    contact_email=person.email,
                    media_url=media_url,
                    requested_datetime=now,
                    updated_datetime=now,
                    expected_datetime=expected,
                    agency_responsible=station_name,
                    source=source,
                    created_by=actor,
                )
                RequestEvent.objects.create(
                    request=request,
                    at=now,
                    kind=EventKind.SUBMITTED,
                    to_status=Status.NEW,
                    actor=actor,
                    actor_name=_actor_name(actor),
                    assignee=officer,
                )
                detail: dict[str, Any] = {"source": source, "service": service.service_code}
                if api_key is not None:
                    detail["api_key"] = api_key.name
                audit_record(actor=actor, action="request.submit", obj=request, detail=detail)
            return request
        except IntegrityError:
            # A tracking number or token drawn twice: draw again.
            continue
    raise RequestError(_("Could not file the request; try again."))


# --- work ------------------------------------------------------------------------------------


def _check_may_work(actor: User, request: ServiceRequest) -> None:
    if not scope_for(actor).covers(request.path):
        # Callers fetch through scoped selectors; this is the last line of defence.
        raise RequestError(_("This request lies outside your jurisdiction."))


def _locked(request: ServiceRequest) -> ServiceRequest:
    """The request re-read under a row lock, so two concurrent moves cannot both apply."""
    return ServiceRequest.objects.select_for_update().select_related("service").get(pk=request.pk)


def request_assign(
    *, request: ServiceRequest, actor: User, assignee: Staff, note: str = ""
) -> ServiceRequest:
    """Give the request to ``assignee``, a member of its beat's team. A new request becomes
    ``assigned``; an assigned or in-progress one changes hands."""
    _check_may_work(actor, request)
    if actor.role not in OFFICERS:
        raise RequestError(_("Only the beat's officer or a leader may assign requests."))
    if not Assignment.objects.filter(staff=assignee, beat_id=request.beat_id).exists():
        raise RequestError(
            _("%(name)s is not on the team of this request's beat.") % {"name": assignee.name},
            field="assignee",
        )
    note = check_text(note, field="note")
    with transaction.atomic():
        current = _locked(request)
        if current.status not in (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS):
            raise RequestError(
                _("A request that is %(status)s cannot be assigned.")
                % {"status": current.get_status_display()},
                field="status",
            )
        now = timezone.now()
        previous = current.status
        current.assigned_to = assignee
        current.status = Status.ASSIGNED if previous == Status.NEW else previous
        current.updated_datetime = now
        current.status_notes = note
        current.save(update_fields=["assigned_to", "status", "updated_datetime", "status_notes"])
        RequestEvent.objects.create(
            request=current,
            at=now,
            kind=EventKind.ASSIGNED,
            from_status=previous,
            to_status=current.status,
            note=note,
            actor=actor,
            actor_name=_actor_name(actor),
            assignee=assignee,
        )
        audit_record(
            actor=actor,
            action="request.assign",
            obj=current,
            detail={"assignee": assignee.pk, "from": previous, "to": current.status},
        )
    return current


def request_transition(
    *, request: ServiceRequest, actor: User, to: str, note: str = ""
) -> ServiceRequest:
    """Move the request along the workflow (``workflow.TRANSITIONS``). Refuses a move the
    table does not hold, a role it does not allow, a missing required note, and ``done`` for a
    service that needs a re-inspection, each with a message that says so."""
    _check_may_work(actor, request)
    note = check_text(note, field="note")
    with transaction.atomic():
        current = _locked(request)
        source = current.status
        move = transition_for(source, to)
        if move is None:
            raise RequestError(
                _("A request cannot go from “%(source)s” to “%(target)s”.")
                % {"source": Status(source).label, "target": _status_label(to)},
                field="status",
            )
        if actor.role not in move.roles:
            raise RequestError(
                _("Your role may not %(action)s this request.")
                % {"action": str(move.action).lower()},
                field="status",
            )
        if move.note_required and not note:
            raise RequestError(_("Say why in the note: it is shown to the resident."), field="note")
        if to == Status.ASSIGNED and current.assigned_to_id is None:
            raise RequestError(_("Assign the request to a team member first."), field="assignee")
        if to == Status.DONE and current.service.needs_reinspection:
            raise RequestError(
                _("This request is done only when a re-inspection finds it rectified."),
                field="status",
            )
        now = timezone.now()
        current.status = to
        current.updated_datetime = now
        current.status_notes = note
        current.save(update_fields=["status", "updated_datetime", "status_notes"])
        RequestEvent.objects.create(
            request=current,
            at=now,
            kind=EventKind.TRANSITION,
            from_status=source,
            to_status=to,
            note=note,
            actor=actor,
            actor_name=_actor_name(actor),
        )
        audit_record(
            actor=actor, action="request.transition", obj=current, detail={"from": source, "to": to}
        )
    return current


def _status_label(value: str) -> str:
    return str(Status(value).label) if value in Status.values else value[:20]


def request_reinspect(
    *,
    request: ServiceRequest,
    actor: User,
    on: date,
    result: str,
    note: str = "",
    new_deadline: date | None = None,
) -> ServiceRequest:
    """Record a re-inspection of an illegal structure (a request in progress). Rectified: the
    request is done. Not rectified: it stays in progress, with ``new_deadline`` if given.
    Only the roles that may mark a request done (``workflow.TRANSITIONS``) may record one."""
    _check_may_work(actor, request)
    move = transition_for(Status.IN_PROGRESS, Status.DONE)
    if move is None or actor.role not in move.roles:
        raise RequestError(_("Your role may not record a re-inspection."), field="result")
    if result not in ReinspectionResult.values:
        raise RequestError(
            _("Unknown re-inspection result “%(result)s”.") % {"result": result[:30]},
            field="result",
        )
    today = timezone.localdate()
    if on > today:
        raise RequestError(_("A re-inspection cannot lie in the future."), field="on")
    note = check_text(note, field="note")
    with transaction.atomic():
        current = _locked(request)
        if not current.service.needs_reinspection:
            raise RequestError(_("This kind of request has no re-inspection."), field="result")
        if current.status != Status.IN_PROGRESS:
            raise RequestError(
                _("Only a request in progress is re-inspected; this one is %(status)s.")
                % {"status": current.get_status_display()},
                field="status",
            )
        if on < current.requested_datetime.date():
            raise RequestError(
                _("A re-inspection cannot come before the request was filed."), field="on"
            )
        now = timezone.now()
        source = current.status
        fields = ["status", "updated_datetime", "status_notes"]
        if result == ReinspectionResult.RECTIFIED:
            current.status = Status.DONE
        elif new_deadline is not None:
            if not in_years(new_deadline):
                raise RequestError(
                    _("The new deadline must lie in the years %(first)d to %(last)d.")
                    % {"first": EARLIEST_YEAR, "last": LATEST_YEAR},
                    field="new_deadline",
                )
            if new_deadline < on:
                raise RequestError(
                    _("The new deadline must come after the re-inspection."), field="new_deadline"
                )
            current.attributes = {
                **current.attributes,
                DEADLINE_ATTRIBUTE: new_deadline.isoformat(),
            }
            current.expected_datetime = timezone.make_aware(
                datetime.combine(new_deadline, time(23, 59))
            )
            fields += ["attributes", "expected_datetime"]
        current.updated_datetime = now
        current.status_notes = note
        current.save(update_fields=fields)
        RequestEvent.objects.create(
            request=current,
            at=now,
            kind=EventKind.REINSPECTION,
            from_status=source,
            to_status=current.status,
            note=note,
            actor=actor,
            actor_name=_actor_name(actor),
            reinspected_on=on,
            reinspection_result=result,
        )
        audit_record(
            actor=actor,
            action="request.reinspect",
            obj=current,
            detail={"result": result, "on": on.isoformat()},
        )
    return current


# --- Open311 keys ----------------------------------------------------------------------------


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def api_key_create(
    *, name: str, key: str | None = None, actor: User | None = None
) -> tuple[ApiKey, str]:
    """A new Open311 key for a client named ``name``; returns the key (shown once) beside the
    row, which keeps only its hash."""
    plain = key or secrets.token_urlsafe(24)
    with transaction.atomic():
        row = ApiKey.objects.create(name=name, key_hash=api_key_hash(plain), prefix=plain[:4])
        audit_record(actor=actor, action="open311.api_key_create", obj=row)
    return row, plain


def api_key_check(key: str) -> ApiKey | None:
    """The active key ``key`` is, or None."""
    if not key or len(key) > 200:
        return None
    return ApiKey.objects.filter(key_hash=api_key_hash(key), active=True).first()
