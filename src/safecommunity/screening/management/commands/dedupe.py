"""``safecommunity dedupe --purpose TEXT --user USERNAME [--min-band B]``: find residents
recorded twice within USERNAME's jurisdiction, with a progress bar on stderr. Prints the
number of candidate pairs by band and the run's id; the pairs are merged (or not) on the
merge-candidates page, by someone whose jurisdiction covers both records."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from safecommunity.demo.progress import TextProgress, raw_stream
from safecommunity.screening.management.commands.screen import band_counts, screener
from safecommunity.screening.models import Band
from safecommunity.screening.services import ScreeningError, dedup_enqueue, run_execute


class Command(BaseCommand):
    help = "Find residents recorded twice (merge candidates) with the screening engine."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--purpose", required=True, help="why the registry is checked")
        parser.add_argument("--user", required=True, help="the username the check is by")
        parser.add_argument(
            "--min-band",
            choices=Band.values,
            default=Band.PROBABLE,
            help="the weakest band of pairs kept (default: probable)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        user = screener(options["user"])
        bar = None if options["no_progress"] else TextProgress(raw_stream(self.stderr))
        try:
            run = dedup_enqueue(
                actor=user, purpose=options["purpose"], min_band=options["min_band"], inline=True
            )
            run = run_execute(run, progress=bar)
        except (ScreeningError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:
            raise CommandError(f"the deduplication failed: {exc}") from exc
        finally:
            if bar is not None:
                bar.finish()
        self.stdout.write(f"pairs: {run.matched_records} among {run.records} residents")
        self.stdout.write(band_counts(run))
        self.stdout.write(f"run {run.pk}")
