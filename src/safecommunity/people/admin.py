"""Admin for the registry: read-mostly lists for administrators whose scope is everything.

Residents are written through ``people.services`` (validation with python-stdnum, encryption,
the blind index, name keys, audit rows), so here they are listed, searched by name and read;
only the free-text notes can be corrected. ID and phone numbers appear masked only — the
ciphertext and blind index are never shown, and unmasking is the registry page's audited form.
Residences, care tags and verification stamps are history written by the services: read only.
"""

from __future__ import annotations

from django.contrib import admin

from safecommunity.people.models import CareTag, DwellingVerification, Residence, Resident
from safecommunity.places.admin import ReadMostlyAdmin

PROTECTED_FIELDS = ("id_cipher", "id_index", "phone_cipher", "phone_index")


class ResidenceInline(admin.TabularInline):  # type: ignore[type-arg]  # generic in stubs only
    model = Residence
    extra = 0
    can_delete = False
    fields = ("dwelling", "since", "until", "relation", "registered")
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]  # noqa: ANN001
        return False


@admin.register(Resident)
class ResidentAdmin(ReadMostlyAdmin):
    list_display = ("name", "gender", "birth_date", "id_masked", "phone_masked", "path")
    list_filter = ("gender",)
    # Name search through the precomputed keys: characters, full pinyin or initials (prefix).
    search_fields = ("^name", "^name_keys__key")
    search_help_text = "name in characters, full pinyin or initials"
    ordering = ("name", "pk")
    exclude = PROTECTED_FIELDS
    editable_fields = ("notes",)
    show_full_result_count = False  # a city's registry: no second COUNT(*) per page
    inlines = (ResidenceInline,)


@admin.register(Residence)
class ResidenceAdmin(ReadMostlyAdmin):
    list_display = ("resident", "dwelling", "since", "until", "relation", "registered", "path")
    list_filter = ("relation", "registered")
    list_select_related = ("resident", "dwelling")
    search_fields = ("^resident__name", "dwelling__standard_address")
    raw_id_fields = ("resident", "dwelling")
    show_full_result_count = False


@admin.register(CareTag)
class CareTagAdmin(ReadMostlyAdmin):
    scope_via = "resident__path"
    list_display = ("resident", "kind", "since")
    list_filter = ("kind",)
    list_select_related = ("resident",)
    search_fields = ("^resident__name",)
    raw_id_fields = ("resident",)


@admin.register(DwellingVerification)
class DwellingVerificationAdmin(ReadMostlyAdmin):
    list_display = ("dwelling", "verified_at", "verified_by", "method", "path")
    list_filter = ("method",)
    list_select_related = ("dwelling", "verified_by")
    search_fields = ("dwelling__standard_address",)
    raw_id_fields = ("dwelling", "verified_by")
    date_hierarchy = "verified_at"
