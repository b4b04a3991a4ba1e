"""Risk screening (排查): risk lists, the runs that match them against the registry, the
matches, their review, and the verification tasks a confirmed match becomes.

A risk list holds personal data of people who may not be residents at all: its ID and phone
numbers are stored like the registry's (ciphertext, blind index, masked form). Screening is a
sensitive use, so every list and run carries its stated purpose, and each run, review and
export writes an audit entry (``accounts.services.audit_record``).

Scope: a run matches against the whole screening index but keeps only residents inside its
creator's scope (``ScreeningRun.scope_paths``, fixed when the run is queued); every match and
task carries its resident's ``path``, so reads are the usual prefix filter.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ListStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")


class RunKind(models.TextChoices):
    SCREENING = "screening", _("Risk-list screening")
    DEDUPLICATION = "deduplication", _("Registry deduplication")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Band(models.TextChoices):
    CERTAIN = "certain", _("Certain")
    PROBABLE = "probable", _("Probable")
    POSSIBLE = "possible", _("Possible")


class Decision(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class RiskList(models.Model):
    """An uploaded risk list. The row is also its import job: ``risk_list_enqueue`` stores
    the upload and queues it, ``safecommunity worker`` claims it with a conditional update
    (``queued`` → ``importing``) and imports it in batches with ``risk_list_import``, storing
    progress and a heartbeat; only a ``done`` list can be screened."""

    name = models.CharField(_("name"), max_length=200)
    purpose = models.TextField(_("purpose"))
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    rows_read = models.IntegerField(_("rows read"), default=0)
    rows_kept = models.IntegerField(_("rows kept"), default=0)
    rows_rejected = models.IntegerField(_("rows rejected"), default=0)
    rows_duplicate = models.IntegerField(_("duplicate rows"), default=0)
    # The masked CSV of rejected rows (line, column, value, reason), under DATA_DIR.
    issues_file = models.CharField(max_length=500, blank=True, editable=False)
    # The creator's scope when the list was imported ([] = everything): the list is seen by
    # its creator and by users whose scope covers all of it (``screening.selectors``).
    scope_paths = models.JSONField(default=list)
    status = models.CharField(
        _("status"), max_length=16, choices=ListStatus.choices, default=ListStatus.QUEUED
    )
    # The upload waiting for its import (personal data in the clear, mode 0600): deleted
    # once the import ends, whichever way.
    stored_file = models.CharField(max_length=500, blank=True, editable=False)
    # Progress in the file's own units: bytes read for CSV, rows read for XLSX.
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("risk list")
        verbose_name_plural = _("risk lists")
        indexes = [models.Index(fields=["status", "created_at"], name="risklist_queue")]
        constraints = [
            models.CheckConstraint(condition=~Q(purpose=""), name="risklist_purpose_stated"),
            models.CheckConstraint(
                condition=Q(status__in=ListStatus.values), name="risklist_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RiskRecord(models.Model):
    risk_list = models.ForeignKey(RiskList, models.CASCADE, related_name="records")
    line = models.PositiveIntegerField(_("line"))  # in the uploaded file; 1 is the header
    name = models.CharField(_("name"), max_length=50, blank=True)
    gender = models.CharField(_("gender"), max_length=8, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    # As in the registry: ciphertext + blind index + masked form. ``id_valid`` is False for an
    # ID that fails its checksum or date (kept: the engine tries to repair it).
    id_cipher = models.BinaryField(null=True, editable=False)
    id_index = models.CharField(max_length=32, null=True, editable=False)  # noqa: DJ001
    id_masked = models.CharField(_("ID number"), max_length=18, blank=True, editable=False)
    id_valid = models.BooleanField(default=True)
    phone_cipher = models.BinaryField(null=True, editable=False)
    phone_index = models.CharField(max_length=32, null=True, editable=False)  # noqa: DJ001
    phone_masked = models.CharField(_("phone"), max_length=16, blank=True, editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("risk record")
        verbose_name_plural = _("risk records")
        constraints = [
            models.UniqueConstraint(fields=["risk_list", "line"], name="riskrecord_one_per_line"),
            models.CheckConstraint(
                condition=Q(id_index__isnull=True, id_cipher__isnull=True)
                | Q(id_index__isnull=False, id_cipher__isnull=False),
                name="riskrecord_id_cipher_with_index",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.risk_list_id}:{self.line}"


class ScreeningRun(models.Model):
    """One run of the engine: a risk list against the registry, or the registry against
    itself. The row is the job: ``safecommunity worker`` claims queued runs with a
    conditional update, as it does resident imports."""

    kind = models.CharField(_("kind"), max_length=16, choices=RunKind.choices)
    risk_list = models.ForeignKey(
        RiskList, models.CASCADE, null=True, blank=True, related_name="runs"
    )
    purpose = models.TextField(_("purpose"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("run by")
    )
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    # The creator's scope when the run was queued: matches outside it are never stored.
    scope_paths = models.JSONField(default=list)
    # The lowest band stored: matches weaker than this are not kept.
    min_band = models.CharField(
        _("lowest band"), max_length=10, choices=Band.choices, default=Band.POSSIBLE
    )
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    stage = models.CharField(_("stage"), max_length=32, blank=True)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    records = models.IntegerField(_("records"), default=0)
    matched_records = models.IntegerField(_("records matched"), default=0)
    certain = models.IntegerField(_("certain"), default=0)
    probable = models.IntegerField(_("probable"), default=0)
    possible = models.IntegerField(_("possible"), default=0)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("screening run")
        verbose_name_plural = _("screening runs")
        indexes = [models.Index(fields=["status", "created_at"], name="screeningrun_queue")]
        constraints = [
            models.CheckConstraint(condition=~Q(purpose=""), name="screeningrun_purpose_stated"),
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="screeningrun_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind=RunKind.SCREENING, risk_list__isnull=False)
                | Q(kind=RunKind.DEDUPLICATION, risk_list__isnull=True),
                name="screeningrun_list_iff_screening",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class Match(models.Model):
    """A candidate resident for a risk record (or, in a deduplication run, a pair of
    residents that may be one person: ``resident`` and ``other``)."""

    run = models.ForeignKey(ScreeningRun, models.CASCADE, related_name="matches")
    record = models.ForeignKey(
        RiskRecord, models.CASCADE, null=True, blank=True, related_name="matches"
    )
    resident = models.ForeignKey("people.Resident", models.CASCADE, related_name="+")
    other = models.ForeignKey(
        "people.Resident", models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The resident's path when matched (for a pair: the first's; ``other_path`` the second's).
    path = models.CharField(_("path"), max_length=64)
    other_path = models.CharField(max_length=64, blank=True)
    band = models.CharField(_("band"), max_length=10, choices=Band.choices)
    weight = models.FloatField(_("match weight"))
    probability = models.FloatField(_("probability"))
    rank = models.PositiveSmallIntegerField(default=1)  # 1 = the record's best candidate
    # {field: [level, weight in bits]} for id, phone, name, birth, gender, address.
    explanation = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("match")
        verbose_name_plural = _("matches")
        indexes = [
            models.Index(fields=["run", "path"], name="match_run_path"),
            models.Index(fields=["run", "band", "record"], name="match_run_band"),
        ]
        constraints = [
            # A resumed run writes each match once.
            models.UniqueConstraint(
                fields=["run", "record", "resident"],
                condition=Q(record__isnull=False),
                name="match_one_per_record_resident",
            ),
            models.UniqueConstraint(
                fields=["run", "resident", "other"],
                condition=Q(other__isnull=False),
                name="match_one_per_pair",
            ),
            models.CheckConstraint(
                condition=Q(record__isnull=False, other__isnull=True)
                | Q(record__isnull=True, other__isnull=False),
                name="match_record_xor_pair",
            ),
            models.CheckConstraint(condition=Q(band__in=Band.values), name="match_band_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.record_id or self.other_id}→{self.resident_id}"


class Review(models.Model):
    match = models.OneToOneField(Match, models.CASCADE, related_name="review")
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    note = models.TextField(_("note"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("reviewed by")
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), auto_now=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=Decision.values), name="review_decision_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.match_id}: {self.decision}"


class VerificationTask(models.Model):
    """A confirmed match, handed to the resident's beat team to check in person."""

    match = models.OneToOneField(Match, models.CASCADE, related_name="task")
    resident = models.ForeignKey("people.Resident", models.CASCADE, related_name="+")
    path = models.CharField(_("path"), max_length=64, db_index=True)
    status = models.CharField(
        _("status"), max_length=8, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)

    class Meta:
        verbose_name = _("verification task")
        verbose_name_plural = _("verification tasks")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TaskStatus.values), name="verificationtask_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=TaskStatus.OPEN, done_at__isnull=True)
                | Q(status=TaskStatus.DONE, done_at__isnull=False),
                name="verificationtask_done_when_done",
            ),
        ]

    def __str__(self) -> str:
        return f"task {self.pk}"
