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

On PostgreSQL the foreign keys from the registry's tables are dropped and added back the
same way: checked row by row at the end (they are deferred) they cost a third of the load;
adding a foreign key checks every row in one join.

A load into a registry that holds nobody at all reads nothing back while it writes (see
``BatchWriter.into_empty``), so it drops the indexes it would have read too, and the unique
index of ID numbers (``DeferredIndexes.drop_for_empty_registry``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from safecommunity.people.models import NameKey, Residence, Resident

# Only files of at least this many rows, and at least this many times the residents stored.
DEFER_FROM_ROWS = 100_000
DEFER_RATIO = 10

TABLES = (Resident._meta.db_table, NameKey._meta.db_table, Residence._meta.db_table)
# Indexes the import reads while it writes (residents without an ID number are matched by
# name and date of birth): without them every batch would read the whole table.
KEPT = ("resident_name_birth",)
# A unique index a load into an empty registry can rebuild too: the file's own duplicate check
# (``FileDuplicates``) is then all the rows have met, and rebuilding the index checks them
# again, failing the whole import, should two rows hold the same ID number after all.
REBUILT_WHEN_EMPTY = ("resident_one_record_per_id_number",)


def worth_deferring(rows_estimate: int) -> bool:
    """Whether a file of about ``rows_estimate`` rows is a first load (see above). Counts the
    stored residents only up to the bound that matters, so a large registry answers fast."""
    if rows_estimate < DEFER_FROM_ROWS:
        return False
    limit = rows_estimate // DEFER_RATIO
    return Resident.objects.order_by().values("pk")[: limit + 1].count() <= limit


def secondary_indexes(*, kept: tuple[str, ...] = KEPT) -> list[tuple[str, str]]:
    """(name, the statement that creates it) of each non-unique index on the registry's
    tables but ``kept``, as the database itself records them (partial conditions and operator
    classes included)."""
    return [
        (name, sql)
        for name, sql in _indexes()
        if not sql.startswith("CREATE UNIQUE ") and name not in kept
    ]


def indexes_named(names: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, the statement that creates it) of the registry's indexes called ``names``."""
    return [(name, sql) for name, sql in _indexes() if name in names]


def _indexes() -> list[tuple[str, str]]:
    """(name, creating statement) of every index on the registry's tables that has one, by
    name. SQLite records none for the indexes it made itself (UNIQUE and PRIMARY KEY)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = ANY(%s) ORDER BY indexname",
                [list(TABLES)],
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name IN (%s, %s, %s) AND sql IS NOT NULL ORDER BY name",
                list(TABLES),
            )
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            return []
        return [(name, sql) for name, sql in cursor.fetchall()]


def foreign_keys() -> list[tuple[str, str, str]]:
    """(table, name, definition) of each foreign key from the registry's tables, on
    PostgreSQL (SQLite cannot add a constraint to a table: its keys stay)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid "
            "WHERE c.contype = 'f' AND t.relname = ANY(%s) "
            "AND t.relnamespace = current_schema()::regnamespace ORDER BY t.relname, c.conname",
            [list(TABLES)],
        )
        return [(table, name, definition) for table, name, definition in cursor.fetchall()]


@dataclass
class DeferredIndexes:
    """The indexes (and foreign keys) dropped for the body of ``indexes_deferred``,
    recreated after it."""

    dropped: list[tuple[str, str]] = field(default_factory=list)
    keys: list[tuple[str, str, str]] = field(default_factory=list)

    def drop(self, indexes: list[tuple[str, str]]) -> None:
        with connection.cursor() as cursor:
            for name, _sql in indexes:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        self.dropped += indexes

    def drop_for_empty_registry(self) -> None:
        """Drop ``KEPT`` and ``REBUILT_WHEN_EMPTY`` too: for a load into an empty registry,
        which reads no resident back while it writes."""
        self.drop(indexes_named(KEPT + REBUILT_WHEN_EMPTY))


@contextmanager
def indexes_deferred(
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[DeferredIndexes]:
    """Drop the secondary indexes, run the body, recreate them. Call inside a transaction:
    on an exception the rollback restores them, so nothing is recreated here."""
    if not connection.in_atomic_block:
        raise RuntimeError("indexes_deferred() needs a transaction to roll back into")
    qn = connection.ops.quote_name
    deferred = DeferredIndexes(keys=foreign_keys())
    with connection.cursor() as cursor:
        _check_deferred_keys(cursor)
        for table, name, _definition in deferred.keys:
            cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
    deferred.drop(secondary_indexes())
    yield deferred
    indexes = deferred.dropped
    with connection.cursor() as cursor:
        _check_deferred_keys(cursor)
        steps = len(indexes) + len(deferred.keys)
        for done, (_name, sql) in enumerate(indexes, start=1):
            cursor.execute(sql)
            if progress is not None:
                progress(done, steps)
        # Each key checks every row as it is added (deferrable or not), over the new indexes.
        for done, (table, name, definition) in enumerate(deferred.keys, start=len(indexes) + 1):
            cursor.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
            if progress is not None:
                progress(done, steps)


def _check_deferred_keys(cursor: Any) -> None:
    """PostgreSQL alters no table (nor indexes one) with deferred foreign-key checks pending
    on it or on a table a key refers to: check them now, as the commit would, then defer
    again, as declared."""
    if connection.vendor == "postgresql":
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
