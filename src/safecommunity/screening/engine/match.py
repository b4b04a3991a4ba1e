"""Screening a risk list against the index, and the registry against itself.

A run, in order:

1. The risk records are put in the index's form (``prepare``): pinyin, surname, normalised
   address, blocking keys; each ID and phone becomes its blind index. An ID that fails its
   checksum is repaired: every ID one substitution or one adjacent swap away that passes the
   checksum is looked up by its blind index (about twenty per bad ID).
2. Blocking (``candidates``): one DuckDB query, a hash join per rule in
   ``index.BLOCKING_KEYS`` over the base's key column; a rule's block of more than
   ``BLOCK_CAP`` residents for one record is skipped (the key says nothing there).
3. Comparison (``model.compare_sql``): a level per field and pair. Phones whose visible
   digits (first three, last four) are within one edit but whose blind indexes differ are
   checked against the risk phone's one-digit-off and adjacent-swap variants consistent with
   that difference, by blind index: the registry's phones are never decrypted.
4. Weights: m and the prior by EM on this run's pattern histogram, u from the index, term
   frequencies for exact and homophone names counted in the index for the names met.
5. Per record, candidates compete: a candidate's probability is its odds over one plus the
   sum of all its rivals' odds, so two equally good residents share the belief instead of
   both looking certain. Bands by that probability.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from safecommunity.screening.engine import model as fs
from safecommunity.screening.engine import names, numbers
from safecommunity.screening.engine.index import (
    BLOCK_CAP,
    BLOCKING_KEYS,
    FALLBACK_KEYS,
    Progress,
    ScreeningIndex,
    connect,
    derive_sql,
    key_values,
    take_rows,
)

FIELDS = fs.FIELDS
BANDS = ("certain", "probable", "possible")
# Lower bounds of each band on the per-record probability. "certain" and "probable" are the
# engine's matches (the one fixed threshold); "possible" goes to review only.
BAND_FLOOR = {"certain": 0.99, "probable": 0.50, "possible": 0.20}
RISK_COLUMNS = ("rec", "name", "id_number", "phone", "birth", "gender", "address")
MATCH_COLUMNS = (
    "rec",
    "rid",
    "weight",
    "probability",
    "band",
    "rank",
    "path",
    *(f"{f}_{part}" for f in FIELDS for part in ("level", "weight")),
)
# At most this many candidates per record are returned (best first).
KEEP_PER_RECORD = 5
# A fallback block larger than this says too little to be worth comparing.
FALLBACK_CAP = 30

Blind = Callable[[str, str], str]


@dataclass
class Prepared:
    table: pa.Table  # the records in the index's form, row i = record i
    blocking: pa.Table  # their blocking keys; a record without gender appears as both
    recs: np.ndarray
    phones: list[str | None]  # plain, for variant checks; dropped with the run
    repaired: pa.Table  # ri, key: blind indexes of the repairs of IDs that failed checksum
    id_bad: np.ndarray


_GENDER = {"male": 1, "m": 1, "男": 1, "female": 2, "f": 2, "女": 2}


def _per_distinct(column: pa.ChunkedArray | pa.Array, convert: Callable[[str], Any]) -> list[Any]:
    """``convert`` applied once per distinct value (risk lists repeat names and addresses)."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    values = [convert(v) if v else None for v in encoded.dictionary.to_pylist()]
    indices = pc.fill_null(encoded.indices, len(values)).to_numpy(zero_copy_only=False)
    return list(np.array([*values, None], dtype=object)[indices.astype(np.int64)])


def _column(table: pa.Table, name: str, kind: pa.DataType) -> pa.ChunkedArray:
    if name in table.column_names:
        column = table.column(name)
        return column if column.type == kind else column.cast(kind)
    return pa.chunked_array([pa.nulls(table.num_rows, kind)])


# Whitespace as ``str.split`` knows it in ASCII, and the separators a Chinese name loses
# (spaces of any script, middle dots: 阿依古丽·买买提), in RE2's syntax.
_LATIN_SPACES = r"[\t-\r\x1c-\x1f ]+"
_NAME_SEPARATORS = r"[\s\p{Z}\x0b\x1c-\x1f\x85·•.\-]+"


def _names(column: pa.ChunkedArray) -> pa.Array:
    """Names as the index keeps them ("" for none): a Chinese name folded (NFKC) without
    spaces or middle dots; a Latin name's words kept apart by one space (its pinyin is its
    words)."""
    column = pc.fill_null(column, "")
    latin = pc.utf8_trim(pc.replace_substring_regex(column, _LATIN_SPACES, " "), " ")
    folded = pc.replace_substring_regex(pc.utf8_normalize(column, "NFKC"), _NAME_SEPARATORS, "")
    return pc.if_else(pc.string_is_ascii(column), latin, folded).combine_chunks()


