"""The one search box: ID number (also typed with full-width digits), phone, name in
characters, full pinyin or initials (every reading of a surname such as 曾, 单, 解, 区), and
address fragments — always within the user's scope."""

from __future__ import annotations

from datetime import date

import pytest

from safecommunity.accounts.models import User
from safecommunity.people.models import Resident
from safecommunity.people.selectors import SearchMode, resident_search, search_mode
from tests.conftest import World
from tests.people.registry import register, valid_id

BORN = date(1980, 5, 17)


def found(user: User, q: str) -> set[str]:
    return {r.name for r in resident_search(user=user, q=q).page}


@pytest.fixture
def zhang(world: World) -> Resident:
    return register("张三", world.dwelling_a, sequence=11, phone="13812345678")


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def test_it_finds_a_resident_by_id_number(world: World, zhang: Resident) -> None:
    register("李四", world.dwelling_a, sequence=13)
    number = valid_id("120104", BORN, 11)
    assert found(world.users["officer"], number) == {"张三"}
    assert resident_search(user=world.users["officer"], q=number).mode == SearchMode.ID


def test_it_finds_a_resident_by_id_number_typed_in_full_width_digits(
    world: World, zhang: Resident
) -> None:
    number = valid_id("120104", BORN, 11)
    assert found(world.users["officer"], _fullwidth(number)) == {"张三"}
    assert found(world.users["officer"], f"{number[:6]} {number[6:14]} {number[14:]}") == {"张三"}


def test_it_finds_nobody_for_a_mistyped_id_number(world: World, zhang: Resident) -> None:
    number = valid_id("120104", BORN, 11)
    wrong = number[:-2] + ("0" if number[-2] != "0" else "1") + number[-1]
    assert found(world.users["officer"], wrong) == set()


def test_it_finds_a_resident_by_phone_in_any_usual_form(world: World, zhang: Resident) -> None:
    for q in ("13812345678", "138 1234 5678", "+86 138-1234-5678", _fullwidth("13812345678")):
        assert found(world.users["officer"], q) == {"张三"}, q
    assert search_mode("138 1234 5678") == (SearchMode.PHONE, "13812345678")


@pytest.mark.parametrize("q", ["张三", "张", "zhangsan", "ZhangSan", "zhang san", "zs", "zha"])
def test_it_finds_a_name_by_characters_pinyin_and_initials(
    world: World, zhang: Resident, q: str
) -> None:
    assert found(world.users["officer"], q) == {"张三"}


@pytest.mark.parametrize(
    ("name", "queries"),
    [
        ("曾国藩", ["曾国藩", "zengguofan", "cengguofan", "zgf", "cgf", "zeng", "ceng"]),
        ("单田芳", ["dantianfang", "shantianfang", "dtf", "stf"]),
        ("解缙", ["xiejin", "jiejin", "xj", "jj"]),
        ("区志强", ["ouzhiqiang", "quzhiqiang", "ozq", "qzq"]),
    ],
)
def test_it_finds_a_surname_with_two_readings_by_each(
    world: World, name: str, queries: list[str]
) -> None:
    register(name, world.dwelling_a, sequence=21)
    for q in queries:
        assert found(world.users["officer"], q) == {name}, q


def test_it_finds_residents_by_address_fragment(world: World, zhang: Resident) -> None:
    register("王五", world.dwelling_b, sequence=15)
    admin = world.users["admin"]
    assert found(admin, "学府花园") == {"张三"}
    assert found(admin, "1号楼1门101") == {"张三", "王五"}
    assert found(admin, "南开小区") == {"王五"}


def test_a_fragment_of_two_characters_is_searched_as_a_name_only(
    world: World, zhang: Resident
) -> None:
    register("花园", world.dwelling_b, sequence=21)
    admin = world.users["admin"]
    # 花园 is in 张三's address, but two characters match half a city's dwellings.
    assert found(admin, "花园") == {"花园"}
    assert not resident_search(user=admin, q="花园").addresses_searched
    assert found(admin, "学府花") == {"张三"}
    assert resident_search(user=admin, q="学府花").addresses_searched


def test_it_finds_a_resident_once_when_name_and_address_both_match(world: World) -> None:
    # 学府 is both the start of the name and part of the address.
    register("学府", world.dwelling_a, sequence=17)
    page = resident_search(user=world.users["officer"], q="学府").page
    assert page.paginator.count == 1 and len(page.object_list) == 1


def test_it_does_not_find_the_address_of_a_past_residence(world: World) -> None:
    from safecommunity.people.services import residence_move_in

    moved = register("赵六", world.dwelling_a, sequence=19)
    residence_move_in(
        resident=moved,
        dwelling=world.dwelling_b,
        since=date(2024, 1, 1),
        relation="tenant",
        registered=False,
        actor=None,
    )
    assert found(world.users["admin"], "学府花园") == set()
    assert found(world.users["admin"], "南开小区") == {"赵六"}


def test_a_neighbouring_beat_finds_nothing_by_any_key(world: World, zhang: Resident) -> None:
    neighbour = world.users["neighbour"]
    number = valid_id("120104", BORN, 11)
    for q in (number, "13812345678", "张三", "zhangsan", "zs", "学府花园", ""):
        assert found(neighbour, q) == set(), q
    assert found(world.users["other_district"], "zhangsan") == set()
    # …while the station above both beats and the district find the resident.
    assert found(world.users["station"], number) == {"张三"}
    assert found(world.users["district"], "zs") == {"张三"}


def test_a_resident_without_a_dwelling_is_found_only_by_full_scope_users(world: World) -> None:
    register("孙七", None, sequence=23)
    assert found(world.users["admin"], "sunqi") == {"孙七"}
    assert found(world.users["city"], "sunqi") == set()
    assert found(world.users["officer"], "sunqi") == set()


def test_it_reads_the_search_box(world: World) -> None:
    assert search_mode("") == (SearchMode.ALL, "")
    assert search_mode("  ")[0] == SearchMode.ALL
    assert search_mode("12010419800517001x")[0] == SearchMode.ID
    assert search_mode("022-2350 0001") == (SearchMode.PHONE, "02223500001")
    assert search_mode("1381234")[0] == SearchMode.TEXT
    assert search_mode("x" * 1000)[1] == "x" * 100


@pytest.mark.parametrize("q", ["%", "_", "\\", "'", "\x00%", "zhang%", "\uffff", "🙂", "<b>"])
def test_it_survives_odd_search_text(world: World, zhang: Resident, q: str) -> None:
    page = resident_search(user=world.users["admin"], q=q).page
    assert "张三" not in {r.name for r in page}
