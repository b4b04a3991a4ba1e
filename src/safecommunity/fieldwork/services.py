"""Writes for field work: visits, patrols, stationing, publicity, campaigns.

Every write checks the actor's scope, writes its audit entry in the same transaction, and
reaches other apps only through their services: a visit changes the registry through
``people.services`` (verified stamp, moves in and out, new residents) and opens a request, a
dispute or a hazard through ``service_requests.services`` and ``disputes.services``.

``visit_record`` is idempotent by ``client_uuid``: a phone that lost its connection may send
the same visit twice (or two tabs may sync at once); the second call returns the first visit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.models import Role, User
from safecommunity.accounts.scope import Scope, scope_for
from safecommunity.accounts.services import audit_record
from safecommunity.fieldwork.models import (
    Campaign,
    CampaignBeat,
    CampaignDwelling,
    OpenedKind,
    Patrol,
    PublicityEvent,
    PublicityTopic,
    StationingShift,
    Visit,
    VisitOutcome,
)
from safecommunity.fieldwork.routes import RouteError, parse_route, route_length_m, route_text
from safecommunity.people import services as people
from safecommunity.people.models import Relation, Residence, Resident, VerificationMethod
from safecommunity.places.models import Beat, Division, Dwelling, PoliceOffice
from safecommunity.teams.models import Staff

# Only a visit that met the household covers a dwelling in a campaign: a shut door still
# needs a visit, so the dwelling stays on the route sheet.
COVERING_OUTCOMES = (VisitOutcome.MET,)
# A log may be written a little ahead of the server's clock (a phone's clock runs fast).
CLOCK_SKEW = timedelta(minutes=10)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.get_fixed_timezone(480))
MAX_SHIFT = timedelta(hours=24)
# Who plans campaigns: leaders and community officers; workers log, analysts read.
CAMPAIGN_ROLES = frozenset(
    {Role.ADMIN, Role.DISTRICT_LEADER, Role.STATION_LEADER, Role.COMMUNITY_OFFICER}
)
# Category codes of disputes (``disputes.models.DisputeCategory``) offered when findings
# open one, and its risk levels.
DISPUTE_CATEGORIES = (
    "neighbours",
    "family",
    "property_management",
    "tenancy",
    "wages_owed",
    "traffic",
    "other",
)
DISPUTE_RISKS = ("low", "medium", "high")
# Kinds of hazard (the "hazard" service's required ``hazard_kind`` attribute).
HAZARD_KINDS = ("fire", "gas", "electric", "building", "traffic", "other")
# Where a record opened from field work says it came from, in the owning app's words:
# disputes know household visits and grid reports; requests know field work as "visit".
DISPUTE_SOURCE = {"visit": "visit", "patrol": "grid_report"}
REQUEST_SOURCE = "visit"


def may_log(user: User) -> bool:
    """Everyone who works a jurisdiction logs field work; a city analyst only reads."""
    return user.is_active and user.role != Role.CITY_ANALYST


def may_plan_campaigns(user: User) -> bool:
    return user.is_active and user.role in CAMPAIGN_ROLES


def _require_log(actor: User, path: str) -> None:
    if not may_log(actor):
        raise PermissionDenied(_("You may read field work but not log it."))
    if not scope_for(actor).covers(path):
        raise ValidationError(_("This place is outside your jurisdiction."))


def _staff_of(actor: User) -> Staff | None:
    return Staff.objects.filter(user_id=actor.pk).first()


def _check_time(value: datetime, name: str) -> None:
    if timezone.is_naive(value):
        raise ValidationError({name: _("The time has no time zone.")})
    if value > timezone.now() + CLOCK_SKEW:
        raise ValidationError({name: _("The time is in the future.")})
    if value < EARLIEST:
        raise ValidationError({name: _("The time is before 2000.")})


def _beat_of(dwelling: Dwelling) -> Beat:
    return Beat.objects.get(grid_id=dwelling.grid_id)


# --- what findings open ------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Open a record from findings in the same step: a request (``code`` = the service code),
    a dispute (``code`` = its category, with a risk level) or a hazard."""

    kind: str
    code: str = ""
    risk: str = "low"
    # Open311 attributes of the request (a hazard's ``hazard_kind``, say), by code.
    attributes: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        if self.kind not in OpenedKind.values:
            raise ValidationError({"open_as": _("Unknown kind “%(k)s”.") % {"k": self.kind}})
        if self.kind == OpenedKind.DISPUTE:
            if self.code not in DISPUTE_CATEGORIES:
                raise ValidationError({"category": _("Choose the category of the dispute.")})
            if self.risk not in DISPUTE_RISKS:
                raise ValidationError({"risk": _("Unknown risk level “%(r)s”.") % {"r": self.risk}})
        if self.kind == OpenedKind.REQUEST and not self.code.strip():
            raise ValidationError({"service_code": _("Choose the kind of request.")})
        if (
            self.kind == OpenedKind.HAZARD
            and self.attributes.get("hazard_kind") not in HAZARD_KINDS
        ):
            raise ValidationError({"hazard_kind": _("Choose the kind of hazard.")})


