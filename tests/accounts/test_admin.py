"""The Django admin is for administrators whose scope is everything; everyone else — even a
superuser with a jurisdiction — gets no admin at all, and every admin save is audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.forms import MultiWidget
from django.test import Client, RequestFactory

from safecommunity.accounts.admin import is_site_administrator
from safecommunity.accounts.models import AuditEntry, Role, User
from safecommunity.places.models import Beat
from tests.conftest import World, client_for


@pytest.fixture
def scoped_superuser(world: World) -> User:
    """An administrator by role and flags, but with a jurisdiction: beat B."""
    user = world.users["neighbour"]
    user.role = Role.ADMIN
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    return user


def change_form_data(client: Client, url: str) -> dict[str, Any]:
    """The POST data of an admin change form as it stands (editable fields only)."""
    form = client.get(url).context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        if isinstance(field.widget, MultiWidget):  # date and time posted apart
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{index}"] = part
        else:
            data[name] = value
    return data


def admin_urls(world: World) -> list[str]:
    return [
        "/admin/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{world.users['officer'].pk}/change/",
        "/admin/accounts/auditentry/",
        "/admin/auth/group/",
        "/admin/places/beat/",
        f"/admin/places/beat/{world.beat_b.pk}/change/",
        "/admin/places/policestation/",
        f"/admin/places/policestation/{world.station.pk}/change/",
        "/admin/places/policeoffice/",
        f"/admin/places/policeoffice/{world.office.pk}/change/",
        "/admin/places/policeoffice/add/",
        "/admin/teams/staff/",
        (
            "/admin/autocomplete/?app_label=accounts&model_name=user"
            "&field_name=jurisdiction_station&term=派出所"
        ),
    ]


class TestScopedSuperuser:
    def test_it_is_no_site_administrator(self, scoped_superuser: User) -> None:
        assert not is_site_administrator(scoped_superuser)

    def test_it_gets_no_admin_page_and_no_list(self, world: World, scoped_superuser: User) -> None:
        client = client_for(scoped_superuser)

        for url in admin_urls(world):
            response = client.get(url)
            if url == "/admin/":
                assert response.status_code == 200
                assert response.context["app_list"] == []
            else:
                assert response.status_code == 403, url

    def test_it_cannot_move_an_office_to_another_station(
        self, world: World, scoped_superuser: User
    ) -> None:
        data = change_form_data(
            client_for(world.users["admin"]),
            f"/admin/places/policeoffice/{world.office.pk}/change/",
        )
        client = client_for(scoped_superuser)
        before = AuditEntry.objects.count()

        response = client.post(
            f"/admin/places/policeoffice/{world.office.pk}/change/",
            {**data, "station": world.other_station.pk, "phone": "110"},
        )

        assert response.status_code == 403
        world.office.refresh_from_db()
        assert world.office.station == world.station
        assert world.office.phone == "022-23500001"
        assert AuditEntry.objects.count() == before

    def test_it_cannot_add_a_user(self, world: World, scoped_superuser: User) -> None:
        response = client_for(scoped_superuser).post(
            "/admin/accounts/user/add/",
            {
                "username": "planted",
                "password1": "Xy12345678!!",
                "password2": "Xy12345678!!",
                "usable_password": "true",
                "role": Role.ADMIN,
            },
        )

        assert response.status_code == 403
        assert not User.objects.filter(username="planted").exists()

    def test_it_lists_nothing_even_if_a_view_forgot_to_ask(
        self, world: World, scoped_superuser: User
    ) -> None:
        request = RequestFactory().get("/admin/")
        request.user = scoped_superuser

        for model in (User, AuditEntry, Group, Beat):
            assert not admin.site._registry[model].get_queryset(request).exists(), model


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"is_staff": False}, False, id="not-staff"),
        pytest.param({"is_active": False}, False, id="inactive"),
        pytest.param({}, True, id="staff-administrator-without-jurisdiction"),
    ],
)
def test_it_admits_only_active_staff_administrators_without_jurisdiction(
    world: World, change: dict[str, bool], expected: bool
) -> None:
    user = world.users["admin"]
    for field, value in change.items():
        setattr(user, field, value)
    user.save()

    assert is_site_administrator(User.objects.get(pk=user.pk)) is expected


class TestAdministrator:
    def test_it_lists_every_user(self, world: World) -> None:
        response = client_for(world.users["admin"]).get("/admin/accounts/user/")

        assert response.status_code == 200
        listed = {u.username for u in response.context["cl"].result_list}
        assert listed == set(world.users)

    def test_it_opens_every_admin_page(self, world: World) -> None:
        client = client_for(world.users["admin"])

        for url in admin_urls(world):
            assert client.get(url).status_code == 200, url

    def test_it_audits_a_user_change(self, world: World) -> None:
        client = client_for(world.users["admin"])
        officer = world.users["officer"]
        url = f"/admin/accounts/user/{officer.pk}/change/"
        data = change_form_data(client, url)

        response = client.post(url, {**data, "first_name": "燕"})

        assert response.status_code == 302, response.context["adminform"].form.errors
        entry = AuditEntry.objects.get(action="user.change", object_id=str(officer.pk))
        assert entry.actor_username == "admin"
        # (date_joined is posted back without its microseconds, so it reads as changed too)
        assert "first_name" in entry.detail["fields"]
        assert "last_name" not in entry.detail["fields"]

    def test_it_audits_a_group_added_in_the_admin(self, world: World) -> None:
        response = client_for(world.users["admin"]).post(
            "/admin/auth/group/add/", {"name": "analysts"}
        )

        assert response.status_code == 302
        group = Group.objects.get(name="analysts")
        entry = AuditEntry.objects.get(action="admin.add", object_id=str(group.pk))
        assert entry.object_type == "auth.group"
        assert entry.detail == {"fields": ["name"]}

    def test_it_audits_a_group_deleted_in_the_admin(self, world: World) -> None:
        group = Group.objects.create(name="old")

        response = client_for(world.users["admin"]).post(
            f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"}
        )

        assert response.status_code == 302
        assert not Group.objects.filter(pk=group.pk).exists()
        assert AuditEntry.objects.filter(action="admin.delete", object_id=str(group.pk)).exists()
