"""The custody register: keys and items a community police office holds for residents.

"有困难，找马燕": officers keep the keys of elderly people living alone, parcels for a
neighbour in hospital, documents left for collection. Every item is held by one office for
one beat and carries that beat's ``path``, so scope is the same prefix filter as everywhere
else: the officer of one beat does not see the keys kept for the beat next door, even in the
office they share.

An item moves through ``custody.states.TRANSITIONS`` (held → returned | disposed, with
hand-overs and checks while held); each step is a ``CustodyMovement``, the item's audit
trail, written by ``custody.services`` together with an ``accounts`` audit entry.

The owner is a registry resident (``owner``) or someone not in the registry, named in
``owner_name`` with an optional phone stored like the registry's: ciphertext, blind index and
masked form only (``people.services.protect_phone``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class ItemKind(models.TextChoices):
    KEY = "key", _("Key")
    DOCUMENT = "document", _("Document")
    PARCEL = "parcel", _("Parcel")
    OTHER = "other", _("Other")


class ItemState(models.TextChoices):
    HELD = "held", _("Held")
    RETURNED = "returned", _("Returned")
    DISPOSED = "disposed", _("Disposed of")


class MovementAction(models.TextChoices):
    RECEIVED = "received", _("Received")
    RETURNED = "returned", _("Returned")
    HANDED_OVER = "handed_over", _("Handed over")
    DISPOSED = "disposed", _("Disposed of")
    CHECKED = "checked", _("Checked")


class CustodyItem(models.Model):
    office = models.ForeignKey(
        "places.PoliceOffice",
        models.PROTECT,
        related_name="custody_items",
        verbose_name=_("police office"),
    )
    beat = models.ForeignKey(
        "places.Beat", models.PROTECT, related_name="custody_items", verbose_name=_("beat")
    )
    path = models.CharField(_("path"), max_length=64, db_index=True)
    owner = models.ForeignKey(
        "people.Resident",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="custody_items",
        verbose_name=_("owner (registry)"),
    )
    # The owner's name as given at intake (a registry resident's name is copied), so the
    # register still says whose it was if the resident record goes.
    owner_name = models.CharField(_("owner"), max_length=50)
    owner_phone_cipher = models.BinaryField(null=True, editable=False)
    owner_phone_index = models.CharField(  # noqa: DJ001  # NULL = no number, as in people
        max_length=32, null=True, blank=True, editable=False
    )
    owner_phone_masked = models.CharField(_("owner's phone"), max_length=16, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ItemKind.choices)
    description = models.CharField(_("description"), max_length=200)
    tag = models.CharField(_("tag number"), max_length=20)
    state = models.CharField(
        _("state"), max_length=16, choices=ItemState.choices, default=ItemState.HELD
    )
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(
        "teams.Staff",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("received by"),
    )
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    returned_to = models.CharField(_("returned to"), max_length=50, blank=True)
    return_check = models.CharField(_("identity check"), max_length=200, blank=True)
    returned_by = models.ForeignKey(
        "teams.Staff",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("returned by"),
    )
    disposed_at = models.DateTimeField(_("disposed of at"), null=True, blank=True)

    class Meta:
        verbose_name = _("custody item")
        verbose_name_plural = _("custody items")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=ItemState.values), name="custody_item_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ItemKind.values), name="custody_item_kind_valid"
            ),
            # A tag hangs on one held item of an office at a time; returned items free it.
            models.UniqueConstraint(
                fields=["office", "tag"],
                condition=Q(state=ItemState.HELD),
                name="custody_item_tag_unique_while_held",
                violation_error_message=_("This tag number is already on an item held here."),
            ),
            # The state and its timestamps agree: held has neither, returned has its return
            # time, disposed its disposal time.
            models.CheckConstraint(
                condition=(
                    Q(state=ItemState.HELD, returned_at__isnull=True, disposed_at__isnull=True)
                    | Q(
                        state=ItemState.RETURNED,
                        returned_at__isnull=False,
                        disposed_at__isnull=True,
                    )
                    | Q(
                        state=ItemState.DISPOSED,
                        returned_at__isnull=True,
                        disposed_at__isnull=False,
                    )
                ),
                name="custody_item_state_matches_times",
            ),
            # An item says whose it is and which tag it hangs on. The owner's name is required
            # even with a registry resident: it is what remains if the resident record goes.
            models.CheckConstraint(
                condition=~Q(owner_name="") & ~Q(tag=""), name="custody_item_owner_and_tag"
            ),
            # A returned item says who collected it and how they were checked.
            models.CheckConstraint(
                condition=~Q(state=ItemState.RETURNED) | (~Q(returned_to="") & ~Q(return_check="")),
                name="custody_item_returned_to_whom",
            ),
            models.CheckConstraint(
                condition=Q(returned_at__isnull=True) | Q(returned_at__gte=F("received_at")),
                name="custody_item_returned_after_received",
            ),
            models.CheckConstraint(
                condition=Q(disposed_at__isnull=True) | Q(disposed_at__gte=F("received_at")),
                name="custody_item_disposed_after_received",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "path"], name="custody_item_state_path"),
            models.Index(fields=["office", "state"], name="custody_item_office_state"),
        ]

    def __str__(self) -> str:
        return f"{self.tag} {self.get_kind_display()}"


class CustodyMovement(models.Model):
    """One step in an item's life: who did what, when. Written only by the services."""

    item = models.ForeignKey(CustodyItem, models.CASCADE, related_name="movements")
    action = models.CharField(_("action"), max_length=16, choices=MovementAction.choices)
    at = models.DateTimeField(_("time"))
    # Who did it: the staff member at the office, and the login that recorded it (either may
    # be missing: a demo entry has no login, an administrator is no staff member).
    staff = models.ForeignKey(
        "teams.Staff", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    # A hand-over moves the item to another beat's office: where it came from.
    from_office = models.ForeignKey(
        "places.PoliceOffice", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    path = models.CharField(_("path"), max_length=64, db_index=True)

    class Meta:
        verbose_name = _("custody movement")
        verbose_name_plural = _("custody movements")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=MovementAction.values),
                name="custody_movement_action_valid",
            ),
        ]
        indexes = [models.Index(fields=["item", "at"], name="custody_movement_item_at")]

    def __str__(self) -> str:
        return f"{self.item} {self.get_action_display()} {self.at:%Y-%m-%d %H:%M}"
