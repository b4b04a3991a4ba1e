"""Fellegi–Sunter: comparison levels per field, u-probabilities measured on random pairs of
the registry (once, when the index is built), m-probabilities and the prior estimated by
expectation maximisation on each run's candidate pairs, and match weights in bits.

EM runs on the histogram of comparison patterns rather than on the pairs: a run of two
million candidate pairs has a few hundred distinct patterns, so each iteration costs
microseconds. This is what lets every run re-estimate m without paying for it (Splink
re-samples u and iterates over the pairs in SQL on every run).
"""

from __future__ import annotations

import math
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

FIELDS = ("id", "phone", "name", "birth", "gender", "address")

# Level labels per field, strongest agreement first. -1 (not listed) means "missing": a side
# has no value, and the field contributes nothing.
LEVELS: dict[str, tuple[str, ...]] = {
    "id": ("exact", "repaired", "different"),
    "phone": ("exact", "near", "different"),
    "name": ("exact", "homophone", "similar", "one character", "surname", "different"),
    "birth": ("exact", "swapped", "one digit", "different"),
    "gender": ("agree", "different"),
    "address": ("exact", "similar", "same compound", "different"),
}

# Starting m-probabilities (EM refines them on every run) and the floor under any u.
M_START: dict[str, tuple[float, ...]] = {
    "id": (0.95, 0.045, 0.005),
    "phone": (0.70, 0.10, 0.20),
    "name": (0.75, 0.12, 0.05, 0.03, 0.03, 0.02),
    "birth": (0.90, 0.03, 0.03, 0.04),
    "gender": (0.97, 0.03),
    "address": (0.45, 0.10, 0.10, 0.35),
}
U_FLOOR = 1e-9
M_FLOOR = 1e-4
SHARE_START = 0.5
EM_ITERATIONS = 30
# A training block with fewer pairs keeps the stored m: too few to estimate from.
EM_MIN_PAIRS = 500

_FUZZY = (
    "regexp_replace(regexp_replace(regexp_replace({x}, '\\b([zcs])h', '\\1', 'g'), "
    "'ng\\b', 'n', 'g'), '\\bl', 'n', 'g')"
)


def compare_sql(pairs: str) -> str:
    """Comparison levels of a relation of pairs with ``l_*`` (risk record, or the first
    resident) and ``r_*`` (resident) columns, plus ``rep`` (the pair was found by a repaired
    ID) and ``l_id_bad`` (the risk ID failed its checksum).

    ``l_addr`` is the left address without city and district (``prepare`` strips it once
    per record): a registry address, always written whole, agrees when it ends with it."""
    from safecommunity.screening.engine.index import ADDRESS_BLOCK, SURNAME_PY

    sur = {s: SURNAME_PY.format(name=f"{s}_name", py=f"{s}_py") for s in ("l", "r")}
    fz = {s: "replace(" + _FUZZY.format(x=f"{s}_py") + ", ' ', '')" for s in ("l", "r")}
    return f"""
    WITH p AS (
        SELECT *, replace(l_py, ' ', '') AS l_pyk, replace(r_py, ' ', '') AS r_pyk,
            {sur["l"]} AS l_sur_py, {sur["r"]} AS r_sur_py,
            coalesce({ADDRESS_BLOCK.format(a="r_address")}, '') AS r_block
        FROM {pairs})
    SELECT
        CASE WHEN rep THEN 1
             WHEN l_id_bad OR l_id1 IS NULL OR r_id1 IS NULL THEN -1
             WHEN l_id1 = r_id1 THEN 0
             ELSE 2 END::TINYINT AS id_lv,
        CASE WHEN l_ph1 IS NULL OR r_ph1 IS NULL THEN -1
             WHEN l_ph1 = r_ph1 THEN 0
             ELSE 2 END::TINYINT AS phone_lv,
        coalesce(l_ph1 <> r_ph1 AND damerau_levenshtein(
            left(l_phone_masked, 3) || right(l_phone_masked, 4),
            left(r_phone_masked, 3) || right(r_phone_masked, 4)) <= 1, false) AS phone_close,
        CASE WHEN l_name = '' OR r_name = '' THEN -1
             WHEN l_name = r_name THEN 0
             WHEN l_pyk = r_pyk THEN 1
             WHEN jaro_winkler_similarity(l_pyk, r_pyk) >= 0.94 OR {fz["l"]} = {fz["r"]} THEN 2
             WHEN l_sur_py = r_sur_py AND length(l_name) = length(r_name)
                  AND damerau_levenshtein(l_name, r_name) <= 1 THEN 3
             WHEN l_sur_py = r_sur_py THEN 4
             ELSE 5 END::TINYINT AS name_lv,
        CASE WHEN l_birth IS NULL OR r_birth IS NULL THEN -1
             WHEN l_birth = r_birth THEN 0
             WHEN year(l_birth) = year(r_birth) AND month(l_birth) = day(r_birth)
                  AND day(l_birth) = month(r_birth) THEN 1
             WHEN damerau_levenshtein(strftime(l_birth, '%Y%m%d'),
                                      strftime(r_birth, '%Y%m%d')) <= 1 THEN 2
             ELSE 3 END::TINYINT AS birth_lv,
        CASE WHEN coalesce(l_gender, 0) = 0 OR coalesce(r_gender, 0) = 0 THEN -1
             WHEN l_gender = r_gender THEN 0 ELSE 1 END::TINYINT AS gender_lv,
        CASE WHEN coalesce(l_addr, '') = '' OR coalesce(r_address, '') = '' THEN -1
             WHEN l_address = r_address OR ends_with(r_address, l_addr) THEN 0
             WHEN jaro_winkler_similarity(l_addr, right(r_address, length(l_addr))) >= 0.92
                  THEN 1
             WHEN l_block <> '' AND l_block = r_block THEN 2
             ELSE 3 END::TINYINT AS address_lv
    FROM p
    """


