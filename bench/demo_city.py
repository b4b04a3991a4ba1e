"""How long ``demo-city`` takes to build, and what it built.

Target (issue 2): ``--scale city`` (structure and teams, no residents) in under 60 s on
SQLite. Builds into a fresh temporary database every run: a temporary SQLite file by
default, or, with ``--database-url postgresql://…/NAME``, a database NAME created afresh on
that server (and dropped afterwards unless ``--keep``).

    .venv/bin/python bench/demo_city.py
    .venv/bin/python bench/demo_city.py --scale small
    .venv/bin/python bench/demo_city.py --database-url postgresql://postgres@127.0.0.1/sc_bench
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time

from benchsetup import configure, drop_database, prepare_database

# Issue 2: the city's structure and teams in < 60 s; the small demo (what `make demo` builds,
# residents included) in < 30 s. The district scale (≈ 500k residents) has no target.
TARGET_SECONDS: dict[str, float | None] = {"city": 60.0, "district": None, "small": 30.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", default="city", choices=["small", "district", "city"])
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: temporary SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="sc-bench-demo-")
    url = args.database_url or f"sqlite:///{data_dir}/demo.sqlite3"
    prepare_database(url)
    configure(database_url=url, data_dir=data_dir)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from safecommunity.demo.generator import build_demo_city
    from safecommunity.demo.progress import TextProgress
    from safecommunity.people.models import Resident
    from safecommunity.places.models import Beat, Division, Dwelling, Grid, PoliceOffice
    from safecommunity.teams.models import Staff, StaffKind

    call_command("migrate", verbosity=0)
    progress = TextProgress(sys.stderr)
    started = time.perf_counter()
    summary = build_demo_city(scale=args.scale, seed=args.seed, progress=progress)
    seconds = time.perf_counter() - started
    progress.finish()

    counts = {
        "districts": Division.objects.filter(kind="district").count(),
        "subdistricts": Division.objects.filter(kind="subdistrict").count(),
        "communities": Division.objects.filter(kind="community").count(),
        "grids": Grid.objects.count(),
        "beats": Beat.objects.count(),
        "police offices": PoliceOffice.objects.count(),
        "community officers": Staff.objects.filter(kind=StaffKind.COMMUNITY_OFFICER).count(),
        "staff": Staff.objects.count(),
        "dwellings": Dwelling.objects.count(),
        "residents": Resident.objects.count(),
    }
    target = TARGET_SECONDS[args.scale]
    print(f"demo-city --scale {args.scale} --seed {args.seed} on {connection.vendor}")
    for name, value in counts.items():
        print(f"  {name:<20} {value:>9,}")
    print(f"  beats breaking 1+2+N {len(summary['broken_beats']):>9,}")
    judged = (
        ""
        if target is None
        else (f"   target < {target:.0f} s   {'OK' if seconds < target else 'TOO SLOW'}")
    )
    print(f"build time: {seconds:.1f} s (planning {summary['plan_seconds']:.1f} s){judged}")

    connection.close()
    if not args.keep:
        drop_database(url)
    if args.keep:
        print(f"database kept: {url}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
