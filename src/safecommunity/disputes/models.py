"""Disputes (矛盾纠纷): intake → mediation sessions → settlement or referral → follow-up.

A dispute belongs to the beat it was reported in and copies the beat's ``path``, so scope is
the same prefix filter as everywhere else. Its state moves only through
``disputes.services.dispute_transition`` along the table in ``disputes.workflow``; every move
is a ``DisputeEvent`` and an audit entry. Parties are registry residents or, for people not in
the registry, a name and a phone number stored like the registry stores them (ciphertext,
blind index, masked form) — never in the clear.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DisputeState(models.TextChoices):
    REPORTED = "reported", _("Reported")
    ACCEPTED = "accepted", _("Accepted")
    MEDIATING = "mediating", _("Mediating")
    SETTLED = "settled", _("Settled")
    REFERRED = "referred", _("Referred")
    FAILED = "failed", _("Mediation failed")
    FOLLOW_UP = "follow_up", _("Follow-up")
    CLOSED = "closed", _("Closed")


class DisputeSource(models.TextChoices):
    VISIT = "visit", _("Household visit")
    WALK_IN = "walk_in", _("Walk-in")
    HOTLINE_110 = "hotline_110", _("Hotline 110")
    HOTLINE_12345 = "hotline_12345", _("Hotline 12345")
    GRID_REPORT = "grid_report", _("Grid worker's report")
    OTHER = "other", _("Other source")


class DisputeCategory(models.TextChoices):
    NEIGHBOURS = "neighbours", _("Neighbours")
    FAMILY = "family", _("Family")
    PROPERTY_MANAGEMENT = "property_management", _("Property management")
    TENANCY = "tenancy", _("Tenancy")
    WAGES_OWED = "wages_owed", _("Wages owed")
    TRAFFIC = "traffic", _("Traffic")
    OTHER = "other", _("Other dispute")


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low risk")
    MEDIUM = "medium", _("Medium risk")
    HIGH = "high", _("High risk")


class ReferredTo(models.TextChoices):
    MEDIATION_COMMITTEE = "mediation_committee", _("People's mediation committee")
    COURT = "court", _("Court")
    OTHER_DEPARTMENT = "other_department", _("Other department")


class Outcome(models.TextChoices):
    """How a dispute ended, kept when it moves on to follow-up and closing (statistics)."""

    SETTLED = "settled", _("Settled")
    REFERRED = "referred", _("Referred")
    FAILED = "failed", _("Mediation failed")
    REJECTED = "rejected", _("Rejected or duplicate")


# States before any outcome is reached, and the outcomes mediation reaches.
_BEFORE_OUTCOME = [DisputeState.REPORTED, DisputeState.ACCEPTED, DisputeState.MEDIATING]
_REACHED = [Outcome.SETTLED, Outcome.REFERRED, Outcome.FAILED]


class PartyRole(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    RESPONDENT = "respondent", _("Respondent")
    OTHER = "other", _("Other party")


class Dispute(models.Model):
    beat = models.ForeignKey(
        "places.Beat", models.PROTECT, related_name="disputes", verbose_name=_("beat")
    )
    # db_index: on PostgreSQL also a pattern index, which answers scope's LIKE 'prefix.%'.
    path = models.CharField(_("path"), max_length=64, db_index=True)
    dwelling = models.ForeignKey(
        "places.Dwelling",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
        verbose_name=_("dwelling"),
    )
    place = models.CharField(_("place"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=DisputeSource.choices)
    category = models.CharField(_("category"), max_length=24, choices=DisputeCategory.choices)
    risk = models.CharField(
        _("risk"), max_length=8, choices=RiskLevel.choices, default=RiskLevel.LOW
    )
    may_turn_violent = models.BooleanField(_("may escalate to violence"), default=False)
    escalated = models.BooleanField(_("escalated"), default=False)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    description = models.TextField(_("description"))
    state = models.CharField(
        _("state"), max_length=16, choices=DisputeState.choices, default=DisputeState.REPORTED
    )
    # When the current stage must be done (``workflow.STAGE_DEADLINES``); none once closed.
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    repeat_of = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="repeats",
        verbose_name=_("repeat of"),
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    referred_to = models.CharField(
        _("referred to"), max_length=24, choices=ReferredTo.choices, blank=True
    )
    referral_note = models.TextField(_("referral note"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    reported_at = models.DateTimeField(_("reported at"))
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-reported_at", "-id"]
        indexes = [
            # Scope (a path prefix) and the statistics' windows over the report time.
            models.Index(fields=["path", "reported_at"], name="dispute_path_reported"),
            # The statistics' passes over a wide scope read these alone on PostgreSQL (an
            # index-only scan instead of the whole table with its descriptions): the window
            # of reports with every column the head figures count, and the settlements.
            models.Index(
                fields=["reported_at"],
                include=[
                    "id",
                    "path",
                    "category",
                    "outcome",
                    "state",
                    "due_at",
                    "escalated",
                    "repeat_of",
                    "settled_at",
                ],
                name="dispute_window_cover",
            ),
            models.Index(
                fields=["settled_at"],
                include=["id", "path"],
                condition=Q(settled_at__isnull=False),
                name="dispute_settled_cover",
            ),
            models.Index(fields=["state", "due_at"], name="dispute_state_due"),
            models.Index(fields=["dwelling", "reported_at"], name="dispute_dwelling_reported"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=DisputeState.values), name="dispute_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(category__in=DisputeCategory.values), name="dispute_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=DisputeSource.values), name="dispute_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(risk__in=RiskLevel.values), name="dispute_risk_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome="") | Q(outcome__in=Outcome.values),
                name="dispute_outcome_valid",
            ),
            models.CheckConstraint(
                condition=Q(referred_to="") | Q(referred_to__in=ReferredTo.values),
                name="dispute_referred_to_valid",
            ),
            # High risk or possible violence is always escalated.
            models.CheckConstraint(
                condition=Q(escalated=True) | (~Q(risk=RiskLevel.HIGH) & Q(may_turn_violent=False)),
                name="dispute_high_risk_escalated",
            ),
            models.CheckConstraint(
                condition=~Q(state=DisputeState.SETTLED) | Q(settled_at__isnull=False),
                name="dispute_settled_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state=DisputeState.REFERRED) | ~Q(referred_to=""),
                name="dispute_referred_has_destination",
            ),
            models.CheckConstraint(
                condition=~Q(state=DisputeState.CLOSED) | Q(closed_at__isnull=False),
                name="dispute_closed_has_time",
            ),
            # The outcome is what ``dispute_transition`` writes on the way: none before one is
            # reached (a reopened dispute loses it), the state's own while there, kept through
            # follow-up and closing; only a report closed unaccepted is rejected.
            models.CheckConstraint(
                condition=(
                    Q(state__in=_BEFORE_OUTCOME, outcome="")
                    | Q(state=DisputeState.SETTLED, outcome=Outcome.SETTLED)
                    | Q(state=DisputeState.REFERRED, outcome=Outcome.REFERRED)
                    | Q(state=DisputeState.FAILED, outcome=Outcome.FAILED)
                    | Q(state=DisputeState.FOLLOW_UP, outcome__in=_REACHED)
                    | Q(state=DisputeState.CLOSED, outcome__in=[*_REACHED, Outcome.REJECTED])
                ),
                name="dispute_state_matches_outcome",
            ),
            models.CheckConstraint(
                condition=~Q(outcome=Outcome.SETTLED) | Q(settled_at__isnull=False),
                name="dispute_settled_outcome_has_time",
            ),
            models.CheckConstraint(
                condition=Q(escalated=True, escalated_at__isnull=False)
                | Q(escalated=False, escalated_at__isnull=True),
                name="dispute_escalated_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_category_display()}"

    @property
    def is_repeat(self) -> bool:
        return self.repeat_of_id is not None


class Party(models.Model):
    """Someone in a dispute: a registry resident, or a named person not in the registry."""

    dispute = models.ForeignKey(Dispute, models.CASCADE, related_name="parties")
    resident = models.ForeignKey(
        "people.Resident",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="dispute_parties",
        verbose_name=_("resident"),
    )
    name = models.CharField(_("name"), max_length=50, blank=True)
    phone_cipher = models.BinaryField(null=True, editable=False)
    phone_index = models.CharField(  # noqa: DJ001  # NULL = no number, as in people.Resident
        max_length=32, null=True, editable=False
    )
    phone_masked = models.CharField(_("phone"), max_length=16, blank=True, editable=False)
    role = models.CharField(
        _("role"), max_length=16, choices=PartyRole.choices, default=PartyRole.APPLICANT
    )

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["dispute", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resident__isnull=False) | ~Q(name=""),
                name="party_resident_or_name",
                violation_error_message=_("A party is a registry resident or has a name."),
            ),
            models.CheckConstraint(condition=Q(role__in=PartyRole.values), name="party_role_valid"),
            # A resident's phone lives in the registry; only a person outside it has one here,
            # and then all three forms of it or none.
            models.CheckConstraint(
                condition=Q(phone_cipher__isnull=True, phone_index__isnull=True, phone_masked="")
                | Q(
                    resident__isnull=True,
                    phone_cipher__isnull=False,
                    phone_index__isnull=False,
                    phone_masked__gt="",
                ),
                name="party_phone_only_unregistered",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"resident #{self.resident_id}"


class MediationSession(models.Model):
    dispute = models.ForeignKey(Dispute, models.CASCADE, related_name="sessions")
    held_at = models.DateTimeField(_("held at"))
    mediators = models.CharField(_("mediators"), max_length=200)
    participants = models.TextField(_("participants"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    agreement = models.TextField(_("agreement"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["dispute", "held_at", "id"]

    def __str__(self) -> str:
        return f"#{self.dispute_id} {self.held_at:%Y-%m-%d}"


class DisputeEvent(models.Model):
    """One step of a dispute's history: its intake (``from_state`` empty) or a transition."""

    dispute = models.ForeignKey(Dispute, models.CASCADE, related_name="events")
    from_state = models.CharField(
        _("from"), max_length=16, choices=DisputeState.choices, blank=True
    )
    to_state = models.CharField(_("to"), max_length=16, choices=DisputeState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The actor's name when it happened (or a team member's, in imported history).
    actor_name = models.CharField(_("who"), max_length=150, blank=True)
    at = models.DateTimeField(_("time"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("dispute event")
        verbose_name_plural = _("dispute events")
        ordering = ["dispute", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(to_state__in=DisputeState.values), name="dispute_event_to_valid"
            ),
            models.CheckConstraint(
                condition=Q(from_state="") | Q(from_state__in=DisputeState.values),
                name="dispute_event_from_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.dispute_id} {self.from_state or '∅'} → {self.to_state}"
