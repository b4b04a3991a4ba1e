"""Resident import: formats, encodings, headers, bad rows with precise messages, idempotent
re-runs, addresses matched within scope (and created when asked), one audit entry a run."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from django.db import connection, transaction
from django.utils import translation

from safecommunity.accounts.models import AuditEntry
from safecommunity.people import identity
from safecommunity.people.imports import (
    CsvIssueFile,
    ImportFileError,
    ImportResult,
    RowIssue,
    bulk,
    import_residents,
    parallel,
)
from safecommunity.people.imports.bulk import secondary_indexes
from safecommunity.people.models import BaselineRollup, NameKey, Relation, Residence, Resident
from safecommunity.places.models import Dwelling
from tests.conftest import World
from tests.people.registry import register, valid_id

TODAY = date(2026, 3, 1)
ADDRESS_A = "学府花园1号楼1门101"
ADDRESS_B = "南开小区1号楼1门101"
ZHANG = valid_id("120104", date(1985, 3, 12), 11)  # male
LI = valid_id("120104", date(1990, 7, 1), 22)  # female
WANG = valid_id("120105", date(1970, 1, 5), 33)  # male


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


class Issues:
    def __init__(self) -> None:
        self.items: list[RowIssue] = []

    def write(self, issue: RowIssue) -> None:
        self.items.append(issue)

    def at(self, line: int) -> list[RowIssue]:
        return [i for i in self.items if i.line == line]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def run(path: Path, **kwargs: object) -> tuple[ImportResult, Issues]:
    issues = Issues()
    kwargs.setdefault("actor", None)
    result = import_residents(path=path, issues=issues, today=TODAY, **kwargs)  # type: ignore[arg-type]
    return result, issues


CHINESE_HEADER = [
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "手机",
    "民族",
    "地址",
    "关系",
    "户籍",
    "入住日期",
    "备注",
]
ENGLISH_HEADER = [
    "name",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "ethnicity",
    "address",
    "relation",
    "registered",
    "since",
    "notes",
]


def good_rows() -> list[list[str]]:
    return [
        [
            "张伟",
            "男",
            "1985-03-12",
            ZHANG,
            "13812345678",
            "汉族",
            ADDRESS_A,
            "户主",
            "是",
            "2020-05-01",
            "",
        ],
        [
            "李娜",
            "女",
            "1990/7/1",
            LI,
            "",
            "",
            ADDRESS_A,
            "家属",
            "户籍",
            "2020-05-01",
            "newly married",
        ],
        [
            "王芳",
            "女",
            "1992年2月3日",
            "",
            "022-23500001",
            "回族",
            ADDRESS_B,
            "租户",
            "流动",
            "",
            "",
        ],
    ]


def test_it_imports_a_utf8_csv_with_chinese_headers(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [CHINESE_HEADER, *good_rows()])
    result, issues = run(path)
    assert issues.items == []
    assert result.summary() == "created 3, updated 0, unchanged 0, rejected 0"
    zhang = Resident.objects.get(name="张伟")
    assert zhang.id_masked == identity.mask_id_number(ZHANG)
    assert zhang.id_index == identity.blind_index(ZHANG, purpose="id")
    assert zhang.phone_masked == "138****5678"
    assert identity.decrypt(zhang.id_cipher, purpose="id") == ZHANG  # type: ignore[arg-type]
    assert zhang.path == world.dwelling_a.path
    assert {"张伟", "zhangwei", "zw"} <= set(
        NameKey.objects.filter(resident=zhang).values_list("key", flat=True)
    )
    stay = Residence.objects.get(resident=zhang)
    assert (stay.dwelling, stay.relation, stay.registered, stay.since, stay.until) == (
        world.dwelling_a,
        Relation.OWNER,
        True,
        date(2020, 5, 1),
        None,
    )
    wang = Resident.objects.get(name="王芳")
    assert wang.id_index is None and wang.birth_date == date(1992, 2, 3)
    assert Residence.objects.get(resident=wang).since == TODAY  # no date: the import's day
    assert Residence.objects.get(resident=wang).registered is False


def test_it_reads_english_headers_and_a_bom(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [ENGLISH_HEADER, *good_rows()], encoding="utf-8-sig")
    result, issues = run(path)
    assert issues.items == []
    assert result.created == 3


def test_it_reads_a_gbk_csv(world: World, tmp_path: Path) -> None:
    """Chinese Excel saves CSV in GBK; the encoding is detected."""
    path = write_csv(tmp_path / "r.csv", [CHINESE_HEADER, *good_rows()], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    result, issues = run(path)
    assert issues.items == []
    assert result.created == 3
    assert Resident.objects.filter(name="王芳", ethnicity="回族").exists()


def test_a_second_run_of_the_same_file_changes_nothing(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [CHINESE_HEADER, *good_rows()])
    run(path)
    before = list(Resident.objects.order_by("pk").values())
    stays = list(Residence.objects.order_by("pk").values())
    keys = NameKey.objects.count()
    result, issues = run(path)
    assert result.summary() == "created 0, updated 0, unchanged 3, rejected 0"
    assert list(Resident.objects.order_by("pk").values()) == before
    assert list(Residence.objects.order_by("pk").values()) == stays
    assert NameKey.objects.count() == keys


def test_it_updates_changed_rows_and_moves_residents(world: World, tmp_path: Path) -> None:
    run(write_csv(tmp_path / "a.csv", [CHINESE_HEADER, *good_rows()]))
    rows = good_rows()
    rows[0][4] = "13900001111"  # new phone
    rows[1][6] = ADDRESS_B  # moved on 2025-01-01
    rows[1][9] = "2025-01-01"
    rows[2][7] = "其他"  # relation corrected in place
    result, issues = run(write_csv(tmp_path / "b.csv", [CHINESE_HEADER, *rows]))
    assert issues.items == []
    assert result.summary() == "created 0, updated 3, unchanged 0, rejected 0"
    assert Resident.objects.get(name="张伟").phone_masked == "139****1111"
    li = Resident.objects.get(name="李娜")
    history = list(Residence.objects.filter(resident=li).order_by("since"))
    assert [(s.dwelling, s.until) for s in history] == [
        (world.dwelling_a, date(2025, 1, 1)),
        (world.dwelling_b, None),
    ]
    assert li.path == world.dwelling_b.path
    assert Residence.objects.get(resident__name="王芳").relation == Relation.OTHER


def test_it_finds_a_resident_without_id_by_name_birth_date_and_dwelling(
    world: World, tmp_path: Path
) -> None:
    existing = register("赵敏", world.dwelling_a, born=date(1988, 8, 8), with_id=False)
    path = write_csv(
        tmp_path / "r.csv",
        [["姓名", "性别", "出生日期", "地址"], ["赵敏", "男", "1988-08-08", ADDRESS_A]],
    )
    result, _issues = run(path)
    assert result.unchanged == 1 and Resident.objects.filter(name="赵敏").get() == existing


def test_it_reports_every_bad_row_and_keeps_the_good_ones(world: World, tmp_path: Path) -> None:
    bad_checksum = ZHANG[:-1] + ("0" if ZHANG[-1] != "0" else "1")
    future = valid_id("120104", date(2027, 1, 1), 11)
    rows = [
        CHINESE_HEADER,
        good_rows()[0],  # line 2
        ["钱一", "男", "", bad_checksum, "", "", ADDRESS_A, "", "", "", ""],  # 3
        ["孙二", "女", "2027-01-01", "", "", "", ADDRESS_A, "", "", "", ""],  # 4
        ["周三", "男", "1980-01-01", "", "", "", "月亮小区9号楼9门909", "", "", "", ""],  # 5
        ["张伟", "男", "1985-03-12", ZHANG, "", "", ADDRESS_B, "", "", "", ""],  # 6 duplicate of 2
        ["吴四", "男", "1980-01-01", "", "12345", "", ADDRESS_A, "房东", "也许", "soon", ""],  # 7
        ["", "", "", future, "", "", ADDRESS_A, "", "", "", ""],  # 8
        ["郑五", "female", "", WANG, "", "", ADDRESS_B, "", "", "", ""],  # 9 ID says male
        good_rows()[2],  # 10
    ]
    result, issues = run(write_csv(tmp_path / "r.csv", rows))
    assert result.summary() == "created 2, updated 0, unchanged 0, rejected 7"
    # Without a readable ID the missing date of birth cannot be taken from it: both said.
    assert [(i.column, i.reason) for i in issues.at(3)] == [
        ("身份证号", "the ID number's check digit is wrong"),
        ("出生日期", "The date of birth is missing."),
    ]
    assert issues.at(3)[0].value == identity.mask_id_number(bad_checksum)
    assert [(i.column, i.reason) for i in issues.at(4)] == [
        ("出生日期", "The date of birth is in the future.")
    ]
    assert [(i.column, i.value, i.reason) for i in issues.at(5)] == [
        ("地址", "月亮小区9号楼9门909", "no dwelling with this address")
    ]
    assert [(i.column, i.reason) for i in issues.at(6)] == [
        ("身份证号", "the same person as on line 2; the row is skipped")
    ]
    assert {(i.column, i.reason) for i in issues.at(7)} == {
        ("手机", "a mobile number is 11 digits starting with 13–19, not “12345”"),
        (
            "关系",
            "unknown relation “房东”: use 户主/业主 (owner), 家属 (owner_family), "
            "租户/承租人 (tenant) or 其他 (other)",
        ),
        ("户籍", "“也许” is not 户籍/流动 (registered or not): use 是/否 or yes/no"),
        ("入住日期", "“soon” is not a date: use YYYY-MM-DD"),
    }
    assert issues.at(7)[0].value in {"*2345", "房东", "也许", "soon"}
    assert {(i.column, i.reason) for i in issues.at(8)} == {
        ("姓名", "The name is missing."),
        ("身份证号", "the birth date in the ID number is in the future"),
        ("出生日期", "The date of birth is missing."),
        ("性别", "The gender is missing."),
    }
    assert [(i.column, i.reason) for i in issues.at(9)] == [
        ("性别", "The gender disagrees with the ID number, which says Male.")
    ]
    assert set(Resident.objects.values_list("name", flat=True)) == {"张伟", "王芳"}
    # Nothing half-written: every resident has exactly its residence and its keys.
    assert Residence.objects.count() == 2
    assert not Resident.objects.filter(name_keys__isnull=True).exists()


def mixed_rows() -> list[list[str]]:
    """Good rows, bad rows and a duplicate, in that order twice over."""
    bad = ["钱一", "男", "", ZHANG[:-1] + "0", "", "", ADDRESS_A, "", "", "", ""]
    duplicate = ["张伟", "男", "1985-03-12", ZHANG, "", "", ADDRESS_B, "", "", "", ""]
    nowhere = ["周三", "男", "1980-01-01", "", "", "", "月亮小区9号楼9门909", "", "", "", ""]
    return [CHINESE_HEADER, *good_rows(), bad, duplicate, nowhere, bad]


def test_parsing_in_worker_processes_gives_exactly_the_in_process_result(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small enough a file for workers only when told so, in chunks of two rows.
    monkeypatch.setattr(parallel, "PARALLEL_FROM_ROWS", 0)
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 2)
    path = write_csv(tmp_path / "r.csv", mixed_rows())
    with transaction.atomic():
        alone, alone_issues = run(path, workers=1)
        stored = sorted(Resident.objects.values_list("name", "id_masked", "phone_masked", "path"))
        transaction.set_rollback(True)
    assert Resident.objects.count() == 0
    forked, forked_issues = run(path, workers=2)
    assert forked.summary() == alone.summary() == "created 3, updated 0, unchanged 0, rejected 4"
    assert forked_issues.items == alone_issues.items
    # Address problems are found when a batch is written, after the rows parsed before it.
    assert [(i.line, i.column) for i in forked_issues.items] == [
        (5, "身份证号"),
        (5, "出生日期"),
        (6, "身份证号"),
        (8, "身份证号"),
        (8, "出生日期"),
        (7, "地址"),
    ]
    after = sorted(Resident.objects.values_list("name", "id_masked", "phone_masked", "path"))
    assert after == stored


def test_a_first_load_builds_the_indexes_after_the_rows(world: World, tmp_path: Path) -> None:
    before = secondary_indexes()
    assert len(before) >= 6  # names, paths, phones, dwellings…
    keys = bulk.foreign_keys()  # PostgreSQL drops and adds them back too
    assert len(keys) == (3 if connection.vendor == "postgresql" else 0)
    result, _issues = run(write_csv(tmp_path / "r.csv", mixed_rows()), defer_indexes=True)
    assert result.summary() == "created 3, updated 0, unchanged 0, rejected 4"
    assert result.stage == "indexes" and not result.rolled_back
    assert secondary_indexes() == before
    assert bulk.foreign_keys() == keys
    # The rebuilt indexes answer: name keys, residences by dwelling.
    assert NameKey.objects.filter(key="zhangwei").count() == 1
    dwelling = Dwelling.objects.get(standard_address=ADDRESS_A)
    assert Residence.objects.filter(dwelling=dwelling, until__isnull=True).count() == 2
    # The baseline counts were refreshed once, at the end, for every grid written to.
    assert BaselineRollup.objects.get(path=dwelling.path).residents == 2
    other = Dwelling.objects.get(standard_address=ADDRESS_B)
    assert BaselineRollup.objects.get(path=other.path).residents == 1
    # …and so were the dwellings' uses: owner and family at A, a tenant at B.
    assert (dwelling.use, other.use) == ("owner_occupied", "rented")


def test_a_first_load_into_an_empty_registry_still_matches_a_person_given_an_id_later(
    world: World, tmp_path: Path
) -> None:
    # Into an empty registry nothing is read back, except this: a row with an ID number for
    # someone an earlier batch created without one (same name, birth date and address).
    rows = [
        CHINESE_HEADER,
        ["张伟", "男", "1985-03-12", "", "", "", ADDRESS_A, "", "", "", ""],
        ["李娜", "女", "1990-07-01", LI, "", "", ADDRESS_A, "", "", "", ""],
        ["张伟", "男", "1985-03-12", ZHANG, "", "", ADDRESS_A, "", "", "", ""],
    ]
    before = secondary_indexes()
    result, issues = run(write_csv(tmp_path / "r.csv", rows), defer_indexes=True, batch_rows=1)
    assert result.summary() == "created 2, updated 1, unchanged 0, rejected 0", issues.items
    zhang = Resident.objects.get(name="张伟")
    assert zhang.id_index == identity.blind_index(ZHANG, purpose="id")
    assert Residence.objects.filter(resident=zhang).count() == 1
    # The indexes it dropped to read nothing back are all there again.
    assert secondary_indexes() == before
    rebuilt = bulk.indexes_named(bulk.KEPT + bulk.REBUILT_WHEN_EMPTY)
    assert [name for name, _sql in rebuilt] == [
        "resident_name_birth",
        "resident_one_record_per_id_number",
    ]
    assert "UNIQUE" in rebuilt[1][1]


@pytest.mark.parametrize("first_load", [True, False])
def test_a_person_without_then_with_an_id_in_one_batch_is_one_resident(
    world: World, tmp_path: Path, first_load: bool
) -> None:
    rows = [
        CHINESE_HEADER,
        ["张伟", "男", "1985-03-12", "", "", "", ADDRESS_A, "", "", "", ""],
        ["张伟", "男", "1985-03-12", ZHANG, "13812345678", "", ADDRESS_A, "", "", "", ""],
    ]
    path = write_csv(tmp_path / "r.csv", rows)
    result, issues = run(path, defer_indexes=first_load)
    # As when the two rows fall in different batches: created by one, completed by the other.
    assert result.summary() == "created 1, updated 1, unchanged 0, rejected 0", issues.items
    zhang = Resident.objects.get(name="张伟")
    assert zhang.id_index == identity.blind_index(ZHANG, purpose="id")
    assert zhang.phone_index == identity.blind_index("13812345678", purpose="phone")
    again, _issues = run(path)
    assert again.summary() == "created 0, updated 0, unchanged 2, rejected 0"
    assert Resident.objects.count() == 1


def test_a_row_absorbed_by_a_rejected_row_is_rejected_with_it(world: World, tmp_path: Path) -> None:
    # 张伟 lives at B since 2020; the file moves him to A "since 2019": refused, and the row
    # without his ID number that stood for the same person at A goes with it.
    register("张伟", world.dwelling_b, born=date(1985, 3, 12), sequence=11)
    rows = [
        CHINESE_HEADER,
        ["张伟", "男", "1985-03-12", "", "", "", ADDRESS_A, "", "", "", ""],
        ["张伟", "男", "1985-03-12", ZHANG, "", "", ADDRESS_A, "", "", "2019-01-01", ""],
    ]
    result, issues = run(write_csv(tmp_path / "r.csv", rows))
    assert result.summary() == "created 0, updated 0, unchanged 0, rejected 2"
    assert "same person as line 3, which was rejected" in issues.at(2)[0].reason
    assert Resident.objects.count() == 1


def test_a_first_load_into_a_registry_with_residents_matches_them(
    world: World, tmp_path: Path
) -> None:
    # The same kind of match, against a resident stored before the import began.
    zhang = register("张伟", world.dwelling_a, born=date(1985, 3, 12), with_id=False)
    rows = [
        CHINESE_HEADER,
        ["张伟", "男", "1985-03-12", "", "13812345678", "", ADDRESS_A, "", "", "", ""],
    ]
    result, issues = run(write_csv(tmp_path / "r.csv", rows), defer_indexes=True)
    assert result.summary() == "created 0, updated 1, unchanged 0, rejected 0", issues.items
    zhang.refresh_from_db()
    assert zhang.phone_index == identity.blind_index("13812345678", purpose="phone")


def test_an_import_sets_the_use_of_the_dwellings_it_fills(world: World, tmp_path: Path) -> None:
    run(write_csv(tmp_path / "r.csv", [CHINESE_HEADER, *good_rows()]), defer_indexes=False)
    uses = dict(Dwelling.objects.values_list("standard_address", "use"))
    assert (uses[ADDRESS_A], uses[ADDRESS_B]) == ("owner_occupied", "rented")


def test_a_failed_first_load_writes_nothing_and_keeps_the_indexes(
    world: World, tmp_path: Path
) -> None:
    before = secondary_indexes()
    keys = bulk.foreign_keys()

    def fail_after_the_first_batch(done: int, total: int, result: ImportResult) -> None:
        raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError, match="worker killed"):
        run(
            write_csv(tmp_path / "r.csv", mixed_rows()),
            defer_indexes=True,
            batch_rows=1,
            progress=fail_after_the_first_batch,
        )
    assert Resident.objects.count() == 0 and Residence.objects.count() == 0
    assert secondary_indexes() == before
    assert bulk.foreign_keys() == keys
    entry = AuditEntry.objects.get(action="resident.import")
    assert entry.detail["rolled_back"] is True and entry.detail["created"] == 0


def test_only_a_large_file_into_a_nearly_empty_registry_is_a_first_load(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "DEFER_FROM_ROWS", 10)
    assert not bulk.worth_deferring(9)
    assert bulk.worth_deferring(10)
    register("张三", world.dwelling_a, sequence=1)
    register("李四", world.dwelling_a, sequence=2)
    assert not bulk.worth_deferring(10)  # two residents: more than a tenth of 10
    assert bulk.worth_deferring(20)


def test_no_full_id_number_reaches_the_error_file(world: World, tmp_path: Path) -> None:
    bad = ZHANG[:-1] + ("0" if ZHANG[-1] != "0" else "1")
    path = write_csv(
        tmp_path / "r.csv",
        [CHINESE_HEADER, ["钱一", "男", "", bad, "13812345678x", "", ADDRESS_A, "", "", "", ""]],
    )
    with CsvIssueFile(tmp_path / "errors.csv") as sink:
        import_residents(path=path, actor=None, issues=sink, today=TODAY)
    text = (tmp_path / "errors.csv").read_text(encoding="utf-8-sig")
    assert bad not in text and "13812345678" not in text
    assert text.splitlines()[0] == "line,column,value,reason"
    assert "120104********" in text


def test_it_refuses_a_file_without_required_columns(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["姓名", "手机"], ["张伟", "13812345678"]])
    with pytest.raises(ImportFileError) as caught:
        run(path)
    message = str(caught.value)
    assert "missing column(s): address (地址)" in message
    assert "ID number (身份证号) or date of birth (出生日期)" in message
    assert "found: 姓名, 手机" in message
    assert not Resident.objects.exists()


def test_it_reports_unknown_columns_and_imports_the_rest(world: World, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "r.csv",
        [["序号", "姓名", "身份证号", "地址", "血型"], ["1", "张伟", ZHANG, ADDRESS_A, "A"]],
    )
    result, issues = run(path)
    assert result.created == 1
    assert [(i.line, i.column) for i in issues.items] == [(1, "序号"), (1, "血型")]
    assert issues.items[0].reason.startswith("unknown column, ignored")
    assert result.rejected == 0


def test_it_refuses_two_columns_for_one_field(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["姓名", "身份证号", "公民身份号码", "地址"]])
    with pytest.raises(ImportFileError, match="“身份证号” and “公民身份号码” both mean id_number"):
        run(path)


def test_it_refuses_binary_junk_with_one_message(world: World, tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(os.urandom(10 * 1024 * 1024))
    with pytest.raises(ImportFileError, match="not a CSV or XLSX file: it holds binary data"):
        run(path)
    assert not AuditEntry.objects.filter(action="resident.import").exists()


def test_it_refuses_text_in_an_unknown_encoding(world: World, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("姓名,地址\n".encode() + b"\x80\x80\xff\xfe,x\n")
    with pytest.raises(ImportFileError, match=r"neither UTF-8 nor GBK/GB18030 text .*byte 14"):
        run(path)


def test_it_refuses_an_old_xls_and_an_empty_file(world: World, tmp_path: Path) -> None:
    xls = tmp_path / "r.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(ImportFileError, match="old Excel .xls file"):
        run(xls)
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportFileError, match="The file is empty"):
        run(empty)


def test_only_dwellings_in_scope_are_found(world: World, tmp_path: Path) -> None:
    """A beat-B officer's file naming a beat-A address: no such dwelling, for them."""
    path = write_csv(tmp_path / "r.csv", [CHINESE_HEADER, good_rows()[0], good_rows()[2]])
    result, issues = run(path, actor=world.users["neighbour"])
    assert result.summary() == "created 1, updated 0, unchanged 0, rejected 1"
    assert [(i.line, i.reason) for i in issues.items] == [(2, "no dwelling with this address")]


