"""Who may screen and review, and what each user sees of lists, runs, matches, tasks and
merge candidates: out of scope is a 404, lists are read in a fixed number of queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.http import Http404

from safecommunity.accounts.models import User
from safecommunity.screening import selectors
from safecommunity.screening.models import Band, Decision, Match, RiskList, ScreeningRun
from safecommunity.screening.services import match_review
from tests.conftest import World
from tests.screening.conftest import (
    Duplicates,
    Population,
    deduplicated,
    imported,
    list_rows,
    screened,
    write_csv,
)


def test_who_may_screen_and_review(world: World) -> None:
    users = world.users
    screeners = {name for name, user in users.items() if selectors.may_screen(user)}
    assert screeners == {
        "admin",
        "city",
        "district",
        "station",
        "officer",
        "neighbour",
        "other_district",
    }
    reviewers = {name for name, user in users.items() if selectors.may_review(user)}
    assert reviewers == screeners - {"city"}  # a city analyst sees aggregates, not names


def test_a_city_analyst_granted_names_may_review(world: World) -> None:
    city = world.users["city"]
    city.user_permissions.add(Permission.objects.get(codename="view_names"))
    city = User.objects.get(pk=city.pk)  # permissions are cached per object
    assert selectors.may_review(city)


@pytest.fixture
def lists(population: Population, tmp_path: Path) -> dict[str, RiskList]:
    users = population.world.users
    path = write_csv(tmp_path / "l.csv", list_rows())
    return {name: imported(users[name], path) for name in ("station", "officer", "admin")}


def visible(user: User) -> set[int]:
    return set(selectors.risk_lists(user=user).values_list("pk", flat=True))


def test_a_list_is_seen_by_its_creator_and_who_covers_its_scope(
    population: Population, lists: dict[str, RiskList]
) -> None:
    users = population.world.users
    station, officer, admin = lists["station"].pk, lists["officer"].pk, lists["admin"].pk
    assert visible(users["station"]) == {station, officer}  # beat A is the station's
    assert visible(users["officer"]) == {officer}
    assert visible(users["district"]) == {station, officer}
    assert visible(users["city"]) == {station, officer}
    assert visible(users["admin"]) == {station, officer, admin}
    assert visible(users["neighbour"]) == set()  # beat B does not cover the station's
    assert visible(users["other_district"]) == set()
    assert visible(users["worker"]) == set()  # community workers do not screen
    with pytest.raises(Http404):
        selectors.risk_list_get(user=users["neighbour"], pk=station)
    with pytest.raises(Http404):
        selectors.risk_list_get(user=users["station"], pk=2**70)
    assert selectors.risk_list_get(user=users["district"], pk=station).pk == station


@pytest.fixture
def station_run(population: Population, lists: dict[str, RiskList]) -> ScreeningRun:
    return screened(population.station, lists["station"])


def test_runs_follow_the_same_rule(population: Population, station_run: ScreeningRun) -> None:
    users = population.world.users
    assert list(selectors.runs(user=users["district"])) == [station_run]
    assert not selectors.runs(user=users["officer"]).exists()
    with pytest.raises(Http404):
        selectors.run_get(user=users["other_district"], pk=station_run.pk)


def test_run_records_lists_in_scope_candidates_in_three_queries(
    population: Population,
    station_run: ScreeningRun,
    django_assert_num_queries: Any,
) -> None:
    user = population.world.users["district"]
    with django_assert_num_queries(3):
        records: list[Any] = list(selectors.run_records(user=user, run=station_run))
        for record in records:
            for match in record.candidates:
                _ = (match.resident.name, match.review if hasattr(match, "review") else None)
                current = match.resident.current[0]
                _ = (current.dwelling.standard_address, current.dwelling.grid.beat.name)
    assert [r.line for r in records] == [2, 3]
    zhang = records[0].candidates[0]
    assert zhang.resident == population.zhang and zhang.rank == 1
    assert zhang.resident.current[0].dwelling.grid.beat.name == "学府一警务区"


def test_run_records_filter_by_band_and_decision(
    population: Population, station_run: ScreeningRun
) -> None:
    station = population.station
    assert not selectors.run_records(user=station, run=station_run, band=Band.POSSIBLE).exists()
    certain = selectors.run_records(user=station, run=station_run, band=Band.CERTAIN)
    assert [r.line for r in certain] == [2, 3]
    match = Match.objects.get(run=station_run, record__line=2, rank=1)
    match_review(actor=station, match=match, decision=Decision.REJECTED)
    undecided = selectors.run_records(user=station, run=station_run, undecided=True)
    assert [r.line for r in undecided] == [3]


def test_a_user_sees_only_the_candidates_in_their_scope(
    population: Population, lists: dict[str, RiskList]
) -> None:
    """An administrator's run holds 王芳 (beat C) too; a match outside a user's scope is
    not shown and not found, even inside a run they may see."""
    users = population.world.users
    run = screened(users["station"], lists["station"])
    wang = Match.objects.create(
        run=run,
        record=lists["station"].records.get(line=4),
        resident=population.wang,
        path=population.wang.path,
        band=Band.POSSIBLE,
        weight=1.0,
        probability=0.3,
        explanation={},
    )
    assert 4 not in [r.line for r in selectors.run_records(user=users["district"], run=run)]
    with pytest.raises(Http404):
        selectors.match_get(user=users["district"], pk=wang.pk)
    zhang = Match.objects.get(run=run, record__line=2, rank=1)
    assert selectors.match_get(user=users["district"], pk=zhang.pk) == zhang
    with pytest.raises(Http404):  # the run is not theirs to see
        selectors.match_get(user=users["neighbour"], pk=zhang.pk)


def test_tasks_are_seen_by_the_beat_team_in_scope(
    population: Population, station_run: ScreeningRun
) -> None:
    users = population.world.users
    match = Match.objects.get(run=station_run, record__line=2, rank=1)
    match_review(actor=users["station"], match=match, decision=Decision.CONFIRMED)
    for name in ("officer", "grid", "worker", "station", "district"):
        assert selectors.tasks(user=users[name]).count() == 1, name
    assert not selectors.tasks(user=users["neighbour"]).exists()
    task = selectors.tasks(user=users["officer"], status="open").get()
    assert selectors.task_get(user=users["grid"], pk=task.pk) == task
    with pytest.raises(Http404):
        selectors.task_get(user=users["neighbour"], pk=task.pk)
    assert not selectors.tasks(user=users["officer"], status="done").exists()


def test_merge_candidates_show_pairs_touching_the_scope(duplicates: Duplicates) -> None:
    population = duplicates.population
    users = population.world.users
    run = deduplicated(users["district"])
    pairs = list(selectors.merge_candidates(user=users["district"], run=run))
    assert {frozenset((p.resident_id, p.other_id)) for p in pairs} == {
        frozenset((population.zhang.pk, duplicates.zhang_again.pk)),
        frozenset((population.wang.pk, duplicates.wang_again.pk)),
    }
    by_name = {p.resident.name: p for p in pairs}
    assert selectors.may_merge(users["district"], by_name["张伟"])  # both in 南开区
    assert not selectors.may_merge(users["district"], by_name["王芳"])  # one in 河北区
    assert not selectors.may_merge(users["city"], by_name["张伟"])  # sees no names
    # The officer of beat A sees both pairs' beat-A side, but may merge neither.
    officer_pairs = selectors.merge_candidates(user=users["officer"], run=run)
    assert officer_pairs.count() == 2
    assert not any(selectors.may_merge(users["officer"], p) for p in officer_pairs)
    assert (
        not selectors.merge_candidates(user=users["district"], run=run)
        .filter(record__isnull=False)
        .exists()
    )
