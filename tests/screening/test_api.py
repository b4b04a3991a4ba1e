"""Screening API: runs with their progress, the matches of a run per risk record, their
review, merge candidates and verification tasks — scoped (out of scope is a 404), 403
without the permission, a clear 400/422 for bad input, never a 500."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safecommunity.accounts.models import AuditEntry
from safecommunity.people.services import residence_move_in
from safecommunity.screening.models import (
    Decision,
    Match,
    Review,
    RunStatus,
    ScreeningRun,
    TaskStatus,
    VerificationTask,
)
from safecommunity.screening.services import dedup_enqueue, match_review, run_execute
from tests.apiclient import api_client, items
from tests.people.registry import register
from tests.screening.conftest import (
    LI_PHONE,
    ZHANG_ID,
    ZHANG_PHONE,
    Duplicates,
    Population,
    deduplicated,
    imported,
    list_rows,
    screened,
    write_csv,
)

BASE = "/api/v1/screening"


# Distinct given names for the residents that make a longer list.
GIVEN_NAMES = "甲乙丙丁戊己庚辛"


def post(client: Client, url: str, body: object) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def station_run(population: Population, tmp_path: Path) -> ScreeningRun:
    risk_list = imported(population.station, write_csv(tmp_path / "list.csv", list_rows()))
    return screened(population.station, risk_list)


def client(population: Population, who: str) -> Client:
    return api_client(population.world, who)


# --- runs ---------------------------------------------------------------------------------------


def test_it_lists_the_runs_in_scope(population: Population, tmp_path: Path) -> None:
    run = station_run(population, tmp_path)
    runs = items(client(population, "station").get(f"{BASE}/runs"))
    assert [r["id"] for r in runs] == [run.pk]
    assert runs[0]["kind"] == "screening" and runs[0]["status"] == "done"
    assert runs[0]["risk_list"]["id"] == run.risk_list_id
    assert runs[0]["bands"]["certain"] == run.certain
    assert items(client(population, "other_district").get(f"{BASE}/runs")) == []
    # A community worker does not screen: no runs.
    assert items(client(population, "worker").get(f"{BASE}/runs")) == []
    assert items(client(population, "station").get(f"{BASE}/runs?kind=deduplication")) == []
    assert len(items(client(population, "station").get(f"{BASE}/runs?status=done"))) == 1


def test_the_runs_list_refuses_bad_filters_and_pages(population: Population) -> None:
    station = client(population, "station")
    for query in ("kind=other", "status=lost", "limit=0", "limit=1000", "offset=-1"):
        assert station.get(f"{BASE}/runs?{query}").status_code == 422, query
    assert Client().get(f"{BASE}/runs").status_code == 401


def test_it_shows_a_run_with_its_progress(population: Population, tmp_path: Path) -> None:
    risk_list = imported(population.station, write_csv(tmp_path / "list.csv", list_rows()))
    from safecommunity.screening.services import run_enqueue

    run = run_enqueue(actor=population.station, risk_list=risk_list, purpose="排查")
    station = client(population, "station")
    body = station.get(f"{BASE}/runs/{run.pk}").json()
    assert body["status"] == "queued"
    assert body["progress"] == {"stage": "", "done": 0, "total": 0, "percent": 0}
    ScreeningRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, stage="screening", progress_done=1, progress_total=4
    )
    body = station.get(f"{BASE}/runs/{run.pk}").json()
    assert body["progress"] == {"stage": "screening", "done": 1, "total": 4, "percent": 25}
    assert body["purpose"] == "排查" and body["created_by"] == "station"


def test_a_run_out_of_scope_or_unknown_is_not_found(population: Population, tmp_path: Path) -> None:
    run = station_run(population, tmp_path)
    outsider = client(population, "other_district")
    for url in (
        f"{BASE}/runs/{run.pk}",
        f"{BASE}/runs/{run.pk}/matches",
        f"{BASE}/runs/{run.pk}/pairs",
        f"{BASE}/runs/99999999",
        f"{BASE}/runs/0",
        f"{BASE}/runs/{2**63}",
    ):
        assert outsider.get(url).status_code == 404, url
    assert client(population, "station").get(f"{BASE}/runs/{2**70}").status_code in (404, 422)


# --- matches ------------------------------------------------------------------------------------


def test_it_lists_the_records_with_their_candidates_and_explanations(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    records = items(client(population, "station").get(f"{BASE}/runs/{run.pk}/matches"))
    by_name = {r["record"]["name"]: r for r in records}
    assert "王芳" not in by_name  # beat C: out of the station's scope
    zhang = by_name["张伟"]
    assert zhang["record"]["line"] == 2
    assert zhang["record"]["id_masked"] and ZHANG_ID not in json.dumps(records)
    candidate = zhang["candidates"][0]
    assert candidate["resident"]["id"] == population.zhang.pk
    assert candidate["resident"]["address"] == "学府花园1号楼1门101"
    assert candidate["resident"]["beat"] == "学府一警务区"
    assert candidate["resident"]["id_masked"] == population.zhang.id_masked
    assert candidate["band"] in ("certain", "probable", "possible")
    assert candidate["review"] is None and candidate["task_id"] is None
    fields = {e["field"]: e for e in candidate["explanation"]}
    assert fields["id"]["level"] == "exact" and fields["id"]["weight"] > 0
    assert LI_PHONE not in json.dumps(records)


def test_the_matches_filter_by_band_and_decision(population: Population, tmp_path: Path) -> None:
    run = station_run(population, tmp_path)
    station = client(population, "station")
    zhang = Match.objects.get(run=run, resident=population.zhang)
    for band in ("certain", "probable", "possible"):
        names = {
            r["record"]["name"]
            for r in items(station.get(f"{BASE}/runs/{run.pk}/matches?band={band}"))
        }
        assert ("张伟" in names) == (zhang.band == band), band
    match_review(actor=population.station, match=zhang, decision="confirmed")
    undecided = items(station.get(f"{BASE}/runs/{run.pk}/matches?undecided=true"))
    assert "张伟" not in {r["record"]["name"] for r in undecided}
    assert station.get(f"{BASE}/runs/{run.pk}/matches?band=sure").status_code == 422
    assert station.get(f"{BASE}/runs/{run.pk}/matches?limit=201").status_code == 422
    page = station.get(f"{BASE}/runs/{run.pk}/matches?limit=1&offset=1").json()
    assert len(page["items"]) == 1 and page["count"] >= 2


def test_a_city_analyst_reads_matches_with_names_masked(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    records = items(client(population, "city").get(f"{BASE}/runs/{run.pk}/matches"))
    text = json.dumps(records, ensure_ascii=False)
    assert "张*" in text and "张伟" not in text


def test_the_matches_cost_the_same_queries_for_few_or_many_records(
    population: Population, tmp_path: Path
) -> None:
    small = station_run(population, tmp_path)
    rows = list_rows()
    for i in range(6):
        resident = register(
            # Names without digits: a name holding one is refused by the list import.
            "陈" + GIVEN_NAMES[i],
            population.world.dwelling_a,
            born=date(1960, 1, 1 + i),
            sequence=101 + 2 * i,
        )
        rows.append([resident.name, "", "", f"1960-01-{1 + i:02d}", "男", "", ""])
    big = screened(
        population.station, imported(population.station, write_csv(tmp_path / "b.csv", rows))
    )
    station = client(population, "station")
    station.get(f"{BASE}/runs/{small.pk}/matches")
    with CaptureQueriesContext(connection) as few:
        small_items = items(station.get(f"{BASE}/runs/{small.pk}/matches"))
    with CaptureQueriesContext(connection) as many:
        big_items = items(station.get(f"{BASE}/runs/{big.pk}/matches"))
    assert len(big_items) > len(small_items)
    assert len(many) == len(few)


# --- review -------------------------------------------------------------------------------------


def test_it_confirms_a_match_and_creates_the_task(population: Population, tmp_path: Path) -> None:
    run = station_run(population, tmp_path)
    match = Match.objects.get(run=run, resident=population.zhang)
    response = post(
        client(population, "station"),
        f"{BASE}/matches/{match.pk}/review",
        {"decision": "confirmed", "note": "同一人"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["review"]["decision"] == "confirmed" and body["review"]["note"] == "同一人"
    assert body["review"]["reviewed_by"] == "station"
    task = VerificationTask.objects.get(match=match)
    assert body["task_id"] == task.pk
    assert body["resident"]["address"] == "学府花园1号楼1门101"
    # Changing the decision withdraws the open task.
    again = post(
        client(population, "station"), f"{BASE}/matches/{match.pk}/review", {"decision": "rejected"}
    )
    assert again.status_code == 200 and again.json()["task_id"] is None
    assert not VerificationTask.objects.exists()


def test_a_review_refuses_bad_input(population: Population, tmp_path: Path) -> None:
    run = station_run(population, tmp_path)
    match = Match.objects.get(run=run, resident=population.zhang)
    station = client(population, "station")
    url = f"{BASE}/matches/{match.pk}/review"
    assert post(station, url, {"decision": "maybe"}).status_code == 422
    assert post(station, url, {}).status_code == 422
    assert post(station, url, {"decision": "confirmed", "note": "x" * 1001}).status_code == 422
    assert station.post(url, data="not json", content_type="application/json").status_code in (
        400,
        422,
    )
    assert (
        post(station, f"{BASE}/matches/99999999/review", {"decision": "confirmed"}).status_code
        == 404
    )
    assert not Review.objects.exists()


def test_a_review_out_of_scope_is_not_found_and_without_permission_403(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    match = Match.objects.get(run=run, resident=population.zhang)
    url = f"{BASE}/matches/{match.pk}/review"
    assert (
        post(client(population, "other_district"), url, {"decision": "confirmed"}).status_code
        == 404
    )
    assert post(client(population, "neighbour"), url, {"decision": "confirmed"}).status_code == 404
    city = post(client(population, "city"), url, {"decision": "confirmed"})
    assert city.status_code == 403 and city.json()["detail"]
    assert not Review.objects.exists()


# --- pairs --------------------------------------------------------------------------------------


def test_it_lists_merge_candidates_saying_whether_they_may_be_merged(
    population: Population,
) -> None:
    twin = register(
        "张伟",
        population.world.dwelling_b,
        born=date(1985, 3, 12),
        sequence=11,
        phone=ZHANG_PHONE,
        with_id=False,
    )
    run = run_execute(dedup_enqueue(actor=population.station, purpose="数据质量核查", inline=True))
    pairs = items(client(population, "station").get(f"{BASE}/runs/{run.pk}/pairs"))
    assert len(pairs) == 1
    assert {pairs[0]["resident"]["id"], pairs[0]["other"]["id"]} == {population.zhang.pk, twin.pk}
    assert pairs[0]["mergeable"] is True and pairs[0]["record_id"] is None
    # A screening run has no pairs, a deduplication run no records.
    assert items(client(population, "station").get(f"{BASE}/runs/{run.pk}/matches")) == []
    pair = Match.objects.get(run=run)
    review = post(
        client(population, "station"), f"{BASE}/matches/{pair.pk}/review", {"decision": "confirmed"}
    )
    assert review.status_code == 400


def test_the_side_of_a_pair_outside_the_scope_is_only_said_to_exist(
    duplicates: Duplicates,
) -> None:
    """The officer of beat A gets both pairs through their beat-A side; of the other side
    (beat B, 河北区) only that it is there — no name, birth, address, beat, numbers or id."""
    population = duplicates.population
    run = deduplicated(population.world.users["officer"])
    pairs = items(client(population, "officer").get(f"{BASE}/runs/{run.pk}/pairs"))
    assert len(pairs) == 2
    text = json.dumps(pairs, ensure_ascii=False)
    hidden_ids = {population.wang.pk, duplicates.zhang_again.pk}
    for pair in pairs:
        sides = [pair["resident"], pair["other"]]
        outside = [side for side in sides if "outside_jurisdiction" in side]
        assert outside == [
            {
                "outside_jurisdiction": True,
                "detail": "A possible duplicate outside your jurisdiction",
            }
        ]
        inside = [side for side in sides if "id" in side]
        assert len(inside) == 1 and inside[0]["id"] not in hidden_ids
        assert inside[0]["beat"] == "学府一警务区"
        assert pair["mergeable"] is False
    assert population.wang.id_masked not in text
    assert "三戒里" not in text and "学府二警务区" not in text and "南开小区" not in text
    # The district covers both 张伟s: that pair is whole, 王芳's is not.
    district = items(client(population, "district").get(f"{BASE}/runs/{run.pk}/pairs"))
    whole = [p for p in district if "id" in p["resident"] and "id" in p["other"]]
    assert len(whole) == 1 and whole[0]["mergeable"] is True


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.FAILED])
def test_a_review_of_an_unfinished_run_is_refused(
    population: Population, tmp_path: Path, status: str
) -> None:
    run = station_run(population, tmp_path)
    match = Match.objects.get(run=run, resident=population.zhang)
    ScreeningRun.objects.filter(pk=run.pk).update(status=status)
    response = post(
        client(population, "station"),
        f"{BASE}/matches/{match.pk}/review",
        {"decision": "confirmed"},
    )
    assert response.status_code == 400
    assert ("failed" if status == RunStatus.FAILED else "not finished yet") in response.json()[
        "detail"
    ]
    assert not Review.objects.exists() and not VerificationTask.objects.exists()


def test_reading_matches_and_pairs_is_audited(population: Population, tmp_path: Path) -> None:
    run = station_run(population, tmp_path)
    station = client(population, "station")
    station.get(f"{BASE}/runs/{run.pk}/matches?band=certain&limit=5&offset=1")
    entry = AuditEntry.objects.get(action="screening.view")
    assert (entry.actor, entry.object_id, entry.reason) == (
        population.station,
        str(run.pk),
        run.purpose,
    )
    assert entry.detail == {
        "run": run.pk,
        "view": "api.matches",
        "band": "certain",
        "undecided": False,
        "limit": 5,
        "offset": 1,
    }
    dedup = run_execute(dedup_enqueue(actor=population.station, purpose="核查", inline=True))
    station.get(f"{BASE}/runs/{dedup.pk}/pairs")
    latest = AuditEntry.objects.filter(action="screening.view").latest("pk")
    assert latest.object_id == str(dedup.pk)
    assert latest.detail == {"run": dedup.pk, "view": "api.pairs", "limit": 50, "offset": 0}
    # A run out of scope is a 404, and nothing was read.
    client(population, "other_district").get(f"{BASE}/runs/{run.pk}/matches")
    assert AuditEntry.objects.filter(action="screening.view").count() == 2


def test_a_city_analyst_gets_the_birth_year_and_no_address_or_notes(
    population: Population, tmp_path: Path
) -> None:
    """As the registry's API: no date of birth but its year, no address, no notes."""
    run = station_run(population, tmp_path)
    match = Match.objects.get(run=run, resident=population.zhang)
    match_review(actor=population.station, match=match, decision="confirmed", note="同一人")
    records = items(client(population, "city").get(f"{BASE}/runs/{run.pk}/matches"))
    zhang = next(r for r in records if r["record"]["line"] == 2)
    assert zhang["record"]["name"] == "张*"
    assert zhang["record"]["birth_date"] is None and zhang["record"]["birth_year"] == 1985
    assert zhang["record"]["address"] == ""
    resident = zhang["candidates"][0]["resident"]
    assert resident["birth_date"] is None and resident["birth_year"] == 1985
    assert resident["address"] == "" and resident["beat"] == "学府一警务区"
    assert zhang["candidates"][0]["review"]["note"] is None
    text = json.dumps(records, ensure_ascii=False)
    for withheld in ("1985-03-12", "1990-07-01", "学府花园1号楼1门101", "同一人"):
        assert withheld not in text, withheld
    task = VerificationTask.objects.get()
    post(client(population, "grid"), f"{BASE}/tasks/{task.pk}/done", {"outcome": "已核实在住"})
    tasks = items(client(population, "city").get(f"{BASE}/tasks?status=done"))
    assert tasks[0]["outcome"] is None and tasks[0]["resident"]["address"] == ""
    # Whoever may see names gets it all.
    full = items(client(population, "station").get(f"{BASE}/runs/{run.pk}/matches"))
    full_zhang = next(r for r in full if r["record"]["line"] == 2)
    assert full_zhang["record"]["birth_date"] == "1985-03-12"
    assert full_zhang["record"]["address"] == "学府花园1号楼1门101"
    assert full_zhang["candidates"][0]["review"]["note"] == "同一人"


