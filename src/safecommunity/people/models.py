"""Who lives where (实有人口): residents, their residences over time, care tags, and the
verification stamp on dwellings.

Personal data is protected by construction: ID and phone numbers exist here only as
ciphertext (``*_cipher``), a blind index (``*_index``, for exact lookup) and the masked form
(``*_masked``, for display) — see ``people.identity``. A resident's ``path`` is the path of
the grid of their current dwelling (empty when they have none), so scope is the same prefix
filter as everywhere else.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Resident(models.Model):
    name = models.CharField(_("name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices)
    birth_date = models.DateField(_("date of birth"))
    id_cipher = models.BinaryField(null=True, editable=False)
    # NULL, not "", means "no number": the uniqueness constraint below skips NULLs.
    id_index = models.CharField(max_length=32, null=True, editable=False)  # noqa: DJ001
    id_masked = models.CharField(_("ID number"), max_length=18, blank=True, editable=False)
    phone_cipher = models.BinaryField(null=True, editable=False)
    # Indexed in Meta (``resident_phone_index``): a plain index, since a blind index is
    # only ever compared whole (``db_index`` would add a LIKE index on PostgreSQL too).
    phone_index = models.CharField(  # noqa: DJ001  # NULL = no number, like id_index
        max_length=32, null=True, editable=False
    )
    phone_masked = models.CharField(_("phone"), max_length=16, blank=True, editable=False)
    ethnicity = models.CharField(_("ethnicity"), max_length=20, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    path = models.CharField(_("path"), max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        constraints = [
            # One record per person: the same ID number twice is the same person.
            models.UniqueConstraint(
                fields=["id_index"],
                condition=Q(id_index__isnull=False),
                name="resident_one_record_per_id_number",
            ),
            models.CheckConstraint(
                condition=Q(gender__in=Gender.values), name="resident_gender_valid"
            ),
            models.CheckConstraint(
                condition=Q(id_index__isnull=True, id_cipher__isnull=True)
                | Q(id_index__isnull=False, id_cipher__isnull=False),
                name="resident_id_cipher_with_index",
            ),
        ]
        indexes = [
            models.Index(fields=["name", "birth_date"], name="resident_name_birth"),
            models.Index(fields=["phone_index"], name="resident_phone_index"),
        ]
        permissions = [
            ("unmask_resident", "May see unmasked ID and phone numbers, stating a reason"),
        ]

    def __str__(self) -> str:
        return self.name


class NameKey(models.Model):
    """A searchable form of a resident's name: the characters, the full pinyin and the
    initials, one row per reading (a surname such as 曾 or 单 has two). Search is a prefix
    range over ``key``, which one index answers on SQLite and PostgreSQL alike."""

    # No index of its own: ``namekey_unique`` (resident, key) serves lookups by resident.
    resident = models.ForeignKey(Resident, models.CASCADE, related_name="name_keys", db_index=False)
    key = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["key", "resident"], name="namekey_key")]
        constraints = [models.UniqueConstraint(fields=["resident", "key"], name="namekey_unique")]

    def __str__(self) -> str:
        return self.key


class Relation(models.TextChoices):
    OWNER = "owner", _("Owner")
    OWNER_FAMILY = "owner_family", _("Family of the owner")
    TENANT = "tenant", _("Tenant")
    OTHER = "other", _("Other")


class Residence(models.Model):
    """A resident living in a dwelling from ``since`` until ``until`` (open = now).

    Moving in and out never overwrites a residence: it closes one and opens another
    (``people.services``), so the history stays.
    """

    resident = models.ForeignKey(Resident, models.CASCADE, related_name="residences")
    # No index of its own: ``residence_dwelling_current`` (dwelling, until) serves it.
    dwelling = models.ForeignKey(
        "places.Dwelling", models.PROTECT, related_name="residences", db_index=False
    )
    since = models.DateField(_("since"))
    until = models.DateField(_("until"), null=True, blank=True)
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    registered = models.BooleanField(
        _("registered (户籍)"),
        help_text=_("Registered residents have their hukou here; the others are floating."),
    )
    path = models.CharField(_("path"), max_length=64, db_index=True)

    class Meta:
        verbose_name = _("residence")
        verbose_name_plural = _("residences")
        constraints = [
            models.UniqueConstraint(
                fields=["resident"],
                condition=Q(until__isnull=True),
                name="residence_one_current_per_resident",
                violation_error_message=_("This resident already has a current residence."),
            ),
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gte=F("since")),
                name="residence_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(relation__in=Relation.values), name="residence_relation_valid"
            ),
        ]
        indexes = [models.Index(fields=["dwelling", "until"], name="residence_dwelling_current")]

    def __str__(self) -> str:
        return f"{self.resident} @ {self.dwelling}"


class CareTagKind(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("Elderly living alone")
    DISABILITY = "disability", _("Disability")
    MINOR_UNSUPERVISED = "minor_unsupervised", _("Minor without a guardian at home")
    OTHER = "other", _("Other")


class CareTag(models.Model):
    """Someone the beat team checks on. For care, never a stigma: shown to the beat team."""

    resident = models.ForeignKey(Resident, models.CASCADE, related_name="care_tags")
    kind = models.CharField(_("kind"), max_length=24, choices=CareTagKind.choices)
    notes = models.TextField(_("notes"), blank=True)
    since = models.DateField(_("since"))

    class Meta:
        verbose_name = _("care tag")
        verbose_name_plural = _("care tags")
        constraints = [
            models.UniqueConstraint(fields=["resident", "kind"], name="caretag_once_per_kind"),
            models.CheckConstraint(
                condition=Q(kind__in=CareTagKind.values), name="caretag_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident}: {self.get_kind_display()}"


class VerificationMethod(models.TextChoices):
    VISIT = "visit", _("Household visit")
    PHONE = "phone", _("Phone call")
    DOCUMENTS = "documents", _("Documents")
    IMPORT = "import", _("Imported list")


class DwellingVerification(models.Model):
    """Who confirmed the residents of a dwelling, when and how. Visits (fieldwork) add these;
    the latest one is the dwelling's verified stamp."""

    dwelling = models.ForeignKey("places.Dwelling", models.CASCADE, related_name="verifications")
    verified_at = models.DateTimeField(_("verified at"))
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    method = models.CharField(_("method"), max_length=16, choices=VerificationMethod.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    path = models.CharField(_("path"), max_length=64, db_index=True)

    class Meta:
        verbose_name = _("dwelling verification")
        verbose_name_plural = _("dwelling verifications")
        indexes = [models.Index(fields=["dwelling", "-verified_at"], name="verification_latest")]

    def __str__(self) -> str:
        return f"{self.dwelling} {self.verified_at:%Y-%m-%d}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One uploaded resident file and its import, run in the background by
    ``safecommunity worker`` (``people.tasks``).

    A worker claims a queued job with a conditional update (``status`` queued → running), so
    two workers never run the same job. Progress is the share of the file read; the
    counts and the error file (masked, CSV) are kept when the job ends. The uploaded file holds
    personal data in the clear and is deleted once the job has finished.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    file_name = models.CharField(_("file"), max_length=255)
    stored_file = models.CharField(max_length=500, editable=False)
    create_missing_addresses = models.BooleanField(_("create missing addresses"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Progress in the file's own units: bytes read for CSV, rows read for XLSX.
    progress_total = models.BigIntegerField(default=0)
    progress_done = models.BigIntegerField(default=0)
    rows_done = models.IntegerField(_("rows read"), default=0)
    created = models.IntegerField(_("created"), default=0)
    updated = models.IntegerField(_("updated"), default=0)
    unchanged = models.IntegerField(_("unchanged"), default=0)
    rejected = models.IntegerField(_("rejected"), default=0)
    error_file = models.CharField(max_length=500, blank=True, editable=False)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("resident import")
        verbose_name_plural = _("resident imports")
        indexes = [models.Index(fields=["status", "created_at"], name="importjob_queue")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="importjob_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(self.progress_done * 100 / self.progress_total))

    @property
    def is_finished(self) -> bool:
        return self.status in {ImportStatus.DONE, ImportStatus.FAILED}


class BaselineRollup(models.Model):
    """The registry's baseline counts for one grid, kept current by the services
    (``people.baseline.baseline_refresh``) so the city-wide table reads a few thousand rows
    instead of aggregating millions of residences and stamps on every request.

    Each row is recomputed from its grid's dwellings, residences, care tags and stamps,
    never incremented, so a refresh can repair it at any time (``baseline_rebuild``). The
    verified-within figures count whole days back from ``verified_on``; a row read on a
    later day is recounted first (``baseline_roll_day`` does it for all rows at night).
    """

    path = models.CharField(_("path"), max_length=64, unique=True)
    dwellings = models.PositiveIntegerField(default=0)
    residents = models.PositiveIntegerField(default=0)
    registered = models.PositiveIntegerField(default=0)
    occupied = models.PositiveIntegerField(default=0)
    rented = models.PositiveIntegerField(default=0)
    care_tagged = models.PositiveIntegerField(default=0)
    verified_30d = models.PositiveIntegerField(default=0)
    verified_90d = models.PositiveIntegerField(default=0)
    verified_365d = models.PositiveIntegerField(default=0)
    verified_on = models.DateField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("baseline rollup")
        verbose_name_plural = _("baseline rollups")

    def __str__(self) -> str:
        return self.path
