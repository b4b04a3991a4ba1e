"""Writes for disputes: intake, transitions, mediation sessions. Pages, API, CLI, field work
and the demo all come here.

Every write records its ``DisputeEvent`` (for state changes) and its audit entry inside the
same transaction. Refusals are ``ValidationError`` (bad input, an illegal transition; the
message names the field or both states) or ``PermissionDenied`` (the actor's role may not make
this transition, or the dispute lies outside their jurisdiction).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.models import Role
from safecommunity.accounts.scope import scope_for
from safecommunity.accounts.services import audit_record
from safecommunity.disputes import workflow
from safecommunity.disputes.models import (
    Dispute,
    DisputeCategory,
    DisputeEvent,
    DisputeSource,
    DisputeState,
    MediationSession,
    Outcome,
    Party,
    PartyRole,
    ReferredTo,
    RiskLevel,
)
from safecommunity.people import identity
from safecommunity.people.models import Resident
from safecommunity.people.services import protect_phone

if TYPE_CHECKING:
    from safecommunity.accounts.models import User
    from safecommunity.places.models import Beat, Dwelling

# The longest text each field takes (the model's max_length where it has one).
DESCRIPTION_MAX = 5000
NOTE_MAX = 2000
PLACE_MAX = 200
MEDIATORS_MAX = 200
NAME_MAX = 50
MAX_PARTIES = 20


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _check_choice(field: str, value: str, choices: Any) -> None:
    if value not in choices.values:
        raise ValidationError(
            {
                field: _("Unknown value “%(value)s”; choose one of: %(choices)s.")
                % {"value": value, "choices": ", ".join(choices.values)}
            }
        )


def _check_text(field: str, value: str, limit: int) -> None:
    """Refuse what the database cannot store or the field cannot hold, naming ``field``.

    The pages' forms refuse NUL characters already (``ProhibitNullCharactersValidator``), the
    API's schemas do not, and PostgreSQL cannot store one in a text column: the service is
    the one place all callers pass."""
    if "\x00" in value:
        raise ValidationError({field: _("Remove the NUL character (U+0000) from the text.")})
    if len(value) > limit:
        raise ValidationError({field: _("At most %(n)d characters.") % {"n": limit}})


def _actor_name(actor: User | None) -> str:
    if actor is None:
        return ""
    return actor.get_full_name() or actor.get_username()


def _check_in_scope(actor: User | None, path: str) -> None:
    if actor is not None and not scope_for(actor).covers(path):
        raise PermissionDenied(_("This place lies outside your jurisdiction."))


def _party_rows(parties: Sequence[dict[str, Any]]) -> list[Party]:
    """Validate ``parties`` and build (unsaved) rows; the phone only ever stored protected."""
    if len(parties) > MAX_PARTIES:
        raise ValidationError(
            {"parties": _("At most %(n)d parties per dispute.") % {"n": MAX_PARTIES}}
        )
    rows = []
    for number, data in enumerate(parties, start=1):
        resident = data.get("resident")
        name = str(data.get("name") or "").strip()
        role = str(data.get("role") or PartyRole.APPLICANT)
        phone = str(data.get("phone") or "").strip()
        if resident is not None and not isinstance(resident, Resident):
            raise ValidationError({"parties": _("Party %(n)d: not a resident.") % {"n": number}})
        if "\x00" in name or "\x00" in phone:
            raise ValidationError(
                {"parties": _("Party %(n)d: remove the NUL character (U+0000).") % {"n": number}}
            )
        if resident is None and not name:
            raise ValidationError(
                {
                    "parties": _(
                        "Party %(n)d: choose a resident from the registry or enter a name."
                    )
                    % {"n": number}
                }
            )
        if len(name) > NAME_MAX:
            raise ValidationError(
                {
                    "parties": _("Party %(n)d: a name has at most %(max)d characters.")
                    % {"n": number, "max": NAME_MAX}
                }
            )
        if role not in PartyRole.values:
            raise ValidationError(
                {
                    "parties": _("Party %(n)d: unknown role “%(role)s”; choose one of: %(roles)s.")
                    % {"n": number, "role": role, "roles": ", ".join(PartyRole.values)}
                }
            )
        party = Party(resident=resident, name="" if resident is not None else name, role=role)
        if phone and resident is None:
            try:
                normalized = identity.normalize_phone(phone)
            except identity.IdentityError as exc:
                raise ValidationError(
                    {"parties": _("Party %(n)d: %(why)s.") % {"n": number, "why": exc}}
                ) from exc
            protected = protect_phone(normalized)
            party.phone_cipher = protected.cipher
            party.phone_index = protected.lookup
            party.phone_masked = protected.masked
        rows.append(party)
    return rows


def dispute_find_repeat(
    *, dwelling: Dwelling | None, residents: Sequence[Resident], at: datetime
) -> Dispute | None:
    """The latest earlier dispute with the same dwelling or one of the same resident parties
    reported within ``workflow.REPEAT_WINDOW`` before ``at``; unscoped (a repeat across a
    beat boundary is still a repeat)."""
    match = Q()
    if dwelling is not None:
        match |= Q(dwelling=dwelling)
    resident_ids = [r.pk for r in residents]
    if resident_ids:
        match |= Q(pk__in=Party.objects.filter(resident_id__in=resident_ids).values("dispute_id"))
    if not match:
        return None
    return (
        Dispute.objects.filter(
            match, reported_at__gte=at - workflow.REPEAT_WINDOW, reported_at__lte=at
        )
        .order_by("-reported_at", "-pk")
        .first()
    )


def dispute_report(
    *,
    actor: User | None,
    beat: Beat,
    source: str,
    category: str,
    description: str,
    dwelling: Dwelling | None = None,
    risk: str = "low",
    parties: Sequence[dict[str, Any]] = (),
    place: str = "",
    may_turn_violent: bool = False,
) -> Dispute:
    """Take in a dispute (state ``reported``). Contract for field work; the disputes app
    implements it. ``parties``: dicts with ``resident`` (a people.Resident) or ``name`` (a
    person not in the registry), optional ``phone`` and ``role``.

    A high risk or a possible turn to violence escalates the dispute at once (flag, event note
    and an audit entry of its own). A dispute with the same dwelling or a same resident party
    as one reported in the last 90 days is flagged a repeat of it. ``actor`` is None only for
    system writes; a user must work a jurisdiction covering ``beat``.
    """
    if actor is not None and actor.role not in workflow.REPORT_ROLES:
        raise PermissionDenied(_("Your role may not report disputes."))
    _check_in_scope(actor, beat.path)
    _check_choice("source", source, DisputeSource)
    _check_choice("category", category, DisputeCategory)
    _check_choice("risk", risk, RiskLevel)
    description = description.strip()
    _check_text("description", description, DESCRIPTION_MAX)
    if not description:
        raise ValidationError({"description": _("Describe the dispute.")})
    place = place.strip()
    _check_text("place", place, PLACE_MAX)
    if dwelling is not None and dwelling.path != beat.path:
        raise ValidationError({"dwelling": _("The dwelling does not lie in the chosen beat.")})
    party_rows = _party_rows(parties)
    now = timezone.now()
    escalate = risk == RiskLevel.HIGH or may_turn_violent
    with transaction.atomic():
        residents = [p.resident for p in party_rows if p.resident is not None]
        repeat_of = dispute_find_repeat(dwelling=dwelling, residents=residents, at=now)
        dispute = Dispute.objects.create(
            beat=beat,
            path=beat.path,
            dwelling=dwelling,
            place=place or (dwelling.standard_address if dwelling is not None else ""),
            source=source,
            category=category,
            risk=risk,
            may_turn_violent=may_turn_violent,
            escalated=escalate,
            escalated_at=now if escalate else None,
            description=description,
            state=DisputeState.REPORTED,
            due_at=now + workflow.STAGE_DEADLINES[DisputeState.REPORTED],
            repeat_of=repeat_of,
            reported_by=actor if actor is not None and actor.pk else None,
            reported_at=now,
        )
        for party in party_rows:
            party.dispute = dispute
        Party.objects.bulk_create(party_rows)
        notes = []
        if escalate:
            notes.append(_("Escalated: high risk or may escalate to violence."))
        if repeat_of is not None:
            # Without the earlier dispute's number: it may lie outside the jurisdiction of
            # someone who sees this one (the pages link it from ``repeat_of`` when in scope).
            notes.append(_("Repeat dispute: the same parties or dwelling as an earlier one."))
        DisputeEvent.objects.create(
            dispute=dispute,
            from_state="",
            to_state=DisputeState.REPORTED,
            actor=actor if actor is not None and actor.pk else None,
            actor_name=_actor_name(actor),
            at=now,
            note=" ".join(notes),
        )
        detail = {
            "beat": beat.code,
            "category": category,
            "source": source,
            "risk": risk,
            "parties": len(party_rows),
            "repeat_of": repeat_of.pk if repeat_of is not None else None,
        }
        audit_record(actor=actor, action="dispute.report", obj=dispute, detail=detail)
        if escalate:
            audit_record(
                actor=actor,
                action="dispute.escalate",
                obj=dispute,
                reason=_("High risk or may escalate to violence."),
                detail={"risk": risk, "may_turn_violent": may_turn_violent},
            )
    return dispute


def dispute_transition(
    *,
    actor: User,
    dispute: Dispute,
    to_state: str,
    note: str = "",
    referred_to: str = "",
) -> Dispute:
    """Move ``dispute`` to ``to_state`` along ``workflow.TRANSITIONS``.

    Refuses a transition the table does not hold (``ValidationError`` naming both states), one
    the actor's role may not make or on a dispute outside their jurisdiction
    (``PermissionDenied``), a referral without where to, a settlement without an agreement
    recorded in a session since the dispute last went into mediating, a rejection or failure
    without a note, and text the database cannot store (a NUL character) or too long. The row is locked while it moves,
    so two people moving the same dispute at once cannot both succeed from the same state.
    """
    note = note.strip()
    _check_text("note", note, NOTE_MAX)
    _check_text("referred_to", referred_to, 32)
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        from_state = locked.state
        rule = workflow.TRANSITIONS.get((from_state, to_state))
        if rule is None:
            raise ValidationError(
                _("A dispute cannot go from “%(from)s” to “%(to)s”.")
                % {
                    "from": _label(DisputeState, from_state),
                    "to": _label(DisputeState, to_state),
                },
                code="illegal_transition",
            )
        _check_in_scope(actor, locked.path)
        if actor.role not in rule.roles:
            raise PermissionDenied(
                _(
                    "A %(role)s may not move a dispute from “%(from)s” to “%(to)s”; "
                    "that is for: %(roles)s."
                )
                % {
                    "role": _label(Role, actor.role),
                    "from": _label(DisputeState, from_state),
                    "to": _label(DisputeState, to_state),
                    "roles": ", ".join(sorted(_label(Role, r) for r in rule.roles)),
                }
            )
        if rule.note_required and not note:
            raise ValidationError({"note": _("Give the reason in the note.")})
        now = timezone.now()
        fields = ["state", "due_at"]
        if to_state == DisputeState.REFERRED:
            _check_choice("referred_to", referred_to, ReferredTo)
            locked.referred_to = referred_to
            locked.referral_note = note
            locked.outcome = Outcome.REFERRED
            fields += ["referred_to", "referral_note", "outcome"]
        elif referred_to:
            raise ValidationError(
                {"referred_to": _("Only a referral says where the dispute goes.")}
            )
        if to_state == DisputeState.SETTLED:
            # The agreement of this round of mediation: after a reopening (the old agreement
            # did not hold) only a session since the dispute went back to mediating counts.
            began = _mediation_began(locked)
            agreed = locked.sessions.exclude(agreement="")
            if began is not None:
                agreed = agreed.filter(held_at__gte=began)
            if began is None or not agreed.exists():
                raise ValidationError(
                    _("Record the mediation session with the agreement before settling.")
                )
            locked.settled_at = now
            locked.outcome = Outcome.SETTLED
            fields += ["settled_at", "outcome"]
        elif to_state == DisputeState.FAILED:
            locked.outcome = Outcome.FAILED
            fields += ["outcome"]
        elif to_state == DisputeState.MEDIATING and from_state == DisputeState.FOLLOW_UP:
            # Reopened: the earlier outcome no longer stands.
            locked.outcome = ""
            locked.settled_at = None
            fields += ["outcome", "settled_at"]
        if to_state == DisputeState.CLOSED:
            locked.closed_at = now
            fields += ["closed_at"]
            if from_state == DisputeState.REPORTED:
                locked.outcome = Outcome.REJECTED
                fields += ["outcome"]
        locked.state = to_state
        deadline = workflow.STAGE_DEADLINES.get(to_state)
        locked.due_at = now + deadline if deadline is not None else None
        locked.save(update_fields=fields)
        DisputeEvent.objects.create(
            dispute=locked,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            actor_name=_actor_name(actor),
            at=now,
            note=note,
        )
        audit_record(
            actor=actor,
            action="dispute.transition",
            obj=locked,
            reason=note,
            detail={"from": from_state, "to": to_state, "referred_to": referred_to},
        )
    return locked


def _mediation_began(dispute: Dispute) -> datetime | None:
    """When ``dispute`` last moved into mediating (None if it never did)."""
    return (
        dispute.events.filter(to_state=DisputeState.MEDIATING)
        .order_by("-at", "-pk")
        .values_list("at", flat=True)
        .first()
    )


def mediation_session_add(
    *,
    actor: User,
    dispute: Dispute,
    held_at: datetime,
    mediators: str,
    participants: str = "",
    notes: str = "",
    agreement: str = "",
) -> MediationSession:
    """Record a mediation session. Only while the dispute is being mediated, by a mediator
    (``workflow.MEDIATORS``), not in the future nor before this round of mediation began.

    The state is read from the row locked for the write, not from ``dispute`` (which may be
    stale): a session cannot slip in while someone else settles or refers the dispute.
    """
    _check_in_scope(actor, dispute.path)
    if actor.role not in workflow.MEDIATORS:
        raise PermissionDenied(_("Your role may not record mediation sessions."))
    if timezone.is_naive(held_at):
        held_at = timezone.make_aware(held_at)
    if held_at > timezone.now():
        raise ValidationError({"held_at": _("A session cannot be held in the future.")})
    mediators = mediators.strip()
    _check_text("mediators", mediators, MEDIATORS_MAX)
    if not mediators:
        raise ValidationError({"mediators": _("Name who mediated.")})
    participants, notes, agreement = participants.strip(), notes.strip(), agreement.strip()
    _check_text("participants", participants, DESCRIPTION_MAX)
    _check_text("notes", notes, DESCRIPTION_MAX)
    _check_text("agreement", agreement, DESCRIPTION_MAX)
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        _check_in_scope(actor, locked.path)
        if locked.state != DisputeState.MEDIATING:
            raise ValidationError(
                _(
                    "Sessions are recorded while the dispute is being mediated, "
                    "not when “%(state)s”."
                )
                % {"state": _label(DisputeState, locked.state)}
            )
        if held_at < locked.reported_at:
            raise ValidationError({"held_at": _("A session cannot be held before the report.")})
        began = _mediation_began(locked)
        if began is not None and held_at < began:
            raise ValidationError(
                {
                    "held_at": _(
                        "A session cannot be held before this mediation began (%(began)s)."
                    )
                    % {"began": f"{timezone.localtime(began):%Y-%m-%d %H:%M}"}
                }
            )
        session = MediationSession.objects.create(
            dispute=locked,
            held_at=held_at,
            mediators=mediators,
            participants=participants,
            notes=notes,
            agreement=agreement,
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            action="dispute.session",
            obj=locked,
            detail={"session": session.pk, "agreement": bool(session.agreement)},
        )
    return session