def _open(
    *,
    finding: Finding,
    actor: User,
    source: str,
    description: str,
    beat: Beat,
    dwelling: Dwelling | None = None,
    lat: float | None = None,
    lng: float | None = None,
) -> tuple[str, str]:
    """Open what ``finding`` asks for through the owning app's service; (kind, id). The
    owning app's ``ValidationError`` (an unknown service code, a missing attribute) passes
    through, and the caller's transaction writes nothing."""
    # Imported here: field work depends on these apps only when findings open something.
    from safecommunity.disputes.services import dispute_report
    from safecommunity.service_requests.services import request_submit

    created: Any
    if finding.kind == OpenedKind.DISPUTE:
        created = dispute_report(
            actor=actor,
            beat=beat,
            source=DISPUTE_SOURCE[source],
            category=finding.code,
            description=description,
            dwelling=dwelling,
            risk=finding.risk,
        )
    else:
        created = request_submit(
            service_code="hazard" if finding.kind == OpenedKind.HAZARD else finding.code,
            description=description,
            beat=beat,
            dwelling=dwelling,
            lat=lat,
            lng=lng,
            address_string=dwelling.standard_address if dwelling is not None else None,
            actor=actor,
            source=REQUEST_SOURCE,
            attributes=dict(finding.attributes),
        )
    return finding.kind, str(created.pk)


# --- visits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewResident:
    """Someone found living in the dwelling who is not registered there yet."""

    data: people.ResidentInput
    relation: str = Relation.OTHER
    registered: bool = False


@dataclass(frozen=True)
class VisitResult:
    visit: Visit
    # False when ``client_uuid`` was already known: the visit sent again, not a new one.
    created: bool


@dataclass(frozen=True)
class _Moves:
    moved_out: Sequence[Resident] = ()
    moved_in: Sequence[Resident] = ()
    new_residents: Sequence[NewResident] = ()
    changes: list[dict[str, Any]] = field(default_factory=list)


def _existing_visit(client_uuid: uuid.UUID, dwelling: Dwelling, actor: User) -> Visit | None:
    visit = Visit.objects.filter(client_uuid=client_uuid).first()
    if visit is None:
        return None
    if visit.dwelling_id != dwelling.pk or not scope_for(actor).covers(visit.path):
        raise ValidationError(
            {"client_uuid": _("This client id belongs to another visit; make a new one.")}
        )
    return visit


