"""Admin for the custody register: read-only lists, scoped like every admin list.

Items move only through ``custody.services`` (the state table, the trail, the audit entry),
so here they are listed and read. The owner's phone appears masked only.
"""

from __future__ import annotations

from django.contrib import admin

from safecommunity.custody.models import CustodyItem, CustodyMovement
from safecommunity.places.admin import ReadMostlyAdmin


@admin.register(CustodyItem)
class CustodyItemAdmin(ReadMostlyAdmin):
    list_display = ("tag", "kind", "state", "office", "beat", "received_at", "returned_at")
    list_filter = ("state", "kind")
    list_select_related = ("office", "beat")
    search_fields = ("tag", "description")
    raw_id_fields = ("office", "beat", "owner", "received_by", "returned_by")
    exclude = ("owner_phone_cipher", "owner_phone_index")
    date_hierarchy = "received_at"


@admin.register(CustodyMovement)
class CustodyMovementAdmin(ReadMostlyAdmin):
    list_display = ("item", "action", "at", "staff", "actor", "path")
    list_filter = ("action",)
    list_select_related = ("item", "staff", "actor")
    raw_id_fields = ("item", "staff", "actor", "from_office")
    date_hierarchy = "at"