def test_it_does_not_move_a_resident_out_of_another_jurisdiction(
    world: World, tmp_path: Path
) -> None:
    run(write_csv(tmp_path / "a.csv", [CHINESE_HEADER, good_rows()[0]]))
    moved = good_rows()[0]
    moved[6] = ADDRESS_B
    result, issues = run(
        write_csv(tmp_path / "b.csv", [CHINESE_HEADER, moved]), actor=world.users["neighbour"]
    )
    assert result.rejected == 1
    assert "outside your jurisdiction" in issues.items[0].reason
    assert Resident.objects.get(name="张伟").path == world.dwelling_a.path


def test_it_creates_missing_addresses_when_asked(world: World, tmp_path: Path) -> None:
    header = ["姓名", "身份证号", "地址", "网格编码"]
    rows = [
        header,
        ["张伟", ZHANG, "学府花园2号楼3门502", world.grid_a.code],  # new building in a compound
        ["李娜", LI, "新建小区1号楼1门101", world.grid_a.code],  # new compound
        ["王芳", WANG, "学府花园东侧平房", world.grid_a.code],  # cannot be split
        ["赵敏", valid_id("120104", date(1988, 8, 8), 44), "新建小区1号楼1门102", ""],  # no grid
        [
            "孙二",
            valid_id("120104", date(1988, 8, 8), 46),
            "外区小区1号楼1门101",
            world.grid_c.code,
        ],
    ]
    path = write_csv(tmp_path / "r.csv", rows)
    result, issues = run(path, actor=world.users["officer"], create_missing_addresses=True)
    assert result.summary() == "created 2, updated 0, unchanged 0, rejected 3"
    assert result.dwellings_created == 2
    new = Dwelling.objects.get(standard_address="学府花园2号楼3门502")
    assert (new.entrance.building.compound, new.entrance.number, new.number, new.floor) == (
        world.dwelling_a.entrance.building.compound,
        "3",
        "502",
        5,
    )
    assert new.path == world.grid_a.path
    assert Dwelling.objects.get(standard_address="新建小区1号楼1门101").grid == world.grid_a
    assert "cannot be split into compound, building, entrance and room" in issues.at(4)[0].reason
    assert "fill in the grid code column" in issues.at(5)[0].reason
    # Beat C is not the officer's: its grid is unknown to them.
    assert f"no grid with the code “{world.grid_c.code}”" in issues.at(6)[0].reason
    again, _issues = run(path, actor=world.users["officer"], create_missing_addresses=True)
    assert (again.unchanged, again.dwellings_created) == (2, 0)


