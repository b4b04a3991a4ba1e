"""Admin for users (role and jurisdiction) and the audit log, which the admin only reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from safecommunity.accounts.models import AuditEntry, User
from safecommunity.accounts.scope import scope_filter
from safecommunity.accounts.services import audit_record

if TYPE_CHECKING:
    # ModelAdmin is generic in the stubs only; at run time it cannot be subscripted.
    ModelAdmin = admin.ModelAdmin[Any]
    BaseUserAdmin = DjangoUserAdmin[User]
else:
    ModelAdmin = admin.ModelAdmin
    BaseUserAdmin = DjangoUserAdmin

JURISDICTION_FIELDS = ("jurisdiction_division", "jurisdiction_beat", "jurisdiction_station")


class ScopedModelAdmin(ModelAdmin):
    """A model admin whose lists and detail pages go through ``scope_filter`` like every other
    read: a staff user with a jurisdiction sees only their places (administrators see all).

    ``scope_via`` names the path field (``"beats__path"`` across a to-many relation, with
    ``scope_distinct = True``).
    """

    scope_via: str = "path"
    scope_distinct: bool = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        user = request.user
        if not isinstance(user, User):
            return queryset.none()
        return scope_filter(queryset, user, via=self.scope_via, distinct=self.scope_distinct)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Django's user admin plus role and jurisdiction.

    The add form asks for the role and jurisdiction too: the model's check constraint
    (exactly one jurisdiction except for administrators) is validated by the form, so a
    user without a jurisdiction gets the constraint's message instead of a database error.
    Every add and change writes an audit entry in the admin's transaction.
    """

    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Role and jurisdiction"), {"fields": ("role", *JURISDICTION_FIELDS)}),
        (_("Login lock-out"), {"fields": ("failed_logins", "locked_until")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Role and jurisdiction"), {"fields": ("role", *JURISDICTION_FIELDS)}),
    )
    list_display = ("username", "first_name", "last_name", "role", "jurisdiction", "is_active")
    list_filter = ("role", "is_active", "is_staff", "is_superuser")
    list_select_related = JURISDICTION_FIELDS
    search_fields = ("username", "first_name", "last_name", "email")
    autocomplete_fields = JURISDICTION_FIELDS

    @admin.display(description=_("jurisdiction"))
    def jurisdiction(self, obj: User) -> str:
        place = obj.jurisdiction_division or obj.jurisdiction_beat or obj.jurisdiction_station
        return str(place) if place is not None else "—"

    def save_model(
        self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        assert isinstance(request.user, User)  # noqa: S101  # admin views require a login
        audit_record(
            actor=request.user,
            action="user.change" if change else "user.create",
            obj=obj,
            request=request,
            detail={"fields": sorted(form.changed_data)},
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(ModelAdmin):
    """The audit log, read-only: nobody may add, change or delete an entry here (the model and
    the database refuse it as well)."""

    list_display = (
        "at",
        "actor_username",
        "action",
        "object_type",
        "object_repr",
        "client_address",
    )
    list_filter = ("action", ("at", admin.DateFieldListFilter))
    search_fields = ("actor_username", "action", "object_repr", "object_id", "reason")
    date_hierarchy = "at"
    ordering = ("-at", "-id")
    list_per_page = 100
    show_full_result_count = False  # a long log: no second COUNT(*) per page

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
