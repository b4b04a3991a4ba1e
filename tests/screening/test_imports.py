"""Importing a risk list: encodings and formats, header aliases, what is kept, dropped,
rejected and stored once, the masked issues file, and the bad files the issue lists."""

from __future__ import annotations

import csv
import io
import re
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from safecommunity.accounts.models import AuditEntry
from safecommunity.people import identity
from safecommunity.screening import tasks
from safecommunity.screening.imports import Level
from safecommunity.screening.models import ListStatus, RiskList, RiskRecord
from safecommunity.screening.services import (
    RiskListFileError,
    ScreeningError,
    risk_list_enqueue,
    risk_list_import,
    run_enqueue,
)
from tests.conftest import World
from tests.screening.conftest import (
    HEADER,
    LI_PHONE,
    ZHANG_ID,
    list_rows,
    write_csv,
    write_xlsx,
)


def do_import(world: World, path: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    kwargs.setdefault("name", "")
    kwargs.setdefault("purpose", "疫情防控排查")
    return risk_list_import(
        actor=world.users["station"],
        path=path,
        file_name=path.name,
        **kwargs,  # type: ignore[arg-type]
    )


def issues_file_rows(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_it_imports_a_utf8_list_with_chinese_headers(world: World, tmp_path: Path) -> None:
    result = do_import(world, write_csv(tmp_path / "名单.csv", list_rows()))
    risk_list = result.risk_list
    assert (risk_list.rows_read, risk_list.rows_kept, risk_list.rows_rejected) == (4, 4, 0)
    assert risk_list.name == "名单" and risk_list.file_name == "名单.csv"
    zhang = RiskRecord.objects.get(risk_list=risk_list, line=2)
    assert zhang.name == "张伟" and zhang.gender == "male" and zhang.note == "密接"
    assert zhang.birth_date == date(1985, 3, 12) and zhang.id_valid
    assert zhang.id_masked == ZHANG_ID[:6] + "********" + ZHANG_ID[-4:]
    assert identity.decrypt(zhang.id_cipher, purpose="id") == ZHANG_ID  # type: ignore[arg-type]
    assert zhang.id_index == identity.blind_index(ZHANG_ID, purpose="id")
    li = RiskRecord.objects.get(risk_list=risk_list, line=3)
    assert li.phone_index == identity.blind_index(LI_PHONE, purpose="phone")
    assert li.phone_masked == "139****4321" and li.id_cipher is None
    assert risk_list.scope_paths == sorted([world.beat_a.path, world.beat_b.path])
    assert result.message.startswith("4 of 4 rows kept")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_it_reads_utf8_with_bom_and_gbk(world: World, tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "list.csv", list_rows(), encoding=encoding)
    result = do_import(world, path)
    assert result.risk_list.rows_kept == 4
    assert RiskRecord.objects.get(risk_list=result.risk_list, line=5).name == "赵无名"


def test_it_reads_xlsx_and_english_headers(world: World, tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["Name", "ID Number", "Mobile", "Date of Birth", "Sex", "Address", "Remarks", "Source"],
        ["张伟", ZHANG_ID, 13812345678, date(1985, 3, 12), "M", "学府花园", "", "卫健委"],
        ["Li Na", "", "139-8765-4321", "1990/7/1", "female", "", "", ""],
    ]
    result = do_import(world, write_xlsx(tmp_path / "list.xlsx", rows))
    assert result.risk_list.rows_kept == 2
    li = RiskRecord.objects.get(risk_list=result.risk_list, line=3)
    assert li.phone_masked == "139****4321" and li.birth_date == date(1990, 7, 1)
    assert li.gender == "female"
    zhang = RiskRecord.objects.get(risk_list=result.risk_list, line=2)
    assert zhang.phone_masked == "138****5678"
    # The unknown column is a warning on the header line, and the list is still read.
    assert [(i.line, i.column, i.level) for i in result.issues] == [(1, "Source", Level.WARNING)]


def test_it_folds_full_width_digits_in_ids_and_phones(world: World, tmp_path: Path) -> None:
    full_id = ZHANG_ID.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    full_phone = "１３８１２３４５６７８"
    path = write_csv(tmp_path / "list.csv", [HEADER, ["张伟", full_id, full_phone, "", "", "", ""]])
    result = do_import(world, path)
    record = RiskRecord.objects.get(risk_list=result.risk_list)
    assert record.id_valid and record.id_index == identity.blind_index(ZHANG_ID, purpose="id")
    assert record.phone_index == identity.blind_index("13812345678", purpose="phone")
    # A valid ID fills the birth date and gender the row left out.
    assert record.birth_date == date(1985, 3, 12) and record.gender == "male"
    assert result.issues == []


def test_it_keeps_an_id_failing_its_checksum_as_a_warning(world: World, tmp_path: Path) -> None:
    wrong = ZHANG_ID[:-1] + ("0" if ZHANG_ID[-1] != "0" else "1")
    path = write_csv(tmp_path / "list.csv", [HEADER, ["张伟", wrong, "", "", "", "", ""]])
    result = do_import(world, path)
    record = RiskRecord.objects.get(risk_list=result.risk_list)
    assert not record.id_valid
    assert identity.decrypt(record.id_cipher, purpose="id") == wrong  # type: ignore[arg-type]
    (issue,) = result.issues
    assert (issue.line, issue.column, issue.level) == (2, "身份证号", Level.WARNING)
    assert "check digit" in issue.reason and "kept" in issue.reason
    assert issue.value == wrong[:6] + "********" + wrong[-4:]
    assert result.counts["invalid_ids"] == 1


def test_it_drops_a_malformed_phone_but_keeps_the_row(world: World, tmp_path: Path) -> None:
    rows = [
        HEADER,
        ["张伟", "", "1381234", "", "", "", ""],  # kept: it has a name
        ["", "", "12345", "", "", "", ""],  # nothing left to match on
        ["李娜", "12345", "", "1990-13-45", "未知", "", ""],  # ID, date and gender dropped
    ]
    result = do_import(world, write_csv(tmp_path / "list.csv", rows))
    risk_list = result.risk_list
    assert (risk_list.rows_kept, risk_list.rows_rejected) == (2, 1)
    zhang = RiskRecord.objects.get(risk_list=risk_list, line=2)
    assert zhang.phone_cipher is None and zhang.name == "张伟"
    by_line = {(i.line, i.column): i for i in result.issues}
    assert "dropped" in by_line[(2, "手机号")].reason
    assert by_line[(2, "手机号")].value == "***1234"  # masked even when malformed
    assert by_line[(3, "")].level == Level.REJECTED
    assert "nothing to match on" in by_line[(3, "")].reason
    assert "18 characters" in by_line[(4, "身份证号")].reason
    assert "not a possible date" in by_line[(4, "出生日期")].reason
    assert "unknown gender" in by_line[(4, "性别")].reason
    li = RiskRecord.objects.get(risk_list=risk_list, line=4)
    assert li.id_cipher is None and li.birth_date is None and li.gender == ""
    # Every issue is in the masked issues file too, with its level.
    content = issues_file_rows(risk_list.issues_file)
    assert content[0] == ["line", "column", "value", "level", "reason"]
    assert len(content) == 1 + len(result.issues)
    assert "1381234" not in Path(risk_list.issues_file).read_text(encoding="utf-8-sig")


def test_it_stores_duplicate_rows_once(world: World, tmp_path: Path) -> None:
    rows = list_rows()
    # The same row again, spaces and full-width digits aside, and the same one a third time.
    again = [
        "  张伟 ",
        ZHANG_ID.replace("1", "１"),
        "",
        "1985-03-12",
        "男",
        "学府花园1号楼1门101",
        "密接",
    ]
    result = do_import(world, write_csv(tmp_path / "list.csv", [*rows, again, rows[1]]))
    risk_list = result.risk_list
    assert (risk_list.rows_read, risk_list.rows_kept, risk_list.rows_duplicate) == (6, 4, 2)
    assert RiskRecord.objects.filter(risk_list=risk_list).count() == 4
    duplicates = [i for i in result.issues if i.level == Level.DUPLICATE]
    assert [(i.line, i.reason) for i in duplicates] == [
        (6, "the same as line 2; stored once"),
        (7, "the same as line 2; stored once"),
    ]


def test_it_keeps_traditional_characters_as_typed(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", [HEADER, ["張偉", "", "", "1985-03-12", "", "", ""]])
    result = do_import(world, path)
    assert RiskRecord.objects.get(risk_list=result.risk_list).name == "張偉"


def test_it_imports_a_list_of_one_row(world: World, tmp_path: Path) -> None:
    result = do_import(world, write_csv(tmp_path / "one.csv", [["姓名"], ["张伟"]]))
    assert (result.risk_list.rows_read, result.risk_list.rows_kept) == (1, 1)
    assert result.risk_list.issues_file == ""


def test_it_writes_records_in_batches(world: World, tmp_path: Path) -> None:
    """A long list never sits in memory whole: records go to the database a batch at a
    time, as the file is read."""
    rows = [HEADER] + [[f"张{i:04d}", "", f"138{i:08d}", "", "", "", ""] for i in range(250)]
    path = write_csv(tmp_path / "long.csv", rows)
    seen: list[tuple[int, int]] = []
    with CaptureQueriesContext(connection) as queries:
        result = do_import(
            world,
            path,
            batch_rows=40,
            progress=lambda stage, done, total: seen.append((done, total)),
        )
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "screening_riskrecord"')]
    assert len(inserts) == 7  # 6 batches of 40 and one of 10
    assert result.risk_list.rows_kept == 250
    # Progress is reported after each batch, in the file's bytes, up to the whole file.
    assert len(seen) == 7 and seen[-1][0] == seen[-1][1] == path.stat().st_size
    assert [done for done, _total in seen] == sorted(done for done, _total in seen)


def test_a_list_whose_every_row_is_invalid_is_kept_empty_with_a_message(
    world: World, tmp_path: Path
) -> None:
    rows = [HEADER, ["", "", "123", "", "男", "", ""], ["", "abc", "", "", "", "学府花园", "x"]]
    result = do_import(world, write_csv(tmp_path / "bad.csv", rows))
    risk_list = result.risk_list
    assert (risk_list.rows_read, risk_list.rows_kept, risk_list.rows_rejected) == (2, 0, 2)
    assert "No row of this list can be screened" in result.message
    assert Path(risk_list.issues_file).is_file()
    with pytest.raises(ScreeningError, match="no rows that can be screened"):
        from safecommunity.screening.services import run_enqueue

        run_enqueue(actor=world.users["station"], risk_list=risk_list, purpose="x")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        ("姓名,身份证号\n".encode(), "no rows below it"),
        ("姓名,身份证号\n\n,\n".encode(), "no rows below it"),
        ("来源,备注\n卫健委,x\n".encode(), "no column to match on: .* Found: 来源, 备注"),
        (b"\x00\x01\x02" * 100, "binary data"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel .xls"),
        (b"PK\x03\x04garbage", "cannot be opened"),
    ],
)
def test_it_refuses_a_file_it_cannot_use(
    world: World, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(RiskListFileError, match=message):
        do_import(world, path)
    assert not RiskList.objects.exists() and not RiskRecord.objects.exists()
    assert not list((tmp_path / "data" / "screening" / "lists").glob("*"))


def test_it_audits_the_import_with_its_purpose(world: World, tmp_path: Path) -> None:
    result = do_import(world, write_csv(tmp_path / "list.csv", list_rows()))
    entry = AuditEntry.objects.get(action="screening.list_import")
    assert entry.actor == world.users["station"] and entry.reason == "疫情防控排查"
    assert entry.object_id == str(result.risk_list.pk)
    assert entry.detail["kept"] == 4 and entry.detail["file"] == "list.csv"


def test_it_needs_a_purpose_and_a_screener(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", list_rows())
    with pytest.raises(ScreeningError, match="purpose"):
        do_import(world, path, purpose="  ")
    with pytest.raises(PermissionDenied):
        risk_list_import(
            actor=world.users["grid"], path=path, file_name="x.csv", name="", purpose="x"
        )
    assert not RiskList.objects.exists()


# --- what an issue may show -----------------------------------------------------------------


def no_long_number(text: str) -> bool:
    """No run of seven digits or more, ASCII or full-width, is left in ``text``."""
    return re.search(r"\d{7,}", text) is None


@pytest.mark.parametrize(
    "phone",
    [
        "+86 1234567890",  # +86 taken off, then too short: the reason quotes the rest
        "0086 15012345",
        "１２３４５６７８９０",  # full-width: the reason quotes it half-width
        "+86 1234５６７８９０",
    ],
)
def test_a_refused_phone_number_is_never_shown_in_clear(
    world: World, tmp_path: Path, phone: str
) -> None:
    path = write_csv(tmp_path / "list.csv", [HEADER, ["张伟", "", phone, "", "", "", ""]])
    result = do_import(world, path)
    (issue,) = result.issues
    assert issue.column == "手机号" and "dropped" in issue.reason
    assert no_long_number(issue.reason) and no_long_number(issue.value)
    assert no_long_number(Path(result.risk_list.issues_file).read_text(encoding="utf-8-sig"))


def test_a_name_holding_digits_is_dropped_with_the_digits_masked(
    world: World, tmp_path: Path
) -> None:
    """A phone number typed into the name column is never stored as a name, nor shown."""
    rows = [
        HEADER,
        ["张伟13812345678", "", "", "", "", "", ""],  # nothing else to match on: rejected
        ["李娜１３９", ZHANG_ID, "", "", "", "", ""],  # kept by its ID number, without a name
    ]
    result = do_import(world, write_csv(tmp_path / "list.csv", rows))
    risk_list = result.risk_list
    assert (risk_list.rows_kept, risk_list.rows_rejected) == (1, 1)
    record = RiskRecord.objects.get(risk_list=risk_list)
    assert record.line == 3 and record.name == "" and record.id_index is not None
    by_line = {(i.line, i.column): i for i in result.issues}
    assert by_line[(2, "姓名")].value == "张伟***********"
    assert "a name has no digits" in by_line[(2, "姓名")].reason
    assert by_line[(2, "")].level == Level.REJECTED
    assert by_line[(3, "姓名")].value == "李娜***"
    content = Path(risk_list.issues_file).read_text(encoding="utf-8-sig")
    assert "13812345678" not in content and "１３９" not in content


def test_a_date_of_birth_before_1900_is_dropped(world: World, tmp_path: Path) -> None:
    rows = [HEADER, ["张伟", "", "", "1899-12-31", "", "", ""], ["李娜", "", "", "1900-01-01"]]
    result = do_import(world, write_csv(tmp_path / "list.csv", rows))
    records = {r.line: r for r in RiskRecord.objects.filter(risk_list=result.risk_list)}
    assert records[2].birth_date is None and records[3].birth_date == date(1900, 1, 1)
    (issue,) = result.issues
    assert (issue.line, issue.column, issue.value) == (2, "出生日期", "1899-12-31")
    assert "before 1900" in issue.reason and "dropped" in issue.reason


def test_a_file_without_a_header_does_not_show_its_first_row_in_clear(
    world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [["13812345678", "12345"], ["13987654321", "x"]])
    with pytest.raises(RiskListFileError, match="no column to match on") as refused:
        do_import(world, path)
    assert no_long_number(str(refused.value)) and "*******5678" in str(refused.value)


# --- the import in the background -------------------------------------------------------------


def upload(content: bytes, name: str = "名单.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def test_an_upload_is_stored_privately_and_queued(world: World) -> None:
    content = csv_bytes(list_rows())
    risk_list = risk_list_enqueue(
        actor=world.users["station"], upload=upload(content), name="", purpose="疫情防控排查"
    )
    assert risk_list.status == ListStatus.QUEUED and risk_list.name == "名单"
    stored = Path(risk_list.stored_file)
    assert stored.read_bytes() == content and stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert risk_list.progress_total == len(content) and not risk_list.records.exists()
    assert risk_list.scope_paths == sorted([world.beat_a.path, world.beat_b.path])
    with pytest.raises(ScreeningError, match="still being imported"):
        run_enqueue(actor=world.users["station"], risk_list=risk_list, purpose="x")


def test_an_upload_needs_a_purpose_and_a_screener(world: World) -> None:
    with pytest.raises(ScreeningError, match="purpose"):
        risk_list_enqueue(actor=world.users["station"], upload=upload(b"x"), name="", purpose="")
    with pytest.raises(PermissionDenied):
        risk_list_enqueue(actor=world.users["grid"], upload=upload(b"x"), name="", purpose="x")
    assert not RiskList.objects.exists()
    assert not list((Path(settings.DATA_DIR) / "screening" / "uploads").glob("*"))


def test_the_worker_imports_a_queued_list_and_deletes_the_upload(world: World) -> None:
    content = csv_bytes([*list_rows(), ["", "", "123", "", "", "", ""]])
    risk_list = risk_list_enqueue(
        actor=world.users["station"],
        upload=upload(content),
        name="卫健委名单",
        purpose="疫情防控排查",
    )
    stored = Path(risk_list.stored_file)
    out = io.StringIO()
    call_command("worker", "--once", stdout=out, stderr=io.StringIO())
    assert "imported 1 risk list(s)" in out.getvalue()
    risk_list.refresh_from_db()
    assert risk_list.status == ListStatus.DONE and risk_list.finished_at is not None
    assert (risk_list.rows_read, risk_list.rows_kept, risk_list.rows_rejected) == (5, 4, 1)
    assert risk_list.progress_done == risk_list.progress_total == len(content)
    assert risk_list.name == "卫健委名单" and risk_list.records.count() == 4
    assert Path(risk_list.issues_file).is_file()
    assert not stored.exists() and risk_list.stored_file == ""
    entry = AuditEntry.objects.get(action="screening.list_import")
    assert entry.actor == world.users["station"] and entry.reason == "疫情防控排查"
    # Imported, the list can be screened.
    run_enqueue(actor=world.users["station"], risk_list=risk_list, purpose="疫情防控排查")


def test_a_queued_list_the_worker_cannot_read_fails_with_the_reason(world: World) -> None:
    risk_list = risk_list_enqueue(
        actor=world.users["station"], upload=upload(b""), name="", purpose="排查"
    )
    stored = Path(risk_list.stored_file)
    call_command("worker", "--once", stdout=io.StringIO(), stderr=io.StringIO())
    risk_list.refresh_from_db()
    assert risk_list.status == ListStatus.FAILED
    assert risk_list.message == "The file is empty. Nothing was imported."
    assert not stored.exists() and not risk_list.records.exists()
    with pytest.raises(ScreeningError, match="import failed"):
        run_enqueue(actor=world.users["station"], risk_list=risk_list, purpose="x")


def test_a_failed_import_deletes_what_it_had_written(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches are committed as they go; an import that fails after some of them leaves no
    record behind, and the list says it failed."""
    from safecommunity.screening import imports

    real = imports._record

    def broken_at_line_6(risk_list: RiskList, line: int, values: Any) -> RiskRecord:
        if line == 6:
            raise RuntimeError("disk full")
        return real(risk_list, line, values)

    monkeypatch.setattr(imports, "_record", broken_at_line_6)
    rows = [HEADER] + [[f"张{i}", "", f"138{i:08d}", "", "", "", ""] for i in range(8)]
    risk_list = risk_list_enqueue(
        actor=world.users["station"], upload=upload(csv_bytes(rows)), name="", purpose="排查"
    )
    claimed = tasks.risk_list_claim_next()
    assert claimed is not None and claimed.pk == risk_list.pk
    written: list[int] = []
    with pytest.raises(RuntimeError):
        risk_list_import(
            actor=claimed.created_by,
            path=Path(claimed.stored_file),
            into=claimed,
            batch_rows=2,
            progress=lambda *step: written.append(
                RiskRecord.objects.filter(risk_list=claimed).count()
            ),
        )
    assert written[:2] == [2, 4]  # two batches were in before line 6 failed
    risk_list.refresh_from_db()
    assert risk_list.status == ListStatus.FAILED and "internal error" in risk_list.message
    assert not risk_list.records.exists()
    assert not list((Path(settings.DATA_DIR) / "screening" / "lists").glob("*"))


@pytest.mark.django_db(transaction=True)
def test_an_import_holds_no_transaction_between_batches(world: World, tmp_path: Path) -> None:
    """Each batch is its own transaction: between batches the import holds none, so other
    writers (on SQLite: every other writer) wait for one batch at most."""
    rows = [HEADER] + [[f"张{i}", "", f"138{i:08d}", "", "", "", ""] for i in range(7)]
    between: list[tuple[bool, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        between.append((connection.in_atomic_block, RiskRecord.objects.count()))

    result = do_import(world, write_csv(tmp_path / "l.csv", rows), batch_rows=3, progress=progress)
    assert result.risk_list.rows_kept == 7
    assert between == [(False, 3), (False, 6), (False, 7)]
