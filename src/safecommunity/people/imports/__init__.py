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
from collections.abc import Callable
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
from safecommunity.people.imports.batch import BatchWriter, ParsedRow, RowRejected
from safecommunity.people.imports.rows import RowParser
from safecommunity.people.imports.sources import ImportFileError, open_source

__all__ = [
    "BATCH_ROWS",
    "CsvIssueFile",
    "ImportFileError",
    "ImportResult",
    "IssueSink",
    "RowIssue",
    "import_residents",
]

BATCH_ROWS = 2000
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
) -> ImportResult:
    """Import the residents in ``path`` (CSV or XLSX) as ``actor``.

    ``actor`` None is the command line: the whole registry is in scope. Otherwise only
    dwellings (and grids, for new addresses) in the actor's scope are found, and a resident
    whose current dwelling lies outside it is not touched.

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
                    1, column, "", _("unknown column, ignored (see the accepted column names)")
                )
            )
        writer = BatchWriter(
            scope=scope,
            create_missing_addresses=create_missing_addresses,
            present=parser.present,
            today=today,
        )
        batch: list[ParsedRow] = []

        def flush() -> None:
            outcome = writer.write(batch)
            result.created += outcome.created
            result.updated += outcome.updated
            result.unchanged += outcome.unchanged
            result.dwellings_created += outcome.dwellings_created
            for rejected in outcome.rejected:
                _reject(rejected)
            batch.clear()
            if progress is not None:
                progress(source.position(), source.total, result)

        def _reject(rejected: RowRejected) -> None:
            result.rejected += 1
            for column_field, value, reason in rejected.problems:
                report(RowIssue(rejected.line, parser.column_name(column_field), value, reason))

        for line, cells in source.rows():
            result.rows += 1
            parsed = parser.parse(line, cells, source.row_problem)
            if isinstance(parsed, RowRejected):
                _reject(parsed)
            else:
                batch.append(parsed)
            if len(batch) >= batch_rows:
                flush()
        flush()
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
                    },
                )
    return result
