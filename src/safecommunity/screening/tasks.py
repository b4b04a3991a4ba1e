"""Screening runs in the background: ``safecommunity worker`` claims queued runs and
executes them with ``services.run_execute``, which stores progress and a heartbeat on the run.

As for resident imports (``people.tasks``), the run row is the job: a worker claims the
oldest queued run with a conditional ``UPDATE … WHERE status = 'queued'`` and checks the
row count, so two workers never execute one run. A run whose heartbeat stopped (its worker
was killed) is put back in the queue by ``runs_requeue_stale`` when a worker starts; the
next attempt deletes what the dead one stored and writes again, so no match is stored twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from safecommunity.screening.models import RunStatus, ScreeningRun
from safecommunity.screening.services import run_claim, run_execute

logger = logging.getLogger(__name__)

# A running run whose heartbeat is older than this belongs to a dead worker. The heartbeat
# is written every few seconds while a run works (progress, each stored batch).
STALE_AFTER = timedelta(minutes=10)


def run_claim_next() -> ScreeningRun | None:
    """The oldest queued run, now ``running`` and this worker's; None when none is queued."""
    for pk in (
        ScreeningRun.objects.filter(status=RunStatus.QUEUED)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:10]
    ):
        run = ScreeningRun(pk=pk, status=RunStatus.QUEUED)
        if run_claim(run):
            return ScreeningRun.objects.select_related("created_by", "risk_list").get(pk=pk)
    return None


def runs_execute_pending(*, limit: int | None = None) -> int:
    """Claim and execute queued runs until none is left (or ``limit`` ran). A failed run is
    recorded as failed on the run (``run_execute``); the worker goes on with the next."""
    ran = 0
    while limit is None or ran < limit:
        run = run_claim_next()
        if run is None:
            break
        try:
            run_execute(run)
        except Exception:  # recorded on the run and logged by run_execute
            logger.warning("screening run %s failed; see the run's message", run.pk)
        ran += 1
    return ran


def runs_requeue_stale(*, now: datetime | None = None) -> int:
    """Runs left ``running`` by a dead worker (no heartbeat for ``STALE_AFTER``) go back to
    the queue; their next attempt starts from a clean slate."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    return ScreeningRun.objects.filter(
        Q(heartbeat_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True),
        status=RunStatus.RUNNING,
    ).update(status=RunStatus.QUEUED, stage="", heartbeat_at=None, started_at=None)
