"""Screening pages: upload a list, screen it, follow the run, review its matches, work the
verification tasks, merge duplicates — scoped (out of scope is a 404), refused without the
permission (403), and bad input shown beside its field (400), never a 500."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext

from safecommunity.accounts.models import AuditEntry, User
from safecommunity.people.models import Resident
from safecommunity.people.services import residence_move_in
from safecommunity.places.models import Dwelling
from safecommunity.screening import selectors
from safecommunity.screening.models import (
    Decision,
    ListStatus,
    Match,
    Review,
    RiskList,
    RunKind,
    RunStatus,
    ScreeningRun,
    TaskStatus,
    VerificationTask,
)
from safecommunity.screening.services import dedup_enqueue, match_review, run_execute
from tests.conftest import client_for
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

# Distinct given names for the residents that make a longer list.
GIVEN_NAMES = "甲乙丙丁戊己庚辛"


def english(user: User) -> Client:
    """A logged-in client that chose English (pages ignore Accept-Language)."""
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def csv_upload(rows: list[list[str]], name: str = "list.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    import csv

    csv.writer(buffer).writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8"), content_type="text/csv")


def station_run(population: Population, tmp_path: Path) -> ScreeningRun:
    """The station leader's run of the standard list, executed."""
    risk_list = imported(population.station, write_csv(tmp_path / "list.csv", list_rows()))
    return screened(population.station, risk_list)


def zhang_match(run: ScreeningRun, population: Population) -> Match:
    return Match.objects.get(run=run, resident=population.zhang)


# --- home and upload ---------------------------------------------------------------------------


def test_the_pages_need_a_login(population: Population) -> None:
    response = Client().get("/screening/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_home_page_shows_lists_runs_and_open_tasks_in_scope(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    match_review(actor=population.station, match=zhang_match(run, population), decision="confirmed")
    body = english(population.station).get("/screening/").content.decode()
    assert "list" in body and f"/screening/runs/{run.pk}/" in body
    assert f"/screening/lists/{run.risk_list_id}/" in body
    assert "Upload a risk list" in body and "Find duplicate residents" in body
    # One open task, in the station's beats.
    assert '<dd><a href="/screening/tasks/">1</a></dd>' in body
    other = english(population.world.users["other_district"]).get("/screening/")
    assert other.status_code == 200
    assert f"/screening/runs/{run.pk}/" not in other.content.decode()


def test_the_home_page_is_in_chinese_by_default(population: Population) -> None:
    body = client_for(population.station).get("/screening/").content.decode()
    assert '<html lang="zh-hans">' in body
    with translation.override("zh-hans"):
        assert gettext("Risk screening") in body


def uploads() -> list[Path]:
    folder = Path(settings.DATA_DIR) / "screening" / "uploads"
    return list(folder.glob("*")) if folder.is_dir() else []


def test_it_uploads_a_list_and_shows_its_counts_and_first_problems(
    population: Population,
) -> None:
    client = english(population.station)
    rows = [*list_rows(), ["", "", "12345", "", "", "", ""], list_rows()[1]]
    response = client.post(
        "/screening/lists/new/",
        {"file": csv_upload(rows), "name": "Notice 12", "purpose": "疫情防控排查"},
    )
    assert response.status_code == 302, response.content.decode()
    risk_list = RiskList.objects.get(name="Notice 12")
    assert response["Location"] == f"/screening/lists/{risk_list.pk}/"
    # Queued for the worker: nothing imported in the request, the upload waits (0600).
    assert (risk_list.status, risk_list.rows_read) == (ListStatus.QUEUED, 0)
    [stored] = uploads()
    assert stored.stat().st_mode & 0o777 == 0o600
    queued = client.get(response["Location"]).content.decode()
    assert "imported in the background" in queued
    assert "Waiting for the worker" in queued
    assert f'hx-get="/screening/lists/{risk_list.pk}/"' in queued
    assert "Rows read" not in queued and "Download all problems (CSV)" not in queued
    assert "The list can be screened once it is imported." in queued
    assert 'class="btn" disabled' in queued

    call_command("worker", "--once")
    risk_list.refresh_from_db()
    assert risk_list.status == ListStatus.DONE
    assert (risk_list.rows_read, risk_list.rows_kept) == (6, 4)
    body = client.get(response["Location"]).content.decode()
    assert "hx-trigger" not in body and 'value="100"' in body
    assert "4 of 6 rows kept; 1 rejected, 1 duplicate rows stored once." in body
    assert "Rows read" in body and "Rows rejected" in body and "Duplicate rows" in body
    # The bad row: its line, the column, the value, the reason.
    assert '<td class="num">6</td>' in body
    assert "Download all problems (CSV)" in body
    # Prefilled with the list's purpose, asked again; now it can be screened.
    assert "Screen against the registry" in body and "疫情防控排查</textarea>" in body
    assert 'class="btn" disabled' not in body
    issues = client.get(f"/screening/lists/{risk_list.pk}/issues.csv")
    assert issues.status_code == 200
    text = b"".join(issues.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert text.splitlines()[0] == "line,column,value,level,reason"
    # The uploaded file itself is not kept once imported.
    assert uploads() == []


def test_the_upload_needs_a_purpose_and_a_csv_or_xlsx(population: Population) -> None:
    client = english(population.station)
    response = client.post(
        "/screening/lists/new/", {"file": csv_upload(list_rows()), "name": "x", "purpose": "  "}
    )
    assert response.status_code == 400
    assert "State the purpose of the screening." in response.content.decode()
    wrong_type = client.post(
        "/screening/lists/new/",
        {"file": SimpleUploadedFile("list.pdf", b"%PDF-1.4"), "name": "x", "purpose": "p"},
    )
    assert wrong_type.status_code == 400
    assert "Upload a CSV or an XLSX file." in wrong_type.content.decode()
    empty = client.post(
        "/screening/lists/new/",
        {"file": SimpleUploadedFile("empty.csv", b""), "name": "x", "purpose": "p"},
    )
    assert empty.status_code == 400
    assert "The submitted file is empty." in empty.content.decode()
    assert not RiskList.objects.exists()
    assert uploads() == []


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        (SimpleUploadedFile("list.xlsx", b"not a workbook"), ""),
        (csv_upload([["颜色", "大小"], ["红", "大"]]), "The header line has no column to match"),
        (csv_upload([list_rows()[0]]), "The file has a header line but no rows below it."),
    ],
)
def test_an_unreadable_file_becomes_a_failed_list_saying_why(
    population: Population, upload: SimpleUploadedFile, reason: str
) -> None:
    client = english(population.station)
    response = client.post("/screening/lists/new/", {"file": upload, "name": "x", "purpose": "p"})
    assert response.status_code == 302
    call_command("worker", "--once")
    risk_list = RiskList.objects.get()
    assert risk_list.status == ListStatus.FAILED and risk_list.message
    assert reason in risk_list.message
    assert not risk_list.records.exists()
    body = client.get(response["Location"]).content.decode()
    assert '<div class="alert error" role="alert">' in body
    assert risk_list.message.replace("'", "&#x27;").replace('"', "&quot;") in body
    assert "hx-trigger" not in body and "Rows read" not in body
    assert "The import failed: upload the list again." in body
    assert 'class="btn" disabled' in body
    home = client.get("/screening/").content.decode()
    assert '<span class="badge list-failed">Failed</span>' in home
    assert uploads() == []


