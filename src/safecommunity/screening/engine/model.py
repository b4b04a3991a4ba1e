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
import pyarrow.compute as pc

FIELDS = ("id", "phone", "name", "birth", "gender", "address")

# Level labels per field, strongest agreement first. -1 (not listed) means "missing": a side
# has no value, and the field contributes nothing.
LEVELS: dict[str, tuple[str, ...]] = {
    "id": ("exact", "repaired", "different"),
    "phone": ("exact", "near", "different"),
    "name": ("exact", "homophone", "similar", "one character", "surname", "different"),
    "birth": ("exact", "swapped", "one digit", "different"),
    "gender": ("agree", "different"),
    "address": ("exact", "same compound", "different"),
}

# Starting m-probabilities (EM refines them on every run) and the floor under any u.
M_START: dict[str, tuple[float, ...]] = {
    "id": (0.95, 0.045, 0.005),
    "phone": (0.70, 0.10, 0.20),
    "name": (0.75, 0.12, 0.05, 0.03, 0.03, 0.02),
    "birth": (0.90, 0.03, 0.03, 0.04),
    "gender": (0.97, 0.03),
    "address": (0.45, 0.15, 0.40),
}
U_FLOOR = 1e-9
# The m of a level training never saw among matches: at most M_UNSEEN (what a few thousand
# matches cannot tell from zero), less when more matches were seen (``m_floor``); never under
# M_FLOOR, a number rather than a belief.
M_UNSEEN = 1e-4
M_FLOOR = 1e-6
SHARE_START = 0.5
EM_ITERATIONS = 30
# A training block with fewer pairs keeps the stored m: too few to estimate from.
EM_MIN_PAIRS = 500


def compare_sql(pairs: str) -> str:
    """Comparison levels of a relation of pairs with ``l_*`` (risk record, or the first
    resident) and ``r_*`` (resident) columns, plus ``rep`` (the pair was found by a repaired
    ID) and ``l_id_bad`` (the risk ID failed its checksum). Addresses compare as hashes of
    their compound and of compound + house number (``index.derive_sql``), so an address
    written without city and district agrees with the registry's whole one."""
    # Expensive expressions sit in the CASE branch that needs them: DuckDB evaluates a branch
    # only for the rows that reach it (most pairs are settled by the first, cheap tests).
    return f"""
    SELECT
        CASE WHEN rep THEN 1
             WHEN l_id_bad OR l_id1 IS NULL OR r_id1 IS NULL THEN -1
             WHEN l_id1 = r_id1 THEN 0
             ELSE 2 END::TINYINT AS id_lv,
        CASE WHEN l_ph1 IS NULL OR r_ph1 IS NULL THEN -1
             WHEN l_ph1 = r_ph1 THEN 0
             ELSE 2 END::TINYINT AS phone_lv,
        CASE WHEN l_name = '' OR r_name = '' THEN -1
             WHEN l_name = r_name THEN 0
             WHEN l_py = r_py THEN 1
             WHEN jaro_winkler_similarity(l_py, r_py) >= 0.94
                  OR list_sort(string_split(l_py, ' ')) = list_sort(string_split(r_py, ' '))
                  THEN 2
             WHEN split_part(l_py, ' ', 1) <> split_part(r_py, ' ', 1) THEN 5
             WHEN length(l_name) = length(r_name)
                  AND damerau_levenshtein(l_name, r_name) <= 1 THEN 3
             WHEN true THEN 4
             ELSE 5 END::TINYINT AS name_lv,
        CASE WHEN coalesce(l_gender, 0) = 0 OR coalesce(r_gender, 0) = 0 THEN -1
             WHEN l_gender = r_gender THEN 0 ELSE 1 END::TINYINT AS gender_lv,
        CASE WHEN l_addr_h IS NULL OR r_addr_h IS NULL THEN -1
             WHEN l_addr_h = r_addr_h THEN 0
             WHEN l_block_h = r_block_h THEN 1
             ELSE 2 END::TINYINT AS address_lv
    FROM {pairs}
    """


SIDE_COLUMNS = (
    "name", "py", "birth", "gender", "id1", "ph1", "ph_vis", "addr_h", "block_h",
)  # fmt: skip


def pairs_table(left: pa.Table, right: pa.Table) -> pa.Table:
    """Two aligned tables of the same length, side by side with ``l_``/``r_`` prefixes."""
    columns: dict[str, Any] = {}
    for name in SIDE_COLUMNS:
        columns[f"l_{name}"] = left.column(name)
        columns[f"r_{name}"] = right.column(name)
    return pa.table(columns)


