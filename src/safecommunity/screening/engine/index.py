"""The screening index: the registry in the form the engine matches against, built once and
kept current, so that a run pays only for its risk list.

On disk it is a folder of Arrow IPC files, memory-mapped when opened (nothing is parsed or
copied, so opening an index of 14 million residents is instant and its pages are shared with
the operating system's cache):

- ``base.arrow``: every resident as of the last build, in chunks of ``CHUNK`` rows: name
  and pinyin, birth date, gender, the blind indexes folded to 64-bit hashes, the phone's seven
  visible digits, hashes of the address and of its compound, the place as a number into
  ``paths.arrow``, and one 64-bit key per blocking rule, which a run joins its records'
  keys with. About 140 bytes a resident: 1.9 GB for 14 million, written batch by batch,
  never held whole;
- ``delta.arrow`` + ``dead.npy``: residents written since the build (``upsert``) and the
  residents of ``base`` they replace or that were deleted. A run probes both and drops dead
  rows; ``compact`` folds the delta back into the base;
- ``model.json`` (u-probabilities measured on random pairs of the registry, and the
  m-probabilities the last run's expectation maximisation ended with) and ``meta.json`` (for
  the caller, e.g. the watermark of the last refresh);
- ``tf_name.arrow`` and ``tf_py.arrow``: how many residents share each name and each pinyin
  that two or more share, counted when the base is built or compacted.

The index holds no ID or phone number in clear: only the blind indexes' 64-bit hashes and
what the masked forms already show (region code and last four of an ID; first three and
last four of a phone).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from safecommunity.screening.engine import names

Progress = Callable[[str, int, int], None]

# The registry rows the index is built from, with their Arrow types.
REGISTRY_SCHEMA = pa.schema(
    [
        ("rid", pa.int64()),
        ("name", pa.string()),
        ("pinyin", pa.string()),
        ("birth", pa.date32()),
        ("gender", pa.string()),
        ("id_key", pa.string()),
        ("id_masked", pa.string()),
        ("phone_key", pa.string()),
        ("phone_masked", pa.string()),
        ("address", pa.string()),
        ("path", pa.string()),
    ]
)
REGISTRY_COLUMNS = tuple(REGISTRY_SCHEMA.names)

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
    "k_py_year",  # pinyin of the whole name + birth year + gender: homophones, traditional
    # A given-name character mistyped (not a homophone): the name with one given-name
    # syllable left out + birth date (of 张志强: zhang·zhi and zhang·qiang; of 张强: zhang + the
    # gender and the length, where leaving a syllable out leaves only the surname).
    "k_drop_last",
    "k_drop_middle",
    "k_py_addr",  # pinyin + the compound of the address: birth date missing or wrong
    "k_mask",  # surname + first three and last four of the phone: a digit wrong in the middle
)
BLOCK_CAP = 500
# A run finds every rule's blocks by one DuckDB query over the base's key columns, a hash
# join per rule (``find_scanned``): a few tenths of a second at 14 million residents. Sorted
# copies of the keys answered a run ~0.3 s sooner but cost the build a second of a core per
# key and 14 million residents.
# For a record none of the rules above finds anyone for (a name and a phone with its last
# digits wrong; a mistyped name and a full address): the residents of that exact address,
# those with the same pinyin name, and those born that day — each only where few share it
# (``match.FALLBACK_CAP``): in a city, a birth date is shared by hundreds and says nothing.
# Scanned like the blocking keys, in a second query for the records the first found nobody
# for.
FALLBACK_KEYS = ("addr_h", "k_py", "k_birth")

# What the index keeps per resident; strings are the caller's own columns, unchanged.
STORED = (
    "rid", "name", "py", "birth", "gender", "id1", "ph1", "ph_vis", "addr_h", "block_h",
    "path_id", "k_py_year", "k_drop_last", "k_drop_middle", "k_py_addr", "k_mask", "k_py",
    "k_birth",
)  # fmt: skip
# Rows per record batch of the base file (the unit of streaming while building).
CHUNK = 1 << 20

_COMPOUND = ", ".join(f"'{s}'" for s in sorted(names.COMPOUND_SURNAMES))
# The compound of an address is the last four characters before its first digit (…长兴里 of
# 天津市和平区劝业场街道长兴里12号楼), the same whether or not city and district were written;
# the address itself compares as that compound and everything from the first digit on.
ADDRESS_TAIL = "regexp_extract({a}, '[0-9].*$')"


def derive_sql(source: str, id_column: str) -> str:
    """The stored columns of residents (``id_column`` = rid) or risk records (rec) from a
    relation with name, py, birth (DATE), gender (0/1/2), id_key, phone_key (hex or null),
    phone_masked, address, path. Blind indexes are kept as DuckDB's 64-bit hash of their hex:
    half the memory of the 128 bits, and a chance collision in 14 million is ~10⁻¹²."""
    tail = ADDRESS_TAIL.format(a="address")
    # Each string is split or searched once: the syllables as a list, the address's tail by
    # one regular expression and its compound cut from what precedes the tail.
    return f"""
    WITH t AS (
        SELECT *, string_split(coalesce(py, ''), ' ') AS syl, {tail} AS addr_tail
        FROM {source}
    ), s AS (
        SELECT *, array_to_string(syl, '') AS pyk,
            CASE WHEN left(name, 2) IN ({_COMPOUND}) THEN syl[1] || syl[2] ELSE syl[1] END
                AS sur_py,
            left(phone_masked, 3) AS ph_head, right(phone_masked, 4) AS ph_tail,
            right(left(address, length(address) - length(addr_tail)), 4) AS block
        FROM t
    )
    SELECT {id_column}, name, py, birth, gender,
        CASE WHEN id_key IS NOT NULL THEN hash(id_key) END AS id1,
        CASE WHEN phone_key IS NOT NULL THEN hash(phone_key) END AS ph1,
        TRY_CAST(ph_head || ph_tail AS UINTEGER) AS ph_vis,
        CASE WHEN address IS NOT NULL THEN hash(block, addr_tail) END AS addr_h,
        CASE WHEN address IS NOT NULL AND block <> '' THEN hash(block) END AS block_h,
        CASE WHEN pyk <> '' AND birth IS NOT NULL THEN hash(pyk, year(birth), gender) END
            AS k_py_year,
        CASE WHEN sur_py = '' OR birth IS NULL THEN NULL
             WHEN length(name) = 3 AND sur_py = syl[1] THEN hash(syl[1], syl[2], birth)
             ELSE hash(sur_py, birth, gender, length(name)) END AS k_drop_last,
        CASE WHEN length(name) = 3 AND sur_py = syl[1] AND birth IS NOT NULL
            THEN hash(syl[1], syl[3], birth) END AS k_drop_middle,
        CASE WHEN pyk <> '' AND block <> '' THEN hash(pyk, block) END AS k_py_addr,
        CASE WHEN length(phone_masked) >= 7 AND sur_py <> ''
            THEN hash(ph_head, ph_tail, sur_py) END AS k_mask,
        CASE WHEN pyk <> '' THEN hash(pyk) END AS k_py,
        CASE WHEN birth IS NOT NULL THEN hash(birth) END AS k_birth
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
    filled = names.pinyin_many([n or "" for n in raw])
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
        for batch in parquet.iter_batches(batch_size=CHUNK, columns=columns):
            yield pa.Table.from_batches([batch])
    else:
        yield from rows


