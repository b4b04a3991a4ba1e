"""The matching engine on its own (no Django): a small generated registry, risk records that
carry the errors the issue names, and what must come out."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecommunity.screening.engine import (
    FIELDS,
    MATCH_COLUMNS,
    ScreeningIndex,
    deduplicate,
    names,
    screen,
)
from safecommunity.screening.engine.numbers import (
    as_strings,
    check_digit,
    id_repairs,
    id_repairs_many,
    id_valid,
    phone_variants,
)

KEY = b"engine-tests-blind-index-key-32b"


def blind(value: str, purpose: str) -> str:
    # The registry's blind index: HMAC-SHA256(key, "purpose:value"), 128 bits in hex.
    return hmac.new(KEY, f"{purpose}:{value}".encode(), hashlib.sha256).digest()[:16].hex()


def make_id(region: str, birth: date, sequence: int) -> str:
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + check_digit(body)


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚英华玉兰红建国文斌辉鹏飞宇浩然晨阳博涵萱诺欣怡轩琪瑶"
)


def population(n: int = 3000, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    people = []
    for rid in range(1, n + 1):
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        people.append(
            {
                "rid": rid,
                "name": name,
                "birth": birth,
                "gender": "male" if rid % 2 else "female",
                "id_number": make_id("120101", birth, rid % 1000) if rid % 10 else None,
                "phone": f"13{rng.randrange(10**9):09d}",
                "address": f"天津市和平区劝业场街道长兴里{rid % 50 + 1}号楼{rid % 6 + 1}门{100 + rid % 30}",
                "path": f"12.01.{rid % 3:02d}",
            }
        )
    return people


def registry_rows(people: list[dict[str, object]]) -> pa.Table:
    """What the registry holds: blind indexes and masked forms, never the numbers."""

    def masked_id(number: object) -> str | None:
        return f"{number}"[:6] + "*" * 8 + f"{number}"[-4:] if number else None

    return pa.table(
        {
            "rid": [p["rid"] for p in people],
            "name": [p["name"] for p in people],
            "pinyin": [None] * len(people),
            "birth": pa.array([p["birth"] for p in people], pa.date32()),
            "gender": [p["gender"] for p in people],
            "id_key": [
                blind(str(p["id_number"]), "id") if p["id_number"] else None for p in people
            ],
            "id_masked": [masked_id(p["id_number"]) for p in people],
            "phone_key": [blind(str(p["phone"]), "phone") for p in people],
            "phone_masked": [f"{p['phone']}"[:3] + "****" + f"{p['phone']}"[-4:] for p in people],
            "address": [p["address"] for p in people],
            "path": [p["path"] for p in people],
        }
    )


@pytest.fixture(scope="module")
def people() -> list[dict[str, object]]:
    return population()


def with_column(table: pa.Table, column: str, values: list[object]) -> pa.Table:
    return table.set_column(table.column_names.index(column), column, pa.array(values))


def with_pinyin(rows: pa.Table) -> pa.Table:
    """Registry rows with pinyin filled in, as a caller's Parquet file would have it."""
    return with_column(
        rows, "pinyin", [names.pinyin(str(n)) for n in rows.column("name").to_pylist()]
    )


@pytest.fixture(scope="module")
def index(people: list[dict[str, object]], tmp_path_factory: pytest.TempPathFactory):
    built = ScreeningIndex.build(registry_rows(people), path=tmp_path_factory.mktemp("idx") / "i")
    yield built
    built.close()


def best(result_matches: pa.Table, rec: int) -> dict[str, object] | None:
    rows = [m for m in result_matches.to_pylist() if m["rec"] == rec and m["rank"] == 1]
    return rows[0] if rows else None


def record(person: dict[str, object], rec: int, **changes: object) -> dict[str, object]:
    base = {
        "rec": rec,
        "name": person["name"],
        "id_number": person["id_number"],
        "phone": person["phone"],
        "birth": person["birth"],
        "gender": person["gender"],
        "address": person["address"],
    }
    base.update(changes)
    return base


# --- ID repair and phone variants ------------------------------------------------------------


@settings(max_examples=300)
@given(
    body=st.text("0123456789", min_size=17, max_size=17),
    position=st.integers(0, 17),
    digit=st.sampled_from("0123456789X"),
)
def test_every_one_character_error_in_an_id_is_repaired(body: str, position: int, digit: str):
    good = body + check_digit(body)
    wrong = good[:position] + (digit if position == 17 else digit.replace("X", "0"))
    wrong += good[position + 1 :]
    if wrong == good:
        return
    assert not id_valid(wrong)  # MOD 11-2 catches every single substitution
    if good[:2] in {"11", "12", "13", "31", "44"} and 1 <= int(good[10:12]) <= 12:
        if 1 <= int(good[12:14]) <= 31:
            assert good in id_repairs(wrong)


