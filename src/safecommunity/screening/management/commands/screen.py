"""``safecommunity screen FILE --purpose TEXT --user USERNAME [--name NAME] [--min-band B]``.

Imports a risk list (CSV, UTF-8 or GBK, or XLSX) as USERNAME — whose jurisdiction bounds the
screening and who is recorded with the purpose in the audit log — and screens it at once
against the registry, with a progress bar on stderr. Prints the list's counts and issues
file, the number of records by the band of their best candidate, and the run's id (its
results are then on the review page). A file that cannot be read exits with status 1 and
one line saying why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from safecommunity.accounts.models import User
from safecommunity.demo.progress import TextProgress, raw_stream
from safecommunity.screening.models import Band, ScreeningRun
from safecommunity.screening.services import (
    RiskListFileError,
    ScreeningError,
    risk_list_import,
    run_enqueue,
    run_execute,
)


def screener(username: str) -> User:
    """The user a command acts as; a clear ``CommandError`` when they cannot screen."""
    from safecommunity.screening.selectors import may_screen

    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user “{username}”")
    if not may_screen(user):
        raise CommandError(f"user “{username}” may not screen (role {user.role})")
    return user


def band_counts(run: ScreeningRun) -> str:
    """The counts line (English, stable for scripts)."""
    return f"certain {run.certain}, probable {run.probable}, possible {run.possible}"


class Command(BaseCommand):
    help = "Import a risk list and screen it against the registry at once."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a CSV (UTF-8 or GBK) or XLSX risk list")
        parser.add_argument("--purpose", required=True, help="why this list is screened")
        parser.add_argument("--user", required=True, help="the username the screening is by")
        parser.add_argument("--name", default="", help="the list's name (default: file name)")
        parser.add_argument(
            "--min-band",
            choices=Band.values,
            default=Band.POSSIBLE,
            help="the weakest band of matches kept (default: possible)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        user = screener(options["user"])
        bar = None if options["no_progress"] else TextProgress(raw_stream(self.stderr))
        try:
            try:
                imported = risk_list_import(
                    actor=user,
                    path=path,
                    file_name=path.name,
                    name=options["name"],
                    purpose=options["purpose"],
                    progress=bar,
                )
            except RiskListFileError as exc:
                raise CommandError(f"{path}: {exc} Nothing was imported.") from exc
            except (ScreeningError, PermissionDenied) as exc:
                raise CommandError(str(exc)) from exc
            risk_list = imported.risk_list
            self.stdout.write(
                f"list {risk_list.pk}: {risk_list.rows_read} rows read, {risk_list.rows_kept} "
                f"kept, {risk_list.rows_rejected} rejected, {risk_list.rows_duplicate} duplicate"
            )
            if risk_list.issues_file:
                self.stdout.write(f"issues: {risk_list.issues_file}")
            if not risk_list.rows_kept:
                raise CommandError(f"{path}: {imported.message}")
            try:
                run = run_enqueue(
                    actor=user,
                    risk_list=risk_list,
                    purpose=options["purpose"],
                    min_band=options["min_band"],
                    inline=True,
                )
                run = run_execute(run, progress=bar)
            except (ScreeningError, PermissionDenied) as exc:
                raise CommandError(str(exc)) from exc
            except Exception as exc:
                raise CommandError(f"the screening failed: {exc}") from exc
        finally:
            if bar is not None:
                bar.finish()
        self.stdout.write(f"records matched: {run.matched_records} of {run.records}")
        self.stdout.write(band_counts(run))
        self.stdout.write(f"run {run.pk}")