def _regions(batch: pa.Table) -> set[str]:
    """The region codes (first six digits) of the batch's masked ID numbers: public
    administrative codes, kept so that ID repairs skip regions where nobody was born."""
    if "id_masked" not in batch.column_names:
        return set()
    heads = pc.utf8_slice_codeunits(batch.column("id_masked").cast(pa.string()), 0, 6)
    return {h for h in pc.unique(heads).to_pylist() if h and len(h) == 6 and h.isdigit()}


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


_COMPUTED = (
    "birth",
    "gender",
    "id1",
    "ph1",
    "ph_vis",
    "addr_h",
    "block_h",
    "k_py_year",
    "k_drop_last",
    "k_drop_middle",
    "k_py_addr",
    "k_mask",
    "k_py",
    "k_birth",
)


class Paths:
    """Place paths as small numbers: 14 million residents live in ~5,000 grids."""

    def __init__(self, known: list[str] | None = None) -> None:
        self.values: list[str] = list(known or [])
        self.ids = {v: i for i, v in enumerate(self.values)}

    def encode(self, column: pa.ChunkedArray | pa.Array) -> pa.Array:
        """The ids of a column of paths (null as ""). A dictionary column, as Parquet stores
        paths, is mapped through its dictionaries without reading a string per row."""
        if pa.types.is_dictionary(column.type):
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        else:
            encoded = pc.dictionary_encode(pc.fill_null(column, ""))
            if isinstance(encoded, pa.ChunkedArray):
                encoded = encoded.combine_chunks()
            chunks = [encoded]
        parts = [self._ids(chunk) for chunk in chunks]
        return pa.array(np.concatenate(parts) if parts else np.zeros(0, np.int32))

    def _ids(self, encoded: pa.DictionaryArray) -> np.ndarray:
        local = [value or "" for value in encoded.dictionary.to_pylist()]
        indices = encoded.indices
        if indices.null_count:
            indices = pc.fill_null(indices, len(local))
            local.append("")
        for value in local:
            if value not in self.ids:
                self.ids[value] = len(self.values)
                self.values.append(value)
        if not local:
            return np.zeros(len(encoded), np.int32)
        mapping = np.array([self.ids[v] for v in local], np.int32)
        return np.asarray(
            mapping[indices.to_numpy(zero_copy_only=False).astype(np.int64)], np.int32
        )

    def table(self) -> pa.Table:
        return pa.table({"path": pa.array(self.values, pa.string())})

    def within(self, scope: Sequence[str] | None) -> np.ndarray | None:
        """The ids of paths under any of the scope's prefixes (None: everything)."""
        if scope is None or any(not prefix for prefix in scope):
            return None
        return np.array(
            [
                i
                for i, path in enumerate(self.values)
                if any(path == p or path.startswith(p + ".") for p in scope)
            ],
            np.int32,
        )


