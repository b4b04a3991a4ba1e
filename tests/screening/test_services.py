"""Screening end to end through the services and the real engine: runs find the people of
a list within the screener's scope, record what they did in the audit log, and feed the list
to the engine in chunks; reviews make verification tasks; exports mask what must be."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied

from safecommunity.accounts.models import AuditEntry
from safecommunity.people.imports import import_residents
from safecommunity.people.services import residence_move_in
from safecommunity.screening import engine
from safecommunity.screening.models import (
    Decision,
    Match,
    Review,
    RunStatus,
    TaskStatus,
    VerificationTask,
)
from safecommunity.screening.services import (
    ScreeningError,
    match_review,
    run_enqueue,
    run_execute,
    run_export_xlsx,
    task_complete,
)
from tests.conftest import World
from tests.screening.conftest import (
    HEADER,
    ZHANG_ID,
    Duplicates,
    Population,
    deduplicated,
    imported,
    list_rows,
    screened,
    write_csv,
)


def matched(run: Any) -> dict[int, list[tuple[int, str]]]:
    """line → [(resident id, band)], best first."""
    found: dict[int, list[tuple[int, str]]] = {}
    for match in Match.objects.filter(run=run).select_related("record").order_by("rank"):
        assert match.record is not None
        found.setdefault(match.record.line, []).append((match.resident_id, match.band))
    return found


def test_a_run_finds_the_listed_residents(population: Population, tmp_path: Path) -> None:
    admin = population.world.users["admin"]
    run = screened(admin, imported(admin, write_csv(tmp_path / "list.csv", list_rows())))
    assert run.status == RunStatus.DONE and run.finished_at is not None
    found = matched(run)
    assert found[2][0] == (population.zhang.pk, "certain")  # by ID
    assert found[3][0] == (population.li.pk, "certain")  # by phone
    assert found[4][0] == (population.wang.pk, "certain")  # beat C: the admin sees everything
    assert 5 not in found  # the stranger
    assert (run.records, run.matched_records, run.certain) == (4, 3, 3)
    zhang = Match.objects.get(run=run, record__line=2, rank=1)
    assert zhang.path == population.world.beat_a.path
    assert zhang.explanation["id"][0] == "exact" and zhang.explanation["id"][1] > 0
    assert set(zhang.explanation) == set(engine.FIELDS)


def test_a_station_user_never_gets_matches_outside_their_scope(
    population: Population, tmp_path: Path
) -> None:
    run = screened(
        population.station, imported(population.station, write_csv(tmp_path / "l.csv", list_rows()))
    )
    assert run.scope_paths == sorted([population.world.beat_a.path, population.world.beat_b.path])
    found = matched(run)
    assert 4 not in found  # 王芳 lives in beat C, outside the station's beats
    assert population.wang.pk not in Match.objects.filter(run=run).values_list(
        "resident_id", flat=True
    )
    assert found[2][0][0] == population.zhang.pk and found[3][0][0] == population.li.pk
    assert run.matched_records == 2


def test_traditional_characters_find_the_simplified_name(
    population: Population, tmp_path: Path
) -> None:
    rows = [HEADER, ["張偉", "", "", "1985-03-12", "", "", ""]]
    admin = population.world.users["admin"]
    run = screened(admin, imported(admin, write_csv(tmp_path / "l.csv", rows)))
    ((resident, _band),) = matched(run)[2][:1]
    assert resident == population.zhang.pk
    assert Match.objects.get(run=run, rank=1).explanation["name"][0] != "missing"


def test_full_width_digits_match_exactly(population: Population, tmp_path: Path) -> None:
    full = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    rows = [
        HEADER,
        ["", ZHANG_ID.translate(full), "", "", "", "", ""],
        ["", "", "１３９８７６５４３２１", "", "", "", ""],
    ]
    admin = population.world.users["admin"]
    run = screened(admin, imported(admin, write_csv(tmp_path / "l.csv", rows)))
    found = matched(run)
    assert found[2][0][0] == population.zhang.pk and found[3][0][0] == population.li.pk
    assert Match.objects.get(run=run, record__line=2).explanation["id"][0] == "exact"


def test_an_id_failing_its_checksum_is_repaired(population: Population, tmp_path: Path) -> None:
    """One digit typed wrongly: the list keeps the number, the run decrypts it (that record
    only) for the engine, which finds the resident by the repaired number."""
    digit = "3" if ZHANG_ID[10] != "3" else "4"
    wrong = ZHANG_ID[:10] + digit + ZHANG_ID[11:]
    rows = [HEADER, ["张伟", wrong, "", "", "", "", ""]]
    admin = population.world.users["admin"]
    risk_list = imported(admin, write_csv(tmp_path / "l.csv", rows))
    assert not risk_list.records.get().id_valid
    run = screened(admin, risk_list)
    assert matched(run)[2][0] == (population.zhang.pk, "certain")


def test_a_one_row_list_is_screened(population: Population, tmp_path: Path) -> None:
    admin = population.world.users["admin"]
    run = screened(
        admin, imported(admin, write_csv(tmp_path / "l.csv", [["手机号"], ["13812345678"]]))
    )
    assert run.records == 1 and matched(run)[2][0][0] == population.zhang.pk


def test_the_list_goes_to_the_engine_in_chunks(
    population: Population, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long list never sits in memory whole: the engine gets ``chunk`` records at a time,
    and the matches of every chunk are stored."""
    sizes: list[int] = []
    real_screen = engine.screen

    def counting(index: Any, risk: Any, **kwargs: Any) -> Any:
        sizes.append(risk.num_rows)
        # A valid ID number travels as its blind index, never decrypted.
        assert ZHANG_ID not in repr(risk.to_pylist()) and ZHANG_ID not in repr(kwargs)
        return real_screen(index, risk, **kwargs)

    monkeypatch.setattr(engine, "screen", counting)
    rows = [HEADER] + [[f"路人{i}", "", f"1360000{i:04d}", "", "", "", ""] for i in range(11)]
    rows += [["张伟", ZHANG_ID, "", "", "", "", ""]]
    admin = population.world.users["admin"]
    seen: list[tuple[str, int, int]] = []
    run = screened(
        admin,
        imported(admin, write_csv(tmp_path / "l.csv", rows)),
        chunk=5,
        progress=lambda *step: seen.append(step),
    )
    assert sizes == [5, 5, 2]
    assert matched(run)[13][0][0] == population.zhang.pk
    screening = [(done, total) for stage, done, total in seen if stage == "screening"]
    assert screening[-1] == (12, 12)
    assert [d for d, _t in screening] == sorted(d for d, _t in screening)
    assert run.progress_done == run.progress_total


