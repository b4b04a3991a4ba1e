"""The registry's screening index: built from the database on first use, never holding a
plain ID or phone number, and kept current — new residents, changes, moves (within one grid
too), deletions and merges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.db.models import Q

from safecommunity.people.models import Resident
from safecommunity.people.services import (
    residence_move_in,
    residence_move_out,
    resident_input,
    resident_update,
)
from safecommunity.places.models import Dwelling, Entrance
from safecommunity.screening import index_store
from safecommunity.screening.engine import REGISTRY_COLUMNS, ScreeningIndex, screen
from tests.people.registry import register
from tests.screening.conftest import LI_PHONE, ZHANG_ID, ZHANG_PHONE, Population


def live_rids(index: ScreeningIndex) -> set[int]:
    """The residents an index holds (its base, less the dead, and its delta)."""
    return set(index.live_base().column("rid").to_pylist()) | delta_rids(index)


def delta_rids(index: ScreeningIndex) -> set[int]:
    """The residents written since the build: those a refresh upserted."""
    return set(index.delta.column("rid").to_pylist())


def found_in(index: ScreeningIndex, name: str, born: date, scope: tuple[str, ...]) -> set[int]:
    """Whom a screening by name and birth date finds within ``scope``."""
    from safecommunity.people import identity

    result = screen(
        index,
        [{"rec": 1, "name": name, "birth": born}],
        blind=lambda value, purpose: identity.blind_index(value, purpose=purpose),
        scope=scope,
        train=False,
    )
    return set(result.matches.column("rid").to_pylist())


def test_registry_rows_carry_the_engine_columns_and_no_plain_numbers(
    population: Population,
) -> None:
    tables = list(index_store.registry_rows(chunk=3))
    assert [t.num_rows for t in tables] == [3, 1]  # keyset chunks of at most 3
    assert all(tuple(t.column_names) == tuple(REGISTRY_COLUMNS) for t in tables)
    rows = {r["rid"]: r for t in tables for r in t.to_pylist()}
    zhang = rows[population.zhang.pk]
    assert zhang["name"] == "张伟" and zhang["birth"] == date(1985, 3, 12)
    assert zhang["gender"] == "male" and zhang["path"] == population.world.beat_a.path
    assert zhang["id_key"] == population.zhang.id_index
    assert zhang["id_masked"] == population.zhang.id_masked
    assert zhang["phone_key"] == population.zhang.phone_index
    assert zhang["address"] == "学府花园1号楼1门101"
    liu = rows[population.liu.pk]
    assert liu["id_key"] is None and liu["id_masked"] is None and liu["phone_key"] is None
    flat = repr([t.to_pylist() for t in tables])
    assert ZHANG_ID not in flat and ZHANG_PHONE not in flat and LI_PHONE not in flat


def test_it_builds_on_first_use_under_the_data_dir(population: Population) -> None:
    folder = index_store.index_folder()
    assert not folder.exists()
    index = index_store.index_open()
    assert folder.is_dir() and len(index) == 4
    assert index.meta_get(index_store.META_WATERMARK)
    assert live_rids(index) == {
        population.zhang.pk,
        population.li.pk,
        population.wang.pk,
        population.liu.pk,
    }
    # Nothing in the index's files is a plain ID or phone number.
    for file in Path(folder).iterdir():
        data = file.read_bytes()
        assert ZHANG_ID.encode() not in data and ZHANG_PHONE.encode() not in data


def test_refresh_upserts_changes_and_new_residents(
    population: Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_store.index_open()
    monkeypatch.setattr(index_store, "WATERMARK_MARGIN", timedelta(0))
    world = population.world
    newcomer = register("陈静", world.dwelling_b, born=date(2000, 2, 2), sequence=62)
    data = resident_input(
        name="张维",
        gender="male",
        birth_date=date(1985, 3, 12),
        id_number=ZHANG_ID,
        phone=ZHANG_PHONE,
    )
    resident_update(resident=population.zhang, data=data, actor=None)
    result = index_store.index_refresh()
    assert not result.rebuilt and result.size == 5 and result.upserted == 2
    index = index_store.index_open()
    assert delta_rids(index) == {newcomer.pk, population.zhang.pk}
    assert found_in(index, "张维", date(1985, 3, 12), (world.beat_a.path,)) == {population.zhang.pk}


def test_refresh_follows_a_move_within_one_grid(
    population: Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Moving house inside one grid changes no path, but the address the index compares:
    the move bumps ``updated_at``, so the refresh upserts the resident (and only them)."""
    world = population.world
    index_store.index_open()
    monkeypatch.setattr(index_store, "WATERMARK_MARGIN", timedelta(0))
    entrance = Entrance.objects.get(building__compound__grid=world.grid_a)
    next_door = Dwelling.objects.create(
        entrance=entrance,
        grid=world.grid_a,
        number="102",
        floor=1,
        standard_address="学府花园1号楼1门102",
        path=world.grid_a.path,
        lat=39.105,
        lng=117.105,
    )
    residence_move_in(
        resident=population.zhang,
        dwelling=next_door,
        since=date(2025, 1, 1),
        relation="tenant",
        registered=False,
        actor=None,
    )
    assert index_store.index_refresh().upserted == 1
    assert delta_rids(index_store.index_open()) == {population.zhang.pk}
    rows = {r["rid"]: r for t in index_store.registry_rows() for r in t.to_pylist()}
    assert rows[population.zhang.pk]["address"] == "学府花园1号楼1门102"


