"""The demo city's population: residents, their residences, care tags and verified stamps.

Runs after the places are written (it needs the dwellings' ids) and inside the same
transaction. Each grid draws from its own seeded generator, so one grid's households do not
shift when another grid changes. Rows are stored exactly as the registry's services store
them — ID and phone numbers only as ciphertext, blind index and masked form
(``people.services.protect_id_number`` / ``protect_phone``), names with their search keys
(``people.names.name_keys``) — but written in batches straight into the tables
(``insert_rows``: COPY on PostgreSQL): one resident at a time through the services would
take many minutes at district scale, and even ``bulk_create`` spends most of its time
building model instances.

Memory stays flat: residents are generated and written a batch of dwellings at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from random import Random
from typing import Any

from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max, Model
from django.utils import timezone

from safecommunity.demo.households import VACANT_SHARE, household
from safecommunity.demo.identities import IdNumbers
from safecommunity.demo.progress import Progress
from safecommunity.people.imports.batch import RESIDENT_COLUMNS
from safecommunity.people.models import (
    CareTag,
    DwellingVerification,
    Gender,
    NameKey,
    Relation,
    Residence,
    Resident,
    VerificationMethod,
)
from safecommunity.people.names import name_keys
from safecommunity.people.services import protect_id_number, protect_phone
from safecommunity.places.models import Dwelling

Row = tuple[Any, ...]
BATCH = 2000
# Of the occupied dwellings, the share whose residents were verified in the last year.
VERIFIED_SHARE = 0.6
VERIFICATION_METHODS = (
    (VerificationMethod.VISIT, 70),
    (VerificationMethod.PHONE, 20),
    (VerificationMethod.DOCUMENTS, 10),
)


@dataclass
class ResidentCounts:
    residents: int = 0
    registered: int = 0
    occupied_dwellings: int = 0
    vacant_dwellings: int = 0
    rented_dwellings: int = 0
    care_tags: int = 0
    verifications: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "residents": self.residents,
            "registered_residents": self.registered,
            "floating_residents": self.residents - self.registered,
            "occupied_dwellings": self.occupied_dwellings,
            "vacant_dwellings": self.vacant_dwellings,
            "rented_dwellings": self.rented_dwellings,
            "care_tags": self.care_tags,
            "dwelling_verifications": self.verifications,
        }


class _Batch:
    """Rows waiting to be written, as plain tuples in the tables' column order."""

    def __init__(self, first_resident_id: int) -> None:
        self.next_id = first_resident_id
        self.residents: list[Row] = []
        self.residences: list[Row] = []
        self.name_keys: list[Row] = []
        self.tags: list[Row] = []
        self.verifications: list[Row] = []

    def flush(self) -> None:
        for model, columns, rows in (
            (Resident, RESIDENT_COLUMNS, self.residents),
            (Residence, RESIDENCE_COLUMNS, self.residences),
            (NameKey, ("resident", "key"), self.name_keys),
            (CareTag, ("resident", "kind", "notes", "since"), self.tags),
            (DwellingVerification, VERIFICATION_COLUMNS, self.verifications),
        ):
            insert_rows(model, columns, rows)
            rows.clear()


RESIDENCE_COLUMNS = ("resident", "dwelling", "since", "until", "relation", "registered", "path")
VERIFICATION_COLUMNS = ("dwelling", "verified_at", "verified_by", "method", "note", "path")