@settings(max_examples=300)
@given(body=st.text("0123456789", min_size=17, max_size=17), position=st.integers(0, 16))
def test_every_adjacent_swap_in_an_id_is_repaired(body: str, position: int):
    body = "12" + body[2:10] + "0615" + body[14:]  # a real province and a calendar date
    good = body + check_digit(body)
    swapped = good[:position] + good[position + 1] + good[position] + good[position + 2 :]
    if swapped == good:
        return
    assert not id_valid(swapped)
    assert good in id_repairs(swapped)


def test_repairs_only_propose_ids_that_pass_the_checksum():
    wrong = make_id("120101", date(1985, 3, 12), 11)[:-1] + "0"
    repairs = id_repairs(wrong)
    assert repairs and all(id_valid(r) for r in repairs)
    assert wrong not in repairs


@settings(max_examples=50)
@given(
    bodies=st.lists(st.text("0123456789", min_size=17, max_size=17), min_size=1, max_size=20),
    errors=st.lists(st.tuples(st.integers(0, 17), st.sampled_from("0123456789X")), min_size=20),
)
def test_a_column_of_ids_is_repaired_row_by_row_as_each_id_alone(bodies, errors):
    wrong = []
    for body, (position, digit) in zip(bodies, errors, strict=False):
        good = "12" + body[2:10] + "0615" + body[14:]
        good += check_digit(good[:17])
        wrong.append(good[:position] + digit + good[position + 1 :])
    matrix = np.frombuffer("".join(wrong).encode(), np.uint8).reshape(len(wrong), 18)
    owner, repaired = id_repairs_many(matrix)
    found = as_strings(repaired)
    for row, number in enumerate(wrong):
        assert [f for f, o in zip(found, owner, strict=True) if o == row] == id_repairs(number)
    assert all(id_valid(f) for f in found)


def test_phone_variants_are_one_edit_away_and_show_the_residents_visible_digits():
    variants = phone_variants("13812345678", "138", "5678")
    assert "13812305678" in variants  # a digit wrong in the hidden middle
    assert "13812435678" in variants  # two hidden digits swapped
    assert all(v[:3] == "138" and v[-4:] == "5678" for v in variants)
    assert len(variants) == 4 * 9 + 3  # hidden substitutions + swaps inside the middle
    assert phone_variants("13812345678", "138", "5679") == ["13812345679"]


# --- names -----------------------------------------------------------------------------------


def test_traditional_characters_read_like_simplified():
    assert names.pinyin("張偉") == names.pinyin("张伟") == "zhang wei"


def test_surnames_take_their_surname_reading():
    assert names.pinyin("曾伟").split()[0] == "zeng"
    assert names.pinyin("单静").split()[0] == "shan"
    assert names.surname("欧阳娜娜") == "欧阳"


def test_a_list_of_names_reads_as_each_name_alone():
    values = ["张伟", "曾伟", "単于静", "阿依古丽·买买提", "Mary Smith", "", "欧阳娜娜", "张 伟"]
    assert names.pinyin_many(values) == [names.pinyin(v) for v in values]
    assert names.pinyin_many(values)[3] == "a yi gu li mai mai ti"


def test_latin_names_pass_through_as_words():
    assert names.pinyin("Mary-Ann Smith") == "mary ann smith"


# --- screening -------------------------------------------------------------------------------


def test_an_exact_id_is_certain_and_explained(index, people):
    person = people[10]
    result = screen(index, [record(person, 1, name=None, phone=None, address=None)], blind=blind)
    top = best(result.matches, 1)
    assert top is not None and top["rid"] == person["rid"]
    assert top["band"] == "certain"
    assert top["id_level"] == "exact" and top["id_weight"] > 10
    assert set(result.matches.column_names) == set(MATCH_COLUMNS)
    # The fields' contributions and the prior add up to the weight.
    assert sum(top[f"{f}_weight"] for f in FIELDS) != pytest.approx(0)


def test_a_mistyped_id_is_repaired_and_found(index, people):
    person = people[21]
    number = str(person["id_number"])
    wrong = number[:15] + str((int(number[15]) + 3) % 10) + number[16:]
    result = screen(index, [record(person, 1, id_number=wrong, phone=None)], blind=blind)
    top = best(result.matches, 1)
    assert top is not None and top["rid"] == person["rid"]
    assert top["id_level"] == "repaired"
    assert result.stats["repaired_id_keys"] >= 1


