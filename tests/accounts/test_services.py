"""Account services: login with lock-out, and users created with a jurisdiction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.test import RequestFactory
from django.utils import translation
from pytest_django.fixtures import Settings

from safecommunity.accounts.models import AuditEntry, Role, User
from safecommunity.accounts.services import LoginLocked, login_attempt, user_create
from tests.conftest import PASSWORD, World


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in English; the default language (zh-hans) has translations.
    with translation.override("en"):
        yield


START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
MAX_FAILURES = 3
LOCKOUT_SECONDS = 600


@pytest.fixture
def lockout(settings: Settings) -> None:
    settings.LOGIN_MAX_FAILURES = MAX_FAILURES
    settings.LOGIN_LOCKOUT_SECONDS = LOCKOUT_SECONDS


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def request_() -> HttpRequest:
    return RequestFactory().post("/accounts/login/", REMOTE_ADDR="127.0.0.1")


def fail(request: HttpRequest, times: int, username: str = "officer") -> None:
    for _ in range(times):
        assert login_attempt(request=request, username=username, password="wrong") is None


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # Failures of unknown usernames are counted in the (per-process) cache.
    cache.clear()
    yield
    cache.clear()


def outcomes(request: HttpRequest, username: str, tries: int) -> list[object]:
    """What each of ``tries`` wrong passwords gets: None, or the lock-out's end."""
    seen: list[object] = []
    for _ in range(tries):
        try:
            seen.append(login_attempt(request=request, username=username, password="wrong"))
        except LoginLocked as locked:
            seen.append(("locked until", locked.until))
    return seen


@pytest.mark.usefixtures("clock")
def test_it_gives_an_unknown_username_the_same_six_answers_as_a_real_one(
    world: World, request_: HttpRequest, settings: Settings
) -> None:
    """With the shipped settings (5 failures, 15 minutes), six wrong tries read the same
    whether the account exists or not: the lock-out does not reveal usernames."""
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_LOCKOUT_SECONDS = 900

    real = outcomes(request_, "officer", 6)
    unknown = outcomes(request_, "nobody", 6)

    locked = ("locked until", START + timedelta(seconds=900))
    assert real == [None, None, None, None, locked, locked]
    assert unknown == real


