"""What every benchmark does before Django starts: a database of its own and an environment.

The benchmarks run as scripts (``python bench/NAME.py``), so this module is imported by its
plain name. Keys are fixed and for benchmarks only, so a kept database (``--reuse``,
``--keep``) can be searched by its blind index on the next run.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# 32 bytes each, url-safe base64; never used for real data.
BENCH_KEYS = {
    "SECRET_KEY": "bench-only",
    "DATA_ENCRYPTION_KEY": "YmVuY2gtb25seS1kYXRhLWtleS0zMi1ieXRlcy1vayE=",
    "BLIND_INDEX_KEY": "YmVuY2gtb25seS1pbmRleC1rZXktMzItYnl0ZXMtb2s=",
}


def prepare_database(url: str, *, reuse: bool = False) -> None:
    """A fresh database at ``url`` (PostgreSQL: dropped and created; SQLite: the file removed),
    or, with ``reuse``, the one already there."""
    if url.startswith("postgres"):
        import psycopg

        base, _, name = url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and reuse:
                return
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    elif url.startswith("sqlite:///") and not reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)


def drop_database(url: str) -> None:
    """Drop a PostgreSQL benchmark database (SQLite files go with their folder)."""
    if url.startswith("postgres"):
        import psycopg

        base, _, name = url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def configure(*, database_url: str, data_dir: str | None = None) -> str:
    """Point Django at ``database_url`` with the benchmark keys; returns the data folder."""
    folder = (
        data_dir or os.environ.get("SAFECOMMUNITY_DATA_DIR") or tempfile.mkdtemp(prefix="sc-bench-")
    )
    os.environ["DATABASE_URL"] = database_url
    os.environ["SAFECOMMUNITY_DATA_DIR"] = folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safecommunity.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    for name, value in BENCH_KEYS.items():
        if not os.environ.get(name) and not os.environ.get(f"{name}_FILE"):
            os.environ[name] = value
    return folder


def timed(label: str, runs: int, call: Callable[[], object], *, target_ms: float | None) -> float:
    """Call once to warm up, then ``runs`` times; print the median and p95 in milliseconds
    beside the verdict against ``target_ms`` (None: no target) and return the p95."""
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    median = statistics.median(times)
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    if target_ms is None:
        verdict = "(no target)"
    else:
        verdict = "ok" if p95 < target_ms else "MISSED"
    print(f"{label:44} {median:>10.1f} {p95:>8.1f}  {verdict}")
    return p95