def derive_registry(
    con: duckdb.DuckDBPyConnection, batch: pa.Table, paths: Paths | None = None
) -> pa.Table:
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
    columns = {
        "rid": batch.column("rid").cast(pa.int64()),
        "name": pc.fill_null(batch.column("name").cast(pa.string()), ""),
        "py": pc.fill_null(batch.column("py").cast(pa.string()), ""),
        "path_id": (paths or Paths()).encode(batch.column("path").cast(pa.string())),
    }
    columns.update({c: numbers.column(c) for c in _COMPUTED})
    return pa.table({c: columns[c] for c in STORED})


def _derived(
    con: duckdb.DuckDBPyConnection,
    rows: pa.Table | Iterable[pa.Table] | str | Path,
    paths: Paths,
    regions: set[str],
) -> Iterator[pa.Table]:
    for batch in _rechunk(_as_batches(rows)):
        regions.update(_regions(batch))
        yield derive_registry(con, batch, paths)


def _parquet_chunks(
    con: duckdb.DuckDBPyConnection, file: Path, paths: Paths, regions: set[str]
) -> Iterator[pa.Table] | None:
    """Derived chunks straight from a Parquet file with every REGISTRY_COLUMN and pinyin
    filled in: DuckDB reads and hashes the numbers in parallel in one pass, and pyarrow
    reads only the few string columns kept as they are. None when the file lacks something
    (then it goes the general way)."""
    # Paths as Parquet stores them, a dictionary per row group: ~5,000 distinct in 14 million.
    parquet = pq.ParquetFile(file, read_dictionary=["path"])
    if set(REGISTRY_COLUMNS) - set(parquet.schema_arrow.names):
        return None
    source = f"read_parquet('{file.as_posix()}', file_row_number = true)"
    if "'" in file.as_posix():
        return None
    # Whether pinyin is filled in, from the file's statistics when it has them (else in the
    # scan that finds the ID region codes present).
    missing_pinyin = _null_count(parquet, "pinyin")
    ((counted, found),) = con.sql(
        f"SELECT {'0' if missing_pinyin is not None else 'count(*) FILTER (WHERE pinyin IS NULL)'}"
        f", list(DISTINCT left(id_masked, 6)) FROM {source}"
    ).fetchall()
    if missing_pinyin or counted:
        return None
    regions.update(r for r in found if r and len(r) == 6 and r.isdigit())

    def chunks() -> Iterator[pa.Table]:
        # One query over the whole file (per chunk, each query rescanned the file: twice the
        # time at 14 million), put back in the file's order (``_in_file_order``) beside
        # pyarrow's read of the same rows' strings.
        sql = derive_sql(
            f"({_registry_sql(f'(SELECT * RENAME (pinyin AS py) FROM {source})')})",
            "file_row_number, rid",
        )
        reader = con.sql(
            f"SELECT file_row_number, rid, {', '.join(_COMPUTED)} FROM ({sql})"
        ).to_arrow_reader(CHUNK)
        numbers = _rechunk(_in_file_order(reader))
        strings = _rechunk(
            pa.Table.from_batches([b])
            for b in parquet.iter_batches(
                batch_size=CHUNK, columns=["rid", "name", "pinyin", "path"]
            )
        )
        for kept, computed in zip(strings, numbers, strict=True):
            if not kept.column("rid").equals(computed.column("rid")):
                raise RuntimeError("the registry file was read in two different orders")
            columns = {
                "rid": kept.column("rid").cast(pa.int64()),
                "name": pc.fill_null(kept.column("name").cast(pa.string()), ""),
                "py": kept.column("pinyin").cast(pa.string()),
                "path_id": paths.encode(kept.column("path")),
            }
            columns.update({c: computed.column(c) for c in _COMPUTED})
            yield pa.table({c: columns[c] for c in STORED})

    return chunks()


