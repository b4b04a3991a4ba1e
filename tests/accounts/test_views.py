"""Login, lock-out, logout and the login requirement of every page."""

from __future__ import annotations

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from safecommunity.accounts.models import AuditEntry, User
from tests.conftest import PASSWORD, World, client_for

PAGES = [
    "home",
    "places:browser",
    "places:map",
    "places:map_geojson",
    "places:beat_at",
    "teams:compliance",
    "teams:staff",
    "teams:roster",
]


def _login(client: Client, username: str, password: str, **extra: str) -> object:
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password, **extra}
    )


@pytest.mark.parametrize("name", PAGES)
def test_it_sends_anonymous_users_to_the_login_page(world: World, name: str) -> None:
    response = Client().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")


@pytest.mark.parametrize(
    ("name", "pk"),
    [
        ("places:division", "district"),
        ("places:division_children", "district"),
        ("places:beat", "beat_a"),
        ("places:station", "station"),
        ("places:office", "office"),
    ],
)
def test_it_sends_anonymous_users_to_login_from_detail_pages(
    world: World, name: str, pk: str
) -> None:
    response = Client().get(reverse(name, args=[getattr(world, pk).pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_shows_the_login_form(db: None) -> None:
    response = Client().get(reverse("accounts:login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content
    assert b'<html lang="zh-hans">' in response.content


def test_it_logs_in_and_goes_home(world: World) -> None:
    client = Client()
    response = _login(client, "officer", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    assert AuditEntry.objects.filter(action="login", actor_username="officer").exists()


def test_it_follows_a_local_next_but_not_a_foreign_one(world: World) -> None:
    response = _login(Client(), "officer", PASSWORD, next=reverse("places:map"))
    assert response["Location"] == reverse("places:map")
    response = _login(Client(), "officer", PASSWORD, next="https://evil.example/")
    assert response["Location"] == reverse("home")


def test_it_gives_the_same_error_for_a_wrong_password_and_an_unknown_user(world: World) -> None:
    wrong = _login(Client(), "officer", "nope")
    unknown = _login(Client(), "nobody-here", "nope")
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()


def test_it_refuses_an_empty_form_with_a_message(world: World) -> None:
    response = _login(Client(), "", "")
    assert response.status_code == 400
    assert response.context["form"].errors["username"]


@time_machine.travel("2025-03-01 10:00 +0800", tick=False)
def test_it_locks_the_account_after_too_many_failures(world: World) -> None:
    client = Client()
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        assert _login(client, "officer", "wrong").status_code == 400
    response = _login(client, "officer", "wrong")
    locked_until = f"{10 + settings.LOGIN_LOCKOUT_SECONDS // 3600:02d}:" + (
        f"{settings.LOGIN_LOCKOUT_SECONDS % 3600 // 60:02d}"
    )
    assert locked_until.encode() in response.content
    # Even the right password is refused while locked, with the same message.
    response = _login(client, "officer", PASSWORD)
    assert response.status_code == 400
    assert locked_until.encode() in response.content
    assert "_auth_user_id" not in client.session


def test_it_lets_a_locked_user_in_again_after_the_lockout(world: World) -> None:
    with time_machine.travel("2025-03-01 10:00 +0800", tick=False):
        for _ in range(settings.LOGIN_MAX_FAILURES):
            _login(Client(), "officer", "wrong")
    later = 10 * 60 + settings.LOGIN_LOCKOUT_SECONDS // 60 + 1
    with time_machine.travel(f"2025-03-01 {later // 60:02d}:{later % 60:02d} +0800", tick=False):
        assert _login(Client(), "officer", PASSWORD).status_code == 302


def test_it_redirects_a_logged_in_user_away_from_the_login_page(world: World) -> None:
    response = client_for(world.users["officer"]).get(reverse("accounts:login"))
    assert response.status_code == 302


def test_it_logs_out_with_post(world: World) -> None:
    client = client_for(world.users["officer"])
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert client.get(reverse("home")).status_code == 302


def test_it_refuses_logout_by_get(world: World) -> None:
    client = client_for(world.users["officer"])
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.get(reverse("home")).status_code == 200


def test_it_shows_the_user_role_and_jurisdiction_in_the_header(world: World) -> None:
    user: User = world.users["officer"]
    response = client_for(user).get(reverse("home"))
    assert b"officer" in response.content
    assert "学府一警务区".encode() in response.content


def test_it_answers_in_chinese_whatever_the_browser_asks_for(world: World) -> None:
    """Chinese is the platform's language: an English browser still gets Chinese pages until
    the user switches."""
    response = client_for(world.users["officer"]).get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.headers["Content-Language"] == "zh-hans"
    assert 'lang="zh-hans"' in response.content.decode()


def test_it_shows_the_admin_link_only_to_staff_users(world: World) -> None:
    admin_page = client_for(world.users["admin"]).get(reverse("home")).content
    officer_page = client_for(world.users["officer"]).get(reverse("home")).content
    assert reverse("admin:index").encode() in admin_page
    assert reverse("admin:index").encode() not in officer_page
