"""Users with a role and a jurisdiction, and the append-only audit log."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITY_ANALYST = "city_analyst", _("City analyst")
    DISTRICT_LEADER = "district_leader", _("District leader")
    STATION_LEADER = "station_leader", _("Station leader")
    COMMUNITY_OFFICER = "community_officer", _("Community officer")
    COMMUNITY_WORKER = "community_worker", _("Community worker")
    GRID_WORKER = "grid_worker", _("Grid worker")
    ADMIN = "admin", _("Administrator")


class SafeCommunityUserManager(UserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        # `createsuperuser` must yield a working account: administrators need no jurisdiction.
        extra.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """A person who logs in. Scope follows from ``jurisdiction_*`` (see ``accounts.scope``).

    Exactly one jurisdiction is set — a civil division (city … community), a beat or a police
    station — except for administrators, who may have none (they see everything).
    """

    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    jurisdiction_division = models.ForeignKey(
        "places.Division",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("jurisdiction: division"),
    )
    jurisdiction_beat = models.ForeignKey(
        "places.Beat",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("jurisdiction: beat"),
    )
    jurisdiction_station = models.ForeignKey(
        "places.PoliceStation",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("jurisdiction: police station"),
    )
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[SafeCommunityUserManager] = SafeCommunityUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # A city analyst sees aggregates, not names, unless granted this (accounts.privacy).
        permissions = [
            ("view_names", _("May see the names of people in their jurisdiction")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
            # One jurisdiction at most, and exactly one for everyone but administrators.
            models.CheckConstraint(
                condition=(
                    Q(
                        jurisdiction_division__isnull=False,
                        jurisdiction_beat__isnull=True,
                        jurisdiction_station__isnull=True,
                    )
                    | Q(
                        jurisdiction_division__isnull=True,
                        jurisdiction_beat__isnull=False,
                        jurisdiction_station__isnull=True,
                    )
                    | Q(
                        jurisdiction_division__isnull=True,
                        jurisdiction_beat__isnull=True,
                        jurisdiction_station__isnull=False,
                    )
                    | Q(
                        role=Role.ADMIN,
                        jurisdiction_division__isnull=True,
                        jurisdiction_beat__isnull=True,
                        jurisdiction_station__isnull=True,
                    )
                ),
                name="user_has_one_jurisdiction",
                violation_error_message=_(
                    "Every user except an administrator needs exactly one jurisdiction: "
                    "a division, a beat or a police station."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit entries are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries are append-only.")


class AuditEntry(models.Model):
    """One thing someone did. Append-only: the app refuses updates and deletes, and so does
    the database (triggers in migration 0002)."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, models.DO_NOTHING, null=True, blank=True, db_constraint=False, related_name="+"
    )
    actor_username = models.CharField(_("who"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries are append-only.")
