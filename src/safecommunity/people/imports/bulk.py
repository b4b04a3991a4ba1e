"""A first load: a large file into a nearly empty registry, with the indexes built once.

Keeping a dozen indexes current row by row is most of the cost of writing a resident (each
name key, blind index and path lands on a random page of its index), and it grows with the
registry: a million rows imported into an empty registry ran at half the speed of the first
hundred thousand. Building an index over rows already written is a sort, many times cheaper.

So when the file is much larger than the registry, the import runs in one transaction that
drops the secondary (non-unique) indexes of the registry's tables first and recreates them,
from their own recorded definitions, at the end. Unique indexes stay: they are constraints.
Both SQLite and PostgreSQL roll back schema changes with the transaction, so an import that
fails or is killed leaves the indexes exactly as they were, and no row of the file written.
While it runs, other writers wait (SQLite writes one transaction at a time anyway; on
PostgreSQL the registry's tables are locked), which is acceptable only because the registry
holds next to nothing yet — hence ``worth_deferring``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection

from safecommunity.people.models import NameKey, Residence, Resident

# Only files of at least this many rows, and at least this many times the residents stored.
DEFER_FROM_ROWS = 100_000
DEFER_RATIO = 10

TABLES = (Resident._meta.db_table, NameKey._meta.db_table, Residence._meta.db_table)
# Indexes the import reads while it writes (residents without an ID number are matched by
# name and date of birth): without them every batch would read the whole table.
KEPT = ("resident_name_birth",)


def worth_deferring(rows_estimate: int) -> bool:
    """Whether a file of about ``rows_estimate`` rows is a first load (see above). Counts the
    stored residents only up to the bound that matters, so a large registry answers fast."""
    if rows_estimate < DEFER_FROM_ROWS:
        return False
    limit = rows_estimate // DEFER_RATIO
    return Resident.objects.order_by().values("pk")[: limit + 1].count() <= limit


def secondary_indexes() -> list[tuple[str, str]]:
    """(name, the statement that creates it) of each non-unique index on the registry's
    tables but ``KEPT``, as the database itself records them (partial conditions and operator
    classes included)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = ANY(%s) "
                "AND indexdef NOT LIKE 'CREATE UNIQUE %%' ORDER BY indexname",
                [list(TABLES)],
            )
        elif connection.vendor == "sqlite":
            # Indexes without SQL are the ones SQLite made for UNIQUE and PRIMARY KEY.
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name IN (%s, %s, %s) AND sql IS NOT NULL "
                "AND sql NOT LIKE 'CREATE UNIQUE %%' ORDER BY name",
                list(TABLES),
            )
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            return []
        return [(name, sql) for name, sql in cursor.fetchall() if name not in KEPT]


@contextmanager
def indexes_deferred(progress: Callable[[int, int], None] | None = None) -> Iterator[None]:
    """Drop the secondary indexes, run the body, recreate them. Call inside a transaction:
    on an exception the rollback restores them, so nothing is recreated here."""
    if not connection.in_atomic_block:
        raise RuntimeError("indexes_deferred() needs a transaction to roll back into")
    indexes = secondary_indexes()
    with connection.cursor() as cursor:
        for name, _sql in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # PostgreSQL builds no index on a table with deferred foreign-key checks pending:
            # check them now (as the commit would), then defer again, as declared.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for done, (_name, sql) in enumerate(indexes, start=1):
            cursor.execute(sql)
            if progress is not None:
                progress(done, len(indexes))