def test_runs_are_audited_with_purpose_who_and_counts(
    population: Population, tmp_path: Path
) -> None:
    station = population.station
    run = screened(station, imported(station, write_csv(tmp_path / "l.csv", list_rows())))
    actions = list(
        AuditEntry.objects.filter(object_type="screening.screeningrun", object_id=str(run.pk))
        .order_by("id")
        .values_list("action", "actor_username", "reason")
    )
    assert actions == [
        ("screening.run_queue", "station", "疫情防控排查"),
        ("screening.run_start", "station", "疫情防控排查"),
        ("screening.run_finish", "station", "疫情防控排查"),
    ]
    finish = AuditEntry.objects.get(action="screening.run_finish")
    assert finish.detail["matched_records"] == 2 and finish.detail["records"] == 4


def test_a_run_needs_a_purpose_and_a_list_the_user_sees(
    population: Population, tmp_path: Path
) -> None:
    risk_list = imported(population.station, write_csv(tmp_path / "l.csv", list_rows()))
    with pytest.raises(ScreeningError, match="purpose"):
        run_enqueue(actor=population.station, risk_list=risk_list, purpose=" ")
    with pytest.raises(PermissionDenied):
        run_enqueue(actor=population.world.users["neighbour"], risk_list=risk_list, purpose="排查")
    with pytest.raises(PermissionDenied):
        run_enqueue(actor=population.world.users["worker"], risk_list=risk_list, purpose="排查")


def test_a_finished_run_is_not_executed_again(population: Population, tmp_path: Path) -> None:
    admin = population.world.users["admin"]
    run = screened(admin, imported(admin, write_csv(tmp_path / "l.csv", list_rows())))
    with pytest.raises(ScreeningError, match="already finished"):
        run_execute(run)


