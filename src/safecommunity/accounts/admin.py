"""Admin for users (role and jurisdiction) and the audit log, which the admin only reads.

Also the two mixins every model admin of the project uses:

- ``AdministratorsOnlyMixin``: the Django admin is a tool for administrators whose scope is
  everything (``scope_for(user).is_everything``). Its forms cannot check jurisdictions (a
  foreign-key field accepts any id, an autocomplete lists any row), so rather than scope every
  field, anyone else — even a superuser with a jurisdiction — gets no admin at all: every
  permission hook answers False, the pages answer 403 and nothing is listed.
- ``AuditedSaveMixin``: every add, change and delete made in the admin writes an audit entry in
  the admin's transaction, like every other write path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from safecommunity.accounts.models import AuditEntry, User
from safecommunity.accounts.scope import scope_filter, scope_for
from safecommunity.accounts.services import audit_record

if TYPE_CHECKING:
    # ModelAdmin is generic in the stubs only; at run time it cannot be subscripted.
    ModelAdmin = admin.ModelAdmin[Any]
    BaseUserAdmin = DjangoUserAdmin[User]
    BaseGroupAdmin = DjangoGroupAdmin
else:
    ModelAdmin = admin.ModelAdmin
    BaseUserAdmin = DjangoUserAdmin
    BaseGroupAdmin = DjangoGroupAdmin

JURISDICTION_FIELDS = ("jurisdiction_division", "jurisdiction_beat", "jurisdiction_station")


def is_site_administrator(user: Any) -> bool:
    """May ``user`` use the Django admin? Only an active staff user whose scope is everything.

    A superuser flag is not enough: a superuser scoped to one beat is refused too, because the
    admin's forms and autocompletes are not scoped.
    """
    if not isinstance(user, User) or not user.is_active or not user.is_staff:
        return False
    return scope_for(user).is_everything


class AdministratorsOnlyMixin(ModelAdmin):
    """Every permission hook answers False unless ``is_site_administrator(request.user)``;
    for an administrator, Django's own permission checks apply as usual.

    ``get_queryset`` returns nothing to anyone else as well, in case a view forgets to ask.
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_site_administrator(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_site_administrator(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_site_administrator(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_site_administrator(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_site_administrator(request.user) and super().has_delete_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        return queryset if is_site_administrator(request.user) else queryset.none()


class AuditedSaveMixin(ModelAdmin):
    """Write an audit entry for every add, change and delete made in the admin.

    The entry is written in the same transaction as the change (the admin's views run in one;
    ``transaction.atomic`` here makes it hold for any other caller too). ``detail.fields``
    lists the form fields that changed. Override ``audit_add_action`` and friends to name the
    actions differently.
    """

    audit_add_action = "admin.add"
    audit_change_action = "admin.change"
    audit_delete_action = "admin.delete"

    def save_model(
        self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
    ) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=_admin_user(request),
                action=self.audit_change_action if change else self.audit_add_action,
                obj=obj,
                request=request,
                detail={"fields": sorted(form.changed_data)},
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit_record(
                actor=_admin_user(request),
                action=self.audit_delete_action,
                obj=obj,
                request=request,
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            for obj in queryset:
                audit_record(
                    actor=_admin_user(request),
                    action=self.audit_delete_action,
                    obj=obj,
                    request=request,
                )
            super().delete_queryset(request, queryset)


def _admin_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101  # admin views require a logged-in User
    return user


class ScopedModelAdmin(AdministratorsOnlyMixin, AuditedSaveMixin):
    """The base of the project's place-bound model admins: administrators only, audited, and
    — a second line of defence behind ``AdministratorsOnlyMixin`` — lists and detail pages
    that go through ``scope_filter`` like every other read.

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
class UserAdmin(AdministratorsOnlyMixin, AuditedSaveMixin, BaseUserAdmin):
    """Django's user admin plus role and jurisdiction.

    The add form asks for the role and jurisdiction too: the model's check constraint
    (exactly one jurisdiction except for administrators) is validated by the form, so a
    user without a jurisdiction gets the constraint's message instead of a database error.
    Every add and change writes an audit entry in the admin's transaction.
    """

    audit_add_action = "user.create"
    audit_change_action = "user.change"
    audit_delete_action = "user.delete"

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


@admin.register(AuditEntry)
class AuditEntryAdmin(AdministratorsOnlyMixin):
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


# Django's group admin, under the same rule as the rest (groups carry permissions).
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AdministratorsOnlyMixin, AuditedSaveMixin, BaseGroupAdmin):
    pass
