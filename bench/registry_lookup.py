"""Registry search through ``people.selectors.resident_search`` over N residents.

Targets (issue 3), over 1M residents on SQLite and on PostgreSQL: lookup by ID or phone
number p95 < 5 ms; name / pinyin search p95 < 50 ms. Each timing is one whole search page as
the list page and the API run it — the count, the page of 50 and the prefetch of current
dwellings and beats — for a city-wide user (scope = everything, the worst case for the scope
filter) and for a beat officer.

The database is built once and reused (``--rebuild`` to start over): the small demo city's
places (``demo.generator``, without its residents), then N residents spread over its
dwellings, stored as the services store them (ciphertext, blind index, masked forms, name
keys from ``people.names.name_keys``, a current residence) but inserted in batches
(``executemany`` on SQLite, ``COPY`` on PostgreSQL) — one resident at a time through the
services would take hours.

    .venv/bin/python bench/registry_lookup.py                       # SQLite, 1,000,000
    .venv/bin/python bench/registry_lookup.py --residents 200000
    .venv/bin/python bench/registry_lookup.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/sc_bench_registry
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchsetup import configure, prepare_database

ID_TARGET_MS = 5.0
NAME_TARGET_MS = 50.0
BATCH = 5000
SEED = 2022


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: an SQLite file under var/bench/ named for the resident count",
    )
    parser.add_argument("--samples", type=int, default=300, help="searches timed per kind")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    url = args.database_url
    if url is None:
        db = Path("var/bench").resolve() / f"registry-{args.residents}.sqlite3"
        db.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{db}"
        if args.rebuild:
            prepare_database(url)
    else:
        # PostgreSQL: created when missing (dropped and created again with --rebuild).
        prepare_database(url, reuse=not args.rebuild)
    configure(database_url=url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from safecommunity.people.models import Resident

    call_command("migrate", verbosity=0)
    have = Resident.objects.count()
    if have < args.residents:
        build(args.residents - have)
    with connection.cursor() as cursor:
        # After a bulk load: planner statistics, and (PostgreSQL) the visibility map that
        # lets index-only scans skip the heap — autovacuum would get there in time.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    measure(args.samples, connection.vendor, Resident.objects.count())


# --- building ----------------------------------------------------------------------------------


def build(n: int) -> None:
    from django.db import connection, transaction

    from safecommunity.demo.generator import build_demo_city
    from safecommunity.places.models import Division, Dwelling

    if not Division.objects.exists():
        print("building the small demo city's places …", file=sys.stderr)
        build_demo_city(scale="small", seed=SEED, residents=False)
    dwellings = list(Dwelling.objects.order_by("pk").values_list("pk", "path"))
    print(f"inserting {n:,} residents over {len(dwellings):,} dwellings …", file=sys.stderr)
    started = time.perf_counter()
    rng = random.Random(SEED)
    done = 0
    for batch in _batches(rows(n, dwellings, rng), BATCH):
        with transaction.atomic():
            _insert(connection, batch)
        done += len(batch)
        rate = done / (time.perf_counter() - started)
        print(f"\r  {done:>10,} / {n:,}  ({rate:,.0f}/s)", end="", file=sys.stderr)
    print(file=sys.stderr)


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def rows(
    n: int, dwellings: Sequence[tuple[int, str]], rng: random.Random
) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...], list[str]]]:
    """(resident row, residence row, name keys) for ``n`` new residents with unique,
    checksum-valid ID numbers and unique mobile numbers."""
    from django.db.models import Max
    from django.utils import timezone
    from stdnum.cn import ric

    from safecommunity.demo.people import person_name
    from safecommunity.people.models import Resident
    from safecommunity.people.names import name_keys
    from safecommunity.people.services import protect_id_number, protect_phone

    first = (Resident.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    now = timezone.now()
    epoch = date(1940, 1, 1)
    for i in range(first, first + n):
        surname, given = person_name(rng)
        name = surname + given
        # Unique by construction: the resident number picks the birth day and the sequence.
        born = epoch + timedelta(days=i % 25_000)
        sequence = (i // 25_000) % 1000
        body = f"120104{born:%Y%m%d}{sequence:03d}"
        number = body + ric.calc_check_digit(body + "0")
        phone = f"13{i:09d}"
        pid, pph = protect_id_number(number), protect_phone(phone)
        dwelling_id, path = dwellings[rng.randrange(len(dwellings))]
        gender = "male" if int(number[16]) % 2 else "female"
        resident = (
            i, name, gender, born, pid.cipher, pid.lookup, pid.masked,
            pph.cipher, pph.lookup, pph.masked, "", "", path, now, now,
        )  # fmt: skip
        residence = (i, dwelling_id, date(2020, 1, 1), None, "owner", True, path)
        yield resident, residence, sorted(name_keys(name))


RESIDENT_COLUMNS = (
    "id name gender birth_date id_cipher id_index id_masked phone_cipher phone_index "
    "phone_masked ethnicity notes path created_at updated_at"
).split()
RESIDENCE_COLUMNS = "resident_id dwelling_id since until relation registered path".split()


def _insert(
    connection: Any, batch: list[tuple[tuple[Any, ...], tuple[Any, ...], list[str]]]
) -> None:
    residents = [b[0] for b in batch]
    residences = [b[1] for b in batch]
    keys = [(b[0][0], key) for b in batch for key in b[2]]
    _copy(connection, "people_resident", RESIDENT_COLUMNS, residents)
    _copy(connection, "people_residence", RESIDENCE_COLUMNS, residences)
    _copy(connection, "people_namekey", ["resident_id", "key"], keys)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('people_resident', 'id'), "
                "(SELECT max(id) FROM people_resident))"
            )


def _copy(connection: Any, table: str, columns: Sequence[str], data: list[tuple[Any, ...]]) -> None:
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
        else:
            ops = connection.ops
            adapted = [
                tuple(
                    ops.adapt_datetimefield_value(v)
                    if hasattr(v, "tzinfo") and hasattr(v, "hour")
                    else ops.adapt_datefield_value(v)
                    if isinstance(v, date)
                    else v
                    for v in row
                )
                for row in data
            ]
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608  # fixed names
            cursor.executemany(sql, adapted)


# --- measuring ---------------------------------------------------------------------------------


def measure(samples: int, vendor: str, total: int) -> None:
    from django.db import connection

    from safecommunity.accounts.models import Role, User
    from safecommunity.people.models import Resident
    from safecommunity.people.names import name_keys
    from safecommunity.people.selectors import resident_search
    from safecommunity.places.models import Beat

    rng = random.Random(SEED + 1)
    admin = User(username="bench-admin", role=Role.ADMIN, is_active=True)
    beat = Beat.objects.order_by("?").first()
    assert beat is not None
    officer = User(
        username="bench-officer",
        role=Role.COMMUNITY_OFFICER,
        is_active=True,
        jurisdiction_beat=beat,
    )
    max_id = Resident.objects.order_by("-id").values_list("id", flat=True).first() or 0
    picks = []
    while len(picks) < samples:
        found = Resident.objects.filter(pk=rng.randint(1, max_id)).values_list("pk", "name").first()
        if found:
            picks.append(found)
    from stdnum.cn import ric

    epoch = date(1940, 1, 1)
    ids, phones = [], []
    for pk, _name in picks:
        born = epoch + timedelta(days=pk % 25_000)
        body = f"120104{born:%Y%m%d}{(pk // 25_000) % 1000:03d}"
        ids.append(body + ric.calc_check_digit(body + "0"))
        phones.append(f"13{pk:09d}")
    names = [name for _pk, name in picks]
    pinyin = [max((k for k in name_keys(n) if k.isascii() and len(k) > 3), key=len) for n in names]
    initials = [min((k for k in name_keys(n) if k.isascii()), key=len) for n in names]

    print(f"\n{total:,} residents on {vendor} ({connection.settings_dict['NAME']})")
    print(f"{'search':<44}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'hits/q':>9}   target")
    kinds: list[tuple[str, list[str], float]] = [
        ("ID number (blind index)", ids, ID_TARGET_MS),
        ("phone (blind index)", phones, ID_TARGET_MS),
        ("name in characters (张三丰), names only", names, NAME_TARGET_MS),
        ("name in characters + address fragment", names, NAME_TARGET_MS),
        ("full pinyin (zhangsanfeng)", pinyin, NAME_TARGET_MS),
        ("initials (zsf)", initials, NAME_TARGET_MS),
    ]
    for who, user in (("city-wide", admin), ("beat officer", officer)):
        print(f"-- as a {who} user")
        for label, queries, target in kinds:
            addresses = "names only" not in label
            report(
                label,
                queries,
                target,
                lambda q, u=user, a=addresses: _search(resident_search, u, q, a),
            )


def _search(resident_search: Callable[..., Any], user: Any, q: str, addresses: bool) -> int:
    search = resident_search(user=user, q=q, addresses=addresses)
    rows = list(search.page.object_list)
    for r in rows:
        for residence in r.current:
            _ = residence.dwelling.standard_address
    return int(search.page.paginator.count)


def report(label: str, queries: list[str], target: float, run: Callable[[str], int]) -> None:
    run(queries[0])  # warm
    times, hits = [], 0
    for q in queries:
        t0 = time.perf_counter()
        hits += run(q)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    verdict = "OK" if p95 < target else "TOO SLOW"
    print(
        f"{label:<44}{statistics.median(times):>9.2f}{p95:>9.2f}{times[-1]:>9.1f}"
        f"{hits / len(queries):>9.1f}   p95 < {target:g} ms  {verdict}"
    )


if __name__ == "__main__":
    main()
