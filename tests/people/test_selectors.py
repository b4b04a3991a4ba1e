"""Registry reads: scope by the current dwelling's grid, 404 out of scope, care tags for the
beat team only, possible duplicates narrowed to what the user may see, fixed query counts."""

from __future__ import annotations

from datetime import date

import pytest
from django.http import Http404
from pytest_django import DjangoAssertNumQueries

from safecommunity.people.models import Resident
from safecommunity.people.selectors import (
    may_see_care_tags,
    resident_care_tags,
    resident_filter,
    resident_get,
    resident_list,
    resident_search,
    residents_visible,
)
from safecommunity.people.services import (
    care_tag_add,
    resident_input,
    resident_possible_duplicates,
)
from tests.conftest import World
from tests.people.registry import register


@pytest.fixture
def pair(world: World) -> tuple[Resident, Resident]:
    a = register("张三", world.dwelling_a, sequence=11)
    b = register("李四", world.dwelling_b, sequence=13, registered=False)
    return a, b


def test_it_lists_only_residents_of_the_users_beat(
    world: World, pair: tuple[Resident, Resident]
) -> None:
    a, b = pair
    assert set(resident_list(user=world.users["officer"])) == {a}
    assert set(resident_list(user=world.users["neighbour"])) == {b}
    assert set(resident_list(user=world.users["station"])) == {a, b}
    assert set(resident_list(user=world.users["other_district"])) == set()


def test_it_answers_404_for_a_resident_out_of_scope(
    world: World, pair: tuple[Resident, Resident]
) -> None:
    a, _b = pair
    assert resident_get(user=world.users["officer"], pk=a.pk) == a
    for who in ("neighbour", "other_district"):
        with pytest.raises(Http404):
            resident_get(user=world.users[who], pk=a.pk)
    for pk in (0, -1, 2**63, 10**30):
        with pytest.raises(Http404):
            resident_get(user=world.users["admin"], pk=pk)


def test_it_filters_registered_and_floating_residents(
    world: World, pair: tuple[Resident, Resident]
) -> None:
    a, b = pair
    station = world.users["station"]
    assert set(resident_filter(user=station, registered=True)) == {a}
    assert set(resident_filter(user=station, registered=False)) == {b}


def test_care_tags_are_for_the_beat_team_only(
    world: World, pair: tuple[Resident, Resident]
) -> None:
    a, _b = pair
    care_tag_add(resident=a, kind="elderly_alone", actor=None)
    for who in ("officer", "grid", "worker", "station"):
        assert may_see_care_tags(world.users[who]), who
        tags = resident_care_tags(user=world.users[who], resident=a)
        assert tags is not None and [t.kind for t in tags] == ["elderly_alone"]
    for who in ("district", "city", "admin"):
        assert not may_see_care_tags(world.users[who]), who
        assert resident_care_tags(user=world.users[who], resident=a) is None
        assert not resident_search(user=world.users[who]).care_tags_shown


def test_the_care_tag_filter_is_ignored_for_users_who_may_not_see_care_tags(
    world: World, pair: tuple[Resident, Resident]
) -> None:
    a, b = pair
    care_tag_add(resident=a, kind="disability", actor=None)
    assert set(resident_filter(user=world.users["station"], care_tag="disability")) == {a}
    # A district leader cannot learn who is tagged by filtering: the filter does nothing.
    assert set(resident_filter(user=world.users["district"], care_tag="disability")) == {a, b}


def test_possible_duplicates_are_narrowed_to_the_users_scope(
    world: World, pair: tuple[Resident, Resident]
) -> None:
    a, _b = pair
    data = resident_input(name="张三", gender="male", birth_date=date(1980, 5, 17))
    everyone = resident_possible_duplicates(data)
    assert everyone == [a]
    assert residents_visible(user=world.users["officer"], residents=everyone) == [a]
    assert residents_visible(user=world.users["neighbour"], residents=everyone) == []


def test_search_pages_cost_the_same_queries_however_long(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    for i in range(3):
        register(f"王{i}", world.dwelling_a, sequence=31 + 2 * i)
    officer = world.users["officer"]
    officer.role  # noqa: B018  # the user's row is loaded; scope is cached below
    resident_list(user=officer)

    def run() -> None:
        page = resident_search(user=officer, q="wang").page
        for r in page:
            for residence in r.current:  # type: ignore[attr-defined]
                _ = residence.dwelling.grid.beat.name
            _ = list(r.tags)  # type: ignore[attr-defined]

    # count, page, current residences (with dwelling, grid, beat), care tags
    with django_assert_num_queries(4):
        run()
    for i in range(3, 8):
        register(f"王{i}", world.dwelling_a, sequence=31 + 2 * i)
    with django_assert_num_queries(4):
        run()


def test_a_broad_search_counts_up_to_the_cap(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from safecommunity.people import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    for i in range(3):
        register(f"王{i}", world.dwelling_a, sequence=41 + 2 * i)
    search = resident_search(user=world.users["officer"], q="wang", per_page=1)
    assert search.page.paginator.count == 2 and search.capped
    narrow = resident_search(user=world.users["officer"], q="王0")
    assert narrow.page.paginator.count == 1 and not narrow.capped