def _null_count(parquet: pq.ParquetFile, column: str) -> int | None:
    """How many nulls ``column`` holds, from the file's statistics; None when a row group
    has none to tell."""
    leaves = parquet.metadata.schema
    paths = [leaves.column(i).path for i in range(len(leaves))]
    if column not in paths:
        return None
    where = paths.index(column)
    total = 0
    for group in range(parquet.metadata.num_row_groups):
        statistics = parquet.metadata.row_group(group).column(where).statistics
        if statistics is None or not statistics.has_null_count:
            return None
        total += statistics.null_count
    return total


def _in_file_order(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.Table]:
    """A parallel scan's answer back in the file's order: DuckDB hands row groups over as
    its threads finish them, each a run of consecutive ``file_row_number``; runs that come
    early wait (a few row groups at most) until the ones before them have come."""
    waiting: dict[int, pa.Table] = {}
    next_row = 0
    for batch in batches:
        rows = np.asarray(batch.column("file_row_number").to_numpy(), np.int64)
        cuts = [0, *(np.flatnonzero(np.diff(rows) != 1) + 1).tolist(), len(rows)]
        for start, stop in zip(cuts[:-1], cuts[1:], strict=True):
            if stop > start:
                waiting[int(rows[start])] = pa.Table.from_batches(
                    [batch.slice(start, stop - start)]
                )
        while next_row in waiting:
            run = waiting.pop(next_row)
            next_row += run.num_rows
            yield run
    if waiting:
        raise RuntimeError("a scan of the registry file skipped rows")


def _write(table: pa.Table, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=CHUNK)
    tmp.replace(path)


def _read(path: Path) -> pa.Table:
    source = pa.memory_map(str(path), "r")
    return pa.ipc.open_file(source).read_all()