def _id_keys(
    table: pa.Table, births: pa.ChunkedArray, blind: Blind, regions: frozenset[str]
) -> tuple[pa.Array, pa.Table, np.ndarray]:
    """Per record the blind index of its ID (a given ``id_key`` is used as it is); the
    blind indexes of the repairs of IDs that fail their checksum (ri, key); which failed."""
    number = numbers.digits(_column(table, "id_number", pa.string()), keep_x=True)
    length = np.asarray(pc.binary_length(number).to_numpy(zero_copy_only=False), np.int64)
    keys: list[str | None] = _column(table, "id_key", pa.string()).to_pylist()
    rep_ri: list[np.ndarray] = []
    rep_key: list[str] = []
    full = np.flatnonzero(length == numbers.ID_LENGTH)
    matrix = numbers.as_matrix(number.take(pa.array(full)), numbers.ID_LENGTH)
    valid = numbers.ids_valid(matrix)
    for i, value in zip(full[valid].tolist(), numbers.as_strings(matrix[valid]), strict=True):
        keys[i] = keys[i] or blind(value, "id")
    bad = np.zeros(table.num_rows, bool)
    wrong_rows, wrong = full[~valid], matrix[~valid]
    bad[wrong_rows] = True
    for i in wrong_rows.tolist():
        keys[i] = None  # a key that came with a wrong ID is not the person's
    # The ID's birth-date digits are the record's stated date: the error is elsewhere.
    stated = births.take(pa.array(wrong_rows))
    days = np.asarray(pc.fill_null(stated.cast(pa.int32()), 0).to_numpy(zero_copy_only=False))
    *_, stated_digits = fs.date_digits(days)
    birth_known = np.asarray(pc.is_valid(stated).to_numpy(zero_copy_only=False), bool) & (
        wrong[:, 6:14].astype(np.int64) - ord("0") == stated_digits.T
    ).all(axis=1)
    owner, repairs = numbers.id_repairs_many(
        wrong, birth_known, numbers.region_codes(regions) if regions else None
    )
    rep_ri.append(wrong_rows[owner])
    rep_key += [blind(value, "id") for value in numbers.as_strings(repairs)]
    # Not a resident ID card number (a 15-digit first-generation ID, a foreign document): no
    # checksum tells whether it is wrong, so its one-edit variants are looked up as well
    # (pairs they find compare as "repaired").
    short = np.flatnonzero((length >= 6) & (length < numbers.ID_LENGTH))
    for i, value in zip(short.tolist(), number.take(pa.array(short)).to_pylist(), strict=True):
        keys[i] = keys[i] or blind(value, "id")
        variants = numbers.one_edit_variants(value)
        rep_ri.append(np.full(len(variants), i, np.int64))
        rep_key += [blind(v, "id") for v in variants]
    repaired = pa.table(
        {
            "ri": pa.array(np.concatenate(rep_ri).astype(np.int64)),
            "key": pa.array(rep_key, pa.string()),
        }
    )
    return pa.array(keys, pa.string()), repaired, bad


def _phones(table: pa.Table) -> tuple[pa.Array, pa.Array]:
    """Per record the phone in clear (for its blind index and the variant checks, dropped
    with the run) and masked as the registry shows it (``138****5678``). Numbers shorter
    than seven digits say nothing."""
    phone = numbers.digits(_column(table, "phone", pa.string()), keep_x=False)
    international = pc.and_(pc.equal(pc.binary_length(phone), 13), pc.starts_with(phone, "86"))
    phone = pc.if_else(international, pc.utf8_slice_codeunits(phone, 2), phone)
    usable = pc.greater_equal(pc.binary_length(phone), 7)
    plain = pc.if_else(usable, phone, pa.scalar(None, pa.string()))
    masked = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(plain, 0, 3), "****", pc.utf8_slice_codeunits(plain, -4), ""
    )
    return plain, masked


def _phone_keys(table: pa.Table, phones: list[str | None], blind: Blind) -> pa.Array:
    """Per record the blind index of its phone (a given ``phone_key`` is used as it is)."""
    given = _column(table, "phone_key", pa.string()).to_pylist()
    keys: list[str | None] = [k or None for k in given]
    for i, value in enumerate(phones):
        if value is not None and keys[i] is None:
            keys[i] = blind(value, "phone")
    return pa.array(keys, pa.string())