def insert_rows(model: type[Model], fields: Sequence[str], rows: list[Row]) -> None:
    """Insert plain rows into ``model``'s table: COPY on PostgreSQL, ``executemany`` elsewhere.

    The rows bypass the ORM (ten times faster than ``bulk_create`` for millions of rows), so
    dates and datetimes are adapted here with the backend's own adapters, and nothing else
    is checked: callers pass rows exactly as the services would have stored them.
    """
    if not rows:
        return
    meta = model._meta
    concrete = {f.name: f for f in meta.concrete_fields}
    columns = [str(concrete[name].column) for name in fields]
    kinds = [concrete[name].get_internal_type() for name in fields]
    ops = connection.ops
    adapters: list[Callable[[Any], Any] | None] = [
        ops.adapt_datetimefield_value
        if kind == "DateTimeField"
        else ops.adapt_datefield_value
        if kind == "DateField"
        else None
        for kind in kinds
    ]
    if any(adapters):
        rows = [
            tuple(
                adapt(value) if adapt is not None and value is not None else value
                for adapt, value in zip(adapters, row, strict=True)
            )
            for row in rows
        ]
    table = ops.quote_name(str(meta.db_table))
    names = ", ".join(ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            # Table and column names come from the model, quoted; values are parameters.
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
            cursor.executemany(sql, rows)


def reset_sequences(*models: type[Model]) -> None:
    """After inserting explicit ids, move PostgreSQL's sequences past them."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def populate(
    dwellings: Sequence[Dwelling],
    *,
    seed: int,
    today: date,
    progress: Progress,
    rounds: int = 1,
) -> ResidentCounts:
    """Fill saved ``dwellings`` (in a stable order, grouped by grid) with residents.

    ``rounds`` > 1 passes over the dwellings again, each pass with generators of its own,
    adding households: benchmarks use it for a million residents over the city scale's
    dwellings. The counts of dwellings in the result are those of the last pass.
    """
    counts = ResidentCounts()
    ids = IdNumbers("demo")
    last = Resident.objects.aggregate(last=Max("id"))["last"] or 0
    batch = _Batch(last + 1)
    tz = timezone.get_default_timezone()
    now = timezone.now()
    rng = Random(f"{seed}:residents")
    grid_code = ""
    total = len(dwellings) * rounds
    for done, (round_, dwelling) in enumerate((r, d) for r in range(rounds) for d in dwellings):
        code = dwelling.grid.code
        if code != grid_code or done % len(dwellings) == 0:
            # A generator per grid: one grid's households do not move when another changes.
            suffix = f":{round_}" if round_ else ""
            grid_code, rng = code, Random(f"{seed}:{code}:residents{suffix}")
            if done % len(dwellings) == 0:
                counts.vacant_dwellings = counts.occupied_dwellings = 0
                counts.rented_dwellings = 0
            if len(batch.residents) >= BATCH:
                batch.flush()
                progress("residents", done, total)
        if rng.random() < VACANT_SHARE:
            counts.vacant_dwellings += 1
            continue
        counts.occupied_dwellings += 1
        people = household(rng, today)
        counts.rented_dwellings += any(p.relation == Relation.TENANT for p in people)
        for person in people:
            number, birth = ids.issue_near(
                district_code=code[:6], birth_date=person.birth_date, male=person.male
            )
            resident_id = batch.next_id
            batch.next_id += 1
            protected_id = protect_id_number(number)
            phone = protect_phone(person.phone) if person.phone else None
            batch.residents.append(
                (
                    resident_id,
                    person.name,
                    Gender.MALE.value if person.male else Gender.FEMALE.value,
                    birth,
                    protected_id.cipher,
                    protected_id.lookup,
                    protected_id.masked,
                    phone.cipher if phone else None,
                    phone.lookup if phone else None,
                    phone.masked if phone else "",
                    person.ethnicity,
                    "",
                    dwelling.path,
                    now,
                    now,
                )
            )
            batch.residences.append(
                (
                    resident_id,
                    dwelling.pk,
                    max(person.since, birth),
                    None,
                    str(person.relation),
                    person.registered,
                    dwelling.path,
                )
            )
            batch.name_keys.extend((resident_id, key) for key in sorted(name_keys(person.name)))
            for kind in person.care_tags:
                since = max(birth, today - timedelta(days=rng.randint(30, 3 * 365)))
                batch.tags.append((resident_id, str(kind), "", since))
            counts.residents += 1
            counts.registered += person.registered
            counts.care_tags += len(person.care_tags)
        if rng.random() < VERIFIED_SHARE:
            counts.verifications += _verify(batch, dwelling, rng, today, tz)
    batch.flush()
    reset_sequences(Resident)
    progress("residents", total, total)
    return counts


def _verify(batch: _Batch, dwelling: Dwelling, rng: Random, today: date, tz: tzinfo) -> int:
    """One stamp within the last year, and sometimes an older one before it."""
    methods = [method for method, _ in VERIFICATION_METHODS]
    weights = [weight for _, weight in VERIFICATION_METHODS]
    ages = [rng.randint(1, 364)]  # from yesterday back: never later than now
    if rng.random() < 0.25:
        ages.append(ages[0] + rng.randint(30, 400))
    for age in ages:
        at = datetime.combine(
            today - timedelta(days=age), time(rng.randint(9, 17), rng.randint(0, 59)), tzinfo=tz
        )
        method = rng.choices(methods, weights=weights)[0]
        batch.verifications.append((dwelling.pk, at, None, str(method), "", dwelling.path))
    return len(ages)
