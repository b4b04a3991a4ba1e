"""Jurisdiction scope: what each role sees, through the one function every selector uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import translation

from safecommunity.accounts.models import AuditEntry, Role, User
from safecommunity.accounts.scope import Scope, scope_filter, scope_for
from safecommunity.accounts.services import user_create
from safecommunity.places.models import Beat, Compound, Division, Dwelling
from safecommunity.places.selectors import beat_get, dwelling_list
from safecommunity.teams.models import Assignment, Staff
from tests.conftest import PASSWORD, World, client_for


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in English; the default language (zh-hans) has translations.
    with translation.override("en"):
        yield


BEAT_A = "12.01.04.003.017.001"
BEAT_B = "12.01.04.003.017.002"
BEAT_C = "12.01.05.001.001.001"


@pytest.mark.parametrize(
    ("username", "prefixes"),
    [
        ("admin", None),
        ("city", ("12.01",)),
        ("district", ("12.01.04",)),
        ("other_district", ("12.01.05",)),
        ("station", (BEAT_A, BEAT_B)),
        ("worker", ("12.01.04.003.017",)),
        ("officer", (BEAT_A,)),
        ("grid", (BEAT_A,)),
        ("neighbour", (BEAT_B,)),
    ],
)
def test_it_derives_each_roles_scope_from_its_jurisdiction(
    world: World, username: str, prefixes: tuple[str, ...] | None
) -> None:
    assert scope_for(world.users[username]) == Scope(prefixes=prefixes)


def test_it_gives_an_administrator_without_jurisdiction_everything(world: World) -> None:
    scope = scope_for(world.users["admin"])

    assert scope.is_everything
    assert scope.covers(BEAT_C)


def test_it_gives_an_inactive_user_nothing(world: World) -> None:
    user = world.users["city"]
    user.is_active = False

    assert scope_for(user) == Scope(prefixes=())
    assert not scope_filter(Beat.objects.all(), user).exists()


def test_it_matches_whole_path_segments_only() -> None:
    """``12.01.04`` covers ``12.01.04.003`` but not ``12.01.041`` (a different district)."""
    scope = Scope(prefixes=("12.01.04",))

    assert scope.covers("12.01.04")
    assert scope.covers("12.01.04.003.017")
    assert not scope.covers("12.01.041")
    assert not scope.covers("12.01")


@pytest.mark.parametrize(
    ("username", "codes"),
    [
        (
            "admin",
            {
                "120100",
                "120104",
                "120105",
                "120104003",
                "120104003017",
                "120105001",
                "120105001001",
            },
        ),
        (
            "city",
            {
                "120100",
                "120104",
                "120105",
                "120104003",
                "120104003017",
                "120105001",
                "120105001001",
            },
        ),
        ("district", {"120104", "120104003", "120104003017"}),
        ("other_district", {"120105", "120105001", "120105001001"}),
        ("worker", {"120104003017"}),
        ("officer", set()),
        ("station", set()),
    ],
)
def test_it_filters_divisions_to_the_scope(world: World, username: str, codes: set[str]) -> None:
    queryset = scope_filter(Division.objects.all(), world.users[username])

    assert set(queryset.values_list("code", flat=True)) == codes


@pytest.mark.parametrize(
    ("username", "codes"),
    [
        ("city", {"B-A", "B-B", "B-C"}),
        ("district", {"B-A", "B-B"}),
        ("other_district", {"B-C"}),
        ("station", {"B-A", "B-B"}),
        ("worker", {"B-A", "B-B"}),
        ("officer", {"B-A"}),
        ("grid", {"B-A"}),
        ("neighbour", {"B-B"}),
    ],
)
def test_it_filters_beats_to_the_scope(world: World, username: str, codes: set[str]) -> None:
    queryset = scope_filter(Beat.objects.all(), world.users[username])

    assert set(queryset.values_list("code", flat=True)) == codes


def test_it_filters_dwellings_to_the_scope(world: World) -> None:
    officer_sees = scope_filter(Dwelling.objects.all(), world.users["officer"])
    district_sees = scope_filter(Dwelling.objects.all(), world.users["district"])

    assert list(officer_sees) == [world.dwelling_a]
    assert set(district_sees) == {world.dwelling_a, world.dwelling_b}


def test_it_filters_staff_through_the_beats_they_serve(world: World) -> None:
    officer_sees = scope_filter(
        Staff.objects.all(), world.users["officer"], via="assignments__path", distinct=True
    )
    neighbour_sees = scope_filter(
        Staff.objects.all(), world.users["neighbour"], via="assignments__path", distinct=True
    )

    assert {s.name for s in officer_sees} == {"马燕", "社工0", "社工1", "网格员甲"}
    assert {s.name for s in neighbour_sees} == {"王强", "社工乙"}


def test_it_shows_a_neighbour_nothing_of_beat_a(world: World) -> None:
    neighbour = world.users["neighbour"]

    assert world.beat_a not in scope_filter(Beat.objects.all(), neighbour)
    assert not scope_filter(Dwelling.objects.filter(grid=world.grid_a), neighbour).exists()
    assert not scope_filter(Compound.objects.filter(grid=world.grid_a), neighbour).exists()
    assert not scope_filter(Assignment.objects.filter(beat=world.beat_a), neighbour).exists()
    assert world.dwelling_a not in dwelling_list(user=neighbour)
    with pytest.raises(Http404):
        beat_get(user=neighbour, pk=world.beat_a.pk)


def test_it_shows_beat_a_nothing_of_the_neighbour(world: World) -> None:
    officer = world.users["officer"]

    assert world.beat_b not in scope_filter(Beat.objects.all(), officer)
    assert world.dwelling_b not in dwelling_list(user=officer)
    with pytest.raises(Http404):
        beat_get(user=officer, pk=world.beat_b.pk)


def test_it_gives_a_station_exactly_its_beats(world: World) -> None:
    scope = scope_for(world.users["station"])

    assert scope.prefixes == tuple(sorted([world.beat_a.path, world.beat_b.path]))
    assert not scope.covers(world.beat_c.path)
    assert set(scope_filter(Beat.objects.all(), world.users["station"])) == {
        world.beat_a,
        world.beat_b,
    }


def test_it_refuses_to_create_a_user_without_jurisdiction_by_name(world: World) -> None:
    before = User.objects.count()

    with pytest.raises(ValidationError) as caught:
        user_create(username="nobody", password=PASSWORD, role=Role.COMMUNITY_OFFICER)

    assert "nobody" in " ".join(caught.value.messages)
    assert "jurisdiction" in caught.value.message_dict
    assert User.objects.count() == before


def test_it_refuses_a_jurisdiction_that_is_not_a_place_of_scope(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        user_create(
            username="gridded", password=PASSWORD, role=Role.GRID_WORKER, jurisdiction=world.grid_a
        )

    assert "jurisdiction" in caught.value.message_dict
    assert not User.objects.filter(username="gridded").exists()


def test_the_database_refuses_a_user_without_jurisdiction(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="raw", role=Role.COMMUNITY_WORKER)

    assert not User.objects.filter(username="raw").exists()


def test_the_database_refuses_a_user_with_two_jurisdictions(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(
            username="twice",
            role=Role.COMMUNITY_OFFICER,
            jurisdiction_beat=world.beat_a,
            jurisdiction_station=world.station,
        )


def test_model_validation_names_the_missing_jurisdiction(world: World) -> None:
    user = User(username="unsaved", role=Role.DISTRICT_LEADER)

    with pytest.raises(ValidationError) as caught:
        user.full_clean(exclude=["password"])

    assert any("exactly one jurisdiction" in m for m in caught.value.messages)


class TestAdminScope:
    """The admin is for administrators whose scope is everything; a staff user with a
    jurisdiction gets none of it (tests/accounts/test_admin.py has the rest)."""

    def test_it_refuses_the_admin_to_a_staff_user_with_a_jurisdiction(self, world: World) -> None:
        neighbour = world.users["neighbour"]
        neighbour.is_staff = neighbour.is_superuser = True
        neighbour.save(update_fields=["is_staff", "is_superuser"])
        client = client_for(neighbour)

        listed = client.get("/admin/places/beat/")
        own = client.get(f"/admin/places/beat/{world.beat_b.pk}/change/")
        other = client.get(f"/admin/places/beat/{world.beat_a.pk}/change/")

        assert listed.status_code == 403
        assert own.status_code == 403
        assert other.status_code == 403

    def test_it_refuses_to_add_a_user_without_jurisdiction(self, world: World) -> None:
        client = client_for(world.users["admin"])
        form = {
            "username": "nojurisdiction",
            "password1": "Xy12345678!!",
            "password2": "Xy12345678!!",
            "usable_password": "true",
            "role": Role.GRID_WORKER,
        }

        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        refused = client.post("/admin/accounts/user/add/", form)
        accepted = client.post(
            "/admin/accounts/user/add/",
            {**form, "username": "withjurisdiction", "jurisdiction_beat": world.beat_a.pk},
        )

        assert refused.status_code == 200
        assert "exactly one jurisdiction" in " ".join(
            refused.context["adminform"].form.non_field_errors()
        )
        assert not User.objects.filter(username="nojurisdiction").exists()
        assert accepted.status_code == 302
        created = User.objects.get(username="withjurisdiction")
        assert created.jurisdiction_beat == world.beat_a
        assert AuditEntry.objects.filter(action="user.create", object_id=str(created.pk)).exists()