def test_homophones_and_traditional_script_agree_by_pinyin(index, people):
    person = next(p for p in people if str(p["name"]).endswith("伟") and p["id_number"])
    homophone = str(person["name"])[:-1] + "玮"
    traditional = str(person["name"]).replace("张", "張").replace("伟", "偉")
    rows = [
        record(person, 1, name=homophone, id_number=None, phone=None),
        record(person, 2, name=traditional, id_number=None, phone=None),
    ]
    result = screen(index, rows, blind=blind)
    for rec in (1, 2):
        top = best(result.matches, rec)
        assert top is not None and top["rid"] == person["rid"], rec
        assert top["name_level"] == "homophone"
        assert top["band"] in ("certain", "probable")


def test_full_width_digits_are_folded(index, people):
    person = people[33]
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    rows = [
        record(
            person,
            1,
            name=None,
            id_number=str(person["id_number"]).translate(wide),
            phone=str(person["phone"]).translate(wide),
        )
    ]
    top = best(screen(index, rows, blind=blind).matches, 1)
    assert top is not None and top["rid"] == person["rid"]
    assert top["id_level"] == "exact" and top["phone_level"] == "exact"


def test_swapped_day_and_month_count_as_a_near_agreement(index, people):
    person = next(
        p for p in people if 1 <= p["birth"].day <= 12 and p["birth"].day != p["birth"].month
    )  # type: ignore[union-attr]
    birth: date = person["birth"]  # type: ignore[assignment]
    swapped = date(birth.year, birth.day, birth.month)
    rows = [record(person, 1, birth=swapped, id_number=None)]
    top = best(screen(index, rows, blind=blind).matches, 1)
    assert top is not None and top["rid"] == person["rid"]
    assert top["birth_level"] == "swapped"


def test_a_phone_one_digit_off_is_checked_by_blind_index_when_it_decides(index, people):
    person = next(p for p in people if p["id_number"] is None)
    phone = str(person["phone"])
    wrong = phone[:5] + str((int(phone[5]) + 1) % 10) + phone[6:]
    # Nothing else decisive: a common-ish name, no birth date, no address.
    rows = [record(person, 1, phone=wrong, birth=None, address=None, gender=None)]
    result = screen(index, rows, blind=blind)
    top = best(result.matches, 1)
    assert top is not None and top["rid"] == person["rid"]
    assert top["phone_level"] == "near"
    assert result.stats["phone_variants_hashed"] >= 1


def test_someone_not_in_the_registry_is_not_matched(index):
    stranger = {
        "rec": 1,
        "name": "欧阳娜娜",
        "id_number": make_id("110101", date(2000, 9, 15), 321),
        "phone": "19900001111",
        "birth": date(2000, 9, 15),
        "gender": "female",
        "address": "北京市东城区东华门街道某胡同1号",
    }
    result = screen(index, [stranger], blind=blind)
    assert not [m for m in result.matches.to_pylist() if m["band"] != "possible"]


def test_scope_keeps_residents_outside_it_out(index, people):
    person = next(p for p in people if p["path"] == "12.01.01" and p["id_number"])
    rows = [record(person, 1)]
    inside = screen(index, rows, blind=blind, scope=["12.01.01"])
    outside = screen(index, rows, blind=blind, scope=["12.01.02"])
    assert best(inside.matches, 1)["rid"] == person["rid"]  # type: ignore[index]
    assert person["rid"] not in outside.matches.column("rid").to_pylist()
    assert set(outside.matches.column("path").to_pylist()) <= {"12.01.02"}


def test_an_empty_list_gives_no_matches(index):
    result = screen(index, [], blind=blind)
    assert result.matches.num_rows == 0
    assert result.stats["records"] == 0


def test_a_record_with_nothing_to_match_on_gives_no_matches(index):
    empty = {"rec": 1, "name": None, "id_number": None, "phone": None, "birth": None}
    assert screen(index, [empty], blind=blind).matches.num_rows == 0


def test_candidates_show_what_reached_scoring(index, people):
    person = people[40]
    result = screen(index, [record(person, 7)], blind=blind, keep_candidates=True)
    assert result.candidates is not None
    found = {row["rid"]: row for row in result.candidates.to_pylist() if row["rec"] == 7}
    assert found[person["rid"]]["id_lv"] == 0  # "exact", as the match shows it
    match = next(m for m in result.matches.to_pylist() if m["rid"] == person["rid"])
    assert found[person["rid"]]["probability"] == pytest.approx(match["probability"])