def visit_record(
    *,
    actor: User,
    dwelling: Dwelling,
    client_uuid: uuid.UUID | str,
    outcome: str,
    visited_at: datetime | None = None,
    residents_confirmed: bool = False,
    findings: str = "",
    campaign: Campaign | None = None,
    moved_out: Sequence[Resident] = (),
    moved_in: Sequence[Resident] = (),
    new_residents: Sequence[NewResident] = (),
    open_as: Finding | None = None,
    request: HttpRequest | None = None,
) -> VisitResult:
    """Log a household visit, idempotently by ``client_uuid``.

    In one transaction with the visit and its audit entry: residents confirmed stamp the
    dwelling verified (method "visit"); ``moved_out`` residents (living here now) move out on
    the visit's day; ``moved_in`` residents (already in the registry) and ``new_residents``
    move in; the dwelling counts as covered in every campaign running that day whose scope
    holds it; ``open_as`` opens a request, dispute or hazard from the findings.

    A ``client_uuid`` seen before returns that visit (``created=False``) and changes nothing;
    one used for another dwelling is refused. Raises ``ValidationError`` naming the field for
    bad input, ``PermissionDenied`` for a user who may not log.
    """
    try:
        key = client_uuid if isinstance(client_uuid, uuid.UUID) else uuid.UUID(str(client_uuid))
    except ValueError as exc:
        raise ValidationError({"client_uuid": _("The client id is not a UUID.")}) from exc
    _require_log(actor, dwelling.path)
    existing = _existing_visit(key, dwelling, actor)
    if existing is not None:
        return VisitResult(existing, created=False)
    visited_at = visited_at or timezone.now()
    _check_visit(
        dwelling=dwelling,
        outcome=outcome,
        visited_at=visited_at,
        residents_confirmed=residents_confirmed,
        findings=findings,
        campaign=campaign,
        moves=_Moves(moved_out, moved_in, new_residents),
        open_as=open_as,
        actor=actor,
    )
    try:
        with transaction.atomic():
            visit = Visit.objects.create(
                dwelling=dwelling,
                staff=_staff_of(actor),
                recorded_by=actor,
                visited_at=visited_at,
                outcome=outcome,
                residents_confirmed=residents_confirmed,
                findings=findings.strip(),
                client_uuid=key,
                campaign=campaign,
                path=dwelling.path,
            )
            changes = _apply_moves(
                visit=visit,
                actor=actor,
                moves=_Moves(moved_out, moved_in, new_residents),
                request=request,
            )
            if residents_confirmed:
                people.dwelling_verify(
                    dwelling=dwelling,
                    actor=actor,
                    method=VerificationMethod.VISIT,
                    at=visited_at,
                    note=_("Household visit"),
                )
                changes.append({"change": "verified"})
            if outcome in COVERING_OUTCOMES:
                _cover(dwelling=dwelling, at=visited_at)
            fields = ["registry_changes"]
            visit.registry_changes = changes
            if open_as is not None:
                visit.opened_kind, visit.opened_id = _open(
                    finding=open_as,
                    actor=actor,
                    source="visit",
                    description=visit.findings,
                    beat=_beat_of(dwelling),
                    dwelling=dwelling,
                    lat=dwelling.lat,
                    lng=dwelling.lng,
                )
                fields += ["opened_kind", "opened_id"]
            visit.save(update_fields=fields)
            audit_record(
                actor=actor,
                action="visit.record",
                obj=visit,
                request=request,
                detail={
                    "dwelling": dwelling.pk,
                    "outcome": outcome,
                    "changes": changes,
                    "opened": visit.opened_kind,
                },
            )
    except IntegrityError:
        # Two deliveries of one visit at the same moment: the other one won.
        existing = _existing_visit(key, dwelling, actor)
        if existing is None:
            raise
        return VisitResult(existing, created=False)
    return VisitResult(visit, created=True)


