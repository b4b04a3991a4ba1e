"""Place selectors: every read is already narrowed to the user's scope."""

from __future__ import annotations

import json

import pytest
from django.http import Http404
from pytest_django import DjangoAssertNumQueries

from safecommunity.accounts.scope import scope_for
from safecommunity.places.geo import invalidate_locator
from safecommunity.places.selectors import (
    beat_at_for,
    beat_get,
    beat_list,
    beats_geojson,
    beats_of_division,
    division_ancestors,
    division_children,
    division_get,
    division_list,
    dwelling_list,
    office_get,
    office_list,
    station_get,
    station_list,
    tree_roots,
)
from tests.conftest import World


@pytest.fixture(autouse=True)
def _fresh_locator() -> None:
    invalidate_locator()


def test_it_gets_a_division_in_scope_and_hides_one_outside(world: World) -> None:
    district = world.users["district"]

    assert division_get(user=district, pk=world.community.pk) == world.community
    with pytest.raises(Http404):
        division_get(user=district, pk=world.other_district.pk)
    with pytest.raises(Http404):
        division_get(user=district, pk=world.city.pk)


def test_it_lists_the_children_with_their_counts(world: World) -> None:
    children = list(division_children(user=world.users["city"], division=world.city))

    assert [c.code for c in children] == ["120104", "120105"]
    assert [c.n_children for c in children] == [1, 1]  # type: ignore[attr-defined]

    communities = list(division_children(user=world.users["city"], division=world.subdistrict))
    assert [(c.code, c.n_grids) for c in communities] == [("120104003017", 2)]  # type: ignore[attr-defined]


def test_it_hides_children_outside_the_scope(world: World) -> None:
    children = division_children(user=world.users["district"], division=world.city)

    assert [c.code for c in children] == ["120104"]


def test_it_lists_the_ancestors_for_breadcrumbs(world: World) -> None:
    assert division_ancestors(world.community) == [world.city, world.district, world.subdistrict]
    assert division_ancestors(world.city) == []


def test_it_gets_a_beat_in_scope_and_hides_one_outside(world: World) -> None:
    station = world.users["station"]

    assert beat_get(user=station, pk=world.beat_b.pk) == world.beat_b
    with pytest.raises(Http404):
        beat_get(user=station, pk=world.beat_c.pk)


def test_it_lists_the_beats_of_a_division_within_scope(world: World) -> None:
    assert set(beats_of_division(user=world.users["city"], division=world.district)) == {
        world.beat_a,
        world.beat_b,
    }
    assert list(beats_of_division(user=world.users["officer"], division=world.district)) == [
        world.beat_a
    ]


@pytest.mark.parametrize(
    ("username", "codes"),
    [("city", {"S-NK-01", "S-HB-01"}), ("neighbour", {"S-NK-01"}), ("other_district", {"S-HB-01"})],
)
def test_it_lists_the_stations_whose_beats_are_in_scope(
    world: World, username: str, codes: set[str]
) -> None:
    stations = station_list(user=world.users[username])

    assert {s.code for s in stations} == codes
    assert stations.count() == len(codes)  # no duplicates from the join


def test_it_hides_a_station_and_an_office_outside_the_scope(world: World) -> None:
    other = world.users["other_district"]

    with pytest.raises(Http404):
        station_get(user=other, pk=world.station.pk)
    with pytest.raises(Http404):
        office_get(user=other, pk=world.office.pk)
    assert office_get(user=world.users["neighbour"], pk=world.office.pk) == world.office
    assert list(office_list(user=other)) == []


def test_it_lists_dwellings_in_scope(world: World) -> None:
    assert list(dwelling_list(user=world.users["neighbour"])) == [world.dwelling_b]
    assert dwelling_list(user=world.users["city"]).count() == 3


def test_it_roots_the_place_browser_at_the_users_jurisdiction(world: World) -> None:
    assert tree_roots(user=world.users["admin"]).divisions == [world.city]
    assert tree_roots(user=world.users["district"]).divisions == [world.district]
    station_roots = tree_roots(user=world.users["station"])
    assert station_roots.divisions == []
    assert station_roots.beats == [world.beat_a, world.beat_b]
    assert tree_roots(user=world.users["officer"]).beats == [world.beat_a]


def test_it_finds_the_beat_at_a_point_in_scope(world: World) -> None:
    assert beat_at_for(user=world.users["officer"], lat=39.105, lng=117.105) == world.beat_a


def test_it_answers_404_for_a_point_in_a_beat_out_of_scope(world: World) -> None:
    with pytest.raises(Http404):
        beat_at_for(user=world.users["neighbour"], lat=39.105, lng=117.105)


def test_it_answers_404_for_a_point_on_no_beat(world: World) -> None:
    with pytest.raises(Http404):
        beat_at_for(user=world.users["city"], lat=30.0, lng=110.0)


def test_it_draws_only_the_beats_in_scope(world: World) -> None:
    document = json.loads(beats_geojson(user=world.users["neighbour"]))

    assert document["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in document["features"]] == ["B-B"]
    assert document["features"][0]["geometry"]["type"] == "Polygon"
    assert "value" not in document["features"][0]["properties"]


def test_it_colours_the_beats_by_a_metric(world: World) -> None:
    document = json.loads(beats_geojson(user=world.users["city"], metric="dwellings"))

    values = {f["properties"]["code"]: f["properties"]["value"] for f in document["features"]}
    assert values == {"B-A": 1, "B-B": 1, "B-C": 1}


def test_it_draws_a_city_in_one_query_plus_one_per_metric(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    city = world.users["city"]
    scope_for(city)  # the user's scope is computed once per request, before any list

    with django_assert_num_queries(1):
        beats_geojson(user=city)
    with django_assert_num_queries(2):
        beats_geojson(user=city, metric="dwellings")


def test_a_beat_list_costs_one_query_for_a_station_user(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    station = world.users["station"]
    scope_for(station)

    with django_assert_num_queries(1):
        assert len(list(beat_list(user=station))) == 2


def test_division_list_hides_everything_from_a_beat_user(world: World) -> None:
    assert list(division_list(user=world.users["grid"])) == []
