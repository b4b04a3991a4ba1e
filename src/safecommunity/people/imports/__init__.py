"""Importing residents with their dwelling and residence from CSV or XLSX files.

``import_residents`` reads a file row by row (``sources``), validates each row with the same
``people.services.resident_input`` the forms use, matches its address to a dwelling by exact
standard address within the importer's scope, and writes good rows in batches (``batch``),
each batch one transaction. Every bad row is reported — line, column, value (ID and phone
numbers masked) and reason — to an ``IssueSink`` and skipped; the good rows are kept.

Idempotent: a row is keyed by the ID number's blind index, or by name + date of birth +
dwelling when it has no ID number; a row that matches a resident whose data and current
residence already agree counts as unchanged and writes nothing. Importing the same file
twice therefore changes nothing the second time.

Public API: ``import_residents``, ``ImportResult``, ``RowIssue``, ``IssueSink``,
``CsvIssueFile``, ``ImportFileError``.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.models import User
from safecommunity.accounts.scope import Scope, scope_for
from safecommunity.accounts.services import audit_record
from safecommunity.people.baseline import baseline_refresh
from safecommunity.people.imports.batch import BatchWriter, ParsedRow, RowRejected
from safecommunity.people.imports.bulk import indexes_deferred, worth_deferring
from safecommunity.people.imports.parallel import default_workers, parsed_chunks
from safecommunity.people.imports.rows import FileDuplicates, RowParser, masked_text
from safecommunity.people.imports.sources import ImportFileError, open_source
from safecommunity.people.models import Resident
from safecommunity.people.services import dwelling_use_refresh

__all__ = [
    "BATCH_ROWS",
    "CsvIssueFile",
    "ImportFileError",
    "ImportResult",
    "IssueSink",
    "RowIssue",
    "import_residents",
]

BATCH_ROWS = 10_000
# How many issues the result keeps in memory for a page to show; the sink gets them all.
ISSUES_KEPT = 100

# Called after each batch with (done, total, the counts so far); done/total are bytes for
# CSV and rows for XLSX.
Progress = Callable[[int, int, "ImportResult"], None]


@dataclass(frozen=True)
class RowIssue:
    """One problem: ``line`` 1 is the header. ``value`` is masked for ID and phone numbers."""

    line: int
    column: str
    value: str
    reason: str


class IssueSink(Protocol):
    def write(self, issue: RowIssue) -> None: ...


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rows: int = 0
    dwellings_created: int = 0
    issues: int = 0
    first_issues: list[RowIssue] = field(default_factory=list)
    # "rows" while rows are read and written; "indexes" while a first load builds them.
    stage: str = "rows"
    rolled_back: bool = False

    def summary(self) -> str:
        """The summary line the CLI prints (English, stable for scripts)."""
        return (
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {self.rejected}"
        )


class CsvIssueFile:
    """An error file: CSV in UTF-8 with a BOM (Excel opens it correctly) with the columns
    line, column, value, reason."""

    HEADER = ("line", "column", "value", "reason")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(self.HEADER)

    def write(self, issue: RowIssue) -> None:
        self._writer.writerow((issue.line, issue.column, issue.value, issue.reason))

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> CsvIssueFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# The fields whose issues name places (a grid code is 15 digits), not people: their digits
# stay as typed. Every other issue has its long runs of digits masked (``masked_text``).
PLACE_FIELDS = frozenset({"address", "grid"})


class _Collector:
    """Counts issues, keeps the first few, forwards all to the sink."""

    def __init__(self, sink: IssueSink | None, result: ImportResult) -> None:
        self.sink = sink
        self.result = result

    def __call__(self, issue: RowIssue) -> None:
        self.result.issues += 1
        if len(self.result.first_issues) < ISSUES_KEPT:
            self.result.first_issues.append(issue)
        if self.sink is not None:
            self.sink.write(issue)


@contextmanager
def _collected_rarely() -> Iterator[None]:
    """Run the body with Python's cycle collector running rarely, and never over what
    existed before it (``gc.freeze``; forked parsing workers inherit both).

    An import allocates millions of short-lived tuples and strings, and few cycles; the
    collector, started every 700 allocations, walked the growing heap (the file's duplicates
    table, the address cache) often enough to cost a seventh of the import's time. It still
    runs, every 100,000 allocations, so memory stays flat.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def import_residents(
    *,
    path: Path,
    actor: User | None,
    issues: IssueSink | None = None,
    create_missing_addresses: bool = False,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
    today: date | None = None,
    file_name: str | None = None,
    workers: int | None = None,
    defer_indexes: bool | None = None,
) -> ImportResult:
    """Import the residents in ``path`` (CSV or XLSX) as ``actor``.

    ``actor`` None is the command line: the whole registry is in scope. Otherwise only
    dwellings (and grids, for new addresses) in the actor's scope are found, and a resident
    whose current dwelling lies outside it is not touched.

    ``workers`` processes parse a large file's rows (default: one per core; 1 parses
    in-process, see ``parallel``). ``defer_indexes`` runs the whole import in one transaction
    with the registry's secondary indexes built at the end (see ``bulk``); by default only
    a first load does so: a large file into a registry a tenth its size or less.

    Raises ``ImportFileError`` (nothing imported) when the file cannot be read at all or its
    header lacks a required column; every other problem is a reported row. Writes one audit
    entry for the run, with the counts.
    """
    today = today or timezone.localdate()
    scope = scope_for(actor) if actor is not None else Scope(prefixes=None)
    result = ImportResult()
    report = _Collector(issues, result)
    source = open_source(path)
    try:
        parser = RowParser(source.headers, today=today)
        for column in parser.unknown_columns:
            report(
                RowIssue(
                    1,
                    # A file without its header line: the first row's numbers are no names.
                    masked_text(column),
                    "",
                    _("unknown column, ignored (see the accepted column names)"),
                )
            )
        if defer_indexes is None:
            defer_indexes = worth_deferring(source.rows_estimate)
        writer = BatchWriter(
            scope=scope,
            create_missing_addresses=create_missing_addresses,
            present=parser.present,
            today=today,
            derive_later=defer_indexes,
        )
        duplicates = FileDuplicates()
        batch: list[ParsedRow] = []

        def flush(position: int) -> None:
            outcome = writer.write(batch)
            result.created += outcome.created
            result.updated += outcome.updated
            result.unchanged += outcome.unchanged
            result.dwellings_created += outcome.dwellings_created
            for rejected in outcome.rejected:
                _reject(rejected)
            batch.clear()
            if progress is not None:
                progress(position, source.total, result)

        def _reject(rejected: RowRejected) -> None:
            result.rejected += 1
            for column_field, value, reason in rejected.problems:
                if column_field not in PLACE_FIELDS:
                    # A reason may quote the number it refuses as normalised (no +86,
                    # half-width digits), which masking the cell as typed does not find.
                    value, reason = masked_text(value), masked_text(reason)
                report(RowIssue(rejected.line, parser.column_name(column_field), value, reason))

        def load() -> None:
            with _collected_rarely():
                chunks = parsed_chunks(
                    source, parser, workers=default_workers() if workers is None else workers
                )
                for parsed_rows, position in chunks:
                    for parsed in parsed_rows:
                        result.rows += 1
                        if isinstance(parsed, ParsedRow):
                            duplicate = duplicates.claim(parsed)
                            if duplicate is None:
                                batch.append(parsed)
                                if len(batch) >= batch_rows:
                                    flush(position)
                                continue
                            parsed = duplicate
                        _reject(parsed)
                flush(source.position())

        def indexing(done: int, total: int) -> None:
            result.stage = "indexes"
            if progress is not None:
                progress(done, total, result)

        if not defer_indexes:
            load()
        else:
            try:
                with transaction.atomic():
                    with indexes_deferred(indexing) as deferred:
                        # Asked with the registry's tables locked (the indexes just dropped):
                        # nobody can add a resident before this import commits.
                        if not Resident.objects.exists():
                            deferred.drop_for_empty_registry()
                            writer.into_empty = True
                        load()
                    # Derived once, over the rebuilt indexes, in the same transaction.
                    baseline_refresh(paths=writer.pending_baseline)
                    dwelling_use_refresh(dwelling_ids=writer.pending_uses)
            except BaseException:
                # The one transaction rolled back: nothing of the file was written.
                result.created = result.updated = result.unchanged = 0
                result.dwellings_created = 0
                result.rolled_back = True
                raise
    finally:
        source.close()
        if result.rows:
            with transaction.atomic():
                audit_record(
                    actor=actor,
                    action="resident.import",
                    detail={
                        "file": file_name or path.name,
                        "rows": result.rows,
                        "created": result.created,
                        "updated": result.updated,
                        "unchanged": result.unchanged,
                        "rejected": result.rejected,
                        "dwellings_created": result.dwellings_created,
                        "rolled_back": result.rolled_back,
                    },
                )
    return result