def test_refresh_follows_a_move_out_and_into_another_district(
    population: Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = population.world
    index_store.index_open()
    monkeypatch.setattr(index_store, "WATERMARK_MARGIN", timedelta(0))
    residence_move_out(resident=population.li, until=date(2025, 1, 1), actor=None)
    residence_move_in(
        resident=population.liu,
        dwelling=population.dwelling_c,
        since=date(2025, 1, 1),
        relation="tenant",
        registered=False,
        actor=None,
    )
    index_store.index_refresh()
    index = index_store.index_open()
    assert delta_rids(index) == {population.li.pk, population.liu.pk}
    # Screened within beat C, 刘洋 is found there now; 李娜 is in no beat at all.
    assert found_in(index, "刘洋", date(1992, 11, 30), (world.beat_c.path,)) == {population.liu.pk}
    assert found_in(index, "刘洋", date(1992, 11, 30), (world.beat_a.path,)) == set()
    assert found_in(index, "李娜", date(1990, 7, 1), (world.beat_b.path,)) == set()
    assert found_in(index, "李娜", date(1990, 7, 1), ("",)) == {population.li.pk}


def test_refresh_removes_residents_that_no_longer_exist(population: Population) -> None:
    index_store.index_open()
    gone = population.liu.pk
    Resident.objects.filter(pk=gone).delete()
    result = index_store.index_refresh()
    assert result.deleted == 1 and result.size == 3
    assert gone not in live_rids(index_store.index_open())


def test_refresh_finds_rows_committed_behind_its_watermark(
    population: Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resident stamped before the watermark (a long transaction that committed late) is
    still found: the index and the registry disagree on their count, and are reconciled."""
    index_store.index_open()
    monkeypatch.setattr(index_store, "WATERMARK_MARGIN", timedelta(0))
    late = register("孙丽", population.world.dwelling_a, born=date(1999, 9, 9), sequence=72)
    Resident.objects.filter(pk=late.pk).update(updated_at=datetime(2001, 1, 1, tzinfo=UTC))
    result = index_store.index_refresh()
    assert result.upserted == 1 and late.pk in live_rids(index_store.index_open())


def test_a_large_change_rebuilds_instead(
    population: Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_store.index_open()
    monkeypatch.setattr(index_store, "CHUNK", 1)
    Resident.objects.filter(Q(pk=population.zhang.pk) | Q(pk=population.li.pk)).update(
        updated_at=datetime(2100, 1, 1, tzinfo=UTC)
    )
    assert index_store.index_refresh().rebuilt


def test_an_index_of_another_database_is_rebuilt(population: Population) -> None:
    index = index_store.index_open()
    index.meta_set(index_store.META_DATABASE, "sqlite:/elsewhere.sqlite3")
    assert index_store.index_refresh().rebuilt


def test_the_build_command_line(population: Population) -> None:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("screening-index", "--no-progress", stdout=out)
    assert "built: 4 residents" in out.getvalue()
    register("周杰", population.world.dwelling_a, born=date(1979, 1, 18), sequence=81)
    call_command("screening-index", "--no-progress", stdout=(again := io.StringIO()))
    assert "refreshed: " in again.getvalue() and "5 residents" in again.getvalue()
    call_command(
        "screening-index", "--rebuild", stdout=(rebuilt := io.StringIO()), stderr=io.StringIO()
    )
    assert "built: 5 residents" in rebuilt.getvalue()


def test_a_second_writer_waits_for_the_lock_then_gives_up_clearly(population: Population) -> None:
    with index_store.index_lock():
        with pytest.raises(index_store.IndexBusy, match="in use by another process"):
            with index_store.index_lock(timeout=0.3):
                pass
    with index_store.index_lock(timeout=0.3):  # free again
        pass
