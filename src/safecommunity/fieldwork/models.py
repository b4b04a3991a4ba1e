"""Field work: the four kinds of work of a beat team, each a log with who, when and where, and
visit campaigns ("10,000 officers into 1,000,000 homes") with their coverage.

Every row carries ``path``, the path of the grid it happened in (copied from the dwelling or
the beat when it is written), so scope is the same prefix filter as everywhere else.

What a visit or patrol opened (a request, a dispute, a hazard) is linked by kind and id
(``opened_kind``, ``opened_id``) rather than a foreign key: those records live in other apps
(``service_requests``, ``disputes``) which field work calls only through their services.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class VisitOutcome(models.TextChoices):
    MET = "met", _("Met the household")
    NOBODY_HOME = "nobody_home", _("Nobody home")
    REFUSED = "refused", _("Refused")


class OpenedKind(models.TextChoices):
    """What findings opened in one step."""

    REQUEST = "request", _("Request")
    DISPUTE = "dispute", _("Dispute")
    HAZARD = "hazard", _("Hazard")


class PublicityTopic(models.TextChoices):
    ANTI_FRAUD = "anti_fraud", _("Anti-fraud")
    FIRE_SAFETY = "fire_safety", _("Fire safety")
    DRUG_PREVENTION = "drug_prevention", _("Drug prevention")
    TRAFFIC_SAFETY = "traffic_safety", _("Traffic safety")
    OTHER = "other", _("Other")


def _opened_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(opened_kind="") | Q(opened_kind__in=OpenedKind.values),
            name=f"{prefix}_opened_kind_valid",
        ),
        models.CheckConstraint(
            condition=Q(opened_kind="", opened_id="") | (~Q(opened_kind="") & ~Q(opened_id="")),
            name=f"{prefix}_opened_kind_with_id",
        ),
    ]


class Campaign(models.Model):
    """A visit campaign: every dwelling under ``path`` (a division's or a beat's path) should
    be visited between ``starts_on`` and ``ends_on`` (both included, local dates)."""

    name = models.CharField(_("name"), max_length=100)
    path = models.CharField(_("scope"), max_length=64, db_index=True)
    scope_name = models.CharField(_("scope name"), max_length=100)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("visit campaign")
        verbose_name_plural = _("visit campaigns")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="campaign_ends_after_start"
            ),
            models.CheckConstraint(condition=~Q(path=""), name="campaign_has_scope"),
        ]

    def __str__(self) -> str:
        return self.name


class Visit(models.Model):
    """A household visit (入户走访). ``client_uuid`` is made by the device that logged it: the
    offline queue may send the same visit twice, and the second time finds the first."""

    dwelling = models.ForeignKey(
        "places.Dwelling", models.PROTECT, related_name="visits", db_index=False
    )
    staff = models.ForeignKey(
        "teams.Staff", models.SET_NULL, null=True, blank=True, related_name="visits"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    visited_at = models.DateTimeField(_("visited at"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=VisitOutcome.choices)
    residents_confirmed = models.BooleanField(_("residents confirmed"), default=False)
    findings = models.TextField(_("findings"), blank=True)
    # What the visit changed in the registry: [{"change": "move_out", "resident": id}, …].
    registry_changes = models.JSONField(default=list, blank=True)
    client_uuid = models.UUIDField(_("client id"), unique=True)
    campaign = models.ForeignKey(
        Campaign, models.SET_NULL, null=True, blank=True, related_name="visits"
    )
    opened_kind = models.CharField(
        _("opened"), max_length=16, choices=OpenedKind.choices, blank=True
    )
    opened_id = models.CharField(max_length=64, blank=True)
    # Indexed alone too: on PostgreSQL that adds the pattern index scope's LIKE needs.
    path = models.CharField(_("path"), max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("household visit")
        verbose_name_plural = _("household visits")
        ordering = ["-visited_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=VisitOutcome.values), name="visit_outcome_valid"
            ),
            # Nobody can confirm who lives in a dwelling whose door stayed shut.
            models.CheckConstraint(
                condition=Q(residents_confirmed=False) | Q(outcome=VisitOutcome.MET),
                name="visit_confirmed_only_when_met",
            ),
            *_opened_constraints("visit"),
        ]
        indexes = [
            models.Index(fields=["path", "-visited_at"], name="visit_path_time"),
            models.Index(fields=["dwelling", "-visited_at"], name="visit_dwelling_time"),
            models.Index(fields=["-visited_at"], name="visit_time"),
        ]

    def __str__(self) -> str:
        return f"{self.dwelling} {self.visited_at:%Y-%m-%d}"


class CampaignDwelling(models.Model):
    """A dwelling of a campaign's target visited within its period: at most one row per
    campaign and dwelling, written with the visit (``fieldwork.services``), so a dwelling
    visited twice counts once — no DISTINCT over millions of visits. ``campaign_recount``
    rebuilds them from the visits at any time."""

    campaign = models.ForeignKey(Campaign, models.CASCADE, related_name="covered")
    dwelling = models.ForeignKey(
        "places.Dwelling", models.CASCADE, related_name="+", db_index=False
    )
    first_visited_at = models.DateTimeField(_("first visited at"))
    path = models.CharField(_("path"), max_length=64)

    class Meta:
        verbose_name = _("visited dwelling of a campaign")
        verbose_name_plural = _("visited dwellings of campaigns")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "dwelling"], name="campaign_dwelling_once"),
        ]
        indexes = [models.Index(fields=["campaign", "path"], name="campaign_dwelling_path")]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.dwelling_id}"


class CampaignBeat(models.Model):
    """How many dwellings of one beat (grid ``path``) a campaign has covered: one row per
    campaign and beat, counted up in the transaction that adds a ``CampaignDwelling`` there.
    Coverage reads a few thousand of these instead of counting a city's visited dwellings
    on every request; ``campaign_recount`` rebuilds them from the ``CampaignDwelling`` rows."""

    campaign = models.ForeignKey(Campaign, models.CASCADE, related_name="beat_counts")
    path = models.CharField(_("path"), max_length=64)
    visited = models.PositiveIntegerField(_("visited"), default=0)

    class Meta:
        verbose_name = _("campaign coverage of a beat")
        verbose_name_plural = _("campaign coverage of beats")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "path"], name="campaign_beat_once"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.path} {self.visited}"


class Patrol(models.Model):
    """A patrol (区域巡防) along a route, a GeoJSON LineString stored as text."""

    beat = models.ForeignKey("places.Beat", models.PROTECT, related_name="patrols")
    staff = models.ForeignKey(
        "teams.Staff", models.SET_NULL, null=True, blank=True, related_name="patrols"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"))
    route = models.TextField(_("route"))
    length_m = models.PositiveIntegerField(_("length (m)"), default=0)
    findings = models.TextField(_("findings"), blank=True)
    opened_kind = models.CharField(
        _("opened"), max_length=16, choices=OpenedKind.choices, blank=True
    )
    opened_id = models.CharField(max_length=64, blank=True)
    # Indexed alone too: on PostgreSQL that adds the pattern index scope's LIKE needs.
    path = models.CharField(_("path"), max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("patrol")
        verbose_name_plural = _("patrols")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gte=F("started_at")), name="patrol_ends_after_start"
            ),
            *_opened_constraints("patrol"),
        ]
        indexes = [models.Index(fields=["path", "-started_at"], name="patrol_path_time")]

    def __str__(self) -> str:
        return f"{self.beat} {self.started_at:%Y-%m-%d %H:%M}"


class StationingShift(models.Model):
    """Stationing (社区驻守) at a community police office, for one of its beats."""

    office = models.ForeignKey(
        "places.PoliceOffice", models.PROTECT, related_name="stationing_shifts"
    )
    beat = models.ForeignKey("places.Beat", models.PROTECT, related_name="stationing_shifts")
    staff = models.ForeignKey(
        "teams.Staff", models.SET_NULL, null=True, blank=True, related_name="stationing_shifts"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"))
    notes = models.TextField(_("notes"), blank=True)
    # Indexed alone too: on PostgreSQL that adds the pattern index scope's LIKE needs.
    path = models.CharField(_("path"), max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("stationing shift")
        verbose_name_plural = _("stationing shifts")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gt=F("started_at")), name="stationing_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["path", "-started_at"], name="stationing_path_time")]

    def __str__(self) -> str:
        return f"{self.office} {self.started_at:%Y-%m-%d %H:%M}"


class PublicityEvent(models.Model):
    """A prevention-publicity event (防范宣传): a topic, a place, how many people it reached."""

    beat = models.ForeignKey("places.Beat", models.PROTECT, related_name="publicity_events")
    staff = models.ForeignKey(
        "teams.Staff", models.SET_NULL, null=True, blank=True, related_name="publicity_events"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    topic = models.CharField(_("topic"), max_length=24, choices=PublicityTopic.choices)
    place = models.CharField(_("place"), max_length=200)
    held_at = models.DateTimeField(_("held at"))
    people_reached = models.PositiveIntegerField(_("people reached"))
    notes = models.TextField(_("notes"), blank=True)
    # Indexed alone too: on PostgreSQL that adds the pattern index scope's LIKE needs.
    path = models.CharField(_("path"), max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("publicity event")
        verbose_name_plural = _("publicity events")
        ordering = ["-held_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(topic__in=PublicityTopic.values), name="publicity_topic_valid"
            ),
            models.CheckConstraint(
                condition=Q(people_reached__gte=0), name="publicity_people_reached_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["path", "-held_at"], name="publicity_path_time")]

    def __str__(self) -> str:
        return f"{self.get_topic_display()} {self.held_at:%Y-%m-%d}"