def _derive(con: Any, prepared: pa.Table, as_both: pa.Table) -> tuple[pa.Table, pa.Table]:
    """``derive_sql`` of the records (in record order) and of those blocked as both sexes,
    on a cursor of its own: it runs beside the blind indexes' computation."""
    cursor = con.cursor()
    try:
        cursor.register("_risk_in", prepared)
        cursor.register("_risk_unknown", as_both)
        derived = cursor.sql(
            f"""SELECT * FROM ({derive_sql("_risk_in", "rec")}) ORDER BY rec"""
        ).to_arrow_table()
        both = cursor.sql(derive_sql("_risk_unknown", "rec")).to_arrow_table()
    finally:
        cursor.close()
    return derived, both


def _with_keys(con: Any, derived: pa.Table, id_key: pa.Array, phone_key: pa.Array) -> pa.Table:
    """``derived`` (rows in record order, or any rows with their ``rec``) with the blind
    indexes' 64-bit hashes in ``id1`` and ``ph1``, as ``derive_sql`` computes them."""
    con.register("_keys", pa.table({"id_key": id_key, "phone_key": phone_key}))
    try:
        hashed = con.sql(
            "SELECT CASE WHEN id_key IS NOT NULL THEN hash(id_key) END AS id1, "
            "CASE WHEN phone_key IS NOT NULL THEN hash(phone_key) END AS ph1 FROM _keys"
        ).to_arrow_table()
    finally:
        con.unregister("_keys")
    rows = derived.column("rec")
    for column in ("id1", "ph1"):
        values = hashed.column(column).take(rows)
        at = derived.column_names.index(column)
        derived = derived.set_column(at, column, values.cast(derived.schema.field(column).type))
    return derived


def prepare(
    con: Any,
    risk: pa.Table | Sequence[Mapping[str, Any]],
    blind: Blind,
    regions: frozenset[str] = frozenset(),
) -> Prepared:
    """Risk records in the index's form, column by column; only the blind indexes are
    computed value by value (and names read in pinyin once per distinct name)."""
    table = risk if isinstance(risk, pa.Table) else pa.Table.from_pylist(list(risk))
    n = table.num_rows
    recs = _column(table, "rec", pa.int64()).to_numpy()
    clean_names = _names(_column(table, "name", pa.string()))
    distinct = pc.dictionary_encode(clean_names)
    py = pa.array(names.pinyin_many(distinct.dictionary.to_pylist()), pa.string())
    py = py.take(distinct.indices)
    gender = _per_distinct(
        _column(table, "gender", pa.string()), lambda v: _GENDER.get(v.strip().lower(), 0)
    )
    gender = [g or 0 for g in gender]
    address = pc.utf8_trim_whitespace(
        pc.utf8_normalize(_column(table, "address", pa.string()), "NFKC")
    )
    address = pc.if_else(pc.equal(address, ""), pa.scalar(None, pa.string()), address)
    births = _column(table, "birth", pa.date32())
    plain, masked = _phones(table)
    no_keys = pa.nulls(n, pa.string())
    prepared = pa.table(
        {
            "rec": pa.array(np.arange(n, dtype=np.int64)),
            "name": clean_names,
            "py": py,
            "birth": births,
            "gender": pa.array(gender, pa.int8()),
            "id_key": no_keys,
            "phone_key": no_keys,
            "phone_masked": masked,
            "address": address,
            "path": pa.array([""] * n, pa.string()),
        }
    )
    # Keys that include gender cannot be made for a record without one: block such a record
    # as a man and as a woman (its comparisons still say "gender missing"). Only those rows
    # are derived a second time; the others' keys are the comparison table's own.
    unknown = prepared.filter(pc.equal(prepared.column("gender"), 0))
    as_both = pa.concat_tables(
        [
            unknown.set_column(
                unknown.column_names.index("gender"),
                "gender",
                pa.array(np.full(unknown.num_rows, g, np.int8)),
            )
            for g in (1, 2)
        ]
    )
    # DuckDB derives the keys on both cores while Python computes the blind indexes (an
    # HMAC each, the one thing done value by value); their hashes join the keys after.
    with ThreadPoolExecutor(max_workers=1) as pool:
        derivation = pool.submit(_derive, con, prepared, as_both)
        id_key, repaired, bad = _id_keys(table, births, blind, regions)
        phones: list[str | None] = plain.to_pylist()
        phone_key = _phone_keys(table, phones, blind)
        derived, both = derivation.result()
    derived = _with_keys(con, derived, id_key, phone_key)
    both = _with_keys(con, both, id_key, phone_key)
    known = derived.filter(pc.not_equal(derived.column("gender"), 0))
    blocking = pa.concat_tables([known, both.cast(known.schema)])
    return Prepared(derived, blocking, recs, phones, repaired, bad)