def test_training_learns_m_from_the_run(people, tmp_path: Path):
    # A list big enough for EM: 600 residents with their IDs plus errors elsewhere.
    built = ScreeningIndex.build(registry_rows(people), path=tmp_path / "i")
    before = built.model["m"]["name"][:]
    rows = [record(p, i, name=str(p["name"])[:-1] + "玮") for i, p in enumerate(people[:700])]
    screen(built, rows, blind=blind)
    after = ScreeningIndex.open(tmp_path / "i").model
    assert after["m"]["name"] != before  # kept for the next run
    assert 0.5 < after["share"] <= 1.0


def _trained_id_m(matches: int) -> list[float]:
    """m of the ID's levels after EM on a run whose name-and-birth-alike pairs are
    ``matches`` people with both IDs agreeing and a quarter as many strangers whose IDs,
    phones and addresses all differ."""
    from safecommunity.screening.engine import model as fs

    strangers = matches // 4

    def levels(match: int, stranger: int) -> np.ndarray:
        return np.r_[np.full(matches, match), np.full(strangers, stranger)].astype(np.int8)

    lv = {
        "id_lv": levels(0, 2),
        "phone_lv": levels(0, 2),
        "name_lv": levels(0, 0),
        "birth_lv": levels(0, 0),
        "gender_lv": levels(0, 0),
        "address_lv": levels(0, 2),
    }
    model = {
        "n": 1_000_000,
        "share": fs.SHARE_START,
        "m": {f: list(fs.M_START[f]) for f in fs.FIELDS},
        "u": {
            "id": [1e-6, 2e-5, 1 - 2.1e-5],
            "phone": [1e-6, 1e-4, 1 - 1.01e-4],
            "name": [5e-6, 5e-6, 2e-4, 1e-3, 3e-2, 0.968_79],
            "birth": [8e-5, 1e-5, 1e-3, 0.998_91],
            "gender": [0.5, 0.5],
            "address": [5e-6, 2e-3, 0.997_995],
        },
    }
    return fs.em(lv, model)["m"]["id"]


def test_a_level_no_match_showed_weighs_by_how_many_matches_training_saw():
    # Two people with one name and birth date but different valid ID numbers: the more
    # matches showed agreeing IDs, the surer that a disagreeing one is someone else; a few
    # thousand matches leave it where it starts.
    from safecommunity.screening.engine.model import M_UNSEEN

    few, many, more = (_trained_id_m(n)[2] for n in (1_000, 40_000, 80_000))
    assert few == pytest.approx(M_UNSEEN, rel=0.05)
    assert many == pytest.approx(0.5 / 40_000, rel=0.05)
    assert more == pytest.approx(0.5 / 80_000, rel=0.05)


# --- keeping the index current ---------------------------------------------------------------


def test_upsert_and_delete_keep_the_index_current(people, tmp_path: Path):
    built = ScreeningIndex.build(registry_rows(people[:100]), path=tmp_path / "i")
    newcomer = people[200]
    rows = [record(newcomer, 1)]
    assert best(screen(built, rows, blind=blind).matches, 1) is None or (
        best(screen(built, rows, blind=blind).matches, 1)["rid"] != newcomer["rid"]  # type: ignore[index]
    )
    built.upsert(registry_rows([newcomer]))
    assert len(built) == 101
    assert best(screen(built, rows, blind=blind).matches, 1)["rid"] == newcomer["rid"]  # type: ignore[index]
    # A resident who changed: the old version must not answer any more.
    moved = dict(people[5], path="12.01.02", address="天津市河西区友谊路街道梅江花园1号楼1门101")
    built.upsert(registry_rows([moved]))
    top = best(screen(built, [record(moved, 2)], blind=blind).matches, 2)
    assert top is not None and top["path"] == "12.01.02"
    built.delete([newcomer["rid"]])  # type: ignore[list-item]
    reopened = ScreeningIndex.open(tmp_path / "i")
    assert len(reopened) == 100
    assert (
        newcomer["rid"] not in screen(reopened, rows, blind=blind).matches.column("rid").to_pylist()
    )
    reopened.compact()
    assert len(ScreeningIndex.open(tmp_path / "i")) == 100