def test_matches_and_tasks_follow_where_the_resident_lives_now(
    population: Population, tmp_path: Path
) -> None:
    """张伟 moves from beat A to 河北区: his match leaves the station's answers, his task
    beat A's."""
    run = station_run(population, tmp_path)
    match = Match.objects.get(run=run, resident=population.zhang)
    match_review(actor=population.station, match=match, decision=Decision.CONFIRMED)
    residence_move_in(
        resident=population.zhang,
        dwelling=population.dwelling_c,
        since=date(2025, 1, 1),
        relation="tenant",
        registered=False,
        actor=None,
    )
    station = client(population, "station")
    records = items(station.get(f"{BASE}/runs/{run.pk}/matches"))
    assert population.zhang.pk not in {
        c["resident"]["id"] for r in records for c in r["candidates"]
    }
    url = f"{BASE}/matches/{match.pk}/review"
    assert post(station, url, {"decision": "rejected"}).status_code == 404
    assert items(client(population, "officer").get(f"{BASE}/tasks")) == []


# --- tasks --------------------------------------------------------------------------------------


def _confirmed_task(population: Population, tmp_path: Path) -> VerificationTask:
    run = station_run(population, tmp_path)
    match = Match.objects.get(run=run, resident=population.zhang)
    match_review(actor=population.station, match=match, decision=Decision.CONFIRMED)
    return VerificationTask.objects.get(match=match)


