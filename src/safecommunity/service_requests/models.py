"""Residents' requests (诉求): the kinds of help asked for (Open311 services with their
attribute definitions), the requests themselves, their history, and the keys of the Open311
clients allowed to file them.

A request carries the path of its beat, so staff see exactly the requests of their
jurisdiction (``accounts.scope``). Its contact details are personal data: the phone number is
stored only encrypted and masked (as ``people`` stores residents' numbers), and nothing
personal ever leaves through the public pages or Open311.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def english() -> bool:
    return (get_language() or "").startswith("en")


class ServiceType(models.TextChoices):
    # Open311: realtime requests get an id at once; batch ones a token first.
    REALTIME = "realtime", _("Realtime")
    BATCH = "batch", _("Batch")
    BLACKBOX = "blackbox", _("Black box")


class Service(models.Model):
    """A kind of request residents may file (an Open311 service)."""

    service_code = models.CharField(_("service code"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    description = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    group = models.CharField(_("group"), max_length=64, blank=True)
    type = models.CharField(
        _("type"), max_length=16, choices=ServiceType.choices, default=ServiceType.REALTIME
    )
    keywords = models.CharField(_("keywords"), max_length=200, blank=True)
    # Days the team has to finish a request of this kind: the expected_datetime.
    expected_days = models.PositiveSmallIntegerField(_("days to finish"), default=7)
    # Illegal structures: a rectification deadline and a re-inspection before done.
    needs_reinspection = models.BooleanField(_("needs re-inspection"), default=False)
    # Whether public reads (Open311, the status page) may show what was asked and where.
    # Off for kinds that reveal a vulnerable person at an address (an elderly person living
    # alone, keys kept for someone away): their public answer is only kind, status and dates.
    public_details = models.BooleanField(_("details shown publicly"), default=True)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["order", "service_code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=ServiceType.values), name="service_type_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language (Chinese unless English is chosen)."""
        return self.name_en if english() else self.name_zh

    @property
    def shown_description(self) -> str:
        return (self.description_en if english() else self.description) or self.description


class AttributeType(models.TextChoices):
    STRING = "string", _("Text (one line)")
    NUMBER = "number", _("Number")
    DATETIME = "datetime", _("Date and time")
    TEXT = "text", _("Text")
    SINGLE = "singlevaluelist", _("One of a list")
    MULTI = "multivaluelist", _("Several of a list")


