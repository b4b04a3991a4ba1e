"""Resident export: streamed CSV/XLSX of the caller's list, scope held, masked unless the
user may unmask and says why, one audit entry per export."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.utils import translation

from safecommunity.accounts.models import AuditEntry, User
from safecommunity.people.exports import export_residents
from safecommunity.people.models import Resident
from tests.conftest import World
from tests.people.registry import register, valid_id

BORN = date(1980, 5, 17)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def residents(world: World) -> None:
    register("张伟", world.dwelling_a, sequence=1, phone="13812345678")
    register("李娜", world.dwelling_a, sequence=2)
    register("王芳", world.dwelling_b, sequence=4)


def csv_text(user: User, **kwargs: object) -> str:
    data = b"".join(
        export_residents(user=user, queryset=Resident.objects.order_by("pk"), fmt="csv", **kwargs)  # type: ignore[arg-type]
    )
    assert data.startswith(b"\xef\xbb\xbf")
    return data.decode("utf-8-sig")


def test_it_exports_the_scoped_list_masked(world: World, residents: None) -> None:
    text = csv_text(world.users["officer"])
    lines = text.splitlines()
    assert (
        lines[0]
        == "name,gender,birth_date,id_number,phone,ethnicity,address,relation,registered,since,notes"
    )
    assert len(lines) == 3  # beat A only: 张伟 and 李娜
    assert "王芳" not in text
    number = valid_id("120104", BORN, 1)
    assert number not in text and "120104********" + number[-4:] in text
    assert "138****5678" in text and "13812345678" not in text
    entry = AuditEntry.objects.get(action="resident.export")
    assert entry.detail == {"rows": 2, "format": "csv", "unmasked": False}


def test_it_unmasks_only_with_the_permission_and_a_reason(world: World, residents: None) -> None:
    officer = world.users["officer"]
    with pytest.raises(PermissionDenied):
        csv_text(officer, reason="核查")
    officer.user_permissions.add(Permission.objects.get(codename="unmask_resident"))
    officer = User.objects.get(pk=officer.pk)
    text = csv_text(officer, reason="核查户籍")
    assert valid_id("120104", BORN, 1) in text and "13812345678" in text
    entry = AuditEntry.objects.get(action="resident.export_unmasked")
    assert (entry.actor, entry.reason, entry.detail["rows"]) == (officer, "核查户籍", 2)
    # Without a reason the same user gets the masked file.
    assert valid_id("120104", BORN, 1) not in csv_text(officer)


def test_chinese_headers_and_values_round_trip_through_the_import(
    world: World, residents: None
) -> None:
    with translation.override("zh-hans"):
        text = csv_text(world.users["station"])
    assert text.splitlines()[0].startswith("姓名,性别,出生日期,身份证号,手机")
    assert "张伟,男,1980-05-17" in text and "学府花园1号楼1门101" in text


def test_a_city_analyst_gets_masked_names(world: World, residents: None) -> None:
    text = csv_text(world.users["city"])
    assert "张*" in text and "张伟" not in text


def test_it_streams_xlsx(world: World, residents: None) -> None:
    chunks = list(
        export_residents(
            user=world.users["station"], queryset=Resident.objects.order_by("name"), fmt="xlsx"
        )
    )
    book = openpyxl.load_workbook(io.BytesIO(b"".join(chunks)), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:4] == ("name", "gender", "birth_date", "id_number")
    assert sorted(r[0] for r in rows[1:]) == ["张伟", "李娜", "王芳"]
    assert all(isinstance(r[3], str) for r in rows[1:])  # ID numbers stay text


def test_the_neighbour_exports_nothing_of_beat_a(world: World, residents: None) -> None:
    text = csv_text(world.users["neighbour"])
    assert "张伟" not in text and "王芳" in text