def _key_array(table: pa.Table, key: str) -> tuple[np.ndarray, np.ndarray]:
    valid, values = key_values(table.column(key))
    rec = np.asarray(table.column("rec").to_numpy(), np.int64)
    return rec[valid], values[valid]


def candidates(
    con: Any,
    index: ScreeningIndex,
    prepared: Prepared,
    keys: Sequence[str] = BLOCKING_KEYS,
    *,
    fallback: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(record row, segment 0=base/1=delta, position, found by a repaired ID) per pair.

    The base is probed by one scan of its key columns; the delta, small, by DuckDB
    joins."""
    out_ri, out_seg, out_pos, out_rep = [], [], [], []

    def add(ri: np.ndarray, which: np.ndarray, rows: np.ndarray, repaired: bool = False) -> None:
        out_ri.append(ri[which])
        out_pos.append(rows)
        out_rep.append(np.full(len(which), repaired))
        out_seg.append(np.zeros(len(which), np.int8))

    needles, records = {}, {}
    for key in keys:
        records[key], needles[key] = _key_array(prepared.blocking, key)
    for key, (which, rows) in index.find_scanned(con, needles, BLOCK_CAP).items():
        add(records[key], which, rows)
    found_any = np.zeros(len(prepared.recs), bool)
    for found_ri in out_ri:
        found_any[found_ri] = True
    needles, records = {}, {}
    for key in FALLBACK_KEYS if fallback else ():
        ri, values = _key_array(prepared.blocking, key)
        alone = ~found_any[ri]
        needles[key], records[key] = values[alone], ri[alone]
    for key, (which, rows) in index.find_scanned(con, needles, FALLBACK_CAP).items():
        add(records[key], which, rows)
    con.register("_rep", prepared.repaired)
    try:
        hashed = con.sql("SELECT ri, hash(key) AS id1 FROM _rep").fetchnumpy()
        rep_ri = np.asarray(hashed["ri"], np.int64)
        rep_keys = np.asarray(hashed["id1"], np.uint64)
        # A repaired ID found is scored as the person's own ID: the whole key must agree.
        add(rep_ri, *index.find_exact(con, "id1", rep_keys), repaired=True)
        if index.delta.num_rows:
            con.register("_risk", prepared.blocking)
            con.register("_seg", index.delta)
            rules = [
                f"SELECT r.rec AS ri, s.pos, false AS rep FROM _risk r JOIN _seg s ON r.{k} = s.{k}"
                for k in keys
            ]
            rules.append(
                "SELECT p.ri, s.pos, true AS rep FROM (SELECT ri, hash(key) AS id1 FROM _rep) p "
                "JOIN _seg s ON p.id1 = s.id1"
            )
            found = con.sql(" UNION ALL ".join(rules)).fetchnumpy()
            con.unregister("_risk")
            con.unregister("_seg")
            out_ri.append(np.asarray(found["ri"], np.int64))
            out_pos.append(np.asarray(found["pos"], np.int64))
            out_rep.append(np.asarray(found["rep"], bool))
            out_seg.append(np.ones(len(found["ri"]), np.int8))
    finally:
        con.unregister("_rep")
    ri = np.concatenate(out_ri)
    seg_a = np.concatenate(out_seg)
    pos = np.concatenate(out_pos)
    rep = np.concatenate(out_rep)
    # One row per (record, segment, position); "repaired" if any rule found it so.
    pair = (ri << 33) | (seg_a.astype(np.int64) << 32) | pos
    order = np.lexsort((~rep, pair))
    pair, rep = pair[order], rep[order]
    first = np.r_[True, pair[1:] != pair[:-1]] if len(pair) else np.zeros(0, bool)
    pair, rep = pair[first], rep[first]
    ri, seg_a, pos = pair >> 33, ((pair >> 32) & 1).astype(np.int8), pair & 0xFFFFFFFF
    if len(index.dead):
        in_base = np.flatnonzero(seg_a == 0)
        rids = take_rows(index.base, pos[in_base], ["rid"]).column("rid").to_numpy()
        keep = np.ones(len(ri), bool)
        keep[in_base[np.isin(rids, index.dead)]] = False
        ri, seg_a, pos, rep = ri[keep], seg_a[keep], pos[keep], rep[keep]
    return ri, seg_a, pos, rep


FETCHED = (*fs.SIDE_COLUMNS, "rid", "path_id")


def _fetch(index: ScreeningIndex, seg: np.ndarray, pos: np.ndarray) -> pa.Table:
    """Index rows by (segment, position), pairs sorted by segment: the base's rows, then the
    delta's."""
    base_rows = take_rows(index.base, pos[seg == 0], FETCHED)
    if not (seg == 1).any():
        return base_rows
    delta_rows = take_rows(index.delta, pos[seg == 1], FETCHED)
    return pa.concat_tables([base_rows, delta_rows]).combine_chunks()


def _in_scope(
    index: ScreeningIndex, path_ids: pa.ChunkedArray | pa.Array, scope: Sequence[str] | None
) -> np.ndarray:
    allowed = index.paths.within(scope)
    ids = np.asarray(path_ids.to_numpy(zero_copy_only=False))
    if allowed is None:
        return np.ones(len(ids), bool)
    return np.isin(ids, allowed)


def _path_strings(index: ScreeningIndex, path_ids: pa.ChunkedArray | pa.Array) -> pa.Array:
    values = pa.array(index.paths.values or [""], pa.string())
    ids = path_ids.combine_chunks() if isinstance(path_ids, pa.ChunkedArray) else path_ids
    return values.take(ids)


def _verify_near(
    con: Any,
    lv: dict[str, np.ndarray],
    undecided: np.ndarray,
    right: pa.Table,
    ri: np.ndarray,
    phones: list[str | None],
    blind: Blind,
) -> int:
    """Settle undecided close phones: "near" where one of the risk phone's variants that
    show the resident's visible digits has the resident's blind index, else "different".
    Returns how many blind indexes were computed."""
    close = np.flatnonzero(undecided)
    if not len(close):
        return 0
    masks = [
        f"{v:07d}" if v is not None else None
        for v in right.column("ph_vis").take(pa.array(close)).to_pylist()
    ]
    owner: list[int] = []
    keys: list[str] = []
    cache: dict[str, str] = {}
    for j, pair in enumerate(close):
        phone, mask = phones[int(ri[pair])], masks[j]
        lv["phone_lv"][pair] = 2
        if not phone or not mask:
            continue
        for variant in numbers.phone_variants(phone, mask[:3], mask[-4:]):
            if variant not in cache:
                cache[variant] = blind(variant, "phone")
            owner.append(j)
            keys.append(cache[variant])
    if keys:
        # Residents' phones are kept as DuckDB's hash of the blind index: hash the variants'.
        con.register("_variants", pa.table({"j": pa.array(owner), "key": pa.array(keys)}))
        hashed = con.sql("SELECT j, hash(key) AS h FROM _variants").fetchnumpy()
        con.unregister("_variants")
        targets = right.column("ph1").take(pa.array(close)).to_numpy(zero_copy_only=False)
        owners = np.asarray(hashed["j"], np.int64)
        hit = np.asarray(hashed["h"], np.uint64) == targets[owners]
        lv["phone_lv"][close[np.unique(owners[hit])]] = 1
    return len(cache)


def _term_weights(
    con: Any,
    index: ScreeningIndex,
    right: pa.Table,
    lv: dict[str, np.ndarray],
    weights: dict[str, np.ndarray],
    trained: dict[str, Any],
) -> None:
    """Exact and homophone names weigh by how common the name is: 张伟 agreeing says less
    than 欧阳娜娜 agreeing (Splink's term-frequency adjustment)."""
    n = max(index.base.num_rows, 1)
    for level, column in ((0, "name"), (1, "py")):
        rows = np.flatnonzero(lv["name_lv"] == level)
        if not len(rows):
            continue
        values = right.column(column).take(pa.array(rows))
        con.register("_tf_values", pa.table({"v": values, "i": pa.array(np.arange(len(rows)))}))
        con.register("_tf_counts", index.term_counts[column])
        counted = con.sql(
            "SELECT coalesce(c.n, 1) AS n FROM _tf_values v LEFT JOIN _tf_counts c USING (v) "
            "ORDER BY v.i"
        ).fetchnumpy()
        con.unregister("_tf_values")
        con.unregister("_tf_counts")
        freq = np.asarray(counted["n"], float) / n
        m = max(trained["m"]["name"][level], fs.M_FLOOR)
        weights["name"][rows] = np.log2(m / np.maximum(freq, 1.0 / n))


def exact_ids(index: ScreeningIndex, recs: Sequence[int], id_keys: Sequence[str]) -> pa.Table:
    """Exact-ID screening only: the residents whose ID number has one of these blind
    indexes (as a stored risk list keeps them), as (rec, rid, path). No scoring: an ID
    number is one person. One DuckDB hash join with the index's ID keys."""
    con = connect()
    try:
        con.register("_ids", pa.table({"rec": pa.array(recs, pa.int64()), "key": id_keys}))
        hashed = con.sql("SELECT rec, hash(key) AS id1 FROM _ids WHERE key IS NOT NULL")
        found = hashed.fetchnumpy()
        keys = np.asarray(found["id1"], np.uint64)
        which, pos = index.find_exact(con, "id1", keys)
        rows = take_rows(index.base, pos, ["rid", "path_id"])
        rec = np.asarray(found["rec"], np.int64)[which]
        table = pa.table({"rec": pa.array(rec), "rid": rows.column("rid")})
        table = table.append_column("path", _path_strings(index, rows.column("path_id")))
        if index.delta.num_rows or len(index.dead):
            # Rare (the index between compactions): drop replaced rows, add the delta's.
            live = ~np.isin(table.column("rid").to_numpy(), index.dead)
            table = table.filter(pa.array(live))
            con.register("_delta", index.delta)
            fresh = con.sql(
                "SELECT i.rec, d.rid, d.path_id FROM (SELECT rec, hash(key) AS id1 FROM _ids) i "
                "JOIN _delta d ON i.id1 = d.id1"
            ).to_arrow_table()
            extra = pa.table(
                {
                    "rec": fresh.column("rec"),
                    "rid": fresh.column("rid"),
                    "path": _path_strings(index, fresh.column("path_id")),
                }
            )
            table = pa.concat_tables([table, extra])
    finally:
        con.close()
    return table


@dataclass
class ScreenResult:
    matches: pa.Table
    stats: dict[str, Any] = field(default_factory=dict)
    # With ``keep_candidates``: rec, rid, probability and each field's level code (-1 missing,
    # else the index in ``model.LEVELS``) of every pair scored.
    candidates: pa.Table | None = None


def screen(
    index: ScreeningIndex,
    risk: pa.Table | Sequence[Mapping[str, Any]],
    *,
    blind: Blind,
    scope: Sequence[str] | None = None,
    min_band: str = "possible",
    progress: Progress | None = None,
    keep_candidates: bool = False,
    train: bool = True,
) -> ScreenResult:
    """Match risk records (RISK_COLUMNS) against the index; see the module docstring.

    ``scope``: place-path prefixes; residents outside them are never returned (None = all).
    ``train``: re-estimate m and the prior by EM on this run (and keep them in the index)."""
    report = progress or (lambda stage, done, total: None)
    timings: dict[str, Any] = {}
    clock = time.perf_counter()
    con = connect()
    try:
        total = len(risk) if not isinstance(risk, pa.Table) else risk.num_rows
        report("prepare", 0, total)
        prepared = prepare(con, risk, blind, index.regions)
        timings["prepare_s"] = time.perf_counter() - clock
        report("block", total, total)
        ri, seg, pos, rep = candidates(con, index, prepared)
        # In index order, rows are read from each record batch front to back, once.
        order = np.lexsort((pos, seg))
        ri, seg, pos, rep = ri[order], seg[order], pos[order], rep[order]
        timings["block_s"] = time.perf_counter() - clock - timings["prepare_s"]
        right = _fetch(index, seg, pos)
        keep = _in_scope(index, right.column("path_id"), scope)
        if not keep.all():
            ri, seg, pos, rep = ri[keep], seg[keep], pos[keep], rep[keep]
            right = right.filter(pa.array(keep))
        left = prepared.table.select(list(fs.SIDE_COLUMNS)).take(pa.array(ri))
        pairs = fs.pairs_table(left, right)
        pairs = pairs.append_column("rep", pa.array(rep))
        pairs = pairs.append_column("l_id_bad", pa.array(prepared.id_bad[ri]))
        report("compare", total, total)
        lv = fs.levels(con, pairs)
        # Masked phones within one edit: unknown until a variant's blind index settles it,
        # which is paid for only where it can change the answer (below).
        close = lv["phone_close"] & (lv["phone_lv"] == 2)
        lv["phone_lv"][close] = -1
        timings["compare_s"] = time.perf_counter() - clock - sum(timings.values())
        trained = fs.em(lv, index.model) if train else index.model
        weights = fs.field_weights(lv, trained)
        _term_weights(con, index, right, lv, weights, trained)
        groups = _Groups(_total(weights), ri)
        share = _share(groups, total, trained) if train else float(trained.get("share", 0.5))
        prior = fs.prior_bits(trained, share)
        probability = groups.probability(prior)
        undecided = close & (groups.rank == 1) & (probability >= 0.05) & (probability < 0.99)
        hmacs = _verify_near(con, lv, undecided, right, ri, prepared.phones, blind)
        if hmacs:
            weights["phone"] = fs.field_weights(lv, trained)["phone"]
            groups = _Groups(_total(weights), ri)
            probability = groups.probability(prior)
        bits, rank = groups.bits, groups.rank
        matches = _table(
            lv,
            weights,
            bits,
            probability,
            rank,
            prepared.recs[ri],
            right,
            index,
            min_band,
            pair_key="rec",
        )
        if train:
            trained = dict(trained, share=share)
            index.model_save(trained)
        timings["score_s"] = time.perf_counter() - clock - sum(timings.values())
    finally:
        con.close()
    report("done", total, total)
    stats = {
        "records": total,
        "pairs": len(ri),
        "phone_variants_hashed": hmacs,
        "repaired_id_keys": prepared.repaired.num_rows,
        "share": round(float(trained.get("share", 0.0)), 4),
        **{k: round(v, 4) for k, v in timings.items()},
        "seconds": round(time.perf_counter() - clock, 4),
    }
    found = None
    if keep_candidates:
        # Every pair that reached scoring, whatever its probability: what the benchmarks
        # measure blocking recall and the calibration of the probabilities on.
        found = pa.table(
            {
                "rec": pa.array(prepared.recs[ri]),
                "rid": right.column("rid"),
                "probability": pa.array(probability),
                **{f"{f}_lv": pa.array(lv[f"{f}_lv"]) for f in FIELDS},
            }
        )
    return ScreenResult(matches=matches, stats=stats, candidates=found)


class _Groups:
    """Candidates grouped by record, best first: computed once, reused for every prior."""

    def __init__(self, bits: np.ndarray, group: np.ndarray) -> None:
        self.bits = bits
        self.order = np.lexsort((-bits, group))
        self.rank = np.zeros(len(group), np.int64)
        if len(self.order):
            g_sorted = group[self.order]
            self.starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
            self.lengths = np.diff(np.r_[self.starts, len(self.order)])
            within = np.arange(len(self.order)) - np.repeat(self.starts, self.lengths)
            self.rank[self.order] = within + 1

    def probability(self, prior: float) -> np.ndarray:
        """p_j = o_j / (1 + Σ_k o_k) within each record, o = 2^(bits + prior): candidates
        compete for the one resident a record can be."""
        odds = np.exp2(np.clip(self.bits + prior, -1000, 1000))
        group_sum = np.zeros(len(odds))
        if len(self.order):
            sums = np.add.reduceat(odds[self.order], self.starts)
            group_sum[self.order] = np.repeat(sums, self.lengths)
        return np.asarray(odds / (1.0 + group_sum))


def _share(groups: _Groups, records: int, model: dict[str, Any]) -> float:
    """The share of records that are residents at all, by EM on the records' posteriors
    (it sets the prior: a list of outsiders must not look like residents)."""
    share = float(model.get("share", fs.SHARE_START))
    for _ in range(30):
        probability = groups.probability(fs.prior_bits(model, share))
        fresh = min(max(float(probability.sum()) / max(records, 1), 1e-4), 1 - 1e-4)
        if abs(fresh - share) < 1e-5:
            return fresh
        share = fresh
    return share


def _total(weights: dict[str, np.ndarray]) -> np.ndarray:
    total = np.zeros(len(weights[FIELDS[0]]))
    for f in FIELDS:
        total += weights[f]
    return total


def _table(
    lv: dict[str, np.ndarray],
    weights: dict[str, np.ndarray],
    bits: np.ndarray,
    probability: np.ndarray,
    rank: np.ndarray,
    group_ids: np.ndarray,
    right: pa.Table,
    index: ScreeningIndex,
    min_band: str,
    *,
    pair_key: str,
) -> pa.Table:
    keep = (probability >= BAND_FLOOR[min_band]) & (rank <= KEEP_PER_RECORD)
    idx = np.flatnonzero(keep)
    band = np.where(
        probability[idx] >= BAND_FLOOR["certain"],
        0,
        np.where(probability[idx] >= BAND_FLOOR["probable"], 1, 2),
    )
    columns: dict[str, Any] = {
        pair_key: pa.array(group_ids[idx]),
        "rid": right.column("rid").take(pa.array(idx)),
        "weight": pa.array(bits[idx]),
        "probability": pa.array(probability[idx]),
        "band": pa.array(BANDS, pa.string()).take(pa.array(band)),
        "rank": pa.array(rank[idx].astype(np.int16)),
        "path": _path_strings(index, right.column("path_id").take(pa.array(idx))),
    }
    for f in FIELDS:
        labels = pa.array(["missing", *fs.LEVELS[f]], pa.string())
        columns[f"{f}_level"] = labels.take(pa.array(lv[f"{f}_lv"][idx].astype(np.int64) + 1))
        columns[f"{f}_weight"] = pa.array(weights[f][idx])
    return pa.table(columns).sort_by([(pair_key, "ascending"), ("rank", "ascending")])


DUPLICATE_SHARE = 0.01
# Deduplication blocks more tightly: every rule is a self-join of the whole registry.
DEDUP_KEYS = ("hash(py, birth)", "ph1", "hash(name, block_h)")


def deduplicate(
    index: ScreeningIndex,
    *,
    scope: Sequence[str] | None = None,
    min_band: str = "probable",
    progress: Progress | None = None,
) -> pa.Table:
    """Pairs of residents that may be one person (``rid`` < ``other``), by the same
    comparisons and the model the screening runs trained. A pair is returned when either
    side is in ``scope``; who may merge it is the caller's decision."""
    report = progress or (lambda stage, done, total: None)
    con = connect()
    try:
        table = index.live_base().select(list(FETCHED))
        if index.delta.num_rows:
            table = pa.concat_tables([table, index.delta.select(list(FETCHED))])
        table = table.combine_chunks()
        table = table.append_column("pos", pa.array(np.arange(table.num_rows, dtype=np.int64)))
        report("block", 0, len(DEDUP_KEYS))
        con.register("_reg", table)
        rules = [
            f"""SELECT a, b FROM (
                    SELECT pos, k, count(*) OVER (PARTITION BY k) AS c FROM (
                        SELECT pos, {k} AS k FROM _reg WHERE {k} IS NOT NULL))
                    AS x(a, k, c)
                JOIN (SELECT pos AS b, {k} AS k FROM _reg WHERE {k} IS NOT NULL) y USING (k)
                WHERE a < b AND c <= 50"""
            for k in DEDUP_KEYS
        ]
        found = con.sql(f"SELECT DISTINCT a, b FROM ({' UNION ALL '.join(rules)})").fetchnumpy()
        con.unregister("_reg")
        a = np.asarray(found["a"], np.int64)
        b = np.asarray(found["b"], np.int64)
        report("compare", len(DEDUP_KEYS), len(DEDUP_KEYS))
        left = table.take(pa.array(a))
        right = table.take(pa.array(b))
        scoped = _in_scope(index, left.column("path_id"), scope) | _in_scope(
            index, right.column("path_id"), scope
        )
        if not scoped.all():
            a, b = a[scoped], b[scoped]
            left, right = left.filter(pa.array(scoped)), right.filter(pa.array(scoped))
        pairs = fs.pairs_table(left, right)
        pairs = pairs.append_column("rep", pa.array(np.zeros(len(a), bool)))
        pairs = pairs.append_column("l_id_bad", pa.array(np.zeros(len(a), bool)))
        lv = fs.levels(con, pairs)
        # Without either phone in clear, "close" masked phones cannot be checked: unknown.
        lv["phone_lv"][lv["phone_close"] & (lv["phone_lv"] == 2)] = -1
        # Two records with different valid ID numbers are two people (twins share name,
        # birth and address): never merge candidates, however alike the rest.
        distinct = lv["id_lv"] == 2
        if distinct.any():
            keep = ~distinct
            a, b, left, right = a[keep], b[keep], left.filter(keep), right.filter(keep)
            lv = {k: v[keep] for k, v in lv.items()}
        weights = fs.field_weights(lv, index.model)
        _term_weights(con, index, right, lv, weights, index.model)
    finally:
        con.close()
    pair_ids = np.arange(len(a), dtype=np.int64)
    groups = _Groups(_total(weights), pair_ids)
    # One resident in a hundred registered twice: the prior that a pair is one person.
    probability = groups.probability(fs.prior_bits(index.model, DUPLICATE_SHARE))
    bits, rank = groups.bits, groups.rank
    scored = _table(
        lv, weights, bits, probability, rank, pair_ids, right, index, min_band, pair_key="pair"
    )
    picked = scored.column("pair").to_numpy()
    out = scored.drop_columns(["pair", "rank"])
    out = out.rename_columns(["other" if c == "rid" else c for c in out.column_names])
    out = out.rename_columns(["other_path" if c == "path" else c for c in out.column_names])
    out = out.add_column(0, "rid", left.column("rid").take(pa.array(picked)))
    out = out.append_column(
        "path", _path_strings(index, left.column("path_id").take(pa.array(picked)))
    )
    report("done", len(DEDUP_KEYS), len(DEDUP_KEYS))
    return out
