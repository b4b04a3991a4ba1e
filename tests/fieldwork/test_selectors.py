"""Campaign coverage: per beat, rolled up to every division, limited to the user's part of
the campaign, in a fixed number of queries; the route sheet in walking order."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from safecommunity.fieldwork import selectors, services
from safecommunity.fieldwork.models import Campaign
from safecommunity.places.models import Building, Compound, Dwelling, Entrance
from tests.conftest import World
from tests.fieldwork.conftest import hours_ago


def _met(world: World, dwelling: Dwelling, user: str = "district") -> None:
    services.visit_record(
        actor=world.users[user],
        dwelling=dwelling,
        client_uuid=uuid.uuid4(),
        outcome="met",
        visited_at=hours_ago(2),
    )


def _city_campaign(world: World) -> Campaign:
    today = timezone.localdate()
    return services.campaign_create(
        actor=world.users["admin"],
        name="全市走访",
        path=world.city.path,
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=10),
    )


def test_it_rolls_coverage_up_from_beats_to_the_city(world: World) -> None:
    campaign = _city_campaign(world)
    _met(world, world.dwelling_a)
    coverage = selectors.campaign_coverage(user=world.users["admin"], campaign=campaign)
    assert coverage.roots == [world.city.path]
    assert (coverage.target, coverage.visited) == (3, 1)
    rows = coverage.rows
    assert (rows[world.district.path].target, rows[world.district.path].visited) == (2, 1)
    assert (rows[world.other_district.path].target, rows[world.other_district.path].visited) == (
        1,
        0,
    )
    assert rows[world.community.path].children == [world.beat_a.path, world.beat_b.path]
    assert rows[world.beat_a.path].percent == 100.0
    assert [r.path for r in coverage.children(world.city.path)] == [
        world.district.path,
        world.other_district.path,
    ]


def test_a_beat_user_sees_only_their_beat_of_a_city_campaign(world: World) -> None:
    campaign = _city_campaign(world)
    _met(world, world.dwelling_b)
    coverage = selectors.campaign_coverage(user=world.users["officer"], campaign=campaign)
    assert coverage.roots == [world.beat_a.path]
    assert set(coverage.rows) == {world.beat_a.path}
    assert (coverage.target, coverage.visited) == (1, 0)


def test_a_station_user_sees_the_beats_of_the_station(world: World) -> None:
    campaign = _city_campaign(world)
    coverage = selectors.campaign_coverage(user=world.users["station"], campaign=campaign)
    assert coverage.roots == [world.beat_a.path, world.beat_b.path]
    assert coverage.target == 2


def test_coverage_takes_the_same_queries_whatever_the_size(world: World) -> None:
    campaign = _city_campaign(world)
    user = world.users["city"]
    with CaptureQueriesContext(connection) as queries:
        selectors.campaign_coverage(user=user, campaign=campaign)
    # The city division (scope), target, visited, beats, divisions.
    assert len(queries) <= 5


def test_campaigns_are_listed_to_users_inside_or_above_their_scope(world: World) -> None:
    city = _city_campaign(world)
    today = timezone.localdate()
    beat_b = services.campaign_create(
        actor=world.users["neighbour"],
        name="B",
        path=world.beat_b.path,
        starts_on=today,
        ends_on=today,
    )
    assert set(selectors.campaign_list(user=world.users["officer"])) == {city}
    assert set(selectors.campaign_list(user=world.users["district"])) == {city, beat_b}
    assert set(selectors.campaign_list(user=world.users["neighbour"])) == {city, beat_b}


def test_the_route_sheet_lists_unvisited_dwellings_in_walking_order(world: World) -> None:
    campaign = _city_campaign(world)
    entrance = world.dwelling_a.entrance
    compound = entrance.building.compound
    building_10 = Building.objects.create(compound=compound, number="10", path=compound.path)
    building_2 = Building.objects.create(compound=compound, number="2", path=compound.path)
    made = {}
    for building in (building_10, building_2):
        door = Entrance.objects.create(building=building, number="1", path=compound.path)
        for number in ("1201", "301"):
            made[(building.number, number)] = Dwelling.objects.create(
                entrance=door,
                grid=world.grid_a,
                number=number,
                standard_address=f"学府花园{building.number}号楼1门{number}",
                path=world.grid_a.path,
                lat=39.105,
                lng=117.105,
            )
    other = Compound.objects.create(
        grid=world.grid_a,
        name="学府佳园",
        address="x",
        path=world.grid_a.path,
        lat=39.105,
        lng=117.105,
    )
    assert other  # a compound without dwellings changes nothing
    _met(world, world.dwelling_a, user="grid")
    sheet = selectors.campaign_unvisited(
        user=world.users["grid"], campaign=campaign, beat=world.beat_a
    )
    assert sheet == [
        made[("2", "301")],
        made[("2", "1201")],
        made[("10", "301")],
        made[("10", "1201")],
    ]


def test_the_route_sheet_of_a_beat_out_of_scope_is_not_found(world: World) -> None:
    from django.http import Http404

    campaign = _city_campaign(world)
    with pytest.raises(Http404):
        selectors.campaign_unvisited(user=world.users["grid"], campaign=campaign, beat=world.beat_b)