def test_the_index_holds_no_id_or_phone_number(people, tmp_path: Path):
    ScreeningIndex.build(registry_rows(people[:50]), path=tmp_path / "i")
    # What it does hold (names, birth dates) is for the owner only.
    assert (tmp_path / "i").stat().st_mode & 0o777 == 0o700
    stored = b"".join(f.read_bytes() for f in (tmp_path / "i").iterdir())
    for person in people[:50]:
        if person["id_number"]:
            assert str(person["id_number"]).encode() not in stored
        assert str(person["phone"]).encode() not in stored


# --- deduplication ---------------------------------------------------------------------------


def test_deduplicate_finds_a_person_registered_twice(people, tmp_path: Path):
    twice = dict(people[7], rid=90_001, id_number=None)
    twins = [
        dict(
            people[8],
            rid=90_002,
            id_number=make_id("120101", people[8]["birth"], 998),  # type: ignore[arg-type]
            phone="13900000000",
        ),
    ]
    built = ScreeningIndex.build(registry_rows([*people[:50], twice, *twins]), path=tmp_path / "i")
    pairs = deduplicate(built, min_band="probable").to_pylist()
    found = {(p["rid"], p["other"]) for p in pairs}
    assert (people[7]["rid"], 90_001) in found
    # Same name, birth and address but different ID numbers and phones: two people.
    assert (people[8]["rid"], 90_002) not in found
    assert all(p["rid"] < p["other"] for p in pairs)


def test_visible_phone_digits_close_within_one_edit():
    from safecommunity.screening.engine.model import phones_close

    a = np.array([1385678, 1385678, 1385678, 1385678, 1385678, 0])
    b = np.array([1385678, 1385679, 1386578, 1835678, 1397678, 1385678])
    # equal, one digit, swap in the tail, swap in the head, two digits, missing
    assert phones_close(a, b).tolist() == [True, True, True, True, False, False]