def test_the_list_page_follows_the_import_through_htmx(
    population: Population, tmp_path: Path
) -> None:
    client = english(population.station)
    client.post(
        "/screening/lists/new/",
        {"file": csv_upload(list_rows()), "name": "Notice 13", "purpose": "p"},
    )
    risk_list = RiskList.objects.get()
    url = f"/screening/lists/{risk_list.pk}/"
    home = client.get("/screening/").content.decode()
    assert '<span class="badge list-queued">Queued</span>' in home
    RiskList.objects.filter(pk=risk_list.pk).update(
        status=ListStatus.IMPORTING, progress_done=300, progress_total=400
    )
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in body
    assert 'id="list-progress"' in body and "hx-trigger" in body
    assert 'value="75"' in body and "300 / 400" in body and "Importing" in body
    assert "Waiting for the worker" not in body
    assert "HX-Refresh" not in fragment
    RiskList.objects.filter(pk=risk_list.pk).update(status=ListStatus.QUEUED, progress_done=0)
    call_command("worker", "--once")
    # A poll that finds the import finished reloads the page for its counts.
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    assert 'value="100"' in done.content.decode() and "hx-trigger" not in done.content.decode()
    home = client.get("/screening/").content.decode()
    assert '<span class="badge list-done">Imported</span>' in home


def test_the_upload_form_says_screening_is_a_sensitive_use(population: Population) -> None:
    body = english(population.station).get("/screening/lists/new/").content.decode()
    assert "sensitive use" in body
    assert 'name="purpose"' in body and "required" in body