def levels(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> dict[str, np.ndarray]:
    con.register("_pairs", pairs)
    try:
        result = con.sql(compare_sql("_pairs")).fetchnumpy()
    finally:
        con.unregister("_pairs")
    found = {k: np.asarray(v) for k, v in result.items()}
    found["birth_lv"] = birth_levels(pairs.column("l_birth"), pairs.column("r_birth"))
    # Only phones that differ can be close.
    differ = np.flatnonzero(found["phone_lv"] == 2)
    found["phone_close"] = np.zeros(pairs.num_rows, bool)
    found["phone_close"][differ] = phones_close(
        _numbers(pairs.column("l_ph_vis"))[differ], _numbers(pairs.column("r_ph_vis"))[differ]
    )
    return found


def date_digits(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day and the eight digits of YYYYMMDD (as bytes, one row per digit) for
    days since 1970. Worked out once per day of the span the dates cover (a few tens of
    thousands of days for living people) and looked up, not once per date."""
    low = int(dates.min()) if len(dates) else 0
    span = int(dates.max()) - low + 1 if len(dates) else 0
    per_day = span <= 4 * len(dates) + 100_000  # else the span is absurd: work per date
    days = (np.arange(span) + low if per_day else dates).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months).astype(np.int64) + 1
    number = year * 10_000 + month * 100 + day
    digits = np.stack([(number // 10**k) % 10 for k in range(7, -1, -1)]).astype(np.uint8)
    if not per_day:
        return year, month, day, digits
    at = dates.astype(np.int64) - low
    return year[at], month[at], day[at], digits[:, at]


def birth_levels(left: pa.ChunkedArray | pa.Array, right: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """exact / day and month swapped / one digit of YYYYMMDD wrong or two adjacent swapped /
    different; -1 where either is missing. In NumPy: a million pairs in a few milliseconds."""
    valid = np.asarray(
        pc.and_(pc.is_valid(left), pc.is_valid(right)).to_numpy(zero_copy_only=False), bool
    )
    a = np.asarray(pc.fill_null(left.cast(pa.int32()), 0).to_numpy(zero_copy_only=False))
    b = np.asarray(pc.fill_null(right.cast(pa.int32()), 0).to_numpy(zero_copy_only=False))
    ya, ma, da, digits_a = date_digits(a)
    yb, mb, db, digits_b = date_digits(b)
    differ = digits_a != digits_b
    count = differ.sum(axis=0)
    swapped_digits = np.zeros(len(a), bool)
    for k in range(7):
        swapped_digits |= (
            differ[k]
            & differ[k + 1]
            & (digits_a[k] == digits_b[k + 1])
            & (digits_a[k + 1] == digits_b[k])
            & (count == 2)
        )
    level = np.full(len(a), 3, np.int8)
    level[(count == 1) | swapped_digits] = 2
    level[(ya == yb) & (ma == db) & (da == mb) & (a != b)] = 1
    level[a == b] = 0
    level[~valid] = -1
    return level


def _numbers(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(column, 0).to_numpy(zero_copy_only=False), np.int64)


def phones_close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether two phones' seven visible digits (first three, last four, as one number) are
    within one substitution or one adjacent swap: only then can the hidden middle hold the
    other one-edit difference, or the difference be that one edit."""
    da = np.stack([(a // 10**k) % 10 for k in range(6, -1, -1)])
    db = np.stack([(b // 10**k) % 10 for k in range(6, -1, -1)])
    differ = da != db
    count = differ.sum(axis=0)
    swapped = np.zeros(len(a), bool)
    for k in (0, 1, 3, 4, 5):  # adjacent in the phone: not across the hidden middle (2|3)
        swapped |= (
            differ[k] & differ[k + 1] & (da[k] == db[k + 1]) & (da[k + 1] == db[k]) & (count == 2)
        )
    return np.asarray(((count <= 1) | swapped) & (a > 0) & (b > 0))


def train_u(
    con: duckdb.DuckDBPyConnection, base: pa.Table, sample: int = 100_000
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
        from safecommunity.screening.engine.index import take_rows

        left = take_rows(base, a[keep], SIDE_COLUMNS)
        right = take_rows(base, b[keep], SIDE_COLUMNS)
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
                fresh = np.maximum(mass / mass.sum(), m_floor(float(mass.sum())))
                m[field] = fresh / fresh.sum()
    return m


def m_floor(matches: float) -> float:
    """The m of a level no match in training showed: half a match in ``matches`` (the
    add-half estimate) once that is under M_UNSEEN. A fixed 10⁻⁴ spoke for any training set:
    it let two people with the same name and birth date but different valid ID numbers come
    out a probable match (−13 bits) when fifty thousand matches with both IDs had never once
    disagreed (−17). A smaller run keeps 10⁻⁴: a few hundred matches are no reason to trust
    a differing ID less."""
    return max(min(0.5 / max(matches, 1.0), M_UNSEEN), M_FLOOR)


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
