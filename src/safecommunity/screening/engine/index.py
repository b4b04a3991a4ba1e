"""The screening index: the registry in the form the engine matches against, built once and
kept current, so that a run pays only for its risk list.

On disk it is a folder of Arrow IPC files, memory-mapped when opened (nothing is parsed or
copied, so opening an index of 14 million residents is instant and its pages are shared with
the operating system's cache):

- ``base.arrow``: every resident as of the last build, with the derived columns the engine
  compares (pinyin, surname, normalised address, the blind indexes folded to integers) and
  one 64-bit blocking key per blocking rule, hashed by DuckDB;
- ``delta.arrow`` + ``dead.npy``: residents written since the build (``upsert``) and the
  residents of ``base`` they replace or that were deleted. A run probes both and drops dead
  rows; ``compact`` folds the delta back into the base;
- ``model.json`` (u-probabilities measured on random pairs of the registry, and the
  m-probabilities the last run's expectation maximisation ended with) and ``meta.json`` (for
  the caller, e.g. the watermark of the last refresh). Term frequencies are counted per run
  for just the names the run meets, so they are always current.

The index holds no ID or phone number in clear: only the blind indexes (as two 64-bit halves)
and what the masked forms already show (region code and last four of an ID; first three and
last four of a phone).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from safecommunity.screening.engine import names

Progress = Callable[[str, int, int], None]

REGISTRY_COLUMNS = (
    "rid",
    "name",
    "pinyin",
    "birth",
    "gender",
    "id_key",
    "id_masked",
    "phone_key",
    "phone_masked",
    "address",
    "path",
)

# Blocking rules: a candidate pair shares the value of at least one of these keys. Each is
# computed for residents and risk records by the same SQL (``derive_sql``); a block larger
# than ``BLOCK_CAP`` residents for one record (a key that says nothing there) is skipped.
# Measured on the benchmark's million residents, each rule's share of the true residents that
# only it finds: ID 0.65 %, surname + birth date 0.38 %, pinyin + address 0.42 %, pinyin +
# birth year 0.09 %, phone and masked phone ~0.01 % each. A rule on the ID's region code found
# nobody the repaired IDs had not (``match.id_repairs``), nor did pinyin + phone suffix.
BLOCKING_KEYS = (
    "id1",  # the ID number's blind index (hashed to 64 bits), repaired IDs included
    "ph1",  # the phone's blind index (hashed to 64 bits)
    "k_py_year",  # pinyin of the whole name + birth year: homophones, traditional script
    "k_sur_birth",  # surname's pinyin + date of birth: a given name typed wrongly
    "k_py_addr",  # pinyin + the compound of the address: birth date missing or wrong
    "k_mask",  # surname + first three and last four of the phone: a digit wrong in the middle
)
BLOCK_CAP = 500

# What the index keeps per resident; strings are the caller's own columns, unchanged.
STORED = (
    "rid", "name", "py", "birth", "gender", "id1", "ph1", "phone_masked", "address", "path",
    "k_py_year", "k_sur_birth", "k_py_addr", "k_mask",
)  # fmt: skip

_COMPOUND = ", ".join(f"'{s}'" for s in sorted(names.COMPOUND_SURNAMES))
SURNAME_PY = (
    f"CASE WHEN left({{name}}, 2) IN ({_COMPOUND}) "
    "THEN split_part({py}, ' ', 1) || split_part({py}, ' ', 2) "
    "ELSE split_part({py}, ' ', 1) END"
)
# The compound of an address: the last four characters before its first digit (…长兴里 of
# 天津市和平区劝业场街道长兴里12号楼), the same whether or not city and district were written.
ADDRESS_BLOCK = "right(regexp_extract({a}, '^[^0-9]+'), 4)"
# Standard addresses start with city and district; lists often leave them out.
ADDRESS_PREFIX = r"^(.{1,7}?(市|省|自治区))?(.{1,7}?(区|县))?"


def derive_sql(source: str, id_column: str) -> str:
    """The stored columns of residents (``id_column`` = rid) or risk records (rec) from a
    relation with name, py, birth (DATE), gender (0/1/2), id_key, phone_key (hex or null),
    phone_masked, address, path. Blind indexes are kept as DuckDB's 64-bit hash of their hex:
    half the memory of the 128 bits, and a chance collision in 14 million is ~10⁻¹²."""
    sur_py = SURNAME_PY.format(name="name", py="py")
    block = ADDRESS_BLOCK.format(a="address")
    return f"""
    WITH s AS (
        SELECT *, replace(coalesce(py, ''), ' ', '') AS pyk, {sur_py} AS sur_py,
            left(phone_masked, 3) AS ph_head, right(phone_masked, 4) AS ph_tail
        FROM {source}
    )
    SELECT {id_column}, name, py, birth, gender,
        CASE WHEN id_key IS NOT NULL THEN hash(id_key) END AS id1,
        CASE WHEN phone_key IS NOT NULL THEN hash(phone_key) END AS ph1,
        phone_masked, address, path,
        CASE WHEN pyk <> '' AND birth IS NOT NULL THEN hash(pyk, year(birth)) END AS k_py_year,
        CASE WHEN sur_py <> '' AND birth IS NOT NULL THEN hash(sur_py, birth) END
            AS k_sur_birth,
        CASE WHEN pyk <> '' AND address IS NOT NULL THEN hash(pyk, {block}) END AS k_py_addr,
        CASE WHEN length(phone_masked) >= 7 AND sur_py <> ''
            THEN hash(ph_head, ph_tail, sur_py) END AS k_mask
    FROM s
    """


def _registry_sql(source: str) -> str:
    """Registry rows (REGISTRY_COLUMNS) to what ``derive_sql`` reads."""
    return f"""
    SELECT * REPLACE (
        coalesce(name, '') AS name, birth::DATE AS birth,
        CASE gender WHEN 'male' THEN 1 WHEN 'female' THEN 2 ELSE 0 END::TINYINT AS gender,
        CASE WHEN length(id_key) = 32 THEN id_key END AS id_key,
        CASE WHEN length(phone_key) = 32 THEN phone_key END AS phone_key,
        CASE WHEN length(phone_masked) >= 7 THEN phone_masked END AS phone_masked,
        nullif(address, '') AS address, coalesce(path, '') AS path)
    FROM {source}
    """


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"threads": threads or os.cpu_count() or 1})
    # Arrow tables handed to DuckDB stay Arrow: no copy into DuckDB's own storage.
    con.execute("SET arrow_large_buffer_size = false")
    return con


def _with_pinyin(batch: pa.Table) -> pa.Table:
    """Fill ``pinyin`` where the caller left it out, once per distinct name."""
    if "pinyin" in batch.column_names:
        given = batch.column("pinyin")
        if given.null_count == 0:
            return batch.rename_columns(["py" if c == "pinyin" else c for c in batch.column_names])
        index = batch.column_names.index("pinyin")
        batch = batch.remove_column(index)
    else:
        given = None
    raw = batch.column("name").to_pylist()
    filled = [names.pinyin(n) if n else "" for n in raw]
    if given is not None:
        filled = [g if g is not None else f for g, f in zip(given.to_pylist(), filled, strict=True)]
    return batch.append_column("py", pa.array(filled, pa.string()))


def _as_batches(rows: pa.Table | Iterable[pa.Table] | str | Path) -> Iterator[pa.Table]:
    if isinstance(rows, pa.Table):
        yield rows
    elif isinstance(rows, str | Path):
        parquet = pq.ParquetFile(rows)
        present = set(parquet.schema_arrow.names)
        columns = [c for c in REGISTRY_COLUMNS if c in present]
        for batch in parquet.iter_batches(batch_size=1_000_000, columns=columns):
            yield pa.Table.from_batches([batch])
    else:
        yield from rows


def _complete(batch: pa.Table) -> pa.Table:
    """Add the optional columns the caller left out, as nulls."""
    for column, kind in (
        ("birth", pa.date32()),
        ("gender", pa.string()),
        ("id_key", pa.string()),
        ("id_masked", pa.string()),
        ("phone_key", pa.string()),
        ("phone_masked", pa.string()),
        ("address", pa.string()),
        ("path", pa.string()),
    ):
        if column not in batch.column_names:
            batch = batch.append_column(column, pa.nulls(batch.num_rows, kind))
    return batch


_COMPUTED = ("birth", "gender", "id1", "ph1", "k_py_year", "k_sur_birth", "k_py_addr", "k_mask")


def derive_registry(con: duckdb.DuckDBPyConnection, batch: pa.Table) -> pa.Table:
    """The stored columns for a batch of registry rows. DuckDB computes the numbers; the
    strings are the batch's own arrays (converting strings out of DuckDB cost more than all
    the hashing)."""
    batch = _with_pinyin(_complete(batch))
    # Rows are numbered so DuckDB's answer can be put back in the batch's order.
    numbered = batch.append_column("_row", pa.array(np.arange(batch.num_rows, dtype=np.int64)))
    con.register("_registry_in", numbered)
    try:
        sql = derive_sql(f"({_registry_sql('_registry_in')})", "_row")
        numbers = con.sql(
            f"SELECT {', '.join(_COMPUTED)} FROM ({sql}) ORDER BY _row"
        ).to_arrow_table()
    finally:
        con.unregister("_registry_in")
    masked = batch.column("phone_masked").cast(pa.string())
    columns = {
        "rid": batch.column("rid").cast(pa.int64()),
        "name": pc.fill_null(batch.column("name").cast(pa.string()), ""),
        "py": pc.fill_null(batch.column("py").cast(pa.string()), ""),
        "phone_masked": pc.if_else(pc.greater_equal(pc.utf8_length(masked), 7), masked, None),
        "address": batch.column("address").cast(pa.string()),
        "path": pc.fill_null(batch.column("path").cast(pa.string()), ""),
    }
    columns.update({c: numbers.column(c) for c in _COMPUTED})
    return pa.table({c: columns[c] for c in STORED})


def _write(table: pa.Table, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        # One chunk per column: taking rows by position is fastest from contiguous arrays.
        writer.write_table(table.combine_chunks(), max_chunksize=max(table.num_rows, 1))
    tmp.replace(path)


def _read(path: Path) -> pa.Table:
    source = pa.memory_map(str(path), "r")
    return pa.ipc.open_file(source).read_all()


class ScreeningIndex:
    """See the module docstring. Build with ``build``, reopen with ``open``."""

    def __init__(self, folder: Path, *, temporary: bool = False) -> None:
        self.folder = folder
        self._temporary = temporary
        self.base = _read(folder / "base.arrow")
        delta_file = folder / "delta.arrow"
        self.delta = _read(delta_file) if delta_file.exists() else self.base.schema.empty_table()
        dead_file = folder / "dead.npy"
        self.dead = np.load(dead_file) if dead_file.exists() else np.empty(0, np.int64)
        self.model: dict[str, Any] = json.loads((folder / "model.json").read_text())
        meta_file = folder / "meta.json"
        self.meta: dict[str, str] = json.loads(meta_file.read_text()) if meta_file.exists() else {}

    # --- building ---------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        rows: pa.Table | Iterable[pa.Table] | str | Path,
        *,
        path: str | Path | None = None,
        progress: Progress | None = None,
        threads: int | None = None,
    ) -> ScreeningIndex:
        """Build an index from registry rows (see REGISTRY_COLUMNS) into ``path`` (a folder,
        replaced whole when the build succeeds; a temporary folder when None)."""
        from safecommunity.screening.engine import model

        target = Path(path) if path is not None else Path(tempfile.mkdtemp(prefix="screen-"))
        work = target.with_name(target.name + ".building")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        con = connect(threads)
        parts = []
        done = 0
        for batch in _as_batches(rows):
            parts.append(derive_registry(con, batch))
            done += batch.num_rows
            if progress:
                progress("index", done, 0)
        if not parts:
            parts.append(derive_registry(con, _empty_registry()))
        base = pa.concat_tables(parts)
        del parts
        base = base.append_column("pos", pa.array(np.arange(base.num_rows, dtype=np.int32)))
        _write(base, work / "base.arrow")
        base = _read(work / "base.arrow")
        (work / "model.json").write_text(json.dumps(model.train_u(con, base)))
        (work / "meta.json").write_text("{}")
        con.close()
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
        return cls(target, temporary=path is None)

    @classmethod
    def open(cls, path: str | Path) -> ScreeningIndex:
        folder = Path(path)
        if not (folder / "base.arrow").exists():
            raise FileNotFoundError(f"no screening index in {folder}")
        return cls(folder)

    # --- keeping it current -------------------------------------------------------------

    def upsert(self, rows: pa.Table) -> None:
        """Write residents (REGISTRY_COLUMNS) added or changed since the build."""
        con = connect()
        fresh = derive_registry(con, rows)
        con.close()
        fresh = fresh.append_column("pos", pa.nulls(fresh.num_rows, pa.int32()))
        rids = fresh.column("rid")
        keep = pc.invert(pc.is_in(self.delta.column("rid"), value_set=rids))
        self.delta = pa.concat_tables([self.delta.filter(keep), fresh.cast(self.base.schema)])
        self._bury(rids.to_numpy())
        self._renumber_delta()
        self.delta = _read(self.folder / "delta.arrow")

    def delete(self, rids: Iterable[int]) -> None:
        gone = np.fromiter(rids, np.int64)
        if not len(gone):
            return
        keep = pc.invert(pc.is_in(self.delta.column("rid"), value_set=pa.array(gone)))
        self.delta = self.delta.filter(keep)
        self._bury(gone)
        self._renumber_delta()
        self.delta = _read(self.folder / "delta.arrow")

    def _renumber_delta(self) -> None:
        # A delta row's ``pos`` is its row in the delta: the run fetches by position.
        index = self.delta.column_names.index("pos")
        positions = pa.array(np.arange(self.delta.num_rows, dtype=np.int32))
        self.delta = self.delta.set_column(index, "pos", positions)
        _write(self.delta, self.folder / "delta.arrow")
        self.delta = _read(self.folder / "delta.arrow")

    def _bury(self, rids: np.ndarray) -> None:
        self.dead = np.union1d(self.dead, rids.astype(np.int64))
        np.save(self.folder / "dead.npy", self.dead)

    def compact(self) -> None:
        """Fold the delta into the base (statistics are kept from the last build)."""
        merged = pa.concat_tables([self.live_base(), self.delta]).drop_columns(["pos"])
        positions = pa.array(np.arange(merged.num_rows, dtype=np.int32))
        merged = merged.append_column("pos", positions)
        _write(merged, self.folder / "base.arrow")
        (self.folder / "delta.arrow").unlink(missing_ok=True)
        (self.folder / "dead.npy").unlink(missing_ok=True)
        self.__init__(self.folder)  # type: ignore[misc]  # reread the files just written

    def live_base(self) -> pa.Table:
        if not len(self.dead):
            return self.base
        mask = pc.invert(pc.is_in(self.base.column("rid"), value_set=pa.array(self.dead)))
        return self.base.filter(mask)

    # --- small things ---------------------------------------------------------------------

    def __len__(self) -> int:
        in_base = pc.is_in(self.base.column("rid"), value_set=pa.array(self.dead))
        dead_in_base = int(np.count_nonzero(in_base.to_numpy(zero_copy_only=False)))
        return int(self.base.num_rows - dead_in_base + self.delta.num_rows)

    def meta_get(self, key: str) -> str | None:
        return self.meta.get(key)

    def meta_set(self, key: str, value: str) -> None:
        self.meta[key] = value
        tmp = self.folder / "meta.json.tmp"
        tmp.write_text(json.dumps(self.meta))
        tmp.replace(self.folder / "meta.json")

    def model_save(self, trained: dict[str, Any]) -> None:
        self.model = trained
        tmp = self.folder / "model.json.tmp"
        tmp.write_text(json.dumps(trained))
        tmp.replace(self.folder / "model.json")

    def close(self) -> None:
        if self._temporary:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> ScreeningIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _empty_registry() -> pa.Table:
    return pa.table(
        {
            "rid": pa.array([], pa.int64()),
            "name": pa.array([], pa.string()),
            "pinyin": pa.array([], pa.string()),
        }
    )
