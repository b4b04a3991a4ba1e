"""The 1+2+N team of each beat: one community officer, two community workers, N grid workers.

The rule (exactly one responsible officer, at least two community workers, at least one grid
worker) is checked by ``teams.selectors.beat_compliance``. The database itself guarantees
what it can: at most one responsible officer per beat, and only officers are responsible.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class StaffKind(models.TextChoices):
    COMMUNITY_OFFICER = "community_officer", _("Community officer")
    COMMUNITY_WORKER = "community_worker", _("Community worker")
    GRID_WORKER = "grid_worker", _("Grid worker")


class Staff(models.Model):
    """A member of a beat team; linked to a login where the person uses the platform."""

    kind = models.CharField(_("kind"), max_length=32, choices=StaffKind.choices)
    name = models.CharField(_("name"), max_length=50)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("login"),
    )
    station = models.ForeignKey(
        "places.PoliceStation",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("police station"),
    )
    police_number = models.CharField(_("police number"), max_length=16, blank=True)
    phone = models.CharField(_("work phone"), max_length=32, blank=True)
    # The place the person works from (their first beat's path); staff lists scope through
    # the beats they are assigned to (`assignments__path`).
    path = models.CharField(_("path"), max_length=64, db_index=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["kind", "name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=StaffKind.values), name="staff_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind=StaffKind.COMMUNITY_OFFICER) | Q(police_number=""),
                name="staff_only_officers_have_police_number",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """A staff member's place in a beat's team. ``kind`` copies the staff kind so the database
    can check that only community officers are responsible."""

    staff = models.ForeignKey(Staff, models.CASCADE, related_name="assignments")
    beat = models.ForeignKey("places.Beat", models.PROTECT, related_name="assignments")
    kind = models.CharField(_("kind"), max_length=32, choices=StaffKind.choices)
    responsible = models.BooleanField(_("responsible officer"), default=False)
    since = models.DateField(_("since"))
    path = models.CharField(_("path"), max_length=64, db_index=True)

    class Meta:
        verbose_name = _("team assignment")
        verbose_name_plural = _("team assignments")
        constraints = [
            models.UniqueConstraint(fields=["staff", "beat"], name="assignment_once_per_beat"),
            models.UniqueConstraint(
                fields=["beat"],
                condition=Q(responsible=True),
                name="assignment_one_responsible_officer_per_beat",
                violation_error_message=_("This beat already has a responsible officer."),
            ),
            models.CheckConstraint(
                condition=Q(responsible=False) | Q(kind=StaffKind.COMMUNITY_OFFICER),
                name="assignment_only_officers_responsible",
            ),
        ]
        indexes = [models.Index(fields=["beat", "kind"], name="assignment_beat_kind")]

    def __str__(self) -> str:
        return f"{self.staff} @ {self.beat}"


class Committee(models.TextChoices):
    # 社区"两委": the community Party organisation committee and the residents' committee.
    PARTY = "party", _("Community Party committee")
    RESIDENTS = "residents", _("Residents' committee")


class CommitteePostTitle(models.TextChoices):
    SECRETARY = "secretary", _("Secretary")
    DEPUTY_SECRETARY = "deputy_secretary", _("Deputy secretary")
    DIRECTOR = "director", _("Director")
    DEPUTY_DIRECTOR = "deputy_director", _("Deputy director")
    MEMBER = "member", _("Member")


class CommitteePost(models.Model):
    """A post a staff member holds on one of the community's two committees."""

    staff = models.ForeignKey(Staff, models.CASCADE, related_name="committee_posts")
    community = models.ForeignKey("places.Division", models.PROTECT, related_name="committee_posts")
    committee = models.CharField(_("committee"), max_length=16, choices=Committee.choices)
    title = models.CharField(_("post"), max_length=32, choices=CommitteePostTitle.choices)
    since = models.DateField(_("since"))
    until = models.DateField(_("until"), null=True, blank=True)
    path = models.CharField(_("path"), max_length=64, db_index=True)

    class Meta:
        verbose_name = _("committee post")
        verbose_name_plural = _("committee posts")
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "community", "committee"],
                condition=Q(until__isnull=True),
                name="committee_post_one_current_per_committee",
            ),
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gte=F("since")),
                name="committee_post_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} — {self.get_title_display()}"


class DutyShift(models.Model):
    """Who is on station at a police office, when (the office's duty roster)."""

    office = models.ForeignKey("places.PoliceOffice", models.CASCADE, related_name="duty_shifts")
    staff = models.ForeignKey(Staff, models.CASCADE, related_name="duty_shifts")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))

    class Meta:
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty roster")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="duty_shift_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["office", "staff", "starts_at"], name="duty_shift_unique_start"
            ),
        ]
        indexes = [models.Index(fields=["office", "starts_at"], name="duty_shift_office_time")]

    def __str__(self) -> str:
        return f"{self.staff} {self.starts_at:%Y-%m-%d %H:%M}"
