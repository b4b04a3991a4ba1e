"""End-to-end resident import: ``safecommunity import-residents FILE`` on N generated rows.

Target (issue 3): ≥ 20,000 rows/s for 1M rows (parse, validate, encrypt, index, write) into
SQLite and into PostgreSQL, memory flat (peak RSS under 1 GiB).

Each run builds a fresh database — a temporary SQLite file, or with ``--database-url
postgresql://…/NAME`` a database NAME created afresh (dropped afterwards unless ``--keep``)
— with the small demo city's places (no residents), writes N residents living at its
addresses with ``demo.residents_csv`` (valid ID numbers, UTF-8 with BOM, Chinese headers),
then runs the import command in a child process and reports its wall time, rows/s and the
child's peak RSS. ``--rerun`` imports the same file again (everything unchanged).

    .venv/bin/python bench/import_residents.py                      # SQLite, 1,000,000 rows
    .venv/bin/python bench/import_residents.py --rows 100000 --rerun
    .venv/bin/python bench/import_residents.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/sc_bench_import
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchsetup import configure, drop_database, prepare_database

TARGET_ROWS_PER_SECOND = 20_000
TARGET_RSS_BYTES = 1 << 30
SEED = 2022


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: temporary SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--rerun", action="store_true", help="import the same file twice")
    parser.add_argument("--profile", action="store_true", help="cProfile the import in-process")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="sc-bench-import-")
    url = args.database_url or f"sqlite:///{data_dir}/bench.sqlite3"
    prepare_database(url)
    configure(database_url=url, data_dir=data_dir)
    env = dict(os.environ)  # the import runs in a child process with the same settings

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from safecommunity.demo.generator import build_demo_city
    from safecommunity.demo.residents_csv import write_residents_csv
    from safecommunity.places.models import Dwelling

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    build_demo_city(scale="small", seed=SEED, residents=False)
    addresses = list(Dwelling.objects.order_by("pk").values_list("standard_address", flat=True))
    print(
        f"small demo city: {len(addresses):,} dwellings in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    csv_path = Path(data_dir) / "residents.csv"
    started = time.perf_counter()
    written = write_residents_csv(csv_path, rows=args.rows, seed=SEED, addresses=addresses)
    print(
        f"wrote {written:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    connection.close()

    try:
        runs = 2 if args.rerun else 1
        for run in range(1, runs + 1):
            if args.profile:
                _profile(csv_path)
                continue
            _timed_import(csv_path, env, written, run, connection.vendor)
    finally:
        if not args.keep:
            connection.close()
            drop_database(url)


def _timed_import(csv_path: Path, env: dict[str, str], rows: int, run: int, vendor: str) -> None:
    command = [
        str(Path(sys.executable).with_name("safecommunity")),
        "import-residents",
        str(csv_path),
        "--no-progress",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # kB on Linux
    if done.returncode != 0:
        print(done.stdout, done.stderr, file=sys.stderr)
        raise SystemExit(f"import failed with exit code {done.returncode}")
    summary = done.stdout.strip().splitlines()[-1]
    rate = rows / seconds
    print(f"{vendor} run {run}: {rows:,} rows in {seconds:.1f} s — {summary}")
    print(
        f"  {rate:,.0f} rows/s (target ≥ {TARGET_ROWS_PER_SECOND:,}: "
        f"{'met' if rate >= TARGET_ROWS_PER_SECOND else 'NOT met'})"
    )
    note = "" if peak > before * 1024 else " (max over children; an earlier child was larger)"
    print(
        f"  peak RSS {peak / 2**20:,.0f} MiB (target < 1 GiB: "
        f"{'met' if peak < TARGET_RSS_BYTES else 'NOT met'}){note}"
    )


def _profile(csv_path: Path) -> None:
    import cProfile
    import pstats

    from safecommunity.people.imports import import_residents

    profiler = cProfile.Profile()
    profiler.enable()
    result = import_residents(path=csv_path, actor=None)
    profiler.disable()
    print(result.summary())
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main()
