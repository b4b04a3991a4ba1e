"""``safecommunity worker``: run background jobs (resident imports, screening runs) as they
are queued.

Run one or more beside the web server; each claims jobs with a conditional update, so they
never run the same job twice. ``--once`` runs what is queued and exits (cron, tests).

When the day changes (Asia/Shanghai) the worker also recounts the baseline's "verified
within N days" figures (``baseline_roll_day``), so no page read pays for that; running it
twice in a day costs nothing, so several workers may all do it.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from safecommunity.people.baseline import baseline_roll_day
from safecommunity.people.tasks import import_jobs_requeue_stale, import_jobs_run_pending
from safecommunity.screening.tasks import runs_execute_pending, runs_requeue_stale


class Command(BaseCommand):
    help = (
        "Run queued background jobs (resident imports, screening runs); with --once, run "
        "them and exit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run queued jobs, then exit")
        parser.add_argument(
            "--poll", type=float, default=1.0, help="seconds between looks at the queue"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        requeued = import_jobs_requeue_stale()
        if requeued:
            self.stderr.write(f"requeued {requeued} stale job(s)")
        requeued_runs = runs_requeue_stale()
        if requeued_runs:
            self.stderr.write(f"requeued {requeued_runs} stale screening run(s)")
        rolled_for = None
        while True:
            today = timezone.localdate()
            if today != rolled_for:
                recounted = baseline_roll_day()
                rolled_for = today
                if recounted:
                    self.stdout.write(f"recounted the verified figures of {recounted} grid(s)")
            ran = import_jobs_run_pending()
            if ran:
                self.stdout.write(f"ran {ran} import job(s)")
            screened = runs_execute_pending()
            if screened:
                self.stdout.write(f"ran {screened} screening run(s)")
            ran += screened
            if options["once"]:
                return
            if not ran:
                time.sleep(max(options["poll"], 0.1))
