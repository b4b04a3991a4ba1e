"""Admin for screening: read-only lists. Lists, runs, reviews and tasks change only through
``screening.services`` (which audit each step); here administrators look. Numbers appear
masked only; the ciphertexts and blind indexes are not shown."""

from __future__ import annotations

from django.contrib import admin

from safecommunity.places.admin import ReadMostlyAdmin
from safecommunity.screening.models import (
    Match,
    RiskList,
    RiskRecord,
    ScreeningRun,
    VerificationTask,
)


@admin.register(RiskList)
class RiskListAdmin(ReadMostlyAdmin):
    list_display = ("name", "created_by", "created_at", "rows_read", "rows_kept", "rows_rejected")
    list_select_related = ("created_by",)
    search_fields = ("name", "file_name", "purpose")
    raw_id_fields = ("created_by",)
    date_hierarchy = "created_at"


@admin.register(RiskRecord)
class RiskRecordAdmin(ReadMostlyAdmin):
    list_display = ("risk_list", "line", "name", "id_masked", "phone_masked", "id_valid")
    list_select_related = ("risk_list",)
    raw_id_fields = ("risk_list",)
    exclude = ("id_cipher", "id_index", "phone_cipher", "phone_index")


@admin.register(ScreeningRun)
class ScreeningRunAdmin(ReadMostlyAdmin):
    list_display = (
        "pk",
        "kind",
        "status",
        "created_by",
        "created_at",
        "records",
        "matched_records",
        "certain",
        "probable",
        "possible",
    )
    list_filter = ("kind", "status")
    list_select_related = ("created_by",)
    raw_id_fields = ("risk_list", "created_by")
    date_hierarchy = "created_at"


@admin.register(Match)
class MatchAdmin(ReadMostlyAdmin):
    list_display = ("pk", "run", "record", "resident", "other", "band", "probability", "rank")
    list_filter = ("band",)
    list_select_related = ("run", "record", "resident", "other")
    raw_id_fields = ("run", "record", "resident", "other")


@admin.register(VerificationTask)
class VerificationTaskAdmin(ReadMostlyAdmin):
    list_display = ("pk", "resident", "path", "status", "created_at", "done_at")
    list_filter = ("status",)
    list_select_related = ("resident",)
    raw_id_fields = ("match", "resident", "done_by")