def _rechunk(batches: Iterable[pa.Table]) -> Iterator[pa.Table]:
    """Tables of exactly ``CHUNK`` rows (the last may be shorter), whatever came in."""
    held: list[pa.Table] = []
    count = 0
    for batch in batches:
        held.append(batch)
        count += batch.num_rows
        while count >= CHUNK:
            joined = pa.concat_tables(held)
            yield joined.slice(0, CHUNK)
            rest = joined.slice(CHUNK)
            held, count = [rest], rest.num_rows
    if count:
        yield pa.concat_tables(held)


def take_rows(table: pa.Table, positions: np.ndarray, columns: Sequence[str]) -> pa.Table:
    """Rows by position from a table stored in record batches, in the order asked.

    Arrow's own take on a chunked string column first concatenates every chunk (1.7 GB at
    14 million residents); here each batch is taken from on its own."""
    picked = table.select(list(columns))
    batches = picked.to_batches()
    if len(batches) <= 1 or not len(positions):
        return picked.combine_chunks().take(pa.array(positions, pa.int64()))
    starts = np.cumsum([0] + [b.num_rows for b in batches])
    positions = np.asarray(positions, np.int64)
    in_order = bool(np.all(positions[1:] >= positions[:-1]))
    order = np.arange(len(positions)) if in_order else np.argsort(positions, kind="stable")
    ordered = positions if in_order else positions[order]
    batch_of = np.searchsorted(starts, ordered, side="right") - 1
    bounds = np.flatnonzero(np.r_[True, batch_of[1:] != batch_of[:-1], True])
    parts = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        which = int(batch_of[start])
        offsets = ordered[start:stop] - starts[which]
        parts.append(pa.Table.from_batches([batches[which].take(pa.array(offsets))]))
    gathered = pa.concat_tables(parts).combine_chunks()
    if in_order:
        return gathered
    return gathered.take(pa.array(np.argsort(order, kind="stable")))


TERM_COLUMNS = ("name", "py")


def key_values(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A 64-bit key column as (which rows have a key, the keys with 0 for none). Read from
    the chunks' buffers: at 14 million rows Arrow's own conversions cost a third of a
    second per key."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if any(chunk.type != pa.uint64() for chunk in chunks):
        valid = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), bool)
        values = np.asarray(pc.fill_null(column, 0).to_numpy(zero_copy_only=False), np.uint64)
        return valid, values
    values = np.empty(len(column), np.uint64)
    valid = np.ones(len(column), bool)
    start = 0
    for chunk in chunks:
        rows = len(chunk)
        bitmap, data = chunk.buffers()
        if data is not None and rows:
            values[start : start + rows] = np.frombuffer(
                data, np.uint64, count=rows, offset=chunk.offset * 8
            )
        if chunk.null_count and bitmap is not None:
            bits = np.unpackbits(np.frombuffer(bitmap, np.uint8), bitorder="little")
            valid[start : start + rows] = bits[chunk.offset : chunk.offset + rows].astype(bool)
        start += rows
    values[~valid] = 0
    return valid, values


def _write_term_frequencies(con: duckdb.DuckDBPyConnection, base: pa.Table, folder: Path) -> None:
    """How many residents share each name and each pinyin, for the names shared by two or
    more (a name not listed is unique). Counted once per build, looked up per run."""
    for column in TERM_COLUMNS:
        con.register("_tf_base", base.select([column]))
        counted = con.sql(
            f"SELECT {column} AS v, count(*)::INTEGER AS n FROM _tf_base "
            f"GROUP BY {column} HAVING count(*) > 1"
        ).to_arrow_table()
        con.unregister("_tf_base")
        _write(counted, folder / f"tf_{column}.arrow")