def test_a_failing_run_is_recorded_as_failed(
    population: Population, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(engine, "screen", broken)
    admin = population.world.users["admin"]
    risk_list = imported(admin, write_csv(tmp_path / "l.csv", list_rows()))
    run = run_enqueue(actor=admin, risk_list=risk_list, purpose="排查")
    with pytest.raises(RuntimeError):
        run_execute(run)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "internal error" in run.message
    assert AuditEntry.objects.filter(action="screening.run_fail", object_id=str(run.pk)).exists()


# --- review and tasks -------------------------------------------------------------------------


@pytest.fixture
def station_run(population: Population, tmp_path: Path) -> Any:
    return screened(
        population.station, imported(population.station, write_csv(tmp_path / "l.csv", list_rows()))
    )


def test_confirming_a_match_makes_a_task_for_the_beat(
    population: Population, station_run: Any
) -> None:
    match = Match.objects.get(run=station_run, record__line=2, rank=1)
    review = match_review(
        actor=population.station, match=match, decision=Decision.CONFIRMED, note="身份证一致"
    )
    assert review.decision == Decision.CONFIRMED and review.reviewed_by == population.station
    task = VerificationTask.objects.get(match=match)
    assert task.resident == population.zhang and task.status == TaskStatus.OPEN
    assert task.path == population.world.beat_a.path
    entry = AuditEntry.objects.get(action="screening.review")
    assert entry.detail["decision"] == "confirmed" and entry.detail["task"] == task.pk
    # Confirming again changes nothing; the officer of beat A completes the task.
    match_review(actor=population.station, match=match, decision=Decision.CONFIRMED)
    assert VerificationTask.objects.filter(match=match).count() == 1
    done = task_complete(actor=population.world.users["officer"], task=task, outcome="已核实在家")
    assert done.status == TaskStatus.DONE and done.done_at is not None
    assert AuditEntry.objects.filter(action="screening.task_done").exists()
    with pytest.raises(ScreeningError, match="already done"):
        task_complete(actor=population.world.users["officer"], task=task, outcome="again")


def test_rejecting_a_confirmed_match_removes_its_open_task(
    population: Population, station_run: Any
) -> None:
    match = Match.objects.get(run=station_run, record__line=2, rank=1)
    match_review(actor=population.station, match=match, decision=Decision.CONFIRMED)
    review = match_review(actor=population.station, match=match, decision=Decision.REJECTED)
    assert review.decision == Decision.REJECTED
    assert not VerificationTask.objects.filter(match=match).exists()
    entry = AuditEntry.objects.filter(action="screening.review").order_by("-id").first()
    assert entry is not None and entry.detail["previous"] == "confirmed"


def test_only_reviewers_in_scope_decide(population: Population, station_run: Any) -> None:
    match = Match.objects.get(run=station_run, record__line=2, rank=1)
    users = population.world.users
    with pytest.raises(PermissionDenied):
        match_review(actor=users["neighbour"], match=match, decision=Decision.CONFIRMED)
    with pytest.raises(PermissionDenied):  # a city analyst sees no names, so decides nothing
        match_review(actor=users["city"], match=match, decision=Decision.CONFIRMED)
    with pytest.raises(ScreeningError, match="Unknown decision"):
        match_review(actor=population.station, match=match, decision="maybe")


def test_a_task_is_worked_only_in_scope_and_with_an_outcome(
    population: Population, station_run: Any
) -> None:
    match = Match.objects.get(run=station_run, record__line=2, rank=1)
    match_review(actor=population.station, match=match, decision=Decision.CONFIRMED)
    task = VerificationTask.objects.get(match=match)
    with pytest.raises(PermissionDenied):
        task_complete(actor=population.world.users["neighbour"], task=task, outcome="x")
    with pytest.raises(ScreeningError, match="found"):
        task_complete(actor=population.world.users["grid"], task=task, outcome="  ")


# --- export --------------------------------------------------------------------------------------


def sheet_rows(data: bytes) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def test_the_export_lists_each_candidate_and_is_audited(
    population: Population, station_run: Any
) -> None:
    rows = sheet_rows(run_export_xlsx(actor=population.station, run=station_run))
    assert rows[0][:3] == ("Line", "Name on the list", "ID number")
    body = {row[0]: row for row in rows[1:]}
    zhang = body[2]
    assert zhang[1] == "张伟" and zhang[2] == ZHANG_ID[:6] + "********" + ZHANG_ID[-4:]
    assert zhang[4] == "Certain" and zhang[6] == "张伟"
    assert zhang[7] == "学府花园1号楼1门101" and zhang[8] == "学府一警务区"
    assert "id: exact" in zhang[9]
    assert 4 not in body  # 王芳 is outside the station's scope
    assert ZHANG_ID not in repr(rows)
    entry = AuditEntry.objects.get(action="screening.export")
    assert entry.detail == {"rows": len(rows) - 1, "names_shown": True}


def test_the_export_masks_names_for_a_city_analyst(population: Population, tmp_path: Path) -> None:
    city = population.world.users["city"]
    run = screened(city, imported(city, write_csv(tmp_path / "l.csv", list_rows())))
    rows = sheet_rows(run_export_xlsx(actor=city, run=run))
    names = {row[1] for row in rows[1:]} | {row[6] for row in rows[1:]}
    assert names and all(name.endswith("*") for name in names)
    assert "张伟" not in repr(rows)


def test_a_run_against_an_empty_registry_finds_nobody(world: World, tmp_path: Path) -> None:
    admin = world.users["admin"]
    run = screened(admin, imported(admin, write_csv(tmp_path / "l.csv", list_rows())))
    assert run.status == RunStatus.DONE and (run.records, run.matched_records) == (4, 0)
    assert not Match.objects.exists()


# --- a run's results exist once it is done --------------------------------------------------


def test_a_match_of_a_run_not_done_is_neither_reviewed_nor_exported(
    population: Population, tmp_path: Path
) -> None:
    """A running run may still restart, and a restart deletes what it stored: a review or
    task made meanwhile would be wiped with it. So nothing is decided before it is done."""
    from safecommunity.screening import tasks

    station = population.station
    risk_list = imported(station, write_csv(tmp_path / "l.csv", list_rows()))
    run_enqueue(actor=station, risk_list=risk_list, purpose="疫情防控排查")
    run = tasks.run_claim_next()
    assert run is not None and run.status == RunStatus.RUNNING
    match = Match.objects.create(
        run=run,
        record=risk_list.records.get(line=2),
        resident=population.zhang,
        path=population.zhang.path,
        band="certain",
        weight=30.0,
        probability=1.0,
    )
    with pytest.raises(ScreeningError, match="not finished"):
        match_review(actor=station, match=match, decision=Decision.CONFIRMED)
    with pytest.raises(ScreeningError, match="not finished"):
        run_export_xlsx(actor=station, run=run)
    assert not Review.objects.exists() and not VerificationTask.objects.exists()
    assert not AuditEntry.objects.filter(action__in=["screening.review", "screening.export"])


# --- what the audit log says was matched -------------------------------------------------------


def test_the_finish_entry_names_whom_the_run_matched(
    population: Population, tmp_path: Path
) -> None:
    admin = population.world.users["admin"]
    run = screened(admin, imported(admin, write_csv(tmp_path / "l.csv", list_rows())))
    finish = AuditEntry.objects.get(action="screening.run_finish", object_id=str(run.pk))
    expected = sorted([population.zhang.pk, population.li.pk, population.wang.pk])
    assert finish.detail["matched_residents"] == expected
    assert finish.detail["matched_residents_total"] == 3
    # The digest of every stored match, recomputed from the rows as the docstring says.
    rows = sorted(Match.objects.filter(run=run).values_list("record_id", "resident_id", "band"))
    text = "".join(f"{record},{resident},,{band}\n" for record, resident, band in rows)
    assert finish.detail["matches"] == len(rows) == 3
    assert finish.detail["matches_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    # Rows that change later no longer fit the digest: the entry still says what was found.
    Match.objects.filter(run=run, rank=1, record__line=2).update(band="possible")
    changed = sorted(Match.objects.filter(run=run).values_list("record_id", "resident_id", "band"))
    again = "".join(f"{record},{resident},,{band}\n" for record, resident, band in changed)
    assert hashlib.sha256(again.encode()).hexdigest() != finish.detail["matches_sha256"]


def test_the_finish_entry_of_a_deduplication_names_both_residents_of_each_pair(
    duplicates: Duplicates,
) -> None:
    population = duplicates.population
    run = deduplicated(population.world.users["admin"])
    finish = AuditEntry.objects.get(action="screening.run_finish", object_id=str(run.pk))
    strong = Match.objects.filter(run=run, band__in=["certain", "probable"])
    ids = set(strong.values_list("resident_id", flat=True)) | set(
        strong.values_list("other_id", flat=True)
    )
    assert population.zhang.pk in ids and duplicates.zhang_again.pk in ids
    assert finish.detail["matched_residents"] == sorted(ids)
    rows = sorted(Match.objects.filter(run=run).values_list("resident_id", "other_id", "band"))
    text = "".join(f",{resident},{other},{band}\n" for resident, other, band in rows)
    assert finish.detail["matches_sha256"] == hashlib.sha256(text.encode()).hexdigest()


# --- tasks follow their resident ---------------------------------------------------------------


def test_an_open_task_follows_its_resident_to_the_new_beat(
    population: Population, station_run: Any
) -> None:
    """Moved to beat B, 张伟's open task is beat B's to work; 李娜's done task stays with
    the team that did it when she moves."""
    world = population.world
    zhang_match = Match.objects.get(run=station_run, record__line=2, rank=1)
    li_match = Match.objects.get(run=station_run, record__line=3, rank=1)
    for match in (zhang_match, li_match):
        match_review(actor=population.station, match=match, decision=Decision.CONFIRMED)
    li_task = VerificationTask.objects.get(match=li_match)
    task_complete(actor=world.users["neighbour"], task=li_task, outcome="已核实")
    residence_move_in(
        resident=population.zhang,
        dwelling=world.dwelling_b,
        since=date(2025, 1, 1),
        relation="other",
        registered=False,
        actor=None,
    )
    residence_move_in(
        resident=population.li,
        dwelling=world.dwelling_a,
        since=date(2025, 1, 1),
        relation="other",
        registered=False,
        actor=None,
    )
    zhang_task = VerificationTask.objects.get(match=zhang_match)
    assert zhang_task.path == world.beat_b.path
    assert VerificationTask.objects.get(pk=li_task.pk).path == world.beat_b.path
    with pytest.raises(PermissionDenied):  # beat A's officer no longer works it
        task_complete(actor=world.users["officer"], task=zhang_task, outcome="不在")
    done = task_complete(actor=world.users["neighbour"], task=zhang_task, outcome="已核实")
    assert done.status == TaskStatus.DONE


def test_an_open_task_follows_a_move_the_registry_import_records(
    population: Population, station_run: Any, tmp_path: Path
) -> None:
    world = population.world
    match = Match.objects.get(run=station_run, record__line=2, rank=1)
    match_review(actor=population.station, match=match, decision=Decision.CONFIRMED)
    moved = write_csv(
        tmp_path / "registry.csv",
        [
            ["姓名", "性别", "出生日期", "身份证号", "地址", "入住日期"],
            ["张伟", "男", "1985-03-12", ZHANG_ID, world.dwelling_b.standard_address, "2025-01-01"],
        ],
    )
    result = import_residents(path=moved, actor=None, defer_indexes=False)
    assert result.updated == 1
    assert VerificationTask.objects.get(match=match).path == world.beat_b.path


# --- export: what may leave the platform ----------------------------------------------------------


def test_the_export_of_pairs_hides_the_side_outside_the_scope(duplicates: Duplicates) -> None:
    """王芳 lives in beat C, outside the station: her side of the pair is only "outside
    your jurisdiction" — no name, birth date, address or beat."""
    population = duplicates.population
    station = population.station
    run = deduplicated(station)
    rows = sheet_rows(run_export_xlsx(actor=station, run=run))
    assert rows[0][:4] == ("Resident", "Dwelling", "Beat", "Other resident")
    (wang,) = [row for row in rows[1:] if "王芳" in (row[0], row[3])]
    sides = [(wang[0], wang[1], wang[2], wang[9]), (wang[3], wang[4], wang[5], wang[10])]
    inside = ("王芳", "学府花园1号楼1门101", "学府一警务区", "1970-01-05")
    outside = ("outside your jurisdiction", None, None, None)
    assert sorted(sides, key=str) == sorted([inside, outside], key=str)
    assert "三戒里" not in repr(rows)
    zhang = [row for row in rows[1:] if row[0] == "张伟"]
    assert zhang and "outside your jurisdiction" not in zhang[0]


def test_the_export_for_a_user_who_may_not_see_names_keeps_only_what_they_may(
    population: Population, tmp_path: Path
) -> None:
    """As the people API does for a city analyst: names masked, dates of birth as the year,
    no notes — and no address in a file that leaves the platform; the beat stays."""
    city = population.world.users["city"]
    run = screened(city, imported(city, write_csv(tmp_path / "l.csv", list_rows())))
    rows = sheet_rows(run_export_xlsx(actor=city, run=run))
    assert rows[0][10:] == (
        "Date of birth on the list",
        "Address on the list",
        "Note on the list",
        "Resident's date of birth",
    )
    zhang = next(row for row in rows[1:] if row[0] == 2)
    assert zhang[1] == "张*" and zhang[6] == "张*" and zhang[8] == "学府一警务区"
    assert zhang[7] is None and zhang[11] is None and zhang[12] is None
    assert zhang[10] == "1985" and zhang[13] == "1985"
    text = repr(rows)
    assert "学府花园" not in text and "密接" not in text and "1985-03-12" not in text
    # Someone who may see names gets all of it.
    admin = population.world.users["admin"]
    full = sheet_rows(run_export_xlsx(actor=admin, run=run))
    zhang = next(row for row in full[1:] if row[0] == 2)
    assert zhang[7] == "学府花园1号楼1门101" and zhang[11] == "学府花园1号楼1门101"
    assert (zhang[10], zhang[12], zhang[13]) == ("1985-03-12", "密接", "1985-03-12")
