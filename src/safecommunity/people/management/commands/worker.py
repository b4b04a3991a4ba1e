"""``safecommunity worker``: run background jobs (resident imports, risk-list imports,
screening runs) as they are queued.

Run one or more beside the web server; each claims jobs with a conditional update, so they
never run the same job twice. ``--once`` runs what is queued and exits (cron, tests).

When it starts, and every ``HOUSEKEEPING_EVERY`` after, the worker puts back in the queue
the screening runs and risk-list imports whose worker died (no heartbeat for
``screening.tasks.STALE_AFTER``) and sweeps old uploads: a worker killed and restarted
within ten minutes would otherwise find its run still looking alive, and never take it up
again. Resident import jobs have no heartbeat, only a start time an hour back, so they are
requeued at start only (a live job of another worker could look stale otherwise).

When the day changes (Asia/Shanghai) the worker also recounts the baseline's "verified
within N days" figures (``baseline_roll_day``), so no page read pays for that; running it
twice in a day costs nothing, so several workers may all do it.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from safecommunity.people.baseline import baseline_roll_day
from safecommunity.people.tasks import import_jobs_requeue_stale, import_jobs_run_pending
from safecommunity.screening.tasks import (
    housekeeping,
    risk_lists_import_pending,
    runs_execute_pending,
)

HOUSEKEEPING_EVERY = timedelta(minutes=1)


class Command(BaseCommand):
    help = (
        "Run queued background jobs (resident imports, risk-list imports, screening runs); "
        "with --once, run them and exit."
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
        rolled_for = None
        kept_at: datetime | None = None
        while True:
            now = timezone.now()
            if kept_at is None or now - kept_at >= HOUSEKEEPING_EVERY:
                self._housekeeping()
                kept_at = now
            today = timezone.localdate()
            if today != rolled_for:
                recounted = baseline_roll_day()
                rolled_for = today
                if recounted:
                    self.stdout.write(f"recounted the verified figures of {recounted} grid(s)")
            ran = import_jobs_run_pending()
            if ran:
                self.stdout.write(f"ran {ran} import job(s)")
            # Lists before runs: a run needs its list imported.
            lists = risk_lists_import_pending()
            if lists:
                self.stdout.write(f"imported {lists} risk list(s)")
            screened = runs_execute_pending()
            if screened:
                self.stdout.write(f"ran {screened} screening run(s)")
            ran += lists + screened
            if options["once"]:
                return
            if not ran:
                time.sleep(max(options["poll"], 0.1))

    def _housekeeping(self) -> None:
        done = housekeeping()
        if done["runs"]:
            self.stderr.write(f"requeued {done['runs']} stale screening run(s)")
        if done["lists"]:
            self.stderr.write(f"requeued {done['lists']} stale risk-list import(s)")
        if done["uploads"]:
            self.stderr.write(f"deleted {done['uploads']} leftover upload(s)")