def _check_visit(
    *,
    dwelling: Dwelling,
    outcome: str,
    visited_at: datetime,
    residents_confirmed: bool,
    findings: str,
    campaign: Campaign | None,
    moves: _Moves,
    open_as: Finding | None,
    actor: User,
) -> None:
    if outcome not in VisitOutcome.values:
        raise ValidationError({"outcome": _("Unknown outcome “%(o)s”.") % {"o": outcome}})
    _check_time(visited_at, "visited_at")
    met = outcome == VisitOutcome.MET
    if residents_confirmed and not met:
        raise ValidationError(
            {
                "residents_confirmed": _(
                    "Residents can be confirmed only when the household was met."
                )
            }
        )
    if (moves.moved_out or moves.moved_in or moves.new_residents) and not met:
        raise ValidationError(
            {"outcome": _("Moves in and out are recorded only when the household was met.")}
        )
    if campaign is not None:
        day = timezone.localtime(visited_at).date()
        if not Scope((campaign.path,)).covers(dwelling.path):
            raise ValidationError({"campaign": _("This dwelling is not in the campaign.")})
        if not campaign.starts_on <= day <= campaign.ends_on:
            raise ValidationError({"campaign": _("The visit falls outside the campaign's period.")})
    if open_as is not None:
        open_as.check()
        if not findings.strip():
            raise ValidationError({"findings": _("Describe the findings to open a record.")})
    current = set(
        Residence.objects.filter(dwelling=dwelling, until__isnull=True).values_list(
            "resident_id", flat=True
        )
    )
    for resident in moves.moved_out:
        if resident.pk not in current:
            raise ValidationError(
                {"moved_out": _("%(name)s does not live in this dwelling.") % {"name": resident}}
            )
    scope = scope_for(actor)
    for resident in moves.moved_in:
        if resident.pk in current:
            raise ValidationError(
                {"moved_in": _("%(name)s already lives in this dwelling.") % {"name": resident}}
            )
        if resident.path and not scope.covers(resident.path):
            raise ValidationError(
                {
                    "moved_in": _(
                        "This person is registered at an address outside your jurisdiction; "
                        "the move out must be recorded there first."
                    )
                }
            )


def _apply_moves(
    *, visit: Visit, actor: User, moves: _Moves, request: HttpRequest | None
) -> list[dict[str, Any]]:
    day = timezone.localtime(visit.visited_at).date()
    changes: list[dict[str, Any]] = []
    for resident in moves.moved_out:
        people.residence_move_out(resident=resident, until=day, actor=actor, request=request)
        changes.append({"change": "move_out", "resident": resident.pk})
    for resident in moves.moved_in:
        people.residence_move_in(
            resident=resident,
            dwelling=visit.dwelling,
            since=day,
            relation=Relation.OTHER,
            registered=False,
            actor=actor,
            request=request,
        )
        changes.append({"change": "move_in", "resident": resident.pk})
    for new in moves.new_residents:
        registration = people.resident_register(
            data=new.data,
            actor=actor,
            dwelling=visit.dwelling,
            since=day,
            relation=new.relation,
            registered=new.registered,
            request=request,
        )
        changes.append(
            {
                "change": "reregister" if registration.reregistered else "register",
                "resident": registration.resident.pk,
            }
        )
    return changes


def path_ancestors(path: str) -> list[str]:
    """``12.01.04`` → ``["12", "12.01", "12.01.04"]``: every place that holds ``path``."""
    parts = path.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _cover(*, dwelling: Dwelling, at: datetime) -> None:
    """Count ``dwelling`` as visited in every campaign running on that day that holds it."""
    day = timezone.localtime(at).date()
    campaigns = Campaign.objects.filter(
        path__in=path_ancestors(dwelling.path), starts_on__lte=day, ends_on__gte=day
    ).values_list("pk", flat=True)
    for campaign_id in campaigns:
        row, created = CampaignDwelling.objects.get_or_create(
            campaign_id=campaign_id,
            dwelling=dwelling,
            defaults={"first_visited_at": at, "path": dwelling.path},
        )
        if created:
            _count_up(campaign_id=campaign_id, path=dwelling.path)
        elif at < row.first_visited_at:
            # A visit logged offline earlier reached the server later.
            row.first_visited_at = at
            row.save(update_fields=["first_visited_at"])


def _count_up(*, campaign_id: int, path: str) -> None:
    """One more covered dwelling in the campaign's beat at ``path``: a conditional update,
    or the beat's first row (a concurrent first insert loses the race and updates)."""
    counts = CampaignBeat.objects.filter(campaign_id=campaign_id, path=path)
    if counts.update(visited=F("visited") + 1):
        return
    try:
        with transaction.atomic():
            CampaignBeat.objects.create(campaign_id=campaign_id, path=path, visited=1)
    except IntegrityError:
        counts.update(visited=F("visited") + 1)


# --- patrols, stationing, publicity ------------------------------------------------------------


