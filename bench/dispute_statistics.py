"""Dispute statistics for a city-wide user over about 300,000 disputes.

Target: under 300 ms on PostgreSQL (p95 of the selector, the page and the API). Builds the
city-scale demo's structure (4,643 beats, no residents) into a database of its own, adds the
disputes in one ``INSERT … SELECT`` over ``generate_series`` (three years, every beat, every
state with the outcome, times and flags the services would write), then times
``dispute_statistics`` as the ``city`` login.

    .venv/bin/python bench/dispute_statistics.py            # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python bench/dispute_statistics.py --reuse    # keep the database of a last run
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from benchsetup import configure, prepare_database, timed

TARGET_MS = 300.0

# Three years of disputes ending now, spread over every beat. States follow the age: a
# dispute older than 60 days has mostly been closed; outcomes as in the demo (78 % settled).
FILL_SQL = """
WITH drawn AS (
    SELECT
        n,
        now() - random() * interval '1095 days' AS reported_at,
        random() AS o,
        random() AS s,
        random() AS k,
        random() AS r,
        (random() * (SELECT count(*) - 1 FROM places_beat))::int AS b
    FROM generate_series(1, %(count)s) AS n
), beats AS (
    SELECT id, path, row_number() OVER (ORDER BY path) - 1 AS i FROM places_beat
), shaped AS (
    SELECT
        d.*,
        beats.id AS beat_id,
        beats.path AS path,
        CASE
            WHEN d.o < 0.03 THEN 'rejected'
            WHEN d.o < 0.81 THEN 'settled'
            WHEN d.o < 0.93 THEN 'referred'
            ELSE 'failed'
        END AS outcome_of,
        (ARRAY['neighbours','family','property_management','tenancy','wages_owed',
               'traffic','other'])[1 + floor(d.k * 7)::int] AS category,
        (ARRAY['visit','walk_in','hotline_110','hotline_12345','grid_report','other'])
            [1 + floor(d.s * 6)::int] AS source,
        CASE WHEN d.r < 0.70 THEN 'low' WHEN d.r < 0.92 THEN 'medium' ELSE 'high' END AS risk,
        now() - d.reported_at AS age
    FROM drawn d JOIN beats ON beats.i = d.b
), staged AS (
    SELECT
        shaped.*,
        CASE
            WHEN outcome_of = 'rejected' THEN 'closed'
            WHEN age > interval '60 days' THEN
                CASE WHEN s < 0.9 THEN 'closed' ELSE 'follow_up' END
            WHEN age < interval '2 days' THEN
                (ARRAY['reported','accepted','mediating'])[1 + floor(s * 3)::int]
            WHEN age < interval '10 days' THEN
                CASE WHEN s < 0.4 THEN 'mediating' ELSE outcome_of END
            ELSE
                CASE WHEN s < 0.5 THEN outcome_of ELSE 'follow_up' END
        END AS state
    FROM shaped
)
INSERT INTO disputes_dispute (
    beat_id, path, dwelling_id, place, source, category, risk, may_turn_violent, escalated,
    escalated_at, description, state, due_at, repeat_of_id, outcome, referred_to,
    referral_note, reported_by_id, reported_at, settled_at, closed_at
)
SELECT
    beat_id, path, NULL, '', source, category, risk, false, risk = 'high',
    CASE WHEN risk = 'high' THEN reported_at END,
    '楼上漏水，楼下邻居要求赔偿。', state,
    CASE WHEN state = 'closed' THEN NULL ELSE reported_at + interval '7 days' END,
    NULL,
    CASE WHEN state IN ('reported', 'accepted', 'mediating') THEN '' ELSE outcome_of END,
    CASE WHEN state NOT IN ('reported', 'accepted', 'mediating') AND outcome_of = 'referred'
         THEN 'court' ELSE '' END,
    '', NULL, reported_at,
    CASE WHEN state NOT IN ('reported', 'accepted', 'mediating') AND outcome_of = 'settled'
         THEN reported_at + (1 + r * 9) * interval '1 day' END,
    CASE WHEN state = 'closed' THEN reported_at + interval '40 days' END
FROM staged
"""


def _time(label: str, runs: int, call: Callable[[], object]) -> float:
    return timed(label, runs, call, target_ms=TARGET_MS)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/sc_bench_disputes",
    )
    parser.add_argument("--reuse", action="store_true", help="keep an already built database")
    parser.add_argument("--disputes", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        sys.exit("The disputes are generated in SQL: PostgreSQL only.")

    prepare_database(args.database_url, reuse=args.reuse)
    configure(database_url=args.database_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import setup_test_environment

    from safecommunity.accounts.models import User
    from safecommunity.demo.generator import build_demo_city
    from safecommunity.demo.progress import TextProgress
    from safecommunity.disputes.models import Dispute
    from safecommunity.disputes.selectors import dispute_statistics
    from safecommunity.places.models import Beat, Division

    setup_test_environment()
    call_command("migrate", verbosity=0)
    if not Division.objects.exists():
        progress = TextProgress(sys.stderr)
        started = time.perf_counter()
        build_demo_city(scale="city", seed=2022, progress=progress, residents=False)
        progress.finish()
        print(f"built city-scale demo (no residents) in {time.perf_counter() - started:.1f} s")
    if not Dispute.objects.exists():
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.2022)")
            cursor.execute(FILL_SQL, {"count": args.disputes})
        print(f"added {args.disputes:,} disputes in {time.perf_counter() - started:.1f} s")
    # What autovacuum does after a bulk load: statistics, and the visibility map that lets
    # the covering indexes answer without visiting the table.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE disputes_dispute")
    print(
        f"database: {args.database_url.split('@')[-1]}; beats: {Beat.objects.count():,}; "
        f"disputes: {Dispute.objects.count():,}"
    )

    user = User.objects.get(username="city")
    client = Client()
    client.force_login(user)

    def fresh_user() -> User:
        # A new request builds its scope afresh: do not let the cached scope flatter us.
        return User.objects.select_related("jurisdiction_division").get(pk=user.pk)

    stats = dispute_statistics(user=fresh_user())
    print(
        f"city, last 12 months: {stats.total_since:,} of {stats.total:,}; settlement rate "
        f"{stats.settlement_rate or 0:.2f}; median days to settle {stats.median_days_to_settle}"
    )
    print(f"\nas user 'city' (city-wide), {args.runs} runs each, target < {TARGET_MS:.0f} ms")
    print(f"{'what':44} {'median ms':>10} {'p95 ms':>8}  verdict")
    worst = _time(
        "selector: dispute_statistics (city)",
        args.runs,
        lambda: dispute_statistics(user=fresh_user()),
    )
    for label, url in (
        ("page: /disputes/statistics/", "/disputes/statistics/"),
        ("API: /api/v1/disputes/statistics", "/api/v1/disputes/statistics"),
    ):
        status = client.get(url).status_code
        if status != 200:
            print(f"{label:44} status {status}")
            continue
        worst = max(worst, _time(label, args.runs, lambda url=url: client.get(url)))
    print(f"\nworst p95: {worst:.1f} ms (target < {TARGET_MS:.0f} ms)")


if __name__ == "__main__":
    main()