class ScreeningIndex:
    """See the module docstring. Build with ``build``, reopen with ``open``."""

    def __init__(self, folder: Path, *, temporary: bool = False) -> None:
        self.folder = folder
        self._temporary = temporary
        self.base = _read(folder / "base.arrow")
        delta_file = folder / "delta.arrow"
        # Not ``schema.empty_table()``: it imports pandas, a quarter of a second per run.
        empty = pa.Table.from_batches([], schema=self.base.schema)
        self.delta = _read(delta_file) if delta_file.exists() else empty
        dead_file = folder / "dead.npy"
        self.dead = np.load(dead_file) if dead_file.exists() else np.empty(0, np.int64)
        self.paths = Paths(_read(folder / "paths.arrow").column("path").to_pylist())
        self.regions = frozenset(json.loads((folder / "regions.json").read_text()))
        self.term_counts = {c: _read(folder / f"tf_{c}.arrow") for c in TERM_COLUMNS}
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
        replaced whole when the build succeeds; a temporary folder when None). Streams: one
        chunk of rows is in memory at a time."""
        from safecommunity.screening.engine import model

        target = Path(path) if path is not None else Path(tempfile.mkdtemp(prefix="screen-"))
        work = target.with_name(target.name + ".building")
        shutil.rmtree(work, ignore_errors=True)
        # Names and birth dates of every resident: only the owner may enter the folder.
        work.mkdir(parents=True, mode=0o700)
        work.chmod(0o700)
        con = connect(threads)
        paths = Paths()
        regions: set[str] = set()
        done = 0
        writer = None
        sink = pa.OSFile(str(work / "base.arrow"), "wb")
        fast = (
            _parquet_chunks(con, Path(rows), paths, regions)
            if isinstance(rows, str | Path)
            else None
        )
        derived_chunks = fast if fast is not None else _derived(con, rows, paths, regions)
        try:
            for derived in derived_chunks:
                positions = np.arange(done, done + derived.num_rows, dtype=np.int32)
                derived = derived.append_column("pos", pa.array(positions)).combine_chunks()
                if writer is None:
                    writer = pa.ipc.new_file(sink, derived.schema)
                writer.write_table(derived, max_chunksize=CHUNK)
                done += derived.num_rows
                if progress:
                    progress("index", done, 0)
            if writer is None:
                empty = derive_registry(con, _empty_registry(), paths)
                empty = empty.append_column("pos", pa.array([], pa.int32()))
                writer = pa.ipc.new_file(sink, empty.schema)
                writer.write_table(empty)
        finally:
            if writer is not None:
                writer.close()
            sink.close()
        _write(paths.table(), work / "paths.arrow")
        (work / "regions.json").write_text(json.dumps(sorted(regions)))
        base = _read(work / "base.arrow")
        _write_term_frequencies(con, base, work)
        (work / "model.json").write_text(json.dumps(model.train_u(con, base)))
        (work / "meta.json").write_text("{}")
        con.close()
        del base
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
        fresh = derive_registry(con, rows, self.paths)
        con.close()
        added = _regions(rows) - self.regions
        if added:
            self.regions = self.regions | added
            (self.folder / "regions.json").write_text(json.dumps(sorted(self.regions)))
        fresh = fresh.append_column("pos", pa.nulls(fresh.num_rows, pa.int32()))
        rids = fresh.column("rid")
        keep = pc.invert(pc.is_in(self.delta.column("rid"), value_set=rids))
        self.delta = pa.concat_tables([self.delta.filter(keep), fresh.cast(self.base.schema)])
        self._bury(rids.to_numpy())
        self._save_delta()

    def delete(self, rids: Iterable[int]) -> None:
        gone = np.fromiter(rids, np.int64)
        if not len(gone):
            return
        keep = pc.invert(pc.is_in(self.delta.column("rid"), value_set=pa.array(gone)))
        self.delta = self.delta.filter(keep)
        self._bury(gone)
        self._save_delta()

    def _save_delta(self) -> None:
        # A delta row's ``pos`` is its row in the delta: the run fetches by position.
        index = self.delta.column_names.index("pos")
        positions = pa.array(np.arange(self.delta.num_rows, dtype=np.int32))
        self.delta = self.delta.set_column(index, "pos", positions).combine_chunks()
        _write(self.delta, self.folder / "delta.arrow")
        _write(self.paths.table(), self.folder / "paths.arrow")
        self.delta = _read(self.folder / "delta.arrow")

    def _bury(self, rids: np.ndarray) -> None:
        self.dead = np.union1d(self.dead, rids.astype(np.int64))
        np.save(self.folder / "dead.npy", self.dead)

    def compact(self) -> None:
        """Fold the delta into the base, chunk by chunk (u and m are kept from the build)."""

        def live() -> Iterator[pa.Table]:
            dead = pa.array(self.dead)
            for batch in self.base.to_batches():
                table = pa.Table.from_batches([batch])
                if len(self.dead):
                    table = table.filter(pc.invert(pc.is_in(table.column("rid"), dead)))
                yield table.drop_columns(["pos"])
            yield self.delta.drop_columns(["pos"])

        tmp = self.folder / "base.compacting"
        done = 0
        with pa.OSFile(str(tmp), "wb") as sink:
            writer = None
            for table in _rechunk(live()):
                positions = np.arange(done, done + table.num_rows, dtype=np.int32)
                table = table.append_column("pos", pa.array(positions))
                if writer is None:
                    writer = pa.ipc.new_file(sink, table.schema)
                writer.write_table(table, max_chunksize=CHUNK)
                done += table.num_rows
            if writer is not None:
                writer.close()
        del self.base, self.delta
        tmp.replace(self.folder / "base.arrow")
        con = connect()
        compacted = _read(self.folder / "base.arrow")
        _write_term_frequencies(con, compacted, self.folder)
        del compacted
        con.close()
        (self.folder / "delta.arrow").unlink(missing_ok=True)
        (self.folder / "dead.npy").unlink(missing_ok=True)
        self.__init__(self.folder)  # type: ignore[misc]  # reread the files just written

    def find_exact(
        self, con: duckdb.DuckDBPyConnection, key: str, keys: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(which key, row) for every resident of the base whose whole ``key`` is one of
        ``keys``, however many share it: for callers that take a found key as proof (an ID
        number is one person)."""
        return self.find_scanned(con, {key: keys}, None)[key]

    def find_scanned(
        self, con: duckdb.DuckDBPyConnection, needles: dict[str, np.ndarray], cap: int | None
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per key, (which needle, row) for every resident of the base whose key equals a
        needle, where at most ``cap`` residents share it (a key shared by more says nothing
        there; None: however many). One DuckDB query: per key a hash join of its needles
        with the base's column (a tenth of a second for 100,000 records' seven keys at a
        million residents, six tenths at 14 million)."""
        keys = [k for k, v in needles.items() if len(v)]
        out = {k: (np.zeros(0, np.int64), np.zeros(0, np.int64)) for k in needles}
        if not keys or not self.base.num_rows:
            return out
        asked = pa.table(
            {
                "rule": np.concatenate([np.full(len(needles[k]), r) for r, k in enumerate(keys)]),
                "i": np.concatenate([np.arange(len(needles[k])) for k in keys]),
                "k": np.concatenate([np.asarray(needles[k], np.uint64) for k in keys]),
            }
        )
        con.register("_needles", asked)
        con.register("_base", self.base.select([*keys, "pos"]))
        joins = " UNION ALL ".join(
            f"SELECT {r} AS rule, n.i, b.pos FROM (SELECT i, k FROM _needles WHERE rule = {r}) n "
            f"JOIN _base b ON b.{k} = n.k"
            for r, k in enumerate(keys)
        )
        try:
            found = con.sql(joins).fetchnumpy()
        finally:
            con.unregister("_needles")
            con.unregister("_base")
        rule = np.asarray(found["rule"], np.int64)
        which = np.asarray(found["i"], np.int64)
        rows = np.asarray(found["pos"], np.int64)
        for r, k in enumerate(keys):
            mine = rule == r
            found_which, found_rows = which[mine], rows[mine]
            if cap is not None:  # a needle's rows are its whole block: count them
                block = np.bincount(found_which, minlength=len(needles[k]))
                small = block[found_which] <= cap
                found_which, found_rows = found_which[small], found_rows[small]
            out[k] = (found_which, found_rows)
        return out

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