def patrol_record(
    *,
    actor: User,
    beat: Beat,
    route: str | dict[str, Any],
    started_at: datetime,
    ended_at: datetime,
    findings: str = "",
    open_as: Finding | None = None,
    request: HttpRequest | None = None,
) -> Patrol:
    """Log a patrol along ``route`` (a GeoJSON LineString). Findings may open a record."""
    _require_log(actor, beat.path)
    try:
        line = parse_route(route)
    except RouteError as exc:
        raise ValidationError({"route": str(exc)}) from exc
    _check_time(started_at, "started_at")
    _check_time(ended_at, "ended_at")
    if ended_at < started_at:
        raise ValidationError({"ended_at": _("The patrol ends before it starts.")})
    if ended_at - started_at > MAX_SHIFT:
        raise ValidationError({"ended_at": _("A patrol lasts at most 24 hours.")})
    if open_as is not None:
        open_as.check()
        if not findings.strip():
            raise ValidationError({"findings": _("Describe the findings to open a record.")})
    with transaction.atomic():
        patrol = Patrol.objects.create(
            beat=beat,
            staff=_staff_of(actor),
            recorded_by=actor,
            started_at=started_at,
            ended_at=ended_at,
            route=route_text(line),
            length_m=round(route_length_m(line)),
            findings=findings.strip(),
            path=beat.path,
        )
        if open_as is not None:
            start_lng, start_lat = line.coords[0]
            patrol.opened_kind, patrol.opened_id = _open(
                finding=open_as,
                actor=actor,
                source="patrol",
                description=patrol.findings,
                beat=beat,
                lat=start_lat,
                lng=start_lng,
            )
            patrol.save(update_fields=["opened_kind", "opened_id"])
        audit_record(
            actor=actor,
            action="patrol.record",
            obj=patrol,
            request=request,
            detail={"beat": beat.pk, "length_m": patrol.length_m, "opened": patrol.opened_kind},
        )
    return patrol


def stationing_record(
    *,
    actor: User,
    office: PoliceOffice,
    started_at: datetime,
    ended_at: datetime,
    beat: Beat | None = None,
    notes: str = "",
    request: HttpRequest | None = None,
) -> StationingShift:
    """Log a stationing shift at a police office, for one of its beats in the actor's scope
    (the first one, by path, when ``beat`` is not given)."""
    if beat is None:
        scope = scope_for(actor)
        beat = next(
            (b for b in office.beats.order_by("path") if scope.covers(b.path)),
            None,
        )
        if beat is None:
            raise ValidationError({"office": _("This police office serves none of your beats.")})
    if beat.office_id != office.pk:
        raise ValidationError({"beat": _("This beat is not served by that police office.")})
    _require_log(actor, beat.path)
    _check_time(started_at, "started_at")
    _check_time(ended_at, "ended_at")
    if ended_at <= started_at:
        raise ValidationError({"ended_at": _("The shift must end after it starts.")})
    if ended_at - started_at > MAX_SHIFT:
        raise ValidationError({"ended_at": _("A shift lasts at most 24 hours.")})
    with transaction.atomic():
        shift = StationingShift.objects.create(
            office=office,
            beat=beat,
            staff=_staff_of(actor),
            recorded_by=actor,
            started_at=started_at,
            ended_at=ended_at,
            notes=notes.strip(),
            path=beat.path,
        )
        audit_record(
            actor=actor,
            action="stationing.record",
            obj=shift,
            request=request,
            detail={"office": office.pk, "beat": beat.pk},
        )
    return shift


def publicity_record(
    *,
    actor: User,
    beat: Beat,
    topic: str,
    place: str,
    held_at: datetime,
    people_reached: int,
    notes: str = "",
    request: HttpRequest | None = None,
) -> PublicityEvent:
    """Log a prevention-publicity event."""
    _require_log(actor, beat.path)
    if topic not in PublicityTopic.values:
        raise ValidationError({"topic": _("Unknown topic “%(t)s”.") % {"t": topic}})
    place = place.strip()
    if not place:
        raise ValidationError({"place": _("Say where the event was held.")})
    if people_reached < 0:
        raise ValidationError({"people_reached": _("The number of people cannot be negative.")})
    _check_time(held_at, "held_at")
    with transaction.atomic():
        event = PublicityEvent.objects.create(
            beat=beat,
            staff=_staff_of(actor),
            recorded_by=actor,
            topic=topic,
            place=place[:200],
            held_at=held_at,
            people_reached=people_reached,
            notes=notes.strip(),
            path=beat.path,
        )
        audit_record(
            actor=actor,
            action="publicity.record",
            obj=event,
            request=request,
            detail={"topic": topic, "people_reached": people_reached},
        )
    return event


