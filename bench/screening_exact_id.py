"""Exact-ID-only screening: 100,000 ID numbers against N residents through the blind index,
beside a bare DuckDB hash join on the plaintext ID numbers of the same data.

Target (issue 5), at 14,000,000 residents: the engine within 2× of the DuckDB join.

    .venv/bin/python bench/screening_exact_id.py --residents 14000000 --reuse

The data is ``screening_data``'s (``--reuse`` keeps it); the screening index is the one
``screening_vs_splink`` builds in the data folder (built here, untimed, when missing or
unreadable, or with ``--rebuild``). The
100,000 probes are the risk list's ID numbers, full-width digits folded, with the missing ones
filled in (the resident's own number for a drawn record, a number of no resident otherwise),
so that every record carries an ID. As a stored risk list holds them, the probes' blind
indexes are computed beforehand (``id_key``) and not timed. The engine's side is its exact-ID
path, ``exact_ids(index, recs, id_keys)``; also shown, ``screen`` on records that carry nothing
but ``rec`` and ``id_key`` (no EM training: there is nothing to train on). DuckDB's side: the population's (rid, id_number) in an in-memory table,
loaded beforehand, joined with the probes. Each side: one warm-up, then the median of 5.
"""

# SQL here is built from our own file paths and fixed names, never from input.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import screening_data
from screening_data import DataSet
from screening_vs_splink import usable_index

RATIO_TARGET = 2.0
RUNS = 5


def probes(data: DataSet) -> pa.Table:
    """(rec, id_number, id_key) for every risk record."""
    import duckdb

    risk = pq.read_table(data.risk, columns=["rec", "id_number"])
    risk = risk.set_column(1, "id_number", pc.utf8_normalize(risk.column("id_number"), "NFKC"))
    con = duckdb.connect()
    con.register("risk", risk)
    # A record without an ID gets its resident's number, or (not a resident) a number
    # with one digit changed in the sequence: well-formed, nobody's.
    table = con.sql(
        f"""SELECT r.rec, coalesce(r.id_number, p.id_number,
                left(o.id_number, 15) || ((substr(o.id_number, 16, 1)::INT + 5) % 10)::VARCHAR
                || right(o.id_number, 2)) AS id_number
        FROM risk r
        LEFT JOIN read_parquet('{data.truth}') t USING (rec)
        LEFT JOIN read_parquet('{data.population}') p ON p.rid = t.rid
        LEFT JOIN read_parquet('{data.population}') o ON o.rid = r.rec
        ORDER BY r.rec"""
    ).to_arrow_table()
    keys = screening_data.blind_column(table.column("id_number").combine_chunks(), "id")
    return table.append_column("id_key", keys)


def median_of(runs: int, call: Callable[[], int]) -> tuple[float, int, list[float]]:
    found = call()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        found = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), found, times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--residents", type=int, default=14_000_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="reuse generated data")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--rebuild", action="store_true", help="build the index again first")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import duckdb

    from safecommunity.screening import engine

    data = screening_data.ensure(args.residents, folder=args.data_dir, reuse=args.reuse)
    table = probes(data)

    index = usable_index(data, rebuild=args.rebuild)
    risk = table.select(["rec", "id_key"])
    recs = table.column("rec").to_pylist()
    keys = table.column("id_key").to_pylist()

    def exact() -> int:
        return int(engine.exact_ids(index, recs, keys).num_rows)

    def screened() -> int:
        try:
            result = engine.screen(index, risk, blind=screening_data.blind, train=False)
        except TypeError:  # an engine without ``train``
            result = engine.screen(index, risk, blind=screening_data.blind)
        return int(pc.sum(pc.equal(result.matches.column("id_level"), "exact")).as_py() or 0)

    con = duckdb.connect()
    con.execute(f"CREATE TABLE pop AS SELECT rid, id_number FROM read_parquet('{data.population}')")
    con.register("probe_arrow", table.select(["rec", "id_number"]))
    con.execute("CREATE TABLE probe AS SELECT * FROM probe_arrow")

    def bare() -> int:
        rows: Any = con.execute(
            "SELECT p.rec, r.rid FROM probe p JOIN pop r USING (id_number)"
        ).fetchnumpy()
        return len(rows["rid"])

    # The engine's exact-ID path (``exact_ids``) when it has one; ``screen`` on records that
    # carry nothing but the ID's blind index, for comparison (and as the fallback).
    sides: list[tuple[str, Callable[[], int]]] = []
    if hasattr(engine, "exact_ids"):
        sides.append(("ours: exact_ids on blind keys (id_key)", exact))
    sides.append(("ours: screen on records of id_key only", screened))
    sides.append(("DuckDB hash join on plaintext id_number", bare))
    measured = [(label, *median_of(args.runs, call)) for label, call in sides]
    index.close()
    print(f"\nexact-ID screening: {table.num_rows:,} IDs against {data.residents:,} residents")
    print(f"{'side':<44}{'median ms':>10}{'found':>9}   runs (ms)")
    for label, median, found, times in measured:
        runs = " ".join(f"{t * 1000:.0f}" for t in times)
        print(f"{label:<44}{median * 1000:>10.1f}{found:>9,}   {runs}")
    ours_label, ours_s, ours_found, _ = measured[0]
    _, bare_s, bare_found, _ = measured[-1]
    ratio = ours_s / bare_s
    verdict = "ok" if ratio <= RATIO_TARGET else "MISSED"
    print(
        f"ratio {ours_label.split(' on ')[0]} / DuckDB {ratio:.2f}×  (≤ {RATIO_TARGET:g}×)  {verdict}"
    )
    if ours_found != bare_found:
        print(f"NOTE: the sides found different numbers of pairs ({ours_found} vs {bare_found})")


if __name__ == "__main__":
    main()
