"""Admin for places: read-mostly lists with search.

Divisions, grids, beats and addresses are written through ``places.services`` (and the
GeoJSON import), which compute paths, check codes and keep the beat index current; here they
are listed and searched, and only their names can be corrected. Stations and offices carry
contact details that the admin edits; which district a station and which station an office
belongs to is fixed once created (a beat's office must belong to the beat's station, so moving
an office is a service's job, which checks its beats). Nothing is deleted here: places are
referenced from everywhere and protected in the database.

Like every admin of the project, these are for administrators whose scope is everything, and
every save is audited (``accounts.admin.ScopedModelAdmin``).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from safecommunity.accounts.admin import ScopedModelAdmin
from safecommunity.places.models import (
    Beat,
    Compound,
    Division,
    Dwelling,
    Grid,
    PoliceOffice,
    PoliceStation,
)


class ReadMostlyAdmin(ScopedModelAdmin):
    """No add, no delete; every field read-only except ``editable_fields``."""

    editable_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        hidden = set(self.exclude or ())
        return [
            f.name
            for f in self.model._meta.fields
            if f.name not in self.editable_fields and f.name not in hidden
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Division)
class DivisionAdmin(ReadMostlyAdmin):
    list_display = ("code", "name", "kind", "path")
    list_filter = ("kind",)
    search_fields = ("code", "name", "path")
    ordering = ("path",)
    editable_fields = ("name",)
    exclude = ("boundary",)


@admin.register(Grid)
class GridAdmin(ReadMostlyAdmin):
    list_display = ("code", "name", "community", "path", "updated_at")
    list_select_related = ("community",)
    search_fields = ("code", "name", "path")
    ordering = ("path",)
    editable_fields = ("name",)
    exclude = ("boundary",)


@admin.register(Beat)
class BeatAdmin(ReadMostlyAdmin):
    list_display = ("code", "name", "station", "office", "path")
    list_select_related = ("station", "office")
    search_fields = ("code", "name", "path", "station__name", "office__name")
    ordering = ("path",)
    editable_fields = ("name",)


@admin.register(PoliceStation)
class PoliceStationAdmin(ScopedModelAdmin):
    scope_via = "beats__path"
    scope_distinct = True
    list_display = ("code", "name", "district", "phone")
    list_select_related = ("district",)
    search_fields = ("code", "name", "address")
    autocomplete_fields = ("district",)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Model | None = None
    ) -> tuple[str, ...]:
        # Its beats' grids lie in its district: moving a station would split them.
        return ("district",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(PoliceOffice)
class PoliceOfficeAdmin(ScopedModelAdmin):
    scope_via = "beats__path"
    scope_distinct = True
    list_display = ("code", "name", "station", "service_centre", "opening_hours", "phone")
    list_select_related = ("station",)
    search_fields = ("code", "name", "service_centre", "address")
    autocomplete_fields = ("station",)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Model | None = None
    ) -> tuple[str, ...]:
        # A beat's office belongs to the beat's station: changing the station here would
        # break that for every beat the office serves.
        return ("station",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Compound)
class CompoundAdmin(ReadMostlyAdmin):
    list_display = ("name", "address", "grid", "path")
    list_select_related = ("grid",)
    search_fields = ("name", "address", "path")
    ordering = ("path", "name")
    editable_fields = ("name", "address")


@admin.register(Dwelling)
class DwellingAdmin(ReadMostlyAdmin):
    list_display = ("standard_address", "number", "floor", "grid", "path")
    list_select_related = ("grid",)
    search_fields = ("standard_address", "path")
    ordering = ("path", "standard_address")
    show_full_result_count = False  # millions of rows at city scale