@pytest.mark.usefixtures("lockout", "clock")
class TestLoginAttempt:
    def test_it_returns_the_user_for_the_right_password(
        self, world: World, request_: HttpRequest
    ) -> None:
        user = login_attempt(request=request_, username="officer", password=PASSWORD)

        assert user == world.users["officer"]

    def test_it_returns_none_for_a_wrong_password_and_counts_it(
        self, world: World, request_: HttpRequest
    ) -> None:
        fail(request_, 1)

        officer = User.objects.get(username="officer")
        assert officer.failed_logins == 1
        assert officer.locked_until is None

    def test_it_answers_an_unknown_username_like_a_wrong_password(
        self, world: World, request_: HttpRequest
    ) -> None:
        fail(request_, MAX_FAILURES - 1, username="nobody")

    def test_it_locks_an_unknown_username_at_the_same_failure_as_a_real_one(
        self, world: World, request_: HttpRequest
    ) -> None:
        fail(request_, MAX_FAILURES - 1, username="nobody")

        with pytest.raises(LoginLocked) as caught:
            login_attempt(request=request_, username="nobody", password="wrong")

        assert caught.value.until == START + timedelta(seconds=LOCKOUT_SECONDS)
        entry = AuditEntry.objects.get(action="login.locked")
        assert entry.detail == {"known_user": False}
        assert entry.client_address == "127.0.0.1"
        assert "nobody" not in str(entry.detail)

    def test_it_keeps_an_unknown_username_locked_for_the_lockout_then_counts_afresh(
        self, world: World, request_: HttpRequest, clock: time_machine.Traveller
    ) -> None:
        fail(request_, MAX_FAILURES - 1, username="nobody")
        with pytest.raises(LoginLocked):
            login_attempt(request=request_, username="nobody", password="wrong")

        clock.shift(LOCKOUT_SECONDS - 1)
        with pytest.raises(LoginLocked):
            login_attempt(request=request_, username="nobody", password=PASSWORD)

        clock.shift(2)
        fail(request_, MAX_FAILURES - 1, username="nobody")
        with pytest.raises(LoginLocked):
            login_attempt(request=request_, username="nobody", password="wrong")

    def test_it_counts_an_unknown_username_whatever_its_case(
        self, world: World, request_: HttpRequest
    ) -> None:
        fail(request_, MAX_FAILURES - 1, username="Nobody")

        with pytest.raises(LoginLocked):
            login_attempt(request=request_, username="nobody", password="wrong")

    def test_it_counts_each_unknown_username_on_its_own(
        self, world: World, request_: HttpRequest
    ) -> None:
        fail(request_, MAX_FAILURES - 1, username="nobody")

        fail(request_, MAX_FAILURES - 1, username="somebody")

    def test_it_locks_the_account_at_the_last_allowed_failure(
        self, world: World, request_: HttpRequest
    ) -> None:
        fail(request_, MAX_FAILURES - 1)

        with pytest.raises(LoginLocked) as caught:
            login_attempt(request=request_, username="officer", password="wrong")

        assert caught.value.until == START + timedelta(seconds=LOCKOUT_SECONDS)
        officer = User.objects.get(username="officer")
        assert officer.locked_until == START + timedelta(seconds=LOCKOUT_SECONDS)
        assert AuditEntry.objects.filter(action="login.locked", object_id=str(officer.pk)).exists()

    def test_it_refuses_the_right_password_while_locked(
        self, world: World, request_: HttpRequest, clock: time_machine.Traveller
    ) -> None:
        fail(request_, MAX_FAILURES - 1)
        with pytest.raises(LoginLocked):
            login_attempt(request=request_, username="officer", password="wrong")

        clock.shift(LOCKOUT_SECONDS - 1)

        with pytest.raises(LoginLocked):
            login_attempt(request=request_, username="officer", password=PASSWORD)

    def test_it_unlocks_once_the_lockout_has_passed(
        self, world: World, request_: HttpRequest, clock: time_machine.Traveller
    ) -> None:
        fail(request_, MAX_FAILURES - 1)
        with pytest.raises(LoginLocked):
            login_attempt(request=request_, username="officer", password="wrong")

        clock.shift(LOCKOUT_SECONDS + 1)
        user = login_attempt(request=request_, username="officer", password=PASSWORD)

        assert user == world.users["officer"]
        officer = User.objects.get(username="officer")
        assert officer.locked_until is None
        assert officer.failed_logins == 0

    def test_it_resets_the_failure_count_on_success(
        self, world: World, request_: HttpRequest
    ) -> None:
        fail(request_, MAX_FAILURES - 1)
        assert login_attempt(request=request_, username="officer", password=PASSWORD)

        fail(request_, MAX_FAILURES - 1)

        assert User.objects.get(username="officer").failed_logins == MAX_FAILURES - 1

    def test_it_locks_one_account_without_touching_another(
        self, world: World, request_: HttpRequest
    ) -> None:
        fail(request_, MAX_FAILURES - 1)
        with pytest.raises(LoginLocked):
            login_attempt(request=request_, username="officer", password="wrong")

        assert (
            login_attempt(request=request_, username="neighbour", password=PASSWORD)
            == (world.users["neighbour"])
        )


class TestUserCreate:
    def test_it_creates_a_user_with_a_jurisdiction_and_audits_it(self, world: World) -> None:
        user = user_create(
            username="new_officer",
            password=PASSWORD,
            role=Role.COMMUNITY_OFFICER,
            jurisdiction=world.beat_b,
            actor=world.users["admin"],
        )

        assert user.jurisdiction_beat == world.beat_b
        assert user.check_password(PASSWORD)
        assert not user.is_staff
        entry = AuditEntry.objects.get(action="user.create", object_id=str(user.pk))
        assert entry.actor_username == "admin"
        assert entry.detail == {"role": Role.COMMUNITY_OFFICER}

    @pytest.mark.parametrize(
        ("attribute", "field"),
        [
            ("district", "jurisdiction_division"),
            ("station", "jurisdiction_station"),
            ("beat_a", "jurisdiction_beat"),
        ],
    )
    def test_it_stores_each_kind_of_jurisdiction_in_its_own_field(
        self, world: World, attribute: str, field: str
    ) -> None:
        place = getattr(world, attribute)

        user = user_create(
            username=f"u_{attribute}",
            password=PASSWORD,
            role=Role.STATION_LEADER,
            jurisdiction=place,
        )

        assert getattr(user, field) == place

    def test_it_makes_an_administrator_staff_without_jurisdiction(self, db: None) -> None:
        user = user_create(username="root", password=PASSWORD, role=Role.ADMIN)

        assert user.is_staff
        assert user.jurisdiction_division is None

    def test_it_refuses_an_unknown_role(self, world: World) -> None:
        with pytest.raises(ValidationError) as caught:
            user_create(
                username="x", password=PASSWORD, role="sheriff", jurisdiction=world.district
            )

        assert "role" in caught.value.message_dict
        assert not User.objects.filter(username="x").exists()

    def test_it_refuses_a_duplicate_username_by_field(self, world: World) -> None:
        with pytest.raises(ValidationError) as caught:
            user_create(
                username="officer",
                password=PASSWORD,
                role=Role.COMMUNITY_OFFICER,
                jurisdiction=world.beat_a,
            )

        assert "username" in caught.value.message_dict
