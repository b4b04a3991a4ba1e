"""Admin for teams: staff, their beats, committee posts and the duty roster.

Read-mostly: team changes go through ``teams.services`` (which check the 1+2+N rules and
write the audit entry). The admin lists and searches them, and corrects a staff member's
name and phone. Like every admin of the project it is for administrators whose scope is
everything, and each save writes an audit entry (``accounts.admin.ScopedModelAdmin``).
"""

from __future__ import annotations

from django.contrib import admin

from safecommunity.places.admin import ReadMostlyAdmin
from safecommunity.teams.models import Assignment, CommitteePost, DutyShift, Staff


@admin.register(Staff)
class StaffAdmin(ReadMostlyAdmin):
    scope_via = "assignments__path"
    scope_distinct = True
    list_display = ("name", "kind", "station", "police_number", "phone", "user")
    list_filter = ("kind",)
    list_select_related = ("station", "user")
    search_fields = ("name", "police_number", "phone", "user__username")
    ordering = ("kind", "name", "id")
    editable_fields = ("name", "phone")


@admin.register(Assignment)
class AssignmentAdmin(ReadMostlyAdmin):
    list_display = ("staff", "beat", "kind", "responsible", "since")
    list_filter = ("kind", "responsible")
    list_select_related = ("staff", "beat")
    search_fields = ("staff__name", "beat__code", "beat__name", "path")
    ordering = ("path", "-responsible", "kind")


@admin.register(CommitteePost)
class CommitteePostAdmin(ReadMostlyAdmin):
    list_display = ("staff", "community", "committee", "title", "since", "until")
    list_filter = ("committee", "title")
    list_select_related = ("staff", "community")
    search_fields = ("staff__name", "community__name", "community__code")
    ordering = ("path", "committee")


@admin.register(DutyShift)
class DutyShiftAdmin(ReadMostlyAdmin):
    scope_via = "office__beats__path"
    scope_distinct = True
    list_display = ("office", "staff", "starts_at", "ends_at")
    list_select_related = ("office", "staff")
    search_fields = ("office__name", "office__code", "staff__name")
    date_hierarchy = "starts_at"
    ordering = ("-starts_at",)
