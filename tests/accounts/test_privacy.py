"""Who sees names (``accounts.privacy``, its template filters) and which places touch a scope."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.template import Context, Template

from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import mask_name, may_see_names, shown_name
from safecommunity.accounts.scope import Scope
from tests.conftest import World

BEAT_A = "12.01.04.003.017.001"


def granted(user: User) -> User:
    """``user`` granted ``accounts.view_names``, fetched afresh (permissions are cached)."""
    user.user_permissions.add(Permission.objects.get(codename="view_names"))
    return User.objects.get(pk=user.pk)


def render(template: str, **context: object) -> str:
    return Template("{% load privacy %}" + template).render(Context(context))


# --- masking -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"), [("马燕", "马*"), ("欧阳明", "欧**"), ("马", "马"), ("", "")]
)
def test_it_masks_a_name_to_its_first_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


# --- who may see names ---------------------------------------------------------------------


def test_it_hides_names_from_a_city_analyst(world: World) -> None:
    city = world.users["city"]

    assert may_see_names(city) is False
    assert shown_name(city, "马燕") == "马*"


def test_it_shows_names_to_a_city_analyst_granted_the_permission(world: World) -> None:
    city = granted(world.users["city"])

    assert may_see_names(city) is True
    assert shown_name(city, "马燕") == "马燕"


def test_it_shows_names_to_a_city_analyst_through_a_group(world: World) -> None:
    group = Group.objects.create(name="named analysts")
    group.permissions.add(Permission.objects.get(codename="view_names"))
    world.users["city"].groups.add(group)

    assert may_see_names(User.objects.get(pk=world.users["city"].pk)) is True


@pytest.mark.parametrize(
    "username", ["admin", "district", "station", "officer", "worker", "grid", "neighbour"]
)
def test_it_shows_names_to_every_other_role(world: World, username: str) -> None:
    user = world.users[username]

    assert may_see_names(user) is True
    assert shown_name(user, "马燕") == "马燕"


# --- template filters ----------------------------------------------------------------------


def test_its_filter_masks_a_name_for_a_city_analyst(world: World) -> None:
    template = "{{ name|shown_name:user }} {% if user|may_see_names %}yes{% else %}no{% endif %}"

    assert render(template, name="马燕", user=world.users["city"]) == "马* no"
    assert render(template, name="马燕", user=world.users["officer"]) == "马燕 yes"


def test_its_filter_masks_for_anyone_not_logged_in(db: None) -> None:
    assert render("{{ name|shown_name:user }}", name="马燕", user=AnonymousUser()) == "马*"


# --- Scope.touches -------------------------------------------------------------------------


def test_it_touches_a_place_inside_the_scope() -> None:
    scope = Scope(prefixes=("12.01.04",))

    assert scope.touches("12.01.04")
    assert scope.touches(BEAT_A)


def test_it_touches_a_place_that_holds_part_of_the_scope() -> None:
    scope = Scope(prefixes=(BEAT_A,))

    assert scope.touches("12.01.04.003.017")  # the beat's community
    assert scope.touches("12.01")  # the city
    assert not scope.covers("12.01.04.003.017")


def test_it_does_not_touch_a_neighbouring_place() -> None:
    scope = Scope(prefixes=(BEAT_A,))

    assert not scope.touches("12.01.04.003.017.002")  # the next beat
    assert not scope.touches("12.01.04.003.018")  # the next community
    assert not scope.touches("12.01.05.001.001")  # another district's community
    # A path sharing only leading characters is not a parent.
    assert not scope.touches("12.01.04.003.01")


def test_it_touches_everything_or_nothing_at_the_extremes() -> None:
    assert Scope(prefixes=None).touches("12.01.05.001.001")
    assert not Scope(prefixes=()).touches("12.01")