def test_who_may_not_screen_gets_403(population: Population, tmp_path: Path) -> None:
    risk_list = imported(population.station, write_csv(tmp_path / "list.csv", list_rows()))
    worker = client_for(population.world.users["worker"])
    assert worker.get("/screening/lists/new/").status_code == 403
    assert worker.post("/screening/lists/new/", {}).status_code == 403
    assert worker.get("/screening/deduplicate/").status_code == 403
    # Not a screener: the list is not even there for them.
    assert worker.get(f"/screening/lists/{risk_list.pk}/").status_code == 404
    home = worker.get("/screening/").content.decode()
    assert "/screening/lists/new/" not in home


# --- runs --------------------------------------------------------------------------------------


def test_screening_a_list_queues_a_run_with_its_purpose(
    population: Population, tmp_path: Path
) -> None:
    risk_list = imported(population.station, write_csv(tmp_path / "list.csv", list_rows()))
    client = english(population.station)
    response = client.post(f"/screening/lists/{risk_list.pk}/screen/", {"purpose": "第二次排查"})
    assert response.status_code == 302
    run = ScreeningRun.objects.get(risk_list=risk_list)
    assert response["Location"] == f"/screening/runs/{run.pk}/"
    assert (run.status, run.purpose, run.created_by) == (
        RunStatus.QUEUED,
        "第二次排查",
        population.station,
    )
    page = client.get(response["Location"]).content.decode()
    assert "Waiting for the worker" in page
    assert f'hx-get="/screening/runs/{run.pk}/"' in page
    fragment = client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert "HX-Refresh" not in fragment


def test_screening_without_a_purpose_shows_the_error(
    population: Population, tmp_path: Path
) -> None:
    risk_list = imported(population.station, write_csv(tmp_path / "list.csv", list_rows()))
    response = english(population.station).post(
        f"/screening/lists/{risk_list.pk}/screen/", {"purpose": ""}
    )
    assert response.status_code == 400
    assert "State the purpose of the screening." in response.content.decode()
    assert not ScreeningRun.objects.exists()


def test_a_list_with_no_usable_row_cannot_be_screened(
    population: Population, tmp_path: Path
) -> None:
    rows = [list_rows()[0], ["", "", "123", "", "", "", ""]]
    risk_list = imported(population.station, write_csv(tmp_path / "bad.csv", rows))
    client = english(population.station)
    assert (
        "The list has no usable row."
        in client.get(f"/screening/lists/{risk_list.pk}/").content.decode()
    )
    response = client.post(f"/screening/lists/{risk_list.pk}/screen/", {"purpose": "p"})
    assert response.status_code == 400
    assert "no rows that can be screened" in response.content.decode()