def test_an_index_in_many_chunks_answers_like_one_in_a_single_chunk(
    people, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from safecommunity.screening.engine import index as index_module

    rows = [
        record(p, i, name=str(p["name"])[:-1] + "玮", id_number=None)
        for i, p in enumerate(people[:60])
    ]
    whole = ScreeningIndex.build(registry_rows(people[:500]), path=tmp_path / "whole")
    expected = screen(whole, rows, blind=blind, train=False).matches
    monkeypatch.setattr(index_module, "CHUNK", 64)  # 64 rows a chunk: eight chunks
    chunked = ScreeningIndex.build(registry_rows(people[:500]), path=tmp_path / "chunked")
    assert chunked.base.column("rid").num_chunks == 8
    found = screen(chunked, rows, blind=blind, train=False).matches
    assert (
        found.select(["rec", "rid", "band"]).to_pylist()
        == expected.select(["rec", "rid", "band"]).to_pylist()
    )


def test_a_parquet_registry_builds_the_same_index_as_arrow_rows(
    people, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import pyarrow.parquet as pq

    from safecommunity.screening.engine import index as index_module

    # Chunks that do not line up with the file's row groups nor DuckDB's vectors.
    monkeypatch.setattr(index_module, "CHUNK", 70)
    filled = with_pinyin(registry_rows(people[:300]))
    # Someone not yet placed: Parquet hands paths over as dictionaries, a null among them.
    unplaced = filled.column("path").to_pylist()
    unplaced[150] = None
    filled = with_column(filled, "path", unplaced)
    pq.write_table(filled, tmp_path / "registry.parquet", row_group_size=100)
    from_arrow = ScreeningIndex.build(filled, path=tmp_path / "a")
    from_parquet = ScreeningIndex.build(tmp_path / "registry.parquet", path=tmp_path / "p")
    assert from_parquet.base.drop_columns(["path_id"]).equals(
        from_arrow.base.drop_columns(["path_id"])
    )

    def paths(built: ScreeningIndex) -> list[str]:
        return [built.paths.values[i] for i in built.base.column("path_id").to_pylist()]

    assert paths(from_parquet) == paths(from_arrow) == [*unplaced[:150], "", *unplaced[151:]]
    assert from_parquet.regions == from_arrow.regions == {"120101"}
    person = people[123]
    top = best(screen(from_parquet, [record(person, 1)], blind=blind).matches, 1)
    assert top is not None and top["rid"] == person["rid"]


def test_a_parquet_registry_without_pinyin_builds_the_same_index_as_with_it(people, tmp_path: Path):
    import pyarrow.parquet as pq

    filled = with_pinyin(registry_rows(people[:200]))
    # Pinyin left out for one resident: the file's statistics say so, and the build fills it.
    partly = filled.column("pinyin").to_pylist()
    partly[42] = None
    gap = with_column(filled, "pinyin", partly)
    pq.write_table(gap, tmp_path / "gap.parquet", row_group_size=64)
    pq.write_table(filled, tmp_path / "filled.parquet", row_group_size=64)
    with_gap = ScreeningIndex.build(tmp_path / "gap.parquet", path=tmp_path / "g")
    whole = ScreeningIndex.build(tmp_path / "filled.parquet", path=tmp_path / "f")
    assert with_gap.base.column("py").to_pylist()[42] == names.pinyin(str(people[42]["name"]))
    assert with_gap.base.equals(whole.base)


def test_exact_ids_finds_residents_by_their_blind_index_only(index, people, tmp_path: Path):
    from safecommunity.screening.engine import exact_ids

    with_ids = [p for p in people if p["id_number"]][:5]
    keys = [blind(str(p["id_number"]), "id") for p in with_ids] + [blind("nobody", "id"), None]
    found = exact_ids(index, list(range(len(keys))), keys)
    assert sorted(
        zip(found.column("rec").to_pylist(), found.column("rid").to_pylist(), strict=True)
    ) == [(i, p["rid"]) for i, p in enumerate(with_ids)]
    assert set(found.column("path").to_pylist()) <= {"12.01.00", "12.01.01", "12.01.02"}


def test_key_values_read_from_buffers_agree_with_arrow_with_nulls_and_slices():
    from safecommunity.screening.engine.index import key_values

    whole = pa.array([5, None, 2**63 + 7, 9, None, 11, 13, 2**64 - 1, None, 1] * 3, pa.uint64())
    column = pa.chunked_array([whole.slice(3, 9), whole.slice(0, 2), whole.slice(17)])
    valid, values = key_values(column)
    expected = column.to_pylist()
    assert valid.tolist() == [v is not None for v in expected]
    assert values.tolist() == [v or 0 for v in expected]


def test_scanned_fallback_keys_skip_blocks_larger_than_the_cap(index):
    from safecommunity.screening.engine.index import connect, key_values

    valid, values = key_values(index.base.column("k_birth"))
    shared, sizes = np.unique(values[valid], return_counts=True)
    key = shared[np.argmax(sizes)]
    size = int(sizes.max())
    assert size >= 2  # the registry has people born on the same day
    con = connect()
    try:
        asked = {"k_birth": np.array([key, key], np.uint64), "k_py": np.zeros(0, np.uint64)}
        which, rows = index.find_scanned(con, asked, size)["k_birth"]
        assert sorted(rows[which == 0].tolist()) == np.flatnonzero(valid & (values == key)).tolist()
        assert len(which) == 2 * size
        assert len(index.find_scanned(con, asked, size - 1)["k_birth"][0]) == 0
    finally:
        con.close()


def test_birth_levels_tell_exact_swapped_one_digit_and_different():
    from safecommunity.screening.engine.model import birth_levels

    left = pa.array([date(1985, 3, 12)] * 5 + [None], pa.date32())
    right = pa.array(
        [
            date(1985, 3, 12),  # exact
            date(1985, 12, 3),  # day and month swapped
            date(1985, 3, 13),  # one digit
            date(1958, 3, 12),  # two adjacent digits swapped
            date(1990, 7, 1),  # different
            date(1985, 3, 12),  # missing on the left
        ],
        pa.date32(),
    )
    assert birth_levels(left, right).tolist() == [0, 1, 2, 2, 3, -1]


def test_records_no_rule_finds_fall_back_to_their_address_and_pinyin(index, people):
    by_address = next(p for p in people if p["id_number"])
    by_name = next(
        p for p in people if sum(q["name"] == p["name"] for q in people) == 1 and p["rid"] > 100
    )
    phone = str(by_name["phone"])
    rows = [
        # A mistyped given name and the full address: nothing else.
        {"rec": 1, "name": str(by_address["name"])[0] + "某某", "address": by_address["address"]},
        # The name and a phone whose last digit is wrong.
        {"rec": 2, "name": by_name["name"], "phone": phone[:-1] + str((int(phone[-1]) + 1) % 10)},
    ]
    result = screen(index, rows, blind=blind, keep_candidates=True)
    assert result.candidates is not None
    found = result.candidates.select(["rec", "rid"]).to_pylist()
    assert {"rec": 1, "rid": by_address["rid"]} in found
    assert {"rec": 2, "rid": by_name["rid"]} in found