def test_it_lists_the_tasks_in_scope(population: Population, tmp_path: Path) -> None:
    task = _confirmed_task(population, tmp_path)
    tasks = items(client(population, "officer").get(f"{BASE}/tasks"))
    assert [t["id"] for t in tasks] == [task.pk]
    assert tasks[0]["status"] == "open" and tasks[0]["record_line"] == 2
    assert tasks[0]["resident"]["name"] == "张伟"
    assert tasks[0]["resident"]["beat"] == "学府一警务区"
    assert items(client(population, "neighbour").get(f"{BASE}/tasks")) == []
    assert items(client(population, "officer").get(f"{BASE}/tasks?status=done")) == []
    assert client(population, "officer").get(f"{BASE}/tasks?status=lost").status_code == 422


def test_it_marks_a_task_done(population: Population, tmp_path: Path) -> None:
    task = _confirmed_task(population, tmp_path)
    grid = client(population, "grid")
    url = f"{BASE}/tasks/{task.pk}/done"
    assert post(grid, url, {"outcome": ""}).status_code == 422
    assert post(grid, url, {"outcome": "   "}).status_code == 400
    assert post(grid, url, {}).status_code == 422
    response = post(grid, url, {"outcome": "已核实"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "done" and body["outcome"] == "已核实" and body["done_by"] == "grid"
    again = post(grid, url, {"outcome": "again"})
    assert again.status_code == 400 and "already done" in again.json()["detail"]
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.outcome == "已核实"


def test_a_task_out_of_scope_is_not_found_and_without_permission_403(
    population: Population, tmp_path: Path
) -> None:
    task = _confirmed_task(population, tmp_path)
    url = f"{BASE}/tasks/{task.pk}/done"
    assert post(client(population, "neighbour"), url, {"outcome": "x"}).status_code == 404
    assert post(client(population, "other_district"), url, {"outcome": "x"}).status_code == 404
    assert (
        post(
            client(population, "officer"), f"{BASE}/tasks/99999999/done", {"outcome": "x"}
        ).status_code
        == 404
    )
    assert post(client(population, "city"), url, {"outcome": "x"}).status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


# --- fuzz: no query makes a screening GET endpoint answer 5xx, with real runs in the database ---

QUERY_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1",
            "2",
            "nan",
            "1e999",
            "true",
            "false",
            "on",
            "certain",
            "sure",
            "possible",
            "open",
            "done",
            "screening",
            "deduplication",
            "%00",
            "9" * 30,
            "１",
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=12),
)
FUZZED = {
    "/runs": ("kind", "status", "limit", "offset"),
    "/runs/{id}": (),
    "/runs/{id}/matches": ("band", "undecided", "limit", "offset"),
    "/runs/{id}/pairs": ("limit", "offset"),
    "/tasks": ("status", "limit", "offset"),
}


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_query_makes_a_get_endpoint_fail(
    fuzz_world: tuple[Population, list[int]], data: st.DataObject
) -> None:
    population, ids = fuzz_world
    who = data.draw(st.sampled_from(["station", "officer", "city", "worker", "other_district"]))
    path = data.draw(st.sampled_from(sorted(FUZZED)))
    run_id = data.draw(st.one_of(st.sampled_from(ids), QUERY_VALUES))
    url = BASE + path.replace("{id}", quote(str(run_id), safe="") or "0")
    query = {
        name: data.draw(QUERY_VALUES, label=name)
        for name in FUZZED[path]
        if data.draw(st.booleans(), label=f"send {name}")
    }
    response = client(population, who).get(url, query)
    assert response.status_code < 500, (who, url, query)


@pytest.fixture
def fuzz_world(population: Population, tmp_path: Path) -> tuple[Population, list[int]]:
    run = station_run(population, tmp_path)
    match_review(
        actor=population.station,
        match=Match.objects.get(run=run, resident=population.zhang),
        decision=Decision.CONFIRMED,
    )
    dedup = run_execute(dedup_enqueue(actor=population.station, purpose="核查", inline=True))
    return population, [run.pk, dedup.pk]
