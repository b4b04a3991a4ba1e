"""``safecommunity screening-index [--rebuild]``: bring the registry's screening index up to
date (building it when there is none), or rebuild it from scratch. Runs build or refresh it
themselves; this is for after a large import, or from cron at night."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safecommunity.demo.progress import TextProgress, raw_stream
from safecommunity.screening.index_store import (
    IndexBusy,
    index_build,
    index_folder,
    index_refresh,
)


class Command(BaseCommand):
    help = "Build or refresh the registry's screening index."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="build it from scratch")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        bar = None if options["no_progress"] else TextProgress(raw_stream(self.stderr))
        try:
            if options["rebuild"]:
                index = index_build(progress=bar)
                size = len(index)
                index.close()
                summary = f"built: {size} residents"
            else:
                result = index_refresh(progress=bar)
                summary = (
                    f"built: {result.size} residents"
                    if result.rebuilt
                    else f"refreshed: {result.upserted} upserted, {result.deleted} deleted, "
                    f"{result.size} residents"
                )
        except IndexBusy as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if bar is not None:
                bar.finish()
        self.stdout.write(f"{index_folder()}: {summary}")