# --- campaigns ---------------------------------------------------------------------------------


def campaign_scope_name(path: str) -> str | None:
    """The name of the division or beat whose path is ``path``; ``None`` for neither."""
    division = Division.objects.filter(path=path).values_list("name", flat=True).first()
    if division is not None:
        return division
    return Beat.objects.filter(path=path).values_list("name", flat=True).first()


def campaign_create(
    *,
    actor: User,
    name: str,
    path: str,
    starts_on: date,
    ends_on: date,
    request: HttpRequest | None = None,
) -> Campaign:
    """Start a visit campaign over every dwelling under ``path`` (a division or a beat in the
    actor's scope). Visits already logged in the period count at once."""
    if not may_plan_campaigns(actor):
        raise PermissionDenied(_("You may not plan visit campaigns."))
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("The campaign needs a name.")})
    scope_name = campaign_scope_name(path)
    if scope_name is None or not scope_for(actor).covers(path):
        raise ValidationError({"path": _("Choose a division or beat of your jurisdiction.")})
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("The campaign ends before it starts.")})
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name[:100],
            path=path,
            scope_name=scope_name,
            starts_on=starts_on,
            ends_on=ends_on,
            created_by=actor,
        )
        covered = campaign_recount(campaign=campaign)
        audit_record(
            actor=actor,
            action="campaign.create",
            obj=campaign,
            request=request,
            detail={
                "path": path,
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat(),
                "covered": covered,
            },
        )
    return campaign


def period_bounds(starts_on: date, ends_on: date) -> tuple[datetime, datetime]:
    """The campaign's days as [start, end) aware datetimes in local time."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(starts_on, time.min, tzinfo=tz)
    end = datetime.combine(ends_on + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def campaign_recount(*, campaign: Campaign, batch: int = 5000) -> int:
    """Rebuild the campaign's visited dwellings from the visits (first visit that met the
    household, per dwelling, within the period and scope). Returns how many."""
    start, end = period_bounds(campaign.starts_on, campaign.ends_on)
    visits = (
        Visit.objects.filter(
            visited_at__gte=start, visited_at__lt=end, outcome__in=COVERING_OUTCOMES
        )
        .filter(Scope((campaign.path,)).q())
        .values("dwelling_id", "path")
        .annotate(first=Min("visited_at"))
        .order_by()
    )
    with transaction.atomic():
        CampaignDwelling.objects.filter(campaign=campaign).delete()
        rows: list[CampaignDwelling] = []
        total = 0
        for row in visits.iterator(chunk_size=batch):
            rows.append(
                CampaignDwelling(
                    campaign=campaign,
                    dwelling_id=row["dwelling_id"],
                    first_visited_at=row["first"],
                    path=row["path"],
                )
            )
            if len(rows) >= batch:
                CampaignDwelling.objects.bulk_create(rows, ignore_conflicts=True)
                total += len(rows)
                rows = []
        CampaignDwelling.objects.bulk_create(rows, ignore_conflicts=True)
        total += len(rows)
        campaign_recount_beats(campaign=campaign)
    return total


def campaign_recount_beats(*, campaign: Campaign) -> int:
    """Rebuild the campaign's per-beat counts from its visited dwellings (one GROUP BY)."""
    per_beat = (
        CampaignDwelling.objects.filter(campaign=campaign)
        .values("path")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("path", "n")
    )
    with transaction.atomic():
        CampaignBeat.objects.filter(campaign=campaign).delete()
        rows = [CampaignBeat(campaign=campaign, path=p, visited=n) for p, n in per_beat]
        CampaignBeat.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