class ServiceAttribute(models.Model):
    """One extra field of a service (Open311 service definition attribute)."""

    service = models.ForeignKey(Service, models.CASCADE, related_name="attributes")
    code = models.CharField(_("code"), max_length=32)
    datatype = models.CharField(_("type"), max_length=16, choices=AttributeType.choices)
    required = models.BooleanField(_("required"), default=False)
    # Open311 "variable": false marks an informational attribute clients do not fill.
    variable = models.BooleanField(_("variable"), default=True)
    description = models.CharField(_("description (Chinese)"), max_length=200)
    description_en = models.CharField(_("description (English)"), max_length=200, blank=True)
    datatype_description = models.CharField(_("format"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    # [{"key": "...", "name": "…", "name_en": "..."}] for the list types.
    values = models.JSONField(_("values"), default=list, blank=True)

    class Meta:
        verbose_name = _("service attribute")
        verbose_name_plural = _("service attributes")
        ordering = ["service", "order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "code"], name="service_attribute_unique_code"
            ),
            models.CheckConstraint(
                condition=Q(datatype__in=AttributeType.values),
                name="service_attribute_datatype_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.service_code}.{self.code}"

    @property
    def shown_description(self) -> str:
        return (self.description_en if english() else self.description) or self.description

    def shown_values(self) -> list[dict[str, str]]:
        """The list's choices as Open311 gives them: key and name in the active language."""
        lang_en = english()
        return [
            {"key": str(v["key"]), "name": str(v.get("name_en") if lang_en else v["name"])}
            for v in self.values
            if isinstance(v, dict) and "key" in v
        ]


class Status(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CLOSED = "closed", _("Closed")


# Open311 knows two states; a request that is done is closed for the resident (reopening it
# makes it open again).
OPEN_STATUSES = (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS)
CLOSED_STATUSES = (Status.DONE, Status.CLOSED)


class Source(models.TextChoices):
    OPEN311 = "open311", _("Open311 client")
    PUBLIC = "public", _("Public page")
    VISIT = "visit", _("Field work")
    STAFF = "staff", _("Staff")


class ServiceRequest(models.Model):
    """One resident's request, routed to a beat. ``service_request_id`` is the public tracking
    number (Open311's id); ``token`` answers Open311's ``tokens/{token}``."""

    service_request_id = models.CharField(_("tracking number"), max_length=16, unique=True)
    token = models.CharField(_("token"), max_length=32, unique=True)
    service = models.ForeignKey(
        Service, models.PROTECT, related_name="requests", verbose_name=_("service")
    )
    description = models.TextField(_("description"), blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    # As typed (Open311 address_string, the public form), or the building of the dwelling when
    # filed by address_id: never the flat copied from a dwelling. Public reads show it only
    # down to the building (services.public_address).
    address_string = models.CharField(_("address"), max_length=300, blank=True)
    dwelling = models.ForeignKey(
        "places.Dwelling",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dwelling"),
        db_constraint=False,
    )
    beat = models.ForeignKey(
        "places.Beat", models.PROTECT, related_name="+", verbose_name=_("beat")
    )
    path = models.CharField(_("path"), max_length=64, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    assigned_to = models.ForeignKey(
        "teams.Staff",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # Contact details: personal data, never shown publicly; the phone only as ciphertext.
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_phone_cipher = models.BinaryField(_("contact phone (encrypted)"), null=True)
    contact_phone_masked = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.CharField(_("contact email"), max_length=254, blank=True)
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    requested_datetime = models.DateTimeField(_("requested"))
    updated_datetime = models.DateTimeField(_("updated"))
    expected_datetime = models.DateTimeField(_("expected"), null=True, blank=True)
    # The station that answers for the request (Open311's agency_responsible), kept as text
    # so the public reads need no join.
    agency_responsible = models.CharField(_("agency responsible"), max_length=100, blank=True)
    # The latest public status note (Open311's status_notes), copied from the latest event.
    status_notes = models.TextField(_("status notes"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        ordering = ["-requested_datetime", "-id"]
        indexes = [
            # Open311 GET requests: newest first in a date window, optionally by service or
            # status; staff lists: the same, narrowed by path.
            models.Index(fields=["requested_datetime", "id"], name="request_requested"),
            models.Index(
                fields=["service", "requested_datetime"], name="request_service_requested"
            ),
            models.Index(fields=["status", "requested_datetime"], name="request_status_requested"),
            models.Index(fields=["assigned_to", "status"], name="request_assignee_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="request_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=Source.values), name="request_source_valid"
            ),
            # A point is whole or absent: never a latitude without its longitude.
            models.CheckConstraint(
                condition=Q(lat__isnull=True, lng__isnull=True)
                | Q(lat__isnull=False, lng__isnull=False),
                name="request_point_whole",
            ),
        ]

    def __str__(self) -> str:
        return self.service_request_id

    @property
    def open311_status(self) -> str:
        return "closed" if self.status in CLOSED_STATUSES else "open"


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ASSIGNED = "assigned", _("Assigned")
    TRANSITION = "transition", _("Status changed")
    REINSPECTION = "reinspection", _("Re-inspection")
    NOTE = "note", _("Note")


class ReinspectionResult(models.TextChoices):
    RECTIFIED = "rectified", _("Rectified")
    NOT_RECTIFIED = "not_rectified", _("Not rectified")


class RequestEvent(models.Model):
    """One step in a request's history: submission, assignment, status change, re-inspection.
    ``note`` is shown to the resident (it becomes Open311's status_notes)."""

    request = models.ForeignKey(ServiceRequest, models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"))
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16, blank=True)
    note = models.TextField(_("note"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(_("by"), max_length=150, blank=True)
    assignee = models.ForeignKey(
        "teams.Staff", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reinspected_on = models.DateField(_("re-inspected on"), null=True, blank=True)
    reinspection_result = models.CharField(
        _("re-inspection result"), max_length=16, choices=ReinspectionResult.choices, blank=True
    )

    class Meta:
        verbose_name = _("request event")
        verbose_name_plural = _("request events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["request", "at"], name="request_event_request_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EventKind.values), name="request_event_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    @property
    def from_label(self) -> str:
        return str(Status(self.from_status).label) if self.from_status in Status.values else ""

    @property
    def to_label(self) -> str:
        return str(Status(self.to_status).label) if self.to_status in Status.values else ""


class ApiKey(models.Model):
    """A key an Open311 client posts requests with. Only its SHA-256 is stored."""

    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    prefix = models.CharField(_("key starts with"), max_length=8)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
