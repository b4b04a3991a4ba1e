"""``safecommunity import-residents FILE [--create-missing-addresses]``.

Imports residents with their dwelling and residence from a CSV (UTF-8 or GBK/GB18030) or
XLSX file, with the whole registry in scope. A progress bar goes to stderr; every bad row
goes to ``FILE.errors.csv`` beside the input (ID and phone numbers masked), whose path is
printed with the summary line ``created N, updated N, unchanged N, rejected N``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safecommunity.demo.progress import TextProgress, raw_stream
from safecommunity.people.imports import (
    BATCH_ROWS,
    CsvIssueFile,
    ImportFileError,
    ImportResult,
    import_residents,
)


class Command(BaseCommand):
    help = "Import residents with their dwelling and residence from a CSV or XLSX file."
    # The project's system checks (URLs, templates, admin…) are for ``check`` and the server;
    # run before every import they cost half a second and check nothing the import uses.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a CSV (UTF-8 or GBK) or XLSX file")
        parser.add_argument(
            "--create-missing-addresses",
            action="store_true",
            help=(
                "create a dwelling for an address no dwelling has, when the row gives a grid "
                "code (网格编码/grid) and the address splits into compound, building, "
                "entrance and room"
            ),
        )
        parser.add_argument(
            "--batch-rows", type=int, default=BATCH_ROWS, help="rows per transaction"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="processes that parse a large file's rows (default: one per core)",
        )
        parser.add_argument(
            "--no-first-load",
            action="store_true",
            help="never run as a first load (one transaction, indexes rebuilt at the end)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        errors_path = path.with_name(path.name + ".errors.csv")
        bar = None if options["no_progress"] else TextProgress(raw_stream(self.stderr))

        def progress(done: int, total: int, result: ImportResult) -> None:
            if bar is not None:
                bar("import" if result.stage == "rows" else "indexes", done, total)

        try:
            with CsvIssueFile(errors_path) as issues:
                result = import_residents(
                    path=path,
                    actor=None,
                    issues=issues,
                    create_missing_addresses=options["create_missing_addresses"],
                    progress=progress,
                    batch_rows=max(1, options["batch_rows"]),
                    workers=options["workers"],
                    defer_indexes=False if options["no_first_load"] else None,
                )
        except ImportFileError as exc:
            errors_path.unlink(missing_ok=True)
            raise CommandError(f"{path}: {exc} Nothing was imported.") from exc
        finally:
            if bar is not None:
                bar.finish()
        self.stdout.write(f"{path}: {result.rows} rows; errors: {errors_path}")
        if result.dwellings_created:
            self.stdout.write(f"dwellings created: {result.dwellings_created}")
        self.stdout.write(result.summary())