def test_the_run_page_shows_progress_then_counts_per_band(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    client = english(population.station)
    body = client.get(f"/screening/runs/{run.pk}/").content.decode()
    assert "Done" in body and "hx-trigger" not in body
    assert f"/screening/runs/{run.pk}/review/?band=certain" in body
    assert 'value="100"' in body
    # A poll that finds the run finished reloads the page for its results.
    fragment = client.get(f"/screening/runs/{run.pk}/", HTTP_HX_REQUEST="true")
    assert fragment["HX-Refresh"] == "true"


def test_a_running_run_shows_its_stage_and_done_of_total(
    population: Population, tmp_path: Path
) -> None:
    risk_list = imported(population.station, write_csv(tmp_path / "list.csv", list_rows()))
    client = english(population.station)
    client.post(f"/screening/lists/{risk_list.pk}/screen/", {"purpose": "p"})
    run = ScreeningRun.objects.get()
    ScreeningRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, stage="screening", progress_done=3, progress_total=4
    )
    body = client.get(f"/screening/runs/{run.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'value="75"' in body and "3 / 4" in body and "screening the risk list" in body
    assert "hx-trigger" in body


# --- review ------------------------------------------------------------------------------------


def test_the_review_page_shows_records_candidates_and_explanations(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    response = english(population.station).get(f"/screening/runs/{run.pk}/review/")
    assert response.status_code == 200
    body = response.content.decode()
    # The record and its candidate: masked numbers, dwelling and beat.
    assert "张伟" in body and population.zhang.id_masked in body and ZHANG_ID not in body
    assert "学府花园1号楼1门101" in body and "学府一警务区" in body
    assert "李娜" in body and population.li.phone_masked in body and LI_PHONE not in body
    # 王芳 lives in beat C, outside the station's scope: not a candidate here.
    assert population.wang.id_masked not in body
    # The explanation: the ID agreed (a green bar), with its weight in bits.
    assert 'class="bar agree"' in body and "ID number" in body
    assert "Confirm" in body and "Reject" in body and "Export to XLSX" in body


def test_the_review_page_filters_by_band_and_decision(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    client = english(population.station)
    match_review(actor=population.station, match=zhang_match(run, population), decision="confirmed")
    undecided = client.get(f"/screening/runs/{run.pk}/review/?undecided=on").content.decode()
    assert "张伟" not in undecided and "李娜" in undecided
    bands = set(Match.objects.filter(run=run).values_list("band", flat=True))
    for band in ("certain", "probable", "possible"):
        response = client.get(f"/screening/runs/{run.pk}/review/?band={band}")
        assert response.status_code == 200
        assert ("张伟" in response.content.decode()) == (
            Match.objects.filter(run=run, band=band, resident=population.zhang).exists()
        ), band
    assert bands
    assert client.get(f"/screening/runs/{run.pk}/review/?band=sure").status_code == 400
    assert client.get(f"/screening/runs/{run.pk}/review/?page=99999999999999999").status_code == 200


def test_the_review_page_costs_the_same_queries_for_few_or_many_records(
    population: Population, tmp_path: Path
) -> None:
    small = station_run(population, tmp_path)
    rows = list_rows()
    for i in range(8):
        resident = register(
            # Names without digits: a name holding one is refused by the list import.
            "陈" + GIVEN_NAMES[i],
            population.world.dwelling_a,
            born=date(1960, 1, 1 + i),
            sequence=101 + 2 * i,
        )
        rows.append([resident.name, "", "", f"1960-01-{1 + i:02d}", "男", "", ""])
    big_list = imported(population.station, write_csv(tmp_path / "big.csv", rows))
    big = screened(population.station, big_list)
    assert (
        Match.objects.filter(run=big).values("record").distinct().count()
        > Match.objects.filter(run=small).values("record").distinct().count()
    )
    client = english(population.station)
    client.get(f"/screening/runs/{small.pk}/review/")
    with CaptureQueriesContext(connection) as few:
        client.get(f"/screening/runs/{small.pk}/review/")
    with CaptureQueriesContext(connection) as many:
        client.get(f"/screening/runs/{big.pk}/review/")
    assert len(many) == len(few)


def test_it_confirms_a_match_through_htmx_and_creates_the_task(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    match = zhang_match(run, population)
    client = english(population.station)
    response = client.post(
        f"/screening/matches/{match.pk}/review/",
        {"decision": "confirmed", "note": "同一人"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    card = response.content.decode()
    assert card.startswith('<article class="candidate decided-confirmed"')
    assert "同一人" in card and "学府花园1号楼1门101" in card and 'class="bar agree"' in card
    review = Review.objects.get(match=match)
    assert (review.decision, review.note, review.reviewed_by) == (
        Decision.CONFIRMED,
        "同一人",
        population.station,
    )
    task = VerificationTask.objects.get(match=match)
    assert task.status == TaskStatus.OPEN and task.resident == population.zhang
    assert AuditEntry.objects.filter(action="screening.review", object_id=str(match.pk)).exists()


def test_it_rejects_a_match_with_a_plain_form_and_goes_back(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    match = zhang_match(run, population)
    client = english(population.station)
    back = f"/screening/runs/{run.pk}/review/?band=certain"
    response = client.post(
        f"/screening/matches/{match.pk}/review/", {"decision": "rejected", "next": back}
    )
    assert response.status_code == 302 and response["Location"] == back
    assert Review.objects.get(match=match).decision == Decision.REJECTED
    assert not VerificationTask.objects.exists()
    # Somewhere else is not a place to go back to.
    response = client.post(
        f"/screening/matches/{match.pk}/review/",
        {"decision": "rejected", "next": "https://example.org/"},
    )
    assert response["Location"] == f"/screening/runs/{run.pk}/review/"


def test_a_bad_decision_is_shown_in_the_card_not_a_500(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    match = zhang_match(run, population)
    client = english(population.station)
    response = client.post(
        f"/screening/matches/{match.pk}/review/", {"decision": "maybe"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'class="alert error small"' in response.content.decode()
    assert not Review.objects.exists()
    plain = client.post(f"/screening/matches/{match.pk}/review/", {"decision": "maybe"})
    assert plain.status_code == 302
    assert not Review.objects.exists()


def test_out_of_scope_lists_runs_matches_and_tasks_are_not_found(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    match = zhang_match(run, population)
    match_review(actor=population.station, match=match, decision="confirmed")
    task = VerificationTask.objects.get()
    outsider = client_for(population.world.users["other_district"])
    for url in (
        f"/screening/lists/{run.risk_list_id}/",
        f"/screening/lists/{run.risk_list_id}/issues.csv",
        f"/screening/runs/{run.pk}/",
        f"/screening/runs/{run.pk}/review/",
        f"/screening/runs/{run.pk}/export.xlsx",
        f"/screening/runs/{run.pk}/pairs/",
        "/screening/runs/99999999/",
        "/screening/lists/99999999/",
    ):
        assert outsider.get(url).status_code == 404, url
    assert (
        outsider.post(f"/screening/lists/{run.risk_list_id}/screen/", {"purpose": "p"}).status_code
        == 404
    )
    assert (
        outsider.post(
            f"/screening/matches/{match.pk}/review/", {"decision": "rejected"}
        ).status_code
        == 404
    )
    assert (
        outsider.post(f"/screening/tasks/{task.pk}/done/", {f"t{task.pk}-outcome": "x"}).status_code
        == 404
    )
    assert Review.objects.get().decision == Decision.CONFIRMED
    assert VerificationTask.objects.get().status == TaskStatus.OPEN
    # A screening run has no pairs page, a deduplication run no review page.
    station = client_for(population.station)
    assert station.get(f"/screening/runs/{run.pk}/pairs/").status_code == 404


def test_a_city_analyst_sees_names_masked_and_may_not_decide(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    match = zhang_match(run, population)
    city = english(population.world.users["city"])
    body = city.get(f"/screening/runs/{run.pk}/review/").content.decode()
    assert "张*" in body and "张伟" not in body
    assert '/review/" hx-post' not in body and 'name="decision"' not in body
    response = city.post(f"/screening/matches/{match.pk}/review/", {"decision": "confirmed"})
    assert response.status_code == 403
    assert not Review.objects.exists()


def test_the_export_is_an_xlsx_of_the_matches_in_scope(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    response = english(population.station).get(f"/screening/runs/{run.pk}/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    names = {row[6] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert "张伟" in names and "王芳" not in names
    assert AuditEntry.objects.filter(action="screening.export").count() == 1
    worker = client_for(population.world.users["worker"])
    assert worker.get(f"/screening/runs/{run.pk}/export.xlsx").status_code == 404


# --- verification tasks ------------------------------------------------------------------------


def test_the_beat_team_sees_its_tasks_and_marks_one_done(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    match_review(actor=population.station, match=zhang_match(run, population), decision="confirmed")
    task = VerificationTask.objects.get()
    officer = english(population.world.users["officer"])
    body = officer.get("/screening/tasks/").content.decode()
    assert "张伟" in body and "学府花园1号楼1门101" in body and "Mark done" in body
    # The neighbour's beat is B: 张伟 lives in A.
    assert (
        "张伟"
        not in english(population.world.users["neighbour"])
        .get("/screening/tasks/")
        .content.decode()
    )
    assert (
        english(population.world.users["neighbour"])
        .post(f"/screening/tasks/{task.pk}/done/", {f"t{task.pk}-outcome": "x"})
        .status_code
        == 404
    )
    empty = officer.post(f"/screening/tasks/{task.pk}/done/", {f"t{task.pk}-outcome": "  "})
    assert empty.status_code == 400
    assert "Say what the check found." in empty.content.decode()
    done = officer.post(
        f"/screening/tasks/{task.pk}/done/",
        {f"t{task.pk}-outcome": "已核实，本人在住", "next": "/screening/tasks/"},
    )
    assert done.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.outcome, task.done_by) == (
        TaskStatus.DONE,
        "已核实，本人在住",
        population.world.users["officer"],
    )
    # Done tasks are listed on request, not by default.
    assert "张伟" not in officer.get("/screening/tasks/").content.decode()
    assert "已核实，本人在住" in officer.get("/screening/tasks/?status=done").content.decode()
    assert officer.get("/screening/tasks/?status=lost").status_code == 400
    again = officer.post(f"/screening/tasks/{task.pk}/done/", {f"t{task.pk}-outcome": "again"})
    assert again.status_code == 302
    assert "already done" in officer.get("/screening/tasks/?status=done").content.decode()


def test_a_grid_worker_works_tasks_but_a_city_analyst_may_not(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    match_review(actor=population.station, match=zhang_match(run, population), decision="confirmed")
    task = VerificationTask.objects.get()
    grid = client_for(population.world.users["grid"])
    assert "张伟" in grid.get("/screening/tasks/").content.decode()
    city = client_for(population.world.users["city"])
    assert (
        city.post(f"/screening/tasks/{task.pk}/done/", {f"t{task.pk}-outcome": "x"}).status_code
        == 403
    )
    response = grid.post(f"/screening/tasks/{task.pk}/done/", {f"t{task.pk}-outcome": "在住"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


# --- deduplication -----------------------------------------------------------------------------


def _twins(population: Population) -> Resident:
    """A second record of 张伟 (no ID, same phone and birth) in beat B."""
    return register(
        "张伟",
        population.world.dwelling_b,
        born=date(1985, 3, 12),
        sequence=11,
        phone=ZHANG_PHONE,
        with_id=False,
    )


def test_it_starts_a_deduplication_run_with_a_purpose(population: Population) -> None:
    client = english(population.station)
    assert "audit log" in client.get("/screening/deduplicate/").content.decode()
    missing = client.post("/screening/deduplicate/", {"purpose": ""})
    assert missing.status_code == 400
    assert "State the purpose of the screening." in missing.content.decode()
    response = client.post("/screening/deduplicate/", {"purpose": "数据质量核查"})
    run = ScreeningRun.objects.get()
    assert response["Location"] == f"/screening/runs/{run.pk}/"
    assert (run.kind, run.purpose) == (RunKind.DEDUPLICATION, "数据质量核查")


def test_a_pair_half_outside_the_scope_is_shown_but_not_mergeable(
    population: Population,
) -> None:
    twin = _twins(population)
    officer_user = population.world.users["officer"]  # beat A: 张伟, not his twin in B
    run = run_execute(dedup_enqueue(actor=officer_user, purpose="数据质量核查", inline=True))
    pair = Match.objects.get(run=run)
    assert {pair.resident_id, pair.other_id} == {population.zhang.pk, twin.pk}
    officer = english(officer_user)
    body = officer.get(f"/screening/runs/{run.pk}/pairs/").content.decode()
    assert "张伟" in body
    assert "Only someone whose jurisdiction covers both records" in body
    assert "Merge into this record" not in body
    response = officer.post(f"/screening/matches/{pair.pk}/merge/", {"keep": population.zhang.pk})
    assert response.status_code == 403
    assert Resident.objects.filter(pk=twin.pk).exists()


def test_a_pair_inside_the_scope_is_merged_into_the_record_chosen(
    population: Population,
) -> None:
    twin = _twins(population)
    run = run_execute(dedup_enqueue(actor=population.station, purpose="数据质量核查", inline=True))
    pair = Match.objects.get(run=run)
    station = english(population.station)
    body = station.get(f"/screening/runs/{run.pk}/pairs/").content.decode()
    assert body.count("Merge into this record") == 2
    assert 'class="bar agree"' in body
    export = station.get(f"/screening/runs/{run.pk}/export.xlsx")
    assert export.status_code == 200 and f"/screening/runs/{run.pk}/export.xlsx" in body
    bad = station.post(f"/screening/matches/{pair.pk}/merge/", {"keep": "12"})
    assert bad.status_code == 302
    assert Resident.objects.filter(pk=twin.pk).exists()
    response = station.post(
        f"/screening/matches/{pair.pk}/merge/",
        {"keep": population.zhang.pk, "next": f"/screening/runs/{run.pk}/pairs/"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/screening/runs/{run.pk}/pairs/"
    assert not Resident.objects.filter(pk=twin.pk).exists()
    assert Resident.objects.filter(pk=population.zhang.pk).exists()
    # A deduplication run has no review page.
    assert station.get(f"/screening/runs/{run.pk}/review/").status_code == 404


def test_the_task_list_costs_the_same_queries_for_one_task_or_many(
    population: Population, tmp_path: Path
) -> None:
    run = station_run(population, tmp_path)
    matches = list(Match.objects.filter(run=run).order_by("pk"))
    match_review(actor=population.station, match=matches[0], decision="confirmed")
    client = english(population.station)
    client.get("/screening/tasks/")
    with CaptureQueriesContext(connection) as one:
        client.get("/screening/tasks/")
    for match in matches[1:]:
        match_review(actor=population.station, match=match, decision="confirmed")
    assert VerificationTask.objects.count() > 1
    with CaptureQueriesContext(connection) as many:
        body = client.get("/screening/tasks/").content.decode()
    assert "李娜" in body
    assert len(many) == len(one)


# --- a pair half outside the scope, unfinished runs, audited reads, analysts, refusals ----------


def test_the_side_of_a_pair_outside_the_scope_is_only_said_to_exist(
    duplicates: Duplicates,
) -> None:
    """The officer of beat A ran the deduplication: 王芳 (河北区) and 张伟's second record
    (beat B) are paired with residents of his beat, but who and where they are is not his to
    see — neither name link, nor birth, dwelling, beat, masked numbers, nor record id."""
    population = duplicates.population
    officer_user = population.world.users["officer"]
    run = deduplicated(officer_user)
    assert Match.objects.filter(run=run).count() == 2
    body = english(officer_user).get(f"/screening/runs/{run.pk}/pairs/").content.decode()
    assert body.count("A possible duplicate outside your jurisdiction") == 2
    for hidden in (population.wang, duplicates.zhang_again):
        assert f"/people/{hidden.pk}/" not in body and f"#{hidden.pk}<" not in body
    assert population.wang.id_masked not in body  # the second 王芳 has no ID number
    assert "三戒里" not in body  # 王芳's dwelling and beat
    assert "南开小区" not in body and "学府二警务区" not in body  # the second 张伟's
    # The sides in his beat are shown as before.
    assert f"/people/{population.zhang.pk}/" in body
    assert f"/people/{duplicates.wang_again.pk}/" in body
    assert "Merge into this record" not in body


def _unfinished(run: ScreeningRun, status: str) -> None:
    ScreeningRun.objects.filter(pk=run.pk).update(status=status)


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.FAILED])
def test_an_unfinished_run_is_not_reviewed_exported_or_decided(
    population: Population, tmp_path: Path, status: str
) -> None:
    """Until a run is done its matches are incomplete (a failed run's for ever): the review
    page and the export send the user to the run's page, saying why; a decision is refused."""
    run = station_run(population, tmp_path)
    match = zhang_match(run, population)
    _unfinished(run, status)
    client = english(population.station)
    run_page = f"/screening/runs/{run.pk}/"
    for url in (f"{run_page}review/", f"{run_page}review/?band=certain", f"{run_page}export.xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == run_page, url
    said = client.get(run_page).content.decode()
    assert ("failed" if status == RunStatus.FAILED else "not finished yet") in said
    assert not AuditEntry.objects.filter(action__in=["screening.export", "screening.view"]).exists()
    plain = client.post(f"/screening/matches/{match.pk}/review/", {"decision": "confirmed"})
    assert plain.status_code == 302 and plain["Location"] == run_page
    card = client.post(
        f"/screening/matches/{match.pk}/review/",
        {"decision": "confirmed"},
        HTTP_HX_REQUEST="true",
    )
    assert card.status_code == 200 and 'class="alert error small"' in card.content.decode()
    assert not Review.objects.exists() and not VerificationTask.objects.exists()


def test_an_unfinished_deduplication_is_not_listed_or_merged(population: Population) -> None:
    twin = _twins(population)
    run = run_execute(dedup_enqueue(actor=population.station, purpose="数据质量核查", inline=True))
    pair = Match.objects.get(run=run)
    _unfinished(run, RunStatus.RUNNING)
    station = english(population.station)
    response = station.get(f"/screening/runs/{run.pk}/pairs/")
    assert response.status_code == 302 and response["Location"] == f"/screening/runs/{run.pk}/"
    merge = station.post(f"/screening/matches/{pair.pk}/merge/", {"keep": population.zhang.pk})
    assert merge.status_code == 302
    assert Resident.objects.filter(pk=twin.pk).exists()
    assert "not finished yet" in station.get(merge["Location"]).content.decode()


def test_opening_the_review_pages_is_audited(population: Population, tmp_path: Path) -> None:
    """Who read which run's results, which page with which filters."""
    run = station_run(population, tmp_path)
    client = english(population.station)
    assert client.get(f"/screening/runs/{run.pk}/review/?band=certain&undecided=on").status_code
    entry = AuditEntry.objects.get(action="screening.view")
    assert (entry.actor, entry.object_id, entry.reason) == (
        population.station,
        str(run.pk),
        run.purpose,
    )
    assert entry.detail == {
        "run": run.pk,
        "view": "review",
        "band": "certain",
        "undecided": True,
        "page": 1,
    }
    _twins(population)
    dedup = run_execute(
        dedup_enqueue(actor=population.station, purpose="数据质量核查", inline=True)
    )
    client.get(f"/screening/runs/{dedup.pk}/pairs/")
    pairs = AuditEntry.objects.filter(action="screening.view").latest("pk")
    assert pairs.object_id == str(dedup.pk)
    assert pairs.detail == {"run": dedup.pk, "view": "pairs", "page": 1}


def test_a_city_analyst_gets_the_birth_year_and_no_address_or_notes(
    population: Population, tmp_path: Path
) -> None:
    """As on the registry's pages: with names masked, no full date of birth, no address (the
    resident's dwelling or the list's), no notes (the list's, the reviewer's, the outcome)."""
    run = station_run(population, tmp_path)
    match = zhang_match(run, population)
    match_review(actor=population.station, match=match, decision="confirmed", note="同一人")
    city = english(population.world.users["city"])
    body = city.get(f"/screening/runs/{run.pk}/review/").content.decode()
    assert "张*" in body and "1985" in body and "学府一警务区" in body
    for withheld in ("1985-03-12", "1990-07-01", "学府花园1号楼1门101", "密接", "同一人"):
        assert withheld not in body, withheld
    task = VerificationTask.objects.get()
    officer = english(population.world.users["officer"])
    officer.post(f"/screening/tasks/{task.pk}/done/", {f"t{task.pk}-outcome": "已核实在住"})
    tasks = city.get("/screening/tasks/?status=done").content.decode()
    assert "张*" in tasks and "学府一警务区" in tasks
    for withheld in ("1985-03-12", "学府花园1号楼1门101", "已核实在住"):
        assert withheld not in tasks, withheld
    # The station leader sees it all.
    full = english(population.station).get(f"/screening/runs/{run.pk}/review/").content.decode()
    for shown in ("1985-03-12", "学府花园1号楼1门101", "密接", "同一人"):
        assert shown in full, shown


def test_a_pair_is_not_reviewed_on_the_page(population: Population) -> None:
    """A pair is merged or left, not confirmed (the API answers 400 too)."""
    _twins(population)
    run = run_execute(dedup_enqueue(actor=population.station, purpose="数据质量核查", inline=True))
    pair = Match.objects.get(run=run)
    station = english(population.station)
    url = f"/screening/matches/{pair.pk}/review/"
    response = station.post(url, {"decision": "confirmed"})
    assert response.status_code == 302
    assert response["Location"] == f"/screening/runs/{run.pk}/pairs/"
    assert "merged, not reviewed" in station.get(response["Location"]).content.decode()
    htmx = station.post(url, {"decision": "confirmed"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 400 and "merged, not reviewed" in htmx.content.decode()
    assert not Review.objects.exists() and not VerificationTask.objects.exists()


def test_merging_a_pair_that_went_in_the_meantime_is_a_message(
    population: Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pair is found, then someone else's merge removes it before this one runs."""
    twin = _twins(population)
    run = run_execute(dedup_enqueue(actor=population.station, purpose="数据质量核查", inline=True))
    pair = Match.objects.get(run=run)
    found = selectors.match_get

    def found_then_gone(*, user: User, pk: int) -> Match:
        match = found(user=user, pk=pk)
        Match.objects.filter(pk=pk).delete()
        return match

    monkeypatch.setattr(selectors, "match_get", found_then_gone)
    station = english(population.station)
    response = station.post(f"/screening/matches/{pair.pk}/merge/", {"keep": population.zhang.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/screening/runs/{run.pk}/pairs/"
    assert Resident.objects.filter(pk__in=[population.zhang.pk, twin.pk]).count() == 2
    monkeypatch.undo()
    assert "no longer there" in station.get(response["Location"]).content.decode()


def _moved(resident: Resident, dwelling: Dwelling) -> None:
    residence_move_in(
        resident=resident,
        dwelling=dwelling,
        since=date(2025, 1, 1),
        relation="tenant",
        registered=False,
        actor=None,
    )


def test_the_tasks_page_follows_the_resident(population: Population, tmp_path: Path) -> None:
    """张伟 moves from beat A to beat B: his task leaves beat A's page and joins beat B's."""
    run = station_run(population, tmp_path)
    match_review(actor=population.station, match=zhang_match(run, population), decision="confirmed")
    task = VerificationTask.objects.get()
    _moved(population.zhang, population.world.dwelling_b)
    officer = english(population.world.users["officer"])
    neighbour = english(population.world.users["neighbour"])
    assert "张伟" not in officer.get("/screening/tasks/").content.decode()
    assert (
        officer.post(f"/screening/tasks/{task.pk}/done/", {f"t{task.pk}-outcome": "x"}).status_code
        == 404
    )
    assert "张伟" in neighbour.get("/screening/tasks/").content.decode()
    done = neighbour.post(f"/screening/tasks/{task.pk}/done/", {f"t{task.pk}-outcome": "在住"})
    assert done.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_the_review_page_follows_the_resident(population: Population, tmp_path: Path) -> None:
    """张伟 moves to 河北区: he leaves the station's review page and its export."""
    run = station_run(population, tmp_path)
    _moved(population.zhang, population.dwelling_c)
    station = english(population.station)
    body = station.get(f"/screening/runs/{run.pk}/review/").content.decode()
    assert population.zhang.id_masked not in body and "李娜" in body
    export = station.get(f"/screening/runs/{run.pk}/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    names = {row[6] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert "李娜" in names and "张伟" not in names
    match = zhang_match(run, population)
    assert (
        station.post(
            f"/screening/matches/{match.pk}/review/", {"decision": "confirmed"}
        ).status_code
        == 404
    )