SIDE_COLUMNS = ("name", "py", "birth", "gender", "id1", "ph1", "phone_masked", "address")


def pairs_table(left: pa.Table, right: pa.Table) -> pa.Table:
    """Two aligned tables of the same length, side by side with ``l_``/``r_`` prefixes. The
    left side's ``addr`` and ``block`` (address without city and district, and its
    compound) are its own when it has them (risk records), else its whole address."""
    columns: dict[str, Any] = {}
    for name in SIDE_COLUMNS:
        columns[f"l_{name}"] = left.column(name)
        columns[f"r_{name}"] = right.column(name)
    names = left.column_names
    columns["l_addr"] = left.column("addr") if "addr" in names else left.column("address")
    columns["l_block"] = left.column("block") if "block" in names else _blocks(left)
    return pa.table(columns)


def _blocks(table: pa.Table) -> pa.Array:
    from safecommunity.screening.engine.index import ADDRESS_BLOCK, connect

    con = connect()
    rows = pa.array(np.arange(table.num_rows, dtype=np.int64))
    con.register("_side", table.select(["address"]).append_column("_row", rows))
    found = con.sql(
        f"SELECT coalesce({ADDRESS_BLOCK.format(a='address')}, '') AS b FROM _side ORDER BY _row"
    ).to_arrow_table()
    con.close()
    return found.column("b")


