"""Open311 GeoReport v2: POST requests and filtered GET requests over a million stored requests.

Targets (issue 4), on PostgreSQL: ``POST requests`` p95 < 50 ms; ``GET requests.json``
filtered over 1,000,000 stored requests p95 < 100 ms. Builds the small demo city (places and
teams) into a database of its own, bulk-loads a million requests spread over three years
with a binary-free ``COPY`` (a few seconds per 100,000), then times the Open311 endpoints
through Django's test client, which runs the whole stack but the socket.

    .venv/bin/python bench/open311_requests.py                 # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python bench/open311_requests.py --reuse         # keep the database of a last run
    .venv/bin/python bench/open311_requests.py --requests 100000 --runs 100
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from benchsetup import configure, prepare_database

POST_TARGET_MS = 50.0
GET_TARGET_MS = 100.0
API_KEY = "bench-open311-key"
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _time(label: str, runs: int, call: Callable[[], object], target: float) -> float:
    call()  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    median = statistics.median(times)
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    verdict = "ok" if p95 < target else "MISSED"
    print(f"{label:58} {median:>9.1f} {p95:>8.1f}  {verdict}")
    return p95


def _tracking(number: int) -> str:
    """A tracking number of its own for the n-th loaded request ("B" + base 32)."""
    digits = []
    for _ in range(9):
        number, rest = divmod(number, 32)
        digits.append(ALPHABET[rest])
    return "B" + "".join(reversed(digits))


def bulk_load(total: int) -> None:
    """COPY ``total`` requests over the demo city's beats and services, three years back."""
    from django.db import connection
    from django.utils import timezone

    from safecommunity.places.models import Beat, Dwelling
    from safecommunity.service_requests.models import Service
    from safecommunity.service_requests.services import public_address

    rng = random.Random(2022)
    services = list(Service.objects.values_list("pk", "service_code"))
    beats = {
        b.grid_id: (b.pk, b.path, b.station.name) for b in Beat.objects.select_related("station")
    }
    places = [
        (beats[grid_id], pk, public_address(address), lat, lng)
        for grid_id, pk, address, lat, lng in Dwelling.objects.values_list(
            "grid_id", "pk", "standard_address", "lat", "lng"
        )
        if grid_id in beats
    ]
    now = timezone.now()
    seconds = 3 * 365 * 86400
    columns = (
        "service_request_id, token, service_id, description, lat, lng, address_string, "
        "dwelling_id, beat_id, path, status, attributes, contact_name, contact_phone_masked, "
        "contact_email, media_url, requested_datetime, updated_datetime, expected_datetime, "
        "agency_responsible, status_notes, source"
    )
    statuses = ["closed"] * 80 + ["done"] * 8 + ["in_progress"] * 6 + ["assigned"] * 4 + ["new"] * 2
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor
        with raw.copy(f"COPY service_requests_servicerequest ({columns}) FROM STDIN") as copy:
            for number in range(total):
                (beat_id, path, station), dwelling, address, lat, lng = rng.choice(places)
                service_id, code = rng.choice(services)
                requested = now - timedelta(seconds=rng.randrange(seconds))
                copy.write_row(
                    (
                        _tracking(number),
                        f"{number:032x}",
                        service_id,
                        "批量载入的诉求",
                        lat,
                        lng,
                        address,
                        dwelling,
                        beat_id,
                        path,
                        rng.choice(statuses),
                        json.dumps({}),
                        "",
                        "",
                        "",
                        "",
                        requested,
                        requested + timedelta(hours=rng.randint(1, 200)),
                        requested + timedelta(days=7),
                        station,
                        "",
                        "open311",
                    )
                )
                if number and number % 100_000 == 0:
                    rate = number / (time.perf_counter() - started)
                    print(f"  {number:,} requests loaded ({rate:,.0f}/s)", file=sys.stderr)
        cursor.execute("ANALYZE service_requests_servicerequest")
    seconds_taken = time.perf_counter() - started
    print(f"loaded {total:,} requests in {seconds_taken:.1f} s ({total / seconds_taken:,.0f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/sc_bench_open311"
    )
    parser.add_argument("--reuse", action="store_true", help="keep an already built database")
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    prepare_database(args.database_url, reuse=args.reuse)
    configure(database_url=args.database_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from safecommunity.demo.generator import build_demo_city
    from safecommunity.demo.progress import TextProgress
    from safecommunity.places.models import Division, Dwelling
    from safecommunity.service_requests.models import ApiKey, ServiceRequest
    from safecommunity.service_requests.services import api_key_create, api_key_hash

    if not args.database_url.startswith("postgres"):
        sys.exit("The bulk load uses PostgreSQL's COPY: give a postgresql:// database URL.")
    setup_test_environment()
    call_command("migrate", verbosity=0)
    if not Division.objects.exists():
        progress = TextProgress(sys.stderr)
        started = time.perf_counter()
        build_demo_city(scale="small", seed=2022, progress=progress, residents=False)
        progress.finish()
        print(f"built the small demo city (no residents) in {time.perf_counter() - started:.1f} s")
    stored = ServiceRequest.objects.count()
    if stored < args.requests:
        bulk_load(args.requests - stored)
    if not ApiKey.objects.filter(key_hash=api_key_hash(API_KEY)).exists():
        api_key_create(name="bench", key=API_KEY)
    stored = ServiceRequest.objects.count()
    print(f"database: {args.database_url.split('@')[-1]}; stored requests: {stored:,}")

    client = Client()
    rng = random.Random(7)
    points = list(Dwelling.objects.values_list("lat", "lng")[:5000])

    def post() -> None:
        lat, lng = rng.choice(points)
        response = client.post(
            "/open311/v2/requests.json",
            {
                "api_key": API_KEY,
                "service_code": "noise",
                "lat": f"{lat:.6f}",
                "long": f"{lng:.6f}",
                "attribute[noise_source]": "construction",
                "description": "工地夜间施工",
                "first_name": "三",
                "last_name": "张",
                "phone": "13800138000",
            },
        )
        assert response.status_code == 200, response.content

    print(
        f"\n{args.runs} runs each; targets POST < {POST_TARGET_MS:.0f} ms, GET < {GET_TARGET_MS:.0f} ms"
    )
    print(f"{'what':58} {'median ms':>9} {'p95 ms':>8}  verdict")
    worst_post = _time(
        "POST requests.json (point → beat, attributes, contact)", args.runs, post, POST_TARGET_MS
    )

    month_ago = timezone.now() - timedelta(days=400)
    start = month_ago.strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (month_ago + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    some_ids = ",".join(
        ServiceRequest.objects.order_by("?").values_list("service_request_id", flat=True)[:20]
    )
    worst_get = 0.0
    cases = (
        ("GET requests.json (last 90 days, 100 newest)", "json", ""),
        (
            "GET requests.json?service_code=noise&status=open",
            "json",
            "service_code=noise&status=open",
        ),
        ("GET requests.json?status=closed&limit=1000", "json", "status=closed&limit=1000"),
        (
            "GET requests.json?start_date…end_date (30 days, a year ago)",
            "json",
            f"start_date={start}&end_date={end}",
        ),
        (
            "GET requests.json?service_code=hazard,other&start…end",
            "json",
            f"service_code=hazard,other&start_date={start}&end_date={end}&status=closed",
        ),
        ("GET requests.json?service_request_id=20 ids", "json", f"service_request_id={some_ids}"),
        ("GET requests.xml (last 90 days, 100 newest)", "xml", ""),
        ("GET requests.xml?status=closed&limit=1000", "xml", "status=closed&limit=1000"),
    )
    for label, fmt, query in cases:
        url = f"/open311/v2/requests.{fmt}" + (f"?{query}" if query else "")
        assert client.get(url).status_code == 200
        worst_get = max(
            worst_get, _time(label, args.runs, lambda url=url: client.get(url), GET_TARGET_MS)
        )
    print(
        f"\nworst p95: POST {worst_post:.1f} ms (target < {POST_TARGET_MS:.0f}), "
        f"GET {worst_get:.1f} ms (target < {GET_TARGET_MS:.0f})"
    )


if __name__ == "__main__":
    main()
