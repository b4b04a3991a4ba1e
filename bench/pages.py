"""Server time of the place browser and the map for a city-wide user, at city scale.

Target (issue 2): under 300 ms on PostgreSQL. Builds the city-scale demo (structure and
teams) into a fresh database, then requests each page in-process through Django's test
client, so the figure is the server's time without network or browser.

    .venv/bin/python bench/pages.py                       # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python bench/pages.py --database-url sqlite:////tmp/bench.sqlite3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from benchsetup import configure, prepare_database

TARGET_MS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/safecommunity_bench"
    )
    parser.add_argument("--reuse", action="store_true", help="keep an already built database")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    prepare_database(args.database_url, reuse=args.reuse)
    configure(database_url=args.database_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from safecommunity.accounts.models import User
    from safecommunity.places.models import Beat, Division, DivisionKind

    setup_test_environment()
    call_command("migrate", verbosity=0)
    if not Division.objects.exists():
        from safecommunity.demo.generator import build_demo_city

        started = time.perf_counter()
        build_demo_city(scale="city", seed=2022)
        print(f"built city-scale demo in {time.perf_counter() - started:.1f} s")
    print(f"database: {args.database_url.split('@')[-1]}; beats: {Beat.objects.count()}")

    user = User.objects.get(username="city")
    client = Client()
    client.force_login(user)
    city = Division.objects.get(kind=DivisionKind.CITY)
    district = Division.objects.filter(kind=DivisionKind.DISTRICT).order_by("code").first()
    assert district is not None
    urls = {
        "place browser (tree)": "/places/",
        "division detail: city": f"/places/division/{city.pk}/",
        "division detail: district": f"/places/division/{district.pk}/",
        "tree children of the city": f"/places/division/{city.pk}/children/",
        "map page": "/places/map/",
        "map data: beats, no metric": "/places/map/beats.geojson",
        "map data: beats by dwellings": "/places/map/beats.geojson?metric=dwellings",
    }
    # Not in the target, but pages every city-wide user opens: measured alongside.
    urls["home"] = "/"
    urls["team compliance"] = "/teams/compliance/"
    urls["staff list"] = "/teams/staff/"
    urls["duty roster"] = "/teams/roster/"
    for key in ("team_size", "rule_breaches"):
        urls[f"map data: beats by {key}"] = f"/places/map/beats.geojson?metric={key}"

    print(
        f"\nserver time as user 'city' (city-wide), {args.runs} runs each, target < {TARGET_MS:.0f} ms"
    )
    print(f"{'page':40} {'status':>6} {'bytes':>10} {'median ms':>10} {'p95 ms':>8}  verdict")
    worst = 0.0
    for label, url in urls.items():
        client.get(url)  # warm caches (templates, the process's beat index)
        times = []
        status = size = 0
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
            times.append((time.perf_counter() - started) * 1000)
            status, size = response.status_code, len(body)
        times.sort()
        median = statistics.median(times)
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        worst = max(worst, p95) if status == 200 else worst
        verdict = "ok" if p95 < TARGET_MS and status == 200 else "MISSED"
        print(f"{label:40} {status:>6} {size:>10} {median:>10.1f} {p95:>8.1f}  {verdict}")
    print(f"\nworst p95: {worst:.1f} ms (target < {TARGET_MS:.0f} ms)")
    sys.exit(0)


if __name__ == "__main__":
    main()
