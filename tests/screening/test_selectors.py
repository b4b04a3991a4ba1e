"""Who may screen and review, and what each user sees of lists, runs, matches, tasks and
merge candidates: out of scope is a 404, lists are read in a fixed number of queries."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.http import Http404

from safecommunity.accounts.models import User
from safecommunity.people.models import Resident
from safecommunity.people.services import residence_move_in
from safecommunity.places.models import Dwelling
from safecommunity.screening import selectors
from safecommunity.screening.models import (
    Band,
    Decision,
    Match,
    RiskList,
    RunStatus,
    ScreeningRun,
)
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


def moved(resident: Resident, dwelling: Dwelling) -> Resident:
    """``resident`` after moving into ``dwelling`` (their path is the new beat's)."""
    residence_move_in(
        resident=resident,
        dwelling=dwelling,
        since=date(2025, 1, 1),
        relation="tenant",
        registered=False,
        actor=None,
    )
    return Resident.objects.get(pk=resident.pk)


def test_a_pair_side_outside_the_scope_is_withheld(duplicates: Duplicates) -> None:
    """The officer of beat A sees both pairs through their beat-A side; the other side lives
    in beat B or in 河北区, outside his scope: he gets None for it, not the resident."""
    population = duplicates.population
    users = population.world.users
    run = deduplicated(users["officer"])
    pairs = list(selectors.merge_candidates(user=users["officer"], run=run))
    assert len(pairs) == 2
    for pair in pairs:
        sides = selectors.pair_sides(users["officer"], pair)
        shown = [side for side in sides if side is not None]
        assert [side.pk for side in shown] in (
            [population.zhang.pk],
            [duplicates.wang_again.pk],
        ), sides
        assert None in sides
    # The district covers both 张伟s, one 王芳; the administrator everything.
    for pair in selectors.merge_candidates(user=users["district"], run=run):
        sides = selectors.pair_sides(users["district"], pair)
        hidden = population.wang.pk in (pair.resident_id, pair.other_id)
        assert (None in sides) == hidden
    for pair in selectors.merge_candidates(user=users["admin"], run=run):
        assert None not in selectors.pair_sides(users["admin"], pair)


def test_matches_follow_where_the_resident_lives_now(
    population: Population, station_run: ScreeningRun
) -> None:
    """A match is seen by the scope the resident lives in now, not where they lived when the
    run matched them: 张伟 moves to 河北区 and leaves the station's review; 王芳, matched
    while in 河北区, moves into beat B and joins it."""
    station = population.station
    zhang = Match.objects.get(run=station_run, record__line=2, rank=1)
    wang = Match.objects.create(
        run=station_run,
        record=station_run.risk_list.records.get(line=4),  # type: ignore[union-attr]
        resident=population.wang,
        path=population.wang.path,
        band=Band.POSSIBLE,
        weight=1.0,
        probability=0.3,
        explanation={},
    )
    assert 4 not in [r.line for r in selectors.run_records(user=station, run=station_run)]
    moved(population.zhang, population.dwelling_c)
    moved(population.wang, population.world.dwelling_b)
    lines = [r.line for r in selectors.run_records(user=station, run=station_run)]
    assert 2 not in lines and 4 in lines
    with pytest.raises(Http404):
        selectors.match_get(user=station, pk=zhang.pk)
    assert selectors.match_get(user=station, pk=wang.pk) == wang
    # The frozen paths still say where they were matched.
    assert Match.objects.get(pk=zhang.pk).path == population.world.dwelling_a.path


def test_tasks_follow_where_the_resident_lives_now(
    population: Population, station_run: ScreeningRun
) -> None:
    """张伟's task is beat A's; once he lives in beat B it is beat B's, for listing and for
    completing (``task_get``)."""
    users = population.world.users
    match = Match.objects.get(run=station_run, record__line=2, rank=1)
    match_review(actor=users["station"], match=match, decision=Decision.CONFIRMED)
    task = selectors.tasks(user=users["officer"]).get()
    moved(population.zhang, population.world.dwelling_b)
    assert not selectors.tasks(user=users["officer"]).exists()
    with pytest.raises(Http404):
        selectors.task_get(user=users["officer"], pk=task.pk)
    assert list(selectors.tasks(user=users["neighbour"])) == [task]
    assert selectors.task_get(user=users["neighbour"], pk=task.pk) == task


def test_pairs_follow_where_the_residents_live_now(duplicates: Duplicates) -> None:
    """The second 王芳 lived in beat A when the district's run paired her with the first (in
    河北区); once she too lives in 河北区, the pair is no longer the district's."""
    population = duplicates.population
    district = population.world.users["district"]
    run = deduplicated(district)
    pair = Match.objects.get(run=run, resident__name="王芳")
    assert selectors.match_get(user=district, pk=pair.pk) == pair
    moved(duplicates.wang_again, population.dwelling_c)
    names = {p.resident.name for p in selectors.merge_candidates(user=district, run=run)}
    assert names == {"张伟"}
    with pytest.raises(Http404):
        selectors.match_get(user=district, pk=pair.pk)


@pytest.mark.parametrize(
    ("status", "refused"),
    [
        (RunStatus.QUEUED, "not finished yet"),
        (RunStatus.RUNNING, "not finished yet"),
        (RunStatus.FAILED, "failed"),
        (RunStatus.DONE, None),
    ],
)
def test_results_exist_once_the_run_is_done(
    station_run: ScreeningRun, status: str, refused: str | None
) -> None:
    station_run.status = status
    refusal = selectors.results_refusal(station_run)
    if refused is None:
        assert refusal is None
    else:
        assert refusal is not None and refused in refusal
