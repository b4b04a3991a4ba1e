"""Screening in the background: ``safecommunity worker`` imports queued risk lists
(``services.risk_list_import``) and executes queued runs (``services.run_execute``); both
store progress and a heartbeat on their row.

As for resident imports (``people.tasks``), the row is the job: a worker claims the oldest
queued list or run with a conditional ``UPDATE … WHERE status = 'queued'`` and checks the
row count, so two workers never take one job. A job whose heartbeat stopped (its worker was
killed) is put back in the queue by ``runs_requeue_stale``/``risk_lists_requeue_stale``,
which the worker calls when it starts and every minute after; the next attempt deletes what
the dead one stored and writes again, so nothing is stored twice.

An uploaded list waits in ``services.uploads_folder()`` (mode 0600) and is deleted once its
import ends, whichever way; ``uploads_sweep`` deletes what a crash left there after a day.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.screening.models import ListStatus, RiskList, RunStatus, ScreeningRun
from safecommunity.screening.services import (
    issues_path,
    risk_list_import,
    risk_list_records_delete,
    run_claim,
    run_execute,
    uploads_folder,
)

logger = logging.getLogger(__name__)

# A running run or importing list whose heartbeat is older than this belongs to a dead
# worker. The heartbeat is written every few seconds while they work (progress, each batch).
STALE_AFTER = timedelta(minutes=10)
# An upload still on disk this long after it was written is a leftover (its import ended
# without deleting it: the worker was killed, the disk was full); a list still waiting for
# its import keeps its file.
UPLOAD_KEPT_FOR = timedelta(days=1)


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


def _stale(now: datetime | None) -> Q:
    cutoff = (now or timezone.now()) - STALE_AFTER
    return (
        Q(heartbeat_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True)
    )


def runs_requeue_stale(*, now: datetime | None = None) -> int:
    """Runs left ``running`` by a dead worker (no heartbeat for ``STALE_AFTER``) go back to
    the queue; their next attempt starts from a clean slate."""
    return ScreeningRun.objects.filter(_stale(now), status=RunStatus.RUNNING).update(
        status=RunStatus.QUEUED, stage="", heartbeat_at=None, started_at=None
    )


# --- risk lists ------------------------------------------------------------------------------------


def risk_list_claim_next() -> RiskList | None:
    """The oldest queued list, now ``importing`` and this worker's; None when none is."""
    for pk in (
        RiskList.objects.filter(status=ListStatus.QUEUED)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:10]
    ):
        now = timezone.now()
        claimed = RiskList.objects.filter(pk=pk, status=ListStatus.QUEUED).update(
            status=ListStatus.IMPORTING, started_at=now, heartbeat_at=now, progress_done=0
        )
        if claimed == 1:
            return RiskList.objects.select_related("created_by").get(pk=pk)
    return None


def risk_list_import_run(risk_list: RiskList) -> RiskList:
    """Import a claimed list from its upload: ``done``, or ``failed`` with the reason in its
    message (``risk_list_import`` records both). Once the import has ended, either way, the
    upload (personal data in the clear) is deleted; an interrupted worker (Ctrl-C) leaves
    it for ``risk_lists_requeue_stale`` to restart the import from."""
    stored = Path(risk_list.stored_file) if risk_list.stored_file else None
    if stored is None or not stored.is_file():
        RiskList.objects.filter(pk=risk_list.pk).update(
            status=ListStatus.FAILED,
            finished_at=timezone.now(),
            message=_("The uploaded file is gone; upload the list again."),
        )
    else:
        try:
            risk_list_import(actor=risk_list.created_by, path=stored, into=risk_list)
        except Exception:  # recorded on the list by risk_list_import
            logger.warning("risk list %s: the import failed; see its message", risk_list.pk)
        stored.unlink(missing_ok=True)
    RiskList.objects.filter(pk=risk_list.pk).update(stored_file="")
    risk_list.refresh_from_db()
    return risk_list


def risk_lists_import_pending(*, limit: int | None = None) -> int:
    """Claim and import queued lists until none is left (or ``limit`` ran)."""
    ran = 0
    while limit is None or ran < limit:
        risk_list = risk_list_claim_next()
        if risk_list is None:
            break
        risk_list_import_run(risk_list)
        ran += 1
    return ran


def risk_lists_requeue_stale(*, now: datetime | None = None) -> int:
    """Lists left ``importing`` by a dead worker (no heartbeat for ``STALE_AFTER``): their
    partial records are deleted and they go back to the queue — or, when their upload is
    gone, are marked failed. Returns how many were requeued or failed."""
    handled = 0
    for risk_list in RiskList.objects.filter(_stale(now), status=ListStatus.IMPORTING):
        # Taken back first (a conditional update), so two workers never both clean it up.
        taken = RiskList.objects.filter(pk=risk_list.pk, status=ListStatus.IMPORTING).update(
            status=ListStatus.FAILED, finished_at=timezone.now()
        )
        if not taken:
            continue
        risk_list_records_delete(risk_list)
        issues_path(risk_list).unlink(missing_ok=True)
        stored = Path(risk_list.stored_file) if risk_list.stored_file else None
        if stored is not None and stored.is_file():
            RiskList.objects.filter(pk=risk_list.pk).update(
                status=ListStatus.QUEUED,
                started_at=None,
                heartbeat_at=None,
                finished_at=None,
                progress_done=0,
                issues_file="",
            )
        else:
            RiskList.objects.filter(pk=risk_list.pk).update(
                message=_(
                    "The import was interrupted and its file is gone; upload the list again."
                ),
                issues_file="",
                stored_file="",
            )
        handled += 1
    return handled


def uploads_sweep(*, now: datetime | None = None) -> int:
    """Delete uploads older than ``UPLOAD_KEPT_FOR`` that no queued or importing list waits
    for. Returns how many went."""
    cutoff = ((now or timezone.now()) - UPLOAD_KEPT_FOR).timestamp()
    waiting = set(
        RiskList.objects.filter(status__in=(ListStatus.QUEUED, ListStatus.IMPORTING)).values_list(
            "stored_file", flat=True
        )
    )
    swept = 0
    for path in uploads_folder().iterdir():
        try:
            if path.is_file() and str(path) not in waiting and path.stat().st_mtime < cutoff:
                path.unlink()
                swept += 1
        except FileNotFoundError:  # another worker swept it first
            continue
    return swept


def housekeeping(*, now: datetime | None = None) -> dict[str, int]:
    """What a worker does when it starts and every minute after: requeue the runs and lists
    of dead workers, sweep old uploads. Returns the counts (for the worker to print)."""
    return {
        "runs": runs_requeue_stale(now=now),
        "lists": risk_lists_requeue_stale(now=now),
        "uploads": uploads_sweep(now=now),
    }
