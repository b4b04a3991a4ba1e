"""Baseline counts (底数): exact per grid, rolled up the tree, scoped, on the page and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from safecommunity.people import metrics as people_metrics
from safecommunity.people.baseline import (
    COUNT_FIELDS,
    ZERO,
    Counts,
    baseline_for,
    baseline_rebuild,
    baseline_refresh,
    baseline_roll_day,
    grid_counts,
    live_counts,
    rollup,
)
from safecommunity.people.models import BaselineRollup, Relation, Residence, Resident
from safecommunity.people.services import (
    care_tag_add,
    dwelling_verify,
    residence_move_in,
    residence_move_out,
    resident_create,
    resident_input,
)
from safecommunity.places import metrics
from safecommunity.places.models import Beat, Building, Compound, Dwelling, Entrance, Grid
from tests.conftest import World, client_for

NOW = timezone.now()


def _dwelling(grid: Grid, name: str) -> Dwelling:
    compound = Compound.objects.create(
        grid=grid, name=name, address=f"{name}路1号", path=grid.path, lat=39.1, lng=117.1
    )
    building = Building.objects.create(compound=compound, number="1", path=grid.path)
    entrance = Entrance.objects.create(building=building, number="1", path=grid.path)
    return Dwelling.objects.create(
        entrance=entrance,
        grid=grid,
        number="101",
        floor=1,
        standard_address=f"{name}1号楼1门101",
        path=grid.path,
        lat=39.1,
        lng=117.1,
    )


def _resident(
    name: str,
    dwelling: Dwelling | None = None,
    *,
    relation: str = Relation.OWNER,
    registered: bool = True,
) -> Resident:
    return resident_create(
        data=resident_input(name=name, gender="female", birth_date=date(1960, 5, 1)),
        actor=None,
        dwelling=dwelling,
        since=date(2020, 1, 1),
        relation=relation,
        registered=registered,
    )


@dataclass
class Population:
    world: World
    expected: dict[str, Counts]


@pytest.fixture
def population(world: World) -> Population:
    """Grid A: an owner's family (one floating), a rented flat, a vacant flat that someone
    left; grid B: two tenants, one moved over from grid A; grid C: one owner."""
    a2 = _dwelling(world.grid_a, "学府南苑")
    a3 = _dwelling(world.grid_a, "学府北苑")
    dwelling_c = Dwelling.objects.get(grid=world.grid_c)

    owner = _resident("张三", world.dwelling_a)
    _resident("李四", world.dwelling_a, relation=Relation.OWNER_FAMILY, registered=False)
    _resident("王五", a2, relation=Relation.TENANT, registered=False)
    leaver = _resident("赵六", a3)
    residence_move_out(resident=leaver, until=date(2024, 6, 1), actor=None)
    tenant_b = _resident("钱七", world.dwelling_b, relation=Relation.TENANT)
    mover = _resident("孙八", a2, relation=Relation.TENANT, registered=False)
    residence_move_in(
        resident=mover,
        dwelling=world.dwelling_b,
        since=date(2024, 1, 1),
        relation=Relation.TENANT,
        registered=False,
        actor=None,
    )
    _resident("周九", dwelling_c)
    homeless = _resident("吴十")  # no residence: counted nowhere, care tag or not

    care_tag_add(resident=owner, kind="elderly_alone", actor=None)
    care_tag_add(resident=tenant_b, kind="disability", actor=None)
    care_tag_add(resident=tenant_b, kind="other", actor=None)  # still one resident
    care_tag_add(resident=homeless, kind="other", actor=None)

    dwelling_verify(dwelling=world.dwelling_a, actor=None, method="visit", at=NOW - timedelta(200))
    dwelling_verify(dwelling=world.dwelling_a, actor=None, method="visit", at=NOW - timedelta(10))
    dwelling_verify(dwelling=world.dwelling_b, actor=None, method="phone", at=NOW - timedelta(60))
    dwelling_verify(dwelling=dwelling_c, actor=None, method="visit", at=NOW - timedelta(400))

    # The services do not call baseline_refresh yet (the lead wires it): rebuild once here,
    # and test_the_services_keep_the_rollup_current says when that changes.
    baseline_rebuild()
    expected = {
        world.grid_a.path: Counts(
            residents=3,
            registered=1,
            dwellings=3,
            occupied=2,
            rented=1,
            care_tagged=1,
            verified_30d=1,
            verified_90d=1,
            verified_365d=1,
        ),
        world.grid_b.path: Counts(
            residents=2,
            registered=1,
            dwellings=1,
            occupied=1,
            rented=1,
            care_tagged=1,
            verified_90d=1,
            verified_365d=1,
        ),
        world.grid_c.path: Counts(residents=1, registered=1, dwellings=1, occupied=1),
    }
    return Population(world, expected)


def test_it_counts_every_grid_exactly(population: Population) -> None:
    counts = grid_counts(user=population.world.users["admin"], now=NOW)
    assert counts == population.expected
    grid_a = counts[population.world.grid_a.path]
    assert (grid_a.floating, grid_a.vacant) == (2, 1)


def test_a_dwelling_verified_long_ago_counts_for_no_period(population: Population) -> None:
    later = NOW + timedelta(days=40)  # dwelling A's latest stamp is now 50 days old
    counts = grid_counts(user=population.world.users["admin"], now=later)
    grid_a = counts[population.world.grid_a.path]
    assert (grid_a.verified_30d, grid_a.verified_90d, grid_a.verified_365d) == (0, 1, 1)


def test_each_level_is_the_sum_of_its_children(population: Population) -> None:
    world = population.world
    city_user = world.users["city"]
    totals = rollup(grid_counts(user=city_user, now=NOW))
    a, b, c = (population.expected[g.path] for g in (world.grid_a, world.grid_b, world.grid_c))
    assert totals[world.community.path] == a + b
    assert totals[world.subdistrict.path] == a + b
    assert totals[world.district.path] == a + b
    assert totals[world.other_district.path] == c
    assert totals[world.city.path] == a + b + c
    for path in (world.city.path, world.district.path, world.subdistrict.path):
        table = baseline_for(user=city_user, path=path, now=NOW)
        assert table.totals == sum((row.counts for row in table.rows), ZERO) == totals[path]


def test_the_city_table_has_one_row_per_district(population: Population) -> None:
    table = baseline_for(user=population.world.users["city"], now=NOW)
    assert table.node.path == population.world.city.path
    assert [(r.place.name, r.counts.residents) for r in table.rows] == [
        ("南开区", 5),
        ("河北区", 1),
    ]
    assert table.child_kind == "district"


def test_the_community_table_has_one_row_per_beat(population: Population) -> None:
    world = population.world
    table = baseline_for(user=world.users["district"], path=world.community.path, now=NOW)
    assert [(r.place.name, r.counts.residents, r.drill) for r in table.rows] == [
        ("学府一警务区", 3, False),
        ("学府二警务区", 2, False),
    ]
    assert [p.name for p in table.ancestors] == ["天津市", "南开区", "万兴街道"]


def test_the_neighbour_sees_only_beat_b(population: Population) -> None:
    world = population.world
    neighbour = world.users["neighbour"]
    table = baseline_for(user=neighbour, now=NOW)
    assert table.node.path == world.beat_b.path
    assert table.totals == population.expected[world.grid_b.path]
    # Above the beat, the tables hold beat B alone.
    community = baseline_for(user=neighbour, path=world.community.path, now=NOW)
    assert [r.place.path for r in community.rows] == [world.beat_b.path]
    assert community.totals == population.expected[world.grid_b.path]
    city = baseline_for(user=neighbour, path=world.city.path, now=NOW)
    assert [r.place.name for r in city.rows] == ["南开区"]
    assert city.totals == population.expected[world.grid_b.path]
    with pytest.raises(Http404):
        baseline_for(user=neighbour, path=world.beat_a.path)
    with pytest.raises(Http404):
        baseline_for(user=neighbour, path=world.other_district.path)


@pytest.mark.parametrize("path", ["12.01.99", "nonsense", "12", "12.01.04.003.017.001.9", "'; --"])
def test_it_answers_404_for_unknown_or_malformed_paths(population: Population, path: str) -> None:
    with pytest.raises(Http404):
        baseline_for(user=population.world.users["admin"], path=path)


def test_a_station_user_counts_only_their_beats(population: Population) -> None:
    world = population.world
    table = baseline_for(user=world.users["station"], now=NOW)
    assert (
        table.totals
        == population.expected[world.grid_a.path] + population.expected[world.grid_b.path]
    )


def test_it_answers_in_a_fixed_number_of_queries(population: Population) -> None:
    user = population.world.users["city"]
    for path in (None, population.world.community.path):
        with CaptureQueriesContext(connection) as queries:
            baseline_for(user=user, path=path, now=NOW)
        assert len(queries) <= 8


def test_the_page_shows_the_table_with_drill_down_links(population: Population) -> None:
    world = population.world
    response = client_for(world.users["district"]).get(reverse("people:baseline"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "万兴街道" in body
    assert f"?path={world.subdistrict.path}" in body
    response = client_for(world.users["district"]).get(
        reverse("people:baseline"), {"path": world.community.path}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "学府一警务区" in response.content.decode()


def test_the_page_answers_404_outside_the_jurisdiction(population: Population) -> None:
    world = population.world
    client = client_for(world.users["neighbour"])
    url = reverse("people:baseline")
    assert client.get(url, {"path": world.beat_a.path}).status_code == 404
    assert client.get(url, {"path": world.other_district.path}).status_code == 404
    assert client.get(url, {"path": "<script>"}).status_code == 404
    assert client.get(url).status_code == 200


def test_the_page_needs_a_login(population: Population) -> None:
    from django.test import Client

    response = Client().get(reverse("people:baseline"))
    assert response.status_code == 302


def test_the_api_returns_the_same_table(population: Population) -> None:
    world = population.world
    client = client_for(world.users["city"])
    response = client.get("/api/v1/people/baseline", {"path": world.district.path})
    assert response.status_code == 200
    data = response.json()
    assert data["place"]["name"] == "南开区"
    assert data["child_kind"] == "subdistrict"
    assert data["totals"]["residents"] == 5
    assert data["totals"]["floating"] == 3
    assert data["totals"]["vacant"] == 1
    assert [row["place"]["name"] for row in data["rows"]] == ["万兴街道"]


def test_the_api_answers_404_out_of_scope_and_422_for_a_malformed_path(
    population: Population,
) -> None:
    world = population.world
    client = client_for(world.users["neighbour"])
    url = "/api/v1/people/baseline"
    assert client.get(url, {"path": world.beat_a.path}).status_code == 404
    assert client.get(url, {"path": "x.y"}).status_code == 422
    assert client.get(url).json()["place"]["path"] == world.beat_b.path


def test_the_map_metrics_count_per_beat(population: Population) -> None:
    world = population.world
    people_metrics.register_metrics()
    beats = Beat.objects.all()
    wanted = {
        "residents": (3, 2, 1),
        "floating_residents": (2, 1, 0),
        "vacant_dwellings": (1, 0, 0),
        "care_tagged": (1, 1, 0),
        "verified_90d": (1, 1, 0),
    }
    for key, (a, b, c) in wanted.items():
        metric = metrics.get(key)
        assert metric is not None, key
        values = metric.compute(beats)
        assert values.get(world.beat_a.pk, 0) == a, key
        assert values.get(world.beat_b.pk, 0) == b, key
        assert values.get(world.beat_c.pk, 0) == c, key
    # Scoped beats: only those.
    only_b = metrics.get("residents")
    assert only_b is not None
    assert only_b.compute(Beat.objects.filter(pk=world.beat_b.pk)) == {world.beat_b.pk: 2.0}


def test_a_world_without_residents_counts_its_dwellings_vacant(world: World) -> None:
    # Dwellings created through places, which does not refresh the rollup: a rebuild does.
    baseline_rebuild()
    table = baseline_for(user=world.users["city"], now=NOW)
    assert table.totals.residents == 0
    assert table.totals.dwellings == 3
    assert table.totals.vacant == 3


def _stored() -> dict[str, Counts]:
    rows = BaselineRollup.objects.values_list("path", *COUNT_FIELDS)
    return {
        path: Counts(**dict(zip(COUNT_FIELDS, values, strict=True)))
        for path, *values in rows
        if any(values)
    }


def test_a_refresh_recounts_only_the_grids_it_is_given(population: Population) -> None:
    world = population.world
    mover = Resident.objects.get(name="王五")  # the tenant in grid A
    # A change behind the services' back (as a bulk repair would make): nothing refreshed.
    target = Dwelling.objects.get(grid=world.grid_c)
    Residence.objects.filter(resident=mover, until__isnull=True).update(
        dwelling=target, path=target.path
    )
    Resident.objects.filter(pk=mover.pk).update(path=target.path)
    baseline_refresh(paths=[world.grid_a.path])
    stored = _stored()
    assert stored[world.grid_a.path] == live_counts()[world.grid_a.path]
    assert stored[world.grid_c.path].residents == 1  # not refreshed yet
    baseline_refresh(paths=[world.grid_c.path, "", world.grid_c.path])
    assert _stored() == live_counts()
    counts = grid_counts(user=world.users["admin"], now=NOW)
    assert counts[world.grid_a.path].rented == 0
    assert counts[world.grid_c.path].rented == 1


def test_the_verified_figures_are_recounted_on_a_new_day(population: Population) -> None:
    world = population.world
    later = NOW + timedelta(days=40)
    assert baseline_roll_day(now=later) == 3
    assert baseline_roll_day(now=later) == 0  # already counted for that day
    stored = BaselineRollup.objects.get(path=world.grid_a.path)
    assert (stored.verified_30d, stored.verified_90d, stored.verified_365d) == (0, 1, 1)
    assert stored.residents == 3


def test_a_rebuild_repairs_a_damaged_rollup(population: Population) -> None:
    BaselineRollup.objects.update(residents=999)
    BaselineRollup.objects.create(path="12.01.99.001.001.001", residents=5)
    assert baseline_rebuild() == 3
    assert _stored() == live_counts()


def test_the_services_keep_the_rollup_current(world: World) -> None:
    baseline_rebuild()
    resident = _resident("郑十一", world.dwelling_a, relation=Relation.TENANT)
    care_tag_add(resident=resident, kind="other", actor=None)
    assert _stored() == live_counts()
    residence_move_in(
        resident=resident,
        dwelling=world.dwelling_b,
        since=date(2024, 2, 1),
        relation=Relation.TENANT,
        registered=True,
        actor=None,
    )
    assert _stored() == live_counts()
    residence_move_out(resident=resident, until=date(2024, 3, 1), actor=None)
    assert _stored() == live_counts()


def test_the_worker_recounts_the_verified_figures_when_the_day_changes(world: World) -> None:
    import io

    import time_machine
    from django.core.management import call_command

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        dwelling_verify(dwelling=world.dwelling_a, actor=None, method="visit")
        assert BaselineRollup.objects.get(path=world.grid_a.path).verified_30d == 1
    with time_machine.travel(start + timedelta(days=40), tick=False):
        out = io.StringIO()
        call_command("worker", "--once", stdout=out, stderr=io.StringIO())
        stored = BaselineRollup.objects.get(path=world.grid_a.path)
        assert (stored.verified_30d, stored.verified_90d) == (0, 1)
        assert "recounted the verified figures" in out.getvalue()
