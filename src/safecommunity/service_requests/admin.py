"""Admin for requests: the services residents may choose (names, descriptions, time limits,
their attribute definitions) and the Open311 keys (switched off here; made with
``safecommunity open311-key``, which shows a new key once). Requests themselves are worked
on the staff pages, through the workflow; the admin only lists them.

Like every admin of the project, these are for administrators whose scope is everything, and
every save is audited (``accounts.admin.ScopedModelAdmin``).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from safecommunity.accounts.admin import (
    AdministratorsOnlyMixin,
    AuditedSaveMixin,
    ScopedModelAdmin,
)
from safecommunity.service_requests.models import ApiKey, Service, ServiceAttribute, ServiceRequest


class ServiceAttributeInline(admin.TabularInline):  # type: ignore[type-arg]  # generic in stubs only
    model = ServiceAttribute
    extra = 0
    fields = ("code", "datatype", "required", "variable", "description", "description_en", "order")


@admin.register(Service)
class ServiceAdmin(AdministratorsOnlyMixin, AuditedSaveMixin):
    list_display = ("service_code", "name_zh", "name_en", "group", "expected_days", "active")
    list_filter = ("group", "active")
    search_fields = ("service_code", "name_zh", "name_en")
    inlines = [ServiceAttributeInline]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # requests refer to their service; switch one off instead


@admin.register(ApiKey)
class ApiKeyAdmin(AdministratorsOnlyMixin, AuditedSaveMixin):
    list_display = ("name", "prefix", "active", "created_at")
    fields = ("name", "prefix", "active", "created_at")
    readonly_fields = ("prefix", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # ``safecommunity open311-key NAME`` shows the new key once


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ScopedModelAdmin):
    list_display = ("service_request_id", "service", "status", "path", "requested_datetime")
    list_filter = ("status", "service", "source")
    search_fields = ("service_request_id",)
    fields = (
        "service_request_id",
        "service",
        "status",
        "beat",
        "path",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "source",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
