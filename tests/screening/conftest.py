"""Fixtures of the screening tests: residents in beats A and B (police station 万兴, the
``station`` user's jurisdiction) and in beat C (河北区, out of that station's scope), risk
lists written as CSV or XLSX, and a screening index of its own for every test (under the
test's own ``DATA_DIR``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from django.utils import translation
from pytest_django.fixtures import Settings

from safecommunity.accounts.models import User
from safecommunity.people.models import Resident
from safecommunity.places.models import Dwelling
from safecommunity.screening.models import RiskList, ScreeningRun
from safecommunity.screening.services import risk_list_import, run_enqueue, run_execute
from tests.conftest import World
from tests.people.registry import register, valid_id

HEADER = ["姓名", "身份证号", "手机号", "出生日期", "性别", "地址", "备注"]
ZHANG_ID = valid_id("120104", date(1985, 3, 12), 11)  # 张伟, male
LI_ID = valid_id("120104", date(1990, 7, 1), 22)  # 李娜, female
WANG_ID = valid_id("120105", date(1970, 1, 5), 33)  # 王芳's number, but she is male here
ZHANG_PHONE = "13812345678"
LI_PHONE = "13987654321"
WANG_PHONE = "13700001111"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Settings, tmp_path: Path) -> None:
    """Each test its own data folder, so its own screening index: the database is rolled
    back after every test, an index on disk is not."""
    settings.DATA_DIR = tmp_path / "data"


@dataclass
class Population:
    world: World
    zhang: Resident  # 张伟, beat A, ID and phone
    li: Resident  # 李娜, beat B, ID and phone
    wang: Resident  # 王芳, beat C (河北区): outside the station's scope
    liu: Resident  # 刘洋, beat A, no ID, no phone
    dwelling_c: Dwelling

    @property
    def station(self) -> User:
        return self.world.users["station"]


@pytest.fixture
def population(world: World) -> Population:
    dwelling_c = Dwelling.objects.get(grid=world.grid_c)
    zhang = register(
        "张伟", world.dwelling_a, born=date(1985, 3, 12), sequence=11, phone=ZHANG_PHONE
    )
    li = register("李娜", world.dwelling_b, born=date(1990, 7, 1), sequence=22, phone=LI_PHONE)
    wang = _register_in(
        "王芳", dwelling_c, born=date(1970, 1, 5), region="120105", sequence=33, phone=WANG_PHONE
    )
    liu = register("刘洋", world.dwelling_a, born=date(1992, 11, 30), sequence=45, with_id=False)
    return Population(world, zhang, li, wang, liu, dwelling_c)


def _register_in(
    name: str, dwelling: Dwelling, *, born: date, region: str, sequence: int, phone: str
) -> Resident:
    from safecommunity.people.services import resident_create, resident_input

    data = resident_input(
        name=name,
        gender="male" if sequence % 2 else "female",
        birth_date=born,
        id_number=valid_id(region, born, sequence),
        phone=phone,
    )
    return resident_create(data=data, actor=None, dwelling=dwelling, since=date(2020, 1, 1))


@dataclass
class Duplicates:
    population: Population
    zhang_again: Resident  # 张伟 again, without ID, in beat B: both sides in the station
    wang_again: Resident  # 王芳 again, without ID, in beat A: one side in beat C (河北区)


@pytest.fixture
def duplicates(population: Population) -> Duplicates:
    world = population.world
    zhang_again = register(
        "张伟",
        world.dwelling_b,
        born=date(1985, 3, 12),
        sequence=11,
        phone=ZHANG_PHONE,
        with_id=False,
    )
    wang_again = register(
        "王芳",
        world.dwelling_a,
        born=date(1970, 1, 5),
        sequence=33,
        phone=WANG_PHONE,
        with_id=False,
    )
    return Duplicates(population, zhang_again, wang_again)


def deduplicated(user: User) -> ScreeningRun:
    from safecommunity.screening.services import dedup_enqueue

    return run_execute(dedup_enqueue(actor=user, purpose="实有人口查重", inline=True))


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def list_rows() -> list[list[str]]:
    """A risk list naming 张伟 (exact ID), 李娜 (phone only), 王芳 (beat C, exact ID) and a
    stranger."""
    return [
        HEADER,
        ["张伟", ZHANG_ID, "", "1985-03-12", "男", "学府花园1号楼1门101", "密接"],
        ["李娜", "", LI_PHONE, "", "女", "", ""],
        ["王芳", WANG_ID, "", "", "", "", ""],
        ["赵无名", "", "13600000000", "2001-01-01", "男", "", "外地"],
    ]


def imported(user: User, path: Path, *, purpose: str = "疫情防控排查") -> RiskList:
    return risk_list_import(
        actor=user, path=path, file_name=path.name, name="", purpose=purpose
    ).risk_list


def screened(user: User, risk_list: RiskList, **kwargs: object) -> ScreeningRun:
    run = run_enqueue(actor=user, risk_list=risk_list, purpose="疫情防控排查", inline=True)
    return run_execute(run, **kwargs)  # type: ignore[arg-type]
