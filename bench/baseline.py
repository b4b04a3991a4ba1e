"""Baseline counts (底数) for a city-wide user over a million residents.

Target (issue 3): under 300 ms on PostgreSQL. Builds the city-scale demo (structure and
teams) into a fresh database, adds about a million residents in bulk (``demo.residents``,
several passes over the city's dwellings: residences, care tags, verified stamps, ID and
phone numbers encrypted and indexed as the services store them), then times the baseline
selector, the page and the API as the ``city`` login.

    .venv/bin/python bench/baseline.py                    # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python bench/baseline.py --reuse            # keep the database of a last run
    .venv/bin/python bench/baseline.py --database-url sqlite:////tmp/baseline.sqlite3
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from benchsetup import configure, prepare_database, timed

TARGET_MS = 300.0


def _time(label: str, runs: int, call: Callable[[], object]) -> float:
    return timed(label, runs, call, target_ms=TARGET_MS)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/safecommunity_bench_baseline",
    )
    parser.add_argument("--reuse", action="store_true", help="keep an already built database")
    parser.add_argument("--residents", type=int, default=1_000_000, help="about this many")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    prepare_database(args.database_url, reuse=args.reuse)
    configure(database_url=args.database_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from safecommunity.accounts.models import User
    from safecommunity.demo.generator import build_demo_city
    from safecommunity.demo.progress import TextProgress
    from safecommunity.demo.residents import populate
    from safecommunity.people.baseline import (
        baseline_for,
        baseline_rebuild,
        baseline_refresh,
        baseline_roll_day,
    )
    from safecommunity.people.metrics import register_metrics
    from safecommunity.people.models import BaselineRollup, Resident
    from safecommunity.places.models import Beat, Division, Dwelling

    setup_test_environment()
    call_command("migrate", verbosity=0)
    if not Division.objects.exists():
        progress = TextProgress(sys.stderr)
        started = time.perf_counter()
        build_demo_city(scale="city", seed=2022, progress=progress, residents=False)
        progress.finish()
        print(f"built city-scale demo (no residents) in {time.perf_counter() - started:.1f} s")
    if not Resident.objects.exists():
        dwellings = list(Dwelling.objects.select_related("grid").order_by("grid__code", "id"))
        # One pass fills the dwellings with about 2 residents per dwelling (10% vacant).
        rounds = max(1, round(args.residents / (len(dwellings) * 0.9 * 2.2)))
        progress = TextProgress(sys.stderr)
        started = time.perf_counter()
        with transaction.atomic():
            counts = populate(
                dwellings, seed=2022, today=timezone.localdate(), progress=progress, rounds=rounds
            )
            baseline_rebuild()
        progress.finish()
        seconds = time.perf_counter() - started
        print(
            f"added {counts.residents:,} residents in {rounds} passes over {len(dwellings):,} "
            f"dwellings in {seconds:.1f} s ({counts.residents / seconds:,.0f} residents/s)"
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    if not BaselineRollup.objects.exists():
        started = time.perf_counter()
        grids = baseline_rebuild()
        print(
            f"rebuilt the baseline rollup ({grids:,} grids) in {time.perf_counter() - started:.1f} s"
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    # PeopleConfig.ready registers these once the lead wires it; registering twice is harmless.
    register_metrics()
    print(
        f"database: {args.database_url.split('@')[-1]}; beats: {Beat.objects.count():,}; "
        f"dwellings: {Dwelling.objects.count():,}; residents: {Resident.objects.count():,}"
    )

    user = User.objects.get(username="city")
    client = Client()
    client.force_login(user)
    table = baseline_for(user=user)
    print(
        f"city totals: residents {table.totals.residents:,} (floating {table.totals.floating:,}), "
        f"dwellings {table.totals.dwellings:,} (vacant {table.totals.vacant:,}, rented "
        f"{table.totals.rented:,}), care-tagged {table.totals.care_tagged:,}, verified "
        f"30/90/365 d {table.totals.verified_30d:,}/{table.totals.verified_90d:,}/"
        f"{table.totals.verified_365d:,}"
    )
    print(f"\nas user 'city' (city-wide), {args.runs} runs each, target < {TARGET_MS:.0f} ms")
    print(f"{'what':44} {'median ms':>10} {'p95 ms':>8}  verdict")
    worst = 0.0

    def fresh_user() -> User:
        # A new request builds its scope afresh: do not let the cached scope flatter us.
        return User.objects.select_related("jurisdiction_division").get(pk=user.pk)

    worst = max(
        worst,
        _time("selector: baseline_for (city)", args.runs, lambda: baseline_for(user=fresh_user())),
    )
    for label, url in (
        ("page: /people/baseline/", "/people/baseline/"),
        ("API: /api/v1/people/baseline", "/api/v1/people/baseline"),
        ("map data: beats by residents", "/places/map/beats.geojson?metric=residents"),
        ("map data: beats by verified_90d", "/places/map/beats.geojson?metric=verified_90d"),
    ):
        status = client.get(url).status_code
        if status != 200:
            print(f"{label:44} status {status}")
            continue
        worst = max(worst, _time(label, args.runs, lambda url=url: client.get(url)))
    print(f"\nworst p95: {worst:.1f} ms (target < {TARGET_MS:.0f} ms)")

    # What the writes pay to keep the rollup current, and the first read of a new day.
    grid = Beat.objects.order_by("path").values_list("path", flat=True)[2000]
    _time("write: baseline_refresh of one grid", args.runs, lambda: baseline_refresh(paths=[grid]))
    with transaction.atomic():
        started = time.perf_counter()
        rows = baseline_roll_day(now=timezone.now() + timedelta(days=1))
        print(
            f"{'nightly: baseline_roll_day (' + str(rows) + ' grids)':44} "
            f"{(time.perf_counter() - started) * 1000:>10.1f}"
        )
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
