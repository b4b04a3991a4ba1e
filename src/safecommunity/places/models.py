"""The map of responsibility: civil divisions, grids = beats, stations, offices, addresses.

Every place-bound row carries ``path``: the dot-joined codes from the city down to its grid
(``12.01.04.003.017.001``). Scope is a prefix filter on that one indexed column
(``accounts.scope``), so rows elsewhere copy the path of their grid when they are written.

Path segments: city ``PP.CC`` (GB/T 2260 province + prefecture), district ``.DD`` (GB/T 2260),
subdistrict ``.SSS`` (GB/T 10114), community ``.CCC`` (residents'/villagers' committee) and
grid ``.GGG``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DivisionKind(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    SUBDISTRICT = "subdistrict", _("Subdistrict")
    COMMUNITY = "community", _("Community")


# Which kind of division may sit under which: the civil tree is strict.
PARENT_KIND: dict[str, str | None] = {
    DivisionKind.CITY: None,
    DivisionKind.DISTRICT: DivisionKind.CITY,
    DivisionKind.SUBDISTRICT: DivisionKind.DISTRICT,
    DivisionKind.COMMUNITY: DivisionKind.SUBDISTRICT,
}
# Digits each kind adds to its parent's code (city codes are six-digit GB/T 2260 codes).
CODE_DIGITS: dict[str, int] = {
    DivisionKind.CITY: 6,
    DivisionKind.DISTRICT: 6,
    DivisionKind.SUBDISTRICT: 9,
    DivisionKind.COMMUNITY: 12,
}


class Division(models.Model):
    """A node of the civil tree: city → district → subdistrict → community."""

    kind = models.CharField(_("kind"), max_length=16, choices=DivisionKind.choices)
    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = models.CharField(_("path"), max_length=64, unique=True)
    # A GeoJSON Polygon/MultiPolygon geometry, stored as text so the map can send it as is.
    boundary = models.TextField(_("boundary"), blank=True, default="")

    class Meta:
        verbose_name = _("division")
        verbose_name_plural = _("divisions")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind=DivisionKind.CITY) & Q(parent__isnull=True))
                | (~Q(kind=DivisionKind.CITY) & Q(parent__isnull=False)),
                name="division_only_city_is_root",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=DivisionKind.values), name="division_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Grid(models.Model):
    """The smallest governance unit. Each grid is exactly one beat (``Beat.grid``)."""

    community = models.ForeignKey(
        Division, models.PROTECT, related_name="grids", verbose_name=_("community")
    )
    code = models.CharField(_("code"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=100)
    path = models.CharField(_("path"), max_length=64, unique=True)
    boundary = models.TextField(_("boundary"), blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name


class PoliceStation(models.Model):
    """A police station (派出所). It owns several beats; scope follows its beats."""

    district = models.ForeignKey(
        Division, models.PROTECT, related_name="police_stations", verbose_name=_("district")
    )
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("police station")
        verbose_name_plural = _("police stations")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class PoliceOffice(models.Model):
    """A community police office (警务室), usually inside a party-mass service centre."""

    station = models.ForeignKey(
        PoliceStation, models.PROTECT, related_name="offices", verbose_name=_("police station")
    )
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    service_centre = models.CharField(_("party-mass service centre"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=200)
    opening_hours = models.CharField(_("opening hours"), max_length=100)
    phone = models.CharField(_("public phone"), max_length=32)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)

    class Meta:
        verbose_name = _("police office")
        verbose_name_plural = _("police offices")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Beat(models.Model):
    """A community-policing district (警务区): exactly one grid, one station, one office."""

    grid = models.OneToOneField(Grid, models.PROTECT, related_name="beat", verbose_name=_("grid"))
    station = models.ForeignKey(
        PoliceStation, models.PROTECT, related_name="beats", verbose_name=_("police station")
    )
    office = models.ForeignKey(
        PoliceOffice,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="beats",
        verbose_name=_("police office"),
    )
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    path = models.CharField(_("path"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("beat")
        verbose_name_plural = _("beats")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name


class Compound(models.Model):
    """A residential compound (小区), the first link of the standard address."""

    grid = models.ForeignKey(Grid, models.PROTECT, related_name="compounds")
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200)
    path = models.CharField(_("path"), max_length=64, db_index=True)
    lat = models.FloatField(_("latitude"))
    lng = models.FloatField(_("longitude"))

    class Meta:
        verbose_name = _("compound")
        verbose_name_plural = _("compounds")
        constraints = [
            models.UniqueConstraint(fields=["grid", "name"], name="compound_unique_name_in_grid")
        ]

    def __str__(self) -> str:
        return self.name


class Building(models.Model):
    compound = models.ForeignKey(Compound, models.PROTECT, related_name="buildings")
    number = models.CharField(_("number"), max_length=20)
    path = models.CharField(_("path"), max_length=64, db_index=True)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        constraints = [
            models.UniqueConstraint(
                fields=["compound", "number"], name="building_unique_number_in_compound"
            )
        ]

    def __str__(self) -> str:
        return self.number


class Entrance(models.Model):
    building = models.ForeignKey(Building, models.PROTECT, related_name="entrances")
    number = models.CharField(_("number"), max_length=20)
    path = models.CharField(_("path"), max_length=64, db_index=True)

    class Meta:
        verbose_name = _("entrance")
        verbose_name_plural = _("entrances")
        constraints = [
            models.UniqueConstraint(
                fields=["building", "number"], name="entrance_unique_number_in_building"
            )
        ]

    def __str__(self) -> str:
        return self.number


class DwellingUse(models.TextChoices):
    OWNER_OCCUPIED = "owner_occupied", _("Owner-occupied")
    RENTED = "rented", _("Rented")
    VACANT = "vacant", _("Vacant")
    BUSINESS = "business", _("Business")


class Dwelling(models.Model):
    """A dwelling (房屋) with its standard address, a point and the grid it lies in.

    ``use`` follows the current residences (``people.services.dwelling_use_refresh``): rented
    when a tenant lives there, owner-occupied when anyone else does, vacant when nobody does.
    A use recorded by hand (a shop on the ground floor is a business whoever is registered
    there) sets ``use_recorded`` and is kept until it is cleared.
    """

    entrance = models.ForeignKey(Entrance, models.PROTECT, related_name="dwellings")
    grid = models.ForeignKey(Grid, models.PROTECT, related_name="dwellings")
    number = models.CharField(_("number"), max_length=20)
    floor = models.SmallIntegerField(_("floor"), null=True, blank=True)
    standard_address = models.CharField(_("standard address"), max_length=300)
    path = models.CharField(_("path"), max_length=64, db_index=True)
    lat = models.FloatField(_("latitude"))
    lng = models.FloatField(_("longitude"))
    use = models.CharField(
        _("use"), max_length=16, choices=DwellingUse.choices, default=DwellingUse.VACANT
    )
    use_recorded = models.BooleanField(_("use recorded by hand"), default=False)

    class Meta:
        verbose_name = _("dwelling")
        verbose_name_plural = _("dwellings")
        # Imports and the registry find dwellings by their standard address.
        indexes = [models.Index(fields=["standard_address"], name="dwelling_standard_address")]
        constraints = [
            models.UniqueConstraint(
                fields=["entrance", "number"], name="dwelling_unique_number_in_entrance"
            ),
            models.CheckConstraint(
                condition=models.Q(use__in=DwellingUse.values), name="dwelling_use_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.standard_address