def levels(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> dict[str, np.ndarray]:
    con.register("_pairs", pairs)
    try:
        result = con.sql(compare_sql("_pairs")).fetchnumpy()
    finally:
        con.unregister("_pairs")
    return {k: np.asarray(v) for k, v in result.items()}


def train_u(
    con: duckdb.DuckDBPyConnection, base: pa.Table, sample: int = 400_000
) -> dict[str, Any]:
    """u-probabilities: how often two random residents agree at each level. ID and phone
    numbers are unique per person, so their u is set from the registry's size instead."""
    n = base.num_rows
    model: dict[str, Any] = {"n": n, "m": {f: list(M_START[f]) for f in FIELDS}}
    model["share"] = SHARE_START
    u: dict[str, list[float]] = {}
    if n >= 2:
        rng = np.random.default_rng(20221126)
        a = rng.integers(0, n, sample)
        b = rng.integers(0, n, sample)
        keep = a != b
        left = base.take(pa.array(a[keep]))
        right = base.take(pa.array(b[keep]))
        pairs = pairs_table(left, right).append_column(
            "rep", pa.array(np.zeros(int(keep.sum()), bool))
        )
        pairs = pairs.append_column("l_id_bad", pa.array(np.zeros(int(keep.sum()), bool)))
        found = levels(con, pairs)
        for field in ("name", "birth", "gender", "address"):
            values = found[f"{field}_lv"]
            present = values[values >= 0]
            counts = np.bincount(present, minlength=len(LEVELS[field])).astype(float)
            total = max(len(present), 1)
            # Half a count where none was seen: agreement too rare to observe in the sample.
            u[field] = [max((c if c else 0.5) / total, U_FLOOR) for c in counts]
    else:
        for field in ("name", "birth", "gender", "address"):
            u[field] = [1.0 / len(LEVELS[field])] * len(LEVELS[field])
    # A repaired ID has ~20 candidates, a phone ~100 one-edit neighbours: the chance that a
    # random resident holds one of them. Small registries are capped to stay probabilities.
    size = max(n, 1000)
    u["id"] = [1.0 / size, 20.0 / size, 1.0 - 21.0 / size]
    u["phone"] = [1.0 / size, 100.0 / size, 1.0 - 101.0 / size]
    model["u"] = u
    return model


def _codes(lv: dict[str, np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """One integer per pair for its whole comparison pattern (missing = 0, level k = k+1)."""
    radices = [len(LEVELS[f]) + 1 for f in FIELDS]
    code = np.zeros(len(lv[f"{FIELDS[0]}_lv"]), np.int64)
    for field, radix in zip(FIELDS, radices, strict=True):
        code = code * radix + (lv[f"{field}_lv"].astype(np.int64) + 1)
    return code, radices


def _decode(patterns: np.ndarray, radices: list[int]) -> np.ndarray:
    out = np.zeros((len(patterns), len(radices)), np.int64)
    rest = patterns.copy()
    for i in range(len(radices) - 1, -1, -1):
        out[:, i] = rest % radices[i] - 1
        rest //= radices[i]
    return out


def _histogram(lv: dict[str, np.ndarray], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    code, radices = _codes({k: v[rows] for k, v in lv.items() if k.endswith("_lv")})
    patterns, counts = np.unique(code, return_counts=True)
    return _decode(patterns, radices), counts.astype(float)


def _em(
    grid: np.ndarray,
    counts: np.ndarray,
    m: dict[str, np.ndarray],
    u: dict[str, np.ndarray],
    used: tuple[str, ...],
) -> dict[str, np.ndarray]:
    """EM over pattern counts, on the ``used`` fields only (u fixed)."""
    lam = 0.5
    m = {f: v.copy() for f, v in m.items()}
    for _ in range(EM_ITERATIONS):
        log_odds = np.zeros(len(counts))
        for i, field in enumerate(FIELDS):
            if field not in used:
                continue
            level = grid[:, i]
            present = level >= 0
            log_odds[present] += np.log(m[field][level[present]] / u[field][level[present]])
        odds = np.exp(np.clip(log_odds, -700, 700)) * lam / (1 - lam)
        p = odds / (1 + odds)
        lam = float(np.clip((p * counts).sum() / counts.sum(), 1e-6, 1 - 1e-6))
        for i, field in enumerate(FIELDS):
            if field not in used:
                continue
            level = grid[:, i]
            present = level >= 0
            mass = np.bincount(
                level[present], weights=(p * counts)[present], minlength=len(LEVELS[field])
            )
            if mass.sum() > 0:
                fresh = np.maximum(mass / mass.sum(), M_FLOOR)
                m[field] = fresh / fresh.sum()
    return m


def em(lv: dict[str, np.ndarray], model: dict[str, Any]) -> dict[str, Any]:
    """Re-estimate m on this run's pairs, the way Splink trains: per training block, EM over
    the fields that did not define the block (those agree by construction there, so they
    say nothing). Block A, pairs whose ID numbers agree: m of phone, name, birth, gender,
    address. Block B, pairs whose names sound alike and whose birth dates agree: m of the ID
    number. u stays as measured on random pairs of the registry. A block with too few pairs
    keeps the model's m."""
    m = {f: np.array(model["m"][f], float) for f in FIELDS}
    u = {f: np.maximum(np.array(model["u"][f], float), U_FLOOR) for f in FIELDS}
    fresh = dict(m)
    by_id = np.flatnonzero(lv["id_lv"] == 0)
    if len(by_id) >= EM_MIN_PAIRS:
        grid, counts = _histogram(lv, by_id)
        used = ("phone", "name", "birth", "gender", "address")
        trained = _em(grid, counts, m, u, used)
        fresh.update({f: trained[f] for f in used})
    by_name = np.flatnonzero((lv["name_lv"] <= 1) & (lv["name_lv"] >= 0) & (lv["birth_lv"] == 0))
    if len(by_name) >= EM_MIN_PAIRS:
        grid, counts = _histogram(lv, by_name)
        trained = _em(grid, counts, m, u, ("id", "phone", "gender", "address"))
        fresh["id"] = trained["id"]
    # "near" phones are checked only where they can change an answer, so training never sees
    # them: that level keeps its starting m, and the other levels share the rest.
    phone = fresh["phone"].copy()
    near = M_START["phone"][1]
    rest = np.delete(phone, 1)
    phone = np.insert(rest / rest.sum() * (1 - near), 1, near)
    fresh["phone"] = phone
    out = dict(model)
    out["m"] = {f: [float(x) for x in fresh[f]] for f in FIELDS}
    return out


def field_weights(lv: dict[str, np.ndarray], model: dict[str, Any]) -> dict[str, np.ndarray]:
    """Bits each field adds per pair (0 where missing), before term frequencies."""
    out = {}
    for field in FIELDS:
        table = np.log2(
            np.maximum(np.array(model["m"][field]), M_FLOOR)
            / np.maximum(np.array(model["u"][field]), U_FLOOR)
        )
        level = lv[f"{field}_lv"]
        w = np.zeros(len(level))
        present = level >= 0
        w[present] = table[level[present]]
        out[field] = w
    return out


def prior_bits(model: dict[str, Any], share: float) -> float:
    """Prior log-odds that a record is one given resident: ``share`` of records are
    residents at all, and then any of the ``n`` residents equally."""
    share = min(max(share, 1e-6), 1 - 1e-6)
    return math.log2(share / ((1 - share) * max(int(model["n"]), 1)))