def test_it_writes_one_audit_entry_per_run(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [CHINESE_HEADER, *good_rows()])
    run(path, actor=world.users["officer"], batch_rows=1)
    entries = AuditEntry.objects.filter(action__startswith="resident.")
    assert [e.action for e in entries] == ["resident.import"]
    entry = entries.get()
    assert entry.actor == world.users["officer"]
    assert entry.detail["created"] == 2 and entry.detail["rejected"] == 1
    assert entry.detail["file"] == "r.csv"


def test_it_commits_in_batches_and_reports_progress(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [CHINESE_HEADER, *good_rows()])
    seen: list[tuple[int, int, int]] = []
    run(path, batch_rows=2, progress=lambda d, t, r: seen.append((d, t, r.rows)))
    assert [r for _d, _t, r in seen] == [2, 3]
    assert seen[-1][0] == seen[-1][1] == path.stat().st_size


# --- XLSX ------------------------------------------------------------------------------------


def test_it_imports_xlsx_with_dates_and_computed_formulas(world: World, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(ENGLISH_HEADER)
    sheet.append(
        [
            "张伟",
            "male",
            date(1985, 3, 12),
            ZHANG,
            13812345678,
            "",
            ADDRESS_A,
            "owner",
            "yes",
            date(2020, 5, 1),
            "",
        ]
    )
    sheet.append(["李娜", "female", "", LI, "", "", "=A1", "", "", "", ""])  # never computed
    path = tmp_path / "r.xlsx"
    book.save(path)
    _add_cached_formula(path)
    result, issues = run(path)
    assert result.summary() == "created 1, updated 0, unchanged 0, rejected 1"
    zhang = Resident.objects.get(name="张伟")
    assert zhang.phone_masked == "138****5678"
    assert Residence.objects.get(resident=zhang).since == date(2020, 5, 1)
    [issue] = issues.items
    assert (issue.line, issue.column) == (3, "address")
    assert "the formula =A1 has no computed value" in issue.reason


def _add_cached_formula(path: Path) -> None:
    """openpyxl cannot compute formulas; a cached value is what Excel leaves after saving.
    Rewrite the sheet XML so the first data row's notes cell is ``=1+1`` with cached 2."""
    import zipfile

    member = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    xml = files[member].decode()
    xml = xml.replace('<c r="K2"', '<c r="K2" t="n"><f>1+1</f><v>2</v></c><c r="Z2"', 1)
    files[member] = xml.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def test_it_reports_rows_under_merged_cells(world: World, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "地址"])
    sheet.append(["张伟", ZHANG, ADDRESS_A])
    sheet.append(["李娜", LI, None])
    sheet.append(["王芳", WANG, ADDRESS_B])
    sheet.merge_cells("C2:C3")
    path = tmp_path / "r.xlsx"
    book.save(path)
    result, issues = run(path)
    assert result.summary() == "created 1, updated 0, unchanged 0, rejected 2"
    assert [(i.line, i.reason) for i in issues.items] == [
        (2, "the cells C2:C3 are merged; unmerge them and fill in every cell"),
        (3, "the cells C2:C3 are merged; unmerge them and fill in every cell"),
    ]


def test_it_explains_an_id_number_excel_turned_into_a_number(world: World, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "地址"])
    sheet.append(["张伟", float(ZHANG[:17] + "0"), ADDRESS_A])
    path = tmp_path / "r.xlsx"
    book.save(path)
    _result, issues = run(path)
    assert "Excel keeps only 15 digits" in issues.items[0].reason


@pytest.mark.parametrize("phone", ["+86 1234567890", "0086 15012345", "１２３４５６７８９０"])
def test_an_issue_never_shows_a_refused_phone_number_in_clear(
    world: World, tmp_path: Path, phone: str
) -> None:
    """The reason quotes the number as normalised (without +86/0086, half-width), which
    masking the cell as typed does not find: every run of seven digits is masked."""
    path = write_csv(
        tmp_path / "r.csv",
        [
            ["姓名", "性别", "出生日期", "手机", "地址"],
            ["张伟", "男", "1985-03-12", phone, ADDRESS_A],
        ],
    )
    result, issues = run(path)
    (issue,) = issues.items
    assert issue.column == "手机" and result.rejected == 1
    for shown in (issue.value, issue.reason):
        assert not re.search(r"\d{7,}", shown), shown
