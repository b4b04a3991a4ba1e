"""Writes for screening. Pages, API, the command line and the worker all come here.

Screening is a sensitive use of the registry (DESIGN.md), so every step writes an audit
entry in the transaction of its change: a list imported (``screening.list_import``), a run
queued, started and finished (``screening.run_queue``/``run_start``/``run_finish``/
``run_fail``, with purpose, who and counts; the finish also names whom the run matched, with
a digest of every match stored), a match reviewed, a task done, an export, a merge.

A list uploaded on a page is queued (``risk_list_enqueue``) and imported by the worker with
``risk_list_import``, the one write path of lists, in batches that each commit on their own.
A run's results are reviewed, exported and merged only once the run is done.

A run is executed by ``run_execute``: the one place that calls the engine. It takes the
registry's screening index (``index_store``: built once, kept current), feeds the risk list
to ``engine.screen`` ``RUN_CHUNK`` records at a time — valid ID numbers as their blind index;
the plain number only for an ID that failed its checksum (the engine repairs it) and for
phones (the engine tries their one-digit variants), decrypted for the chunk in hand — and
stores the matches inside the run's scope. A run restarted after its worker died first
deletes what the dead worker wrote, so each match is stored once (the unique constraints on
``Match`` hold the line); no review or task can go with them, as none is made before the run
is done.

Verification tasks follow their resident (``tasks_follow``) and a merge keeps every review
and task (``matches_merge``): both are called by ``people.services`` in the transaction of
the move or merge (registered in ``apps.py``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import mask_name, may_see_names
from safecommunity.accounts.scope import Scope, scope_for
from safecommunity.accounts.services import audit_record
from safecommunity.people import identity
from safecommunity.people.models import Residence, Resident
from safecommunity.people.services import resident_merge
from safecommunity.screening import engine, index_store, selectors
from safecommunity.screening.imports import (
    BATCH_ROWS,
    CsvIssueFile,
    Level,
    ReadCounts,
    RiskListFileError,
    RiskRowIssue,
    read_risk_list,
)
from safecommunity.screening.models import (
    Band,
    Decision,
    ListStatus,
    Match,
    Review,
    RiskList,
    RiskRecord,
    RunKind,
    RunStatus,
    ScreeningRun,
    TaskStatus,
    VerificationTask,
)

__all__ = [
    "Level",
    "RiskListFileError",
    "RiskListImport",
    "RiskRowIssue",
    "ScreeningError",
    "dedup_enqueue",
    "match_review",
    "matches_merge",
    "pair_merge",
    "risk_list_enqueue",
    "risk_list_import",
    "risk_list_summary",
    "run_enqueue",
    "run_execute",
    "run_export_xlsx",
    "task_complete",
    "tasks_follow",
]

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

# Risk records handed to the engine at once (and decrypted at once).
RUN_CHUNK = 50_000
# Matches written per INSERT.
MATCH_BATCH = 5_000
# Progress and heartbeat are written at most this often (seconds).
PROGRESS_EVERY = 0.5
PURPOSE_MAX = 2_000
BAND_ORDER = (Band.CERTAIN, Band.PROBABLE, Band.POSSIBLE)


class ScreeningError(ValueError):
    """A request the rules refuse; the message (translated) says why."""


def _blind(value: str, purpose: str) -> str:
    return identity.blind_index(value, purpose=purpose)


def _purpose(purpose: str) -> str:
    purpose = (purpose or "").replace("\x00", "").strip()
    if not purpose:
        raise ScreeningError(
            _("State the purpose of the screening: it is recorded with every run.")
        )
    return purpose[:PURPOSE_MAX]


def _require_screener(actor: User) -> None:
    if not selectors.may_screen(actor):
        raise PermissionDenied(_("You may not screen risk lists."))


# --- risk lists ------------------------------------------------------------------------------------


def lists_folder() -> Path:
    folder = Path(settings.DATA_DIR) / "screening" / "lists"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def issues_path(risk_list: RiskList) -> Path:
    """Where the list's issues file is written while it is imported (kept, as
    ``RiskList.issues_file``, when there were issues)."""
    return lists_folder() / f"list-{risk_list.pk}.issues.csv"


def uploads_folder() -> Path:
    """Where uploaded lists wait for their import (``tasks.uploads_sweep`` clears leftovers)."""
    folder = Path(settings.DATA_DIR) / "screening" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _list_name(name: str, file_name: str) -> str:
    return (name or "").replace("\x00", "").strip()[:200] or Path(file_name).stem[:200] or "—"


@dataclass
class RiskListImport:
    """What importing a list did: the stored list (its ``rows_*`` counts), the first
    ``imports.ISSUES_KEPT`` issues (all of them are in ``risk_list.issues_file``)."""

    risk_list: RiskList
    issues: list[RiskRowIssue] = field(default_factory=list)
    issue_count: int = 0
    invalid_ids: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return {
            "read": self.risk_list.rows_read,
            "kept": self.risk_list.rows_kept,
            "rejected": self.risk_list.rows_rejected,
            "duplicate": self.risk_list.rows_duplicate,
            "invalid_ids": self.invalid_ids,
            "issues": self.issue_count,
        }

    @property
    def message(self) -> str:
        """One sentence for the page and the command line."""
        return risk_list_summary(self.risk_list, issues=self.issue_count)


def risk_list_summary(risk_list: RiskList, *, issues: int | None = None) -> str:
    """One sentence on an imported list's counts (for the list page once the worker is done;
    ``issues`` is known only to the import itself)."""
    if risk_list.rows_kept == 0:
        return _(
            "No row of this list can be screened: all %(read)d rows were rejected or "
            "duplicates. See the issues for each row's reason."
        ) % {"read": risk_list.rows_read}
    counts = {
        "kept": risk_list.rows_kept,
        "read": risk_list.rows_read,
        "rejected": risk_list.rows_rejected,
        "duplicate": risk_list.rows_duplicate,
    }
    if issues is None:
        return (
            _(
                "%(kept)d of %(read)d rows kept; %(rejected)d rejected, %(duplicate)d duplicate "
                "rows stored once."
            )
            % counts
        )
    return _(
        "%(kept)d of %(read)d rows kept; %(rejected)d rejected, %(duplicate)d duplicate "
        "rows stored once, %(issues)d issues reported."
    ) % {**counts, "issues": issues}


def risk_list_enqueue(
    *, actor: User, upload: UploadedFile[bytes], name: str, purpose: str
) -> RiskList:
    """Store an uploaded risk list (mode 0600: personal data in the clear) and queue its
    import for ``safecommunity worker`` (``tasks.risk_lists_import_pending``), which runs
    ``risk_list_import`` on it with progress on the list; returns the queued list.

    A request never imports a list itself: a large one takes minutes, and on SQLite its
    writes would block every other writer for as long. Raises ``PermissionDenied`` for a
    user who may not screen and ``ScreeningError`` without a purpose (nothing is stored)."""
    _require_screener(actor)
    purpose = _purpose(purpose)
    file_name = Path(upload.name or "upload").name[:255]
    suffix = Path(file_name).suffix.lower()[:10]
    stored = uploads_folder() / f"{uuid.uuid4().hex}{suffix if suffix.isascii() else ''}"
    # Created 0600 from the start: the file is never readable by others, not even briefly.
    descriptor = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        return RiskList.objects.create(
            name=_list_name(name, file_name),
            purpose=purpose,
            file_name=file_name,
            created_by=actor,
            scope_paths=selectors.scope_paths_of(actor),
            status=ListStatus.QUEUED,
            stored_file=str(stored),
            progress_total=stored.stat().st_size,
        )
    except BaseException:
        stored.unlink(missing_ok=True)
        raise


class _ListProgress:
    """Stores an import's progress and heartbeat on its list (at most every
    ``PROGRESS_EVERY`` seconds) and passes it on to the caller's hook (the command line's
    bar)."""

    def __init__(self, risk_list: RiskList, forward: Progress | None) -> None:
        self.risk_list = risk_list
        self.forward = forward
        self.saved_at = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.forward is not None:
            self.forward(stage, done, total)
        now = time.monotonic()
        if now - self.saved_at < PROGRESS_EVERY:
            return
        self.saved_at = now
        RiskList.objects.filter(pk=self.risk_list.pk).update(
            progress_done=done, progress_total=total, heartbeat_at=timezone.now()
        )


def risk_list_records_delete(risk_list: RiskList) -> int:
    """Delete the list's records ``BATCH_ROWS`` at a time, each batch in its own
    transaction (a failed or restarted import's partial records: other writers wait for
    one batch at most). Returns how many went."""
    deleted = 0
    records = RiskRecord.objects.filter(risk_list_id=risk_list.pk)
    while pks := list(records.order_by("pk").values_list("pk", flat=True)[:BATCH_ROWS]):
        with transaction.atomic():
            deleted += RiskRecord.objects.filter(pk__in=pks).delete()[0]
    return deleted


def risk_list_import(
    *,
    actor: User,
    path: Path,
    file_name: str = "",
    name: str = "",
    purpose: str = "",
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
    today: date | None = None,
    into: RiskList | None = None,
) -> RiskListImport:
    """Import the risk list in ``path`` (CSV or XLSX) as ``actor``, for ``purpose``: the one
    write path of risk lists (the worker, the command line and the tests come here).

    ``into`` is a list queued by ``risk_list_enqueue`` and claimed by the worker (status
    ``importing``): its own name, file name and purpose stand, and on failure it is marked
    ``failed`` with the reason in its ``message``. Without ``into`` a list is created here
    (``name``, ``file_name``, ``purpose``) and deleted again on failure: nothing is stored.

    Records are written ``batch_rows`` at a time, each batch in its own transaction, so a
    long list never holds the database (on SQLite, every other writer) for the minutes it
    takes; the list is ``importing`` meanwhile, with its progress stored, and no run takes
    it. The counts, the status ``done`` and the audit entry are written together at the end.
    A failure deletes the records written so far and the issues file, then raises again:
    ``RiskListFileError`` for a file that cannot be read (empty, not CSV/XLSX, no name/ID/
    phone column, no rows). A list whose every row is refused is ``done`` with no records
    and says so (``RiskListImport.message``): its issues file tells why.
    """
    if into is None:
        _require_screener(actor)
        purpose = _purpose(purpose)
        file_name = Path(file_name or path.name).name[:255]
        now = timezone.now()
        risk_list = RiskList.objects.create(
            name=_list_name(name, file_name),
            purpose=purpose,
            file_name=file_name,
            created_by=actor,
            scope_paths=selectors.scope_paths_of(actor),
            status=ListStatus.IMPORTING,
            started_at=now,
            heartbeat_at=now,
        )
    else:
        risk_list = into
    issues_file = issues_path(risk_list)
    try:
        if into is not None:
            _require_screener(actor)
            _purpose(risk_list.purpose)
            # A restarted import starts from a clean slate (the (list, line) key holds).
            risk_list_records_delete(risk_list)
        with CsvIssueFile(issues_file) as sink:
            counts = read_risk_list(
                risk_list=risk_list,
                path=path,
                issues=sink,
                progress=_ListProgress(risk_list, progress),
                batch_rows=batch_rows,
                today=today,
            )
        with transaction.atomic():
            risk_list.rows_read = counts.read
            risk_list.rows_kept = counts.kept
            risk_list.rows_rejected = counts.rejected
            risk_list.rows_duplicate = counts.duplicate
            risk_list.issues_file = str(issues_file) if counts.issues else ""
            risk_list.status = ListStatus.DONE
            risk_list.finished_at = timezone.now()
            risk_list.progress_done = risk_list.progress_total = max(
                risk_list.progress_total, risk_list.progress_done, 1
            )
            risk_list.message = ""
            risk_list.save(
                update_fields=[
                    "rows_read",
                    "rows_kept",
                    "rows_rejected",
                    "rows_duplicate",
                    "issues_file",
                    "status",
                    "finished_at",
                    "progress_done",
                    "progress_total",
                    "message",
                ]
            )
            audit_record(
                actor=actor,
                action="screening.list_import",
                obj=risk_list,
                reason=risk_list.purpose,
                detail=_counts_detail(risk_list.file_name, counts),
            )
    except BaseException as exc:
        issues_file.unlink(missing_ok=True)
        _risk_list_fail(risk_list, exc, keep_row=into is not None)
        raise
    if not counts.issues:
        issues_file.unlink(missing_ok=True)
    return RiskListImport(
        risk_list=risk_list,
        issues=counts.first_issues,
        issue_count=counts.issues,
        invalid_ids=counts.invalid_ids,
    )


def _risk_list_fail(risk_list: RiskList, exc: BaseException, *, keep_row: bool) -> None:
    """After a failed import: no record of it stays; a queued list says why it failed, a
    list created by the failed call goes."""
    if not isinstance(exc, Exception):
        # Interrupted (Ctrl-C, the worker stopped): the list stays ``importing`` for
        # ``tasks.risk_lists_requeue_stale`` to restart cleanly.
        if not keep_row:
            risk_list_records_delete(risk_list)
            RiskList.objects.filter(pk=risk_list.pk).delete()
        return
    if not keep_row:
        risk_list_records_delete(risk_list)
        RiskList.objects.filter(pk=risk_list.pk).delete()
        return
    if isinstance(exc, RiskListFileError):
        message = _("%(reason)s Nothing was imported.") % {"reason": exc}
    elif isinstance(exc, ScreeningError | PermissionDenied):
        message = str(exc)
    else:
        logger.exception("risk list %s: the import failed", risk_list.pk)
        message = _(
            "The import stopped on an internal error; nothing of it was kept. Upload the "
            "list again."
        )
    risk_list_records_delete(risk_list)
    risk_list.status = ListStatus.FAILED
    risk_list.finished_at = timezone.now()
    risk_list.message = message
    risk_list.issues_file = ""
    risk_list.save(update_fields=["status", "finished_at", "message", "issues_file"])


def _counts_detail(file_name: str, counts: ReadCounts) -> dict[str, Any]:
    return {
        "file": file_name,
        "read": counts.read,
        "kept": counts.kept,
        "rejected": counts.rejected,
        "duplicate": counts.duplicate,
        "invalid_ids": counts.invalid_ids,
    }


# --- runs ------------------------------------------------------------------------------------------


def _run_create(
    *,
    actor: User,
    kind: str,
    risk_list: RiskList | None,
    purpose: str,
    min_band: str,
    inline: bool,
) -> ScreeningRun:
    _require_screener(actor)
    purpose = _purpose(purpose)
    if min_band not in Band.values:
        raise ScreeningError(_("Unknown band “%(band)s”.") % {"band": min_band})
    now = timezone.now()
    with transaction.atomic():
        run = ScreeningRun.objects.create(
            kind=kind,
            risk_list=risk_list,
            purpose=purpose,
            created_by=actor,
            scope_paths=selectors.scope_paths_of(actor),
            min_band=min_band,
            # A run its caller executes at once is created claimed, so no worker takes it.
            status=RunStatus.RUNNING if inline else RunStatus.QUEUED,
            started_at=now if inline else None,
            heartbeat_at=now if inline else None,
        )
        audit_record(
            actor=actor,
            action="screening.run_queue",
            obj=run,
            reason=purpose,
            detail={
                "kind": kind,
                "risk_list": risk_list.pk if risk_list else None,
                "scope": run.scope_paths,
                "min_band": min_band,
            },
        )
    return run


def run_enqueue(
    *,
    actor: User,
    risk_list: RiskList,
    purpose: str,
    min_band: str = Band.POSSIBLE,
    inline: bool = False,
) -> ScreeningRun:
    """Queue a screening of ``risk_list`` against the registry in ``actor``'s scope.

    ``inline`` creates the run already claimed, for a caller that runs ``run_execute`` at
    once (the command line); otherwise ``safecommunity worker`` takes it.
    """
    if not selectors.risk_lists(user=actor).filter(pk=risk_list.pk).exists():
        raise PermissionDenied(_("You may not screen this risk list."))
    if risk_list.status in (ListStatus.QUEUED, ListStatus.IMPORTING):
        raise ScreeningError(
            _("This list is still being imported: screen it once its import is done.")
        )
    if risk_list.status == ListStatus.FAILED:
        raise ScreeningError(_("This list's import failed: upload it again."))
    if risk_list.rows_kept == 0:
        raise ScreeningError(_("This list has no rows that can be screened."))
    return _run_create(
        actor=actor,
        kind=RunKind.SCREENING,
        risk_list=risk_list,
        purpose=purpose,
        min_band=min_band,
        inline=inline,
    )


def dedup_enqueue(
    *, actor: User, purpose: str, min_band: str = Band.PROBABLE, inline: bool = False
) -> ScreeningRun:
    """Queue a deduplication of the registry in ``actor``'s scope (see ``run_enqueue``)."""
    return _run_create(
        actor=actor,
        kind=RunKind.DEDUPLICATION,
        risk_list=None,
        purpose=purpose,
        min_band=min_band,
        inline=inline,
    )


class _RunProgress:
    """Stores a run's progress and heartbeat (at most every ``PROGRESS_EVERY`` seconds) and
    passes it on to the caller's hook (the command line's bar)."""

    def __init__(self, run: ScreeningRun, forward: Progress | None) -> None:
        self.run = run
        self.forward = forward
        self.saved_at = 0.0
        self.stage = "screening"
        # While screening a chunk: (records before it, its size, all records), to turn the
        # engine's per-chunk progress into the run's.
        self.window: tuple[int, int, int] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.window is not None:
            before, size, records = self.window
            share = done / total if total else 0.0
            stage, done, total = self.stage, before + int(size * min(share, 1.0)), records
        self.report(stage, done, total)

    def report(self, stage: str, done: int, total: int, *, force: bool = False) -> None:
        if self.forward is not None:
            self.forward(stage, done, total)
        now = time.monotonic()
        if not force and now - self.saved_at < PROGRESS_EVERY:
            return
        self.saved_at = now
        ScreeningRun.objects.filter(pk=self.run.pk).update(
            stage=stage[:32], progress_done=done, progress_total=total, heartbeat_at=timezone.now()
        )


def run_claim(run: ScreeningRun) -> bool:
    """Take a queued run for this process (a conditional update: one claimant wins)."""
    claimed = ScreeningRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    if claimed:
        run.status = RunStatus.RUNNING
    return claimed == 1


def run_execute(
    run: ScreeningRun, progress: Progress | None = None, *, chunk: int = RUN_CHUNK
) -> ScreeningRun:
    """Execute ``run`` to the end: ``done`` with its matches and counts, or ``failed`` with
    a message (the exception is raised again for the caller to report).

    A queued run is claimed first (``ScreeningError`` if another process claimed it); a
    ``running`` run is taken to be the caller's (claimed by the worker, or created
    ``inline``). Whatever an earlier attempt stored is deleted before anything is written.
    """
    if run.status == RunStatus.QUEUED:
        if not run_claim(run):
            raise ScreeningError(_("This run is already being executed."))
    elif run.status != RunStatus.RUNNING:
        raise ScreeningError(_("This run has already finished."))
    actor = run.created_by
    reporter = _RunProgress(run, progress)
    with transaction.atomic():
        # A restart: the matches a dead worker stored go (their reviews cannot exist: a
        # run is reviewed once done), so each match is written once.
        Match.objects.filter(run=run).delete()
        run.attempts = F("attempts") + 1
        run.heartbeat_at = timezone.now()
        run.stage, run.progress_done, run.progress_total, run.message = "index", 0, 0, ""
        run.records = run.matched_records = run.certain = run.probable = run.possible = 0
        run.save(
            update_fields=[
                "attempts",
                "heartbeat_at",
                "stage",
                "progress_done",
                "progress_total",
                "message",
                "records",
                "matched_records",
                "certain",
                "probable",
                "possible",
            ]
        )
        run.refresh_from_db(fields=["attempts"])
        audit_record(
            actor=actor,
            action="screening.run_start",
            obj=run,
            reason=run.purpose,
            detail={
                "kind": run.kind,
                "risk_list": run.risk_list_id,
                "attempt": run.attempts,
                "scope": run.scope_paths,
            },
        )
    try:
        with index_store.index_session(progress=reporter) as index:
            if run.kind == RunKind.SCREENING:
                _screen(run, index, reporter, chunk)
            else:
                _deduplicate(run, index, reporter)
    except Exception as exc:
        logger.exception("screening run %s failed", run.pk)
        message = (
            str(exc)
            if isinstance(exc, ScreeningError | index_store.IndexBusy)
            else _("The run stopped on an internal error; run it again.")
        )
        with transaction.atomic():
            ScreeningRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FAILED, finished_at=timezone.now(), message=message
            )
            audit_record(
                actor=actor,
                action="screening.run_fail",
                obj=run,
                reason=run.purpose,
                detail={"message": message},
            )
        run.refresh_from_db()
        raise
    with transaction.atomic():
        _count(run)
        matched = _what_was_matched(run)
        run.status = RunStatus.DONE
        run.finished_at = timezone.now()
        run.stage = "done"
        run.progress_done = run.progress_total = max(run.progress_total, 1)
        run.save(
            update_fields=[
                "status",
                "finished_at",
                "stage",
                "progress_done",
                "progress_total",
                "records",
                "matched_records",
                "certain",
                "probable",
                "possible",
            ]
        )
        audit_record(
            actor=actor,
            action="screening.run_finish",
            obj=run,
            reason=run.purpose,
            detail={
                "kind": run.kind,
                "risk_list": run.risk_list_id,
                "records": run.records,
                "matched_records": run.matched_records,
                "certain": run.certain,
                "probable": run.probable,
                "possible": run.possible,
                **matched,
            },
        )
    reporter.report("done", run.progress_done, run.progress_total, force=True)
    return run


# The residents a run's finish entry names (the rest are counted and in the digest).
AUDIT_RESIDENTS_MAX = 10_000


def _what_was_matched(run: ScreeningRun) -> dict[str, Any]:
    """What ``run_finish``'s audit entry says was matched, so that the entry answers "whom
    did this screening find" on its own, even after the matches change (reviewed, merged,
    the run deleted):

    - ``matched_residents``: the ids of the residents matched certain or probable (for a
      screening, as a record's best candidate; for a deduplication, both residents of a
      pair), ascending, at most ``AUDIT_RESIDENTS_MAX``; ``matched_residents_total``: all of
      them;
    - ``matches``: how many matches were stored, and ``matches_sha256``: the SHA-256 of
      every stored match as one line ``record,resident,other,band\n`` (ids in decimal, an
      absent id empty), lines sorted by record, resident and other id, in UTF-8. Anyone
      holding the rows can recompute it.
    """
    matches = Match.objects.filter(run=run)
    strong = matches.filter(band__in=(Band.CERTAIN, Band.PROBABLE))
    if run.kind == RunKind.SCREENING:
        strong = strong.filter(rank=1)
    residents: set[int] = set()
    for resident_id, other_id in strong.values_list("resident_id", "other_id").iterator(
        chunk_size=10_000
    ):
        residents.add(resident_id)
        if other_id is not None:
            residents.add(other_id)
    digest = hashlib.sha256()
    count = 0
    # One kind per run: in a screening ``other`` is always absent, in a deduplication
    # ``record``, so the order is the same on every database (wherever it sorts NULL).
    for record_id, resident_id, other_id, band in (
        matches.order_by("record_id", "resident_id", "other_id")
        .values_list("record_id", "resident_id", "other_id", "band")
        .iterator(chunk_size=10_000)
    ):
        line = f"{record_id or ''},{resident_id},{other_id or ''},{band}\n"
        digest.update(line.encode())
        count += 1
    return {
        "matched_residents": sorted(residents)[:AUDIT_RESIDENTS_MAX],
        "matched_residents_total": len(residents),
        "matches": count,
        "matches_sha256": digest.hexdigest(),
    }


def _risk_table(rows: list[tuple[Any, ...]]) -> pa.Table:
    """Risk records as the engine's ``RISK_COLUMNS`` plus their blind indexes.

    A valid ID number travels as its blind index only; the plain number is decrypted for
    the records whose ID failed its checksum (the engine repairs it) and the phone numbers
    (the engine looks up their one-digit variants) — for this chunk only: the table is
    dropped once the engine has answered."""
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "rec",
            "name",
            "id_number",
            "id_key",
            "phone",
            "phone_key",
            "birth",
            "gender",
            "address",
        )
    }
    for (
        pk,
        name,
        id_cipher,
        id_index,
        id_valid,
        phone_cipher,
        phone_index,
        birth,
        gender,
        address,
        *_line,
    ) in rows:
        columns["rec"].append(pk)
        columns["name"].append(name or None)
        repair = id_cipher is not None and not id_valid
        columns["id_number"].append(identity.decrypt(id_cipher, purpose="id") if repair else None)
        columns["id_key"].append(id_index)
        columns["phone"].append(
            identity.decrypt(phone_cipher, purpose="phone") if phone_cipher else None
        )
        columns["phone_key"].append(phone_index)
        columns["birth"].append(birth)
        columns["gender"].append(gender or None)
        columns["address"].append(address or None)
    types = {"rec": pa.int64(), "birth": pa.date32()}
    return pa.table(
        {name: pa.array(values, types.get(name, pa.string())) for name, values in columns.items()}
    )


_RISK_VALUES = (
    "pk",
    "name",
    "id_cipher",
    "id_index",
    "id_valid",
    "phone_cipher",
    "phone_index",
    "birth_date",
    "gender",
    "address",
)


def _engine_scope(run: ScreeningRun) -> tuple[str, ...] | None:
    return tuple(run.scope_paths) if run.scope_paths else None


def _screen(
    run: ScreeningRun, index: engine.ScreeningIndex, reporter: _RunProgress, chunk: int
) -> None:
    assert run.risk_list_id is not None  # noqa: S101  # a screening run has its list
    records = RiskRecord.objects.filter(risk_list_id=run.risk_list_id)
    total = records.count()
    ScreeningRun.objects.filter(pk=run.pk).update(records=total)
    scope = selectors.scope_of_paths(run.scope_paths)
    reporter.stage = "screening"
    done, last = 0, 0
    while True:
        # After the last line read, in line order: the (list, line) unique index answers it.
        rows = list(
            records.filter(line__gt=last)
            .order_by("line")
            .values_list(*_RISK_VALUES, "line")[:chunk]
        )
        if not rows:
            break
        last = rows[-1][-1]
        reporter.window = (done, len(rows), total)
        result = engine.screen(
            index,
            _risk_table(rows),
            blind=_blind,
            scope=_engine_scope(run),
            min_band=run.min_band,
            progress=reporter,
        )
        del rows
        _store(run, result.matches.to_pylist(), scope, pairs=False)
        done += reporter.window[1]
        reporter.window = None
        reporter.report("screening", done, total, force=True)


def _deduplicate(run: ScreeningRun, index: engine.ScreeningIndex, reporter: _RunProgress) -> None:
    ScreeningRun.objects.filter(pk=run.pk).update(records=len(index))
    reporter.stage = "deduplication"
    pairs = engine.deduplicate(
        index, scope=_engine_scope(run), min_band=run.min_band, progress=reporter
    )
    _store(run, pairs.to_pylist(), selectors.scope_of_paths(run.scope_paths), pairs=True)


def _explanation(row: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        f: [row.get(f"{f}_level") or "missing", round(float(row.get(f"{f}_weight") or 0.0), 2)]
        for f in engine.FIELDS
    }


def _store(run: ScreeningRun, rows: list[dict[str, Any]], scope: Scope, *, pairs: bool) -> None:
    """Write the engine's matches (or pairs) that lie in ``scope``, ``MATCH_BATCH`` at a
    time. Paths come from the registry as it is now (a resident may have moved since the
    index was refreshed); a resident deleted meanwhile is skipped. Ranks are counted again
    among the stored candidates of each record, best first."""
    if not pairs:
        by_record: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_record[int(row["rec"])].append(row)
        rows = []
        for candidates in by_record.values():
            candidates.sort(key=lambda r: (-float(r["weight"]), int(r["rid"])))
            rows.extend(candidates)
    # Candidates of one record are consecutive, but may straddle two batches.
    rank: dict[int, int] = defaultdict(int)
    for start in range(0, len(rows), MATCH_BATCH):
        part = rows[start : start + MATCH_BATCH]
        ids = {int(r["rid"]) for r in part}
        if pairs:
            ids |= {int(r["other"]) for r in part}
        paths = dict(Resident.objects.filter(pk__in=sorted(ids)).values_list("pk", "path"))
        matches = []
        for row in part:
            rid = int(row["rid"])
            if rid not in paths:
                continue
            if pairs:
                other = int(row["other"])
                if other not in paths:
                    continue
                if not (scope.covers(paths[rid]) or scope.covers(paths[other])):
                    continue
                matches.append(
                    Match(
                        run=run,
                        resident_id=rid,
                        other_id=other,
                        path=paths[rid],
                        other_path=paths[other],
                        band=row["band"],
                        weight=float(row["weight"]),
                        probability=float(row["probability"]),
                        explanation=_explanation(row),
                    )
                )
                continue
            if not scope.covers(paths[rid]):
                continue
            record = int(row["rec"])
            rank[record] += 1
            matches.append(
                Match(
                    run=run,
                    record_id=record,
                    resident_id=rid,
                    path=paths[rid],
                    band=row["band"],
                    weight=float(row["weight"]),
                    probability=float(row["probability"]),
                    rank=rank[record],
                    explanation=_explanation(row),
                )
            )
        with transaction.atomic():
            Match.objects.bulk_create(matches)
        ScreeningRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())


def _count(run: ScreeningRun) -> None:
    """The run's counts, from what it stored: for a screening, records by their best
    candidate's band; for a deduplication, pairs by band."""
    matches = Match.objects.filter(run=run)
    if run.kind == RunKind.SCREENING:
        run.records = RiskRecord.objects.filter(risk_list_id=run.risk_list_id).count()
        run.matched_records = matches.values("record").distinct().count()
        best = matches.filter(rank=1)
    else:
        run.records = int(
            ScreeningRun.objects.filter(pk=run.pk).values_list("records", flat=True)[0]
        )
        run.matched_records = matches.count()
        best = matches
    by_band = dict(best.values_list("band").annotate(n=Count("pk")).values_list("band", "n"))
    run.certain = by_band.get(Band.CERTAIN, 0)
    run.probable = by_band.get(Band.PROBABLE, 0)
    run.possible = by_band.get(Band.POSSIBLE, 0)


# --- review and tasks ------------------------------------------------------------------------------


def _results_ready(run: ScreeningRun) -> None:
    """Refuse to act on a run's results before it is done (``selectors.results_refusal``):
    a queued or running run is still writing its matches, and a run that restarts deletes
    what its earlier attempt wrote — a review or task made meanwhile would go with it."""
    refusal = selectors.results_refusal(run)
    if refusal is not None:
        raise ScreeningError(refusal)


def match_review(*, actor: User, match: Match, decision: str, note: str = "") -> Review:
    """Confirm or reject a match of a run that is done (``ScreeningError`` otherwise). A
    confirmed screening match becomes a verification task for the beat the resident lives
    in; rejecting it again removes the task while it is still open (a task already done
    stays: its outcome is a record). Audited."""
    if decision not in Decision.values:
        raise ScreeningError(_("Unknown decision “%(d)s”.") % {"d": decision})
    if not selectors.may_review(actor):
        raise PermissionDenied(_("You may not review matches."))
    with transaction.atomic():
        locked = (
            # Only the match is locked (PostgreSQL locks no row of an outer join's side).
            Match.objects.select_for_update(of=("self",))
            .select_related("resident", "other", "run")
            .filter(pk=match.pk)
            .first()
        )
        if locked is None:
            raise ScreeningError(_("This match no longer exists: its run or resident is gone."))
        _results_ready(locked.run)
        # Where the residents live now, as the pages decide what a user sees.
        scope = scope_for(actor)
        if not (
            scope.covers(locked.resident.path)
            or (locked.other is not None and scope.covers(locked.other.path))
        ):
            raise PermissionDenied(_("This match is outside your jurisdiction."))
        note = (note or "").replace("\x00", "").strip()[:2_000]
        previous = Review.objects.filter(match=locked).values_list("decision", flat=True).first()
        review, _created = Review.objects.update_or_create(
            match=locked, defaults={"decision": decision, "note": note, "reviewed_by": actor}
        )
        task_id = None
        if locked.record_id is not None and decision == Decision.CONFIRMED:
            task, _made = VerificationTask.objects.get_or_create(
                match=locked,
                defaults={
                    "resident": locked.resident,
                    "path": locked.resident.path or locked.path,
                },
            )
            task_id = task.pk
        elif decision == Decision.REJECTED:
            VerificationTask.objects.filter(match=locked, status=TaskStatus.OPEN).delete()
        audit_record(
            actor=actor,
            action="screening.review",
            obj=locked,
            reason=note,
            detail={
                "run": locked.run_id,
                "decision": decision,
                "previous": previous,
                "resident": locked.resident_id,
                "record": locked.record_id,
                "other": locked.other_id,
                "task": task_id,
            },
        )
    return review


def task_complete(*, actor: User, task: VerificationTask, outcome: str) -> VerificationTask:
    """Record the outcome of a verification task (what the beat team found): for a team
    whose scope covers where the resident lives now. Audited."""
    if not selectors.may_work_tasks(actor):
        raise PermissionDenied(_("You may not work this task."))
    outcome = (outcome or "").replace("\x00", "").strip()
    if not outcome:
        raise ScreeningError(_("Say what the check found."))
    with transaction.atomic():
        locked = (
            VerificationTask.objects.select_for_update()
            .select_related("resident")
            .filter(pk=task.pk)
            .first()
        )
        if locked is None:
            raise ScreeningError(_("This task no longer exists: its match was rejected."))
        if not scope_for(actor).covers(locked.resident.path or locked.path):
            raise PermissionDenied(_("You may not work this task."))
        if locked.status == TaskStatus.DONE:
            raise ScreeningError(_("This task is already done."))
        locked.status = TaskStatus.DONE
        locked.done_by = actor
        locked.done_at = timezone.now()
        locked.outcome = outcome[:2_000]
        locked.save(update_fields=["status", "done_by", "done_at", "outcome"])
        audit_record(
            actor=actor,
            action="screening.task_done",
            obj=locked,
            reason=locked.outcome,
            detail={"match": locked.match_id, "resident": locked.resident_id},
        )
    return locked


def pair_merge(*, actor: User, match: Match, keep_id: int) -> Resident:
    """Merge the two residents of a deduplication pair into the one with id ``keep_id``.

    Only a reviewer whose scope covers where both live may (``selectors.may_merge``), and
    only from a run that is done. ``ScreeningError`` says why not, also when the pair is
    gone (merged meanwhile). The rest is ``people.services.resident_merge``, which calls
    ``matches_merge`` for this app's rows. Audited here and there."""
    if match.other_id is None:
        raise ScreeningError(_("Only a pair of residents can be merged."))
    if keep_id not in (match.resident_id, match.other_id):
        raise ScreeningError(_("Keep one of the two records of the pair."))
    fresh = Match.objects.select_related("resident", "other", "run").filter(pk=match.pk).first()
    if fresh is None or fresh.other is None:
        raise ScreeningError(
            _("This pair is no longer there: one of its records was merged in the meantime.")
        )
    _results_ready(fresh.run)
    if not selectors.may_merge(actor, fresh):
        raise ScreeningError(
            _(
                "Only someone whose jurisdiction covers both records may merge them; ask "
                "a leader whose jurisdiction covers both."
            )
        )
    keep, drop = (
        (fresh.resident, fresh.other)
        if keep_id == fresh.resident_id
        else (fresh.other, fresh.resident)
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="screening.merge",
            obj=fresh,
            detail={"run": fresh.run_id, "kept": keep.pk, "dropped": drop.pk},
        )
        try:
            return resident_merge(keep=keep, drop=drop, actor=actor)
        except ValidationError as exc:
            raise ScreeningError(" ".join(exc.messages)) from exc


# --- rows that follow a resident (called by people.services) ---------------------------------------


def tasks_follow(resident_ids: Collection[int]) -> None:
    """The open verification tasks of these residents, who just moved, go to the beat they
    live in now: the task's ``path`` becomes the resident's (already saved). A task done
    stays with the team that did it. Registered with ``people.services`` (``apps.py``), so
    it runs in the transaction of the move."""
    ids = sorted(set(resident_ids))
    now_living = Resident.objects.filter(pk=OuterRef("resident_id")).values("path")[:1]
    for start in range(0, len(ids), 500):
        VerificationTask.objects.filter(
            resident_id__in=ids[start : start + 500],
            status=TaskStatus.OPEN,
            resident__path__gt="",
        ).update(path=Subquery(now_living))


def _review_record(review: Review) -> dict[str, Any]:
    return {
        "decision": review.decision,
        "note": review.note,
        "reviewed_by": review.reviewed_by_id,
        "reviewed_at": review.reviewed_at.isoformat(),
    }


def _task_record(task: VerificationTask) -> dict[str, Any]:
    return {
        "task": task.pk,
        "status": task.status,
        "outcome": task.outcome,
        "done_by": task.done_by_id,
        "done_at": task.done_at.isoformat() if task.done_at else None,
    }


def matches_merge(keep: Resident, drop: Resident, path: str) -> dict[str, Any]:
    """Move ``drop``'s matches, reviews and verification tasks onto ``keep`` before
    ``people.services.resident_merge`` deletes ``drop`` (registered in ``apps.py``; runs in
    the merge's transaction, both residents locked). Nothing reviewed or worked is lost:

    - a pair of the two records with each other is no pair any more: it goes (a review it
      had is named in the result);
    - where ``keep`` already has the equivalent match (the same record of the same run, or a
      pair with the same third resident in the same run) ``keep``'s match survives: it takes
      the stronger of the two scores, and the other's review and task move onto it when it
      has none; when both have one, the survivor's stays and the other's decision or outcome
      is named in the result (the merge's audit entry);
    - every other match and task of ``drop`` becomes ``keep``'s;
    - with ``path`` (where the kept record lives; "" for nowhere), the stored paths of all
      their matches and tasks become it: the record that remains is the one person.

    Returns what it did, for the audit entry (empty when there was nothing to do)."""
    both = (keep.pk, drop.pk)
    result: dict[str, Any] = {}
    self_pairs = Match.objects.filter(resident_id__in=both, other_id__in=both)
    reviewed = list(Review.objects.filter(match__in=self_pairs).values_list("match_id", "decision"))
    removed = self_pairs.delete()[1].get(Match._meta.label, 0)
    if removed:
        result["pairs_removed"] = removed
    if reviewed:
        result["pair_reviews_removed"] = [
            {"match": pk, "decision": decision} for pk, decision in reviewed
        ]
    # Each of drop's matches whose equivalent keep already has, with that survivor.
    theirs = list(Match.objects.filter(Q(resident=drop) | Q(other=drop)).order_by("pk"))
    mine: dict[tuple[int, str, int], Match] = {}
    for match in Match.objects.filter(Q(resident=keep) | Q(other=keep)).order_by("pk"):
        mine[_equivalence(match, keep.pk)] = match
    conflicts = [
        (match, mine[key]) for match in theirs if (key := _equivalence(match, drop.pk)) in mine
    ]
    moved_reviews, moved_tasks, kept_apart = 0, 0, []
    involved = [pk for pair in conflicts for pk in (pair[0].pk, pair[1].pk)]
    reviews = {r.match_id: r for r in Review.objects.filter(match_id__in=involved)}
    tasks = {t.match_id: t for t in VerificationTask.objects.filter(match_id__in=involved)}
    for gone, survivor in conflicts:
        apart: dict[str, Any] = {}
        review, survivor_review = reviews.get(gone.pk), reviews.get(survivor.pk)
        if review is not None and survivor_review is None:
            Review.objects.filter(pk=review.pk).update(match=survivor)
            reviews[survivor.pk] = review
            moved_reviews += 1
        elif review is not None:
            apart["review"] = _review_record(review)
        task, survivor_task = tasks.get(gone.pk), tasks.get(survivor.pk)
        if task is not None and survivor_task is None:
            VerificationTask.objects.filter(pk=task.pk).update(match=survivor, resident=keep)
            tasks[survivor.pk] = task
            moved_tasks += 1
        elif task is not None:
            apart["task"] = _task_record(task)
        if apart:
            kept_apart.append({"match": gone.pk, "kept_match": survivor.pk, **apart})
        if gone.weight > survivor.weight:
            # The stronger evidence stands: both matched the one person now left.
            survivor.band, survivor.weight = gone.band, gone.weight
            survivor.probability, survivor.explanation = gone.probability, gone.explanation
        survivor.rank = min(survivor.rank, gone.rank)
        survivor.save(update_fields=["band", "weight", "probability", "explanation", "rank"])
        # Its review and task were moved or are recorded above; they go with it.
        gone.delete()
    if conflicts:
        result["matches_merged"] = len(conflicts)
    if moved_reviews:
        result["reviews_moved"] = moved_reviews
    if moved_tasks:
        result["tasks_moved"] = moved_tasks
    if kept_apart:
        result["kept_apart"] = kept_apart
    moved = Match.objects.filter(resident=drop).update(resident=keep)
    moved += Match.objects.filter(other=drop).update(other=keep)
    if moved:
        result["matches_moved"] = moved
    tasks_moved = VerificationTask.objects.filter(resident=drop).update(resident=keep)
    if tasks_moved:
        result["tasks_of_dropped"] = tasks_moved
    if path:
        Match.objects.filter(resident=keep).exclude(path=path).update(path=path)
        Match.objects.filter(other=keep).exclude(other_path=path).update(other_path=path)
        VerificationTask.objects.filter(resident=keep).exclude(path=path).update(path=path)
    return result


def _equivalence(match: Match, me: int) -> tuple[int, str, int]:
    """What makes two matches of one person the same: the run and the record, or the run
    and the pair's other resident (whichever side ``me`` is on)."""
    if match.record_id is not None:
        return (match.run_id, "record", match.record_id)
    partner = match.other_id if match.resident_id == me else match.resident_id
    assert partner is not None  # noqa: S101  # a pair has both residents
    return (match.run_id, "pair", partner)


# --- export ----------------------------------------------------------------------------------------


def _beat_and_address(residences: Iterable[Residence]) -> tuple[str, str]:
    for residence in residences:
        beat = getattr(residence.dwelling.grid, "beat", None)
        return residence.dwelling.standard_address, beat.name if beat is not None else ""
    return "", ""


def _explained(explanation: dict[str, Any]) -> str:
    parts = []
    for name in engine.FIELDS:
        level, weight = (explanation.get(name) or ["missing", 0.0])[:2]
        if level == "missing":
            continue
        parts.append(f"{name}: {level} ({float(weight):+.1f})")
    return "; ".join(parts)


def run_export_xlsx(*, actor: User, run: ScreeningRun) -> bytes:
    """The results of a run that is done (``ScreeningError`` otherwise) in ``actor``'s
    scope as an XLSX workbook. Audited: the export carries personal data out of the platform.

    A screening: one row per candidate — list line, the record's name and masked numbers,
    band, probability, the resident, their dwelling and beat, the explanation, then the
    record's date of birth, address and note and the resident's date of birth. A
    deduplication: one row per pair, both residents with dwelling, beat and date of birth;
    a resident who lives outside ``actor``'s scope is only "outside your jurisdiction"
    (``selectors.pair_sides``): no name, date of birth, address or beat.

    For a user who may not see names (``accounts.privacy.may_see_names``: a city analyst
    not granted them) the rule of the people API holds — names masked, dates of birth as
    the year only, notes left out — and addresses are left out too (the people API shows
    an analyst the dwelling on the screen; a file leaves the platform): only the beat stays.
    """
    import openpyxl

    _require_screener(actor)
    _results_ready(run)
    names = may_see_names(actor)

    def shown(name: str) -> str:
        return name if names else mask_name(name)

    def born(day: date | None) -> str:
        if day is None:
            return ""
        return day.isoformat() if names else str(day.year)

    def told(text: str) -> str:
        return text if names else ""

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(str(_("Matches"))[:31])
    band_label = dict(Band.choices)
    rows = 0
    if run.kind == RunKind.SCREENING:
        sheet.append(
            [
                _("Line"),
                _("Name on the list"),
                _("ID number"),
                _("Phone"),
                _("Band"),
                _("Probability"),
                _("Resident"),
                _("Dwelling"),
                _("Beat"),
                _("Explanation"),
                _("Date of birth on the list"),
                _("Address on the list"),
                _("Note on the list"),
                _("Resident's date of birth"),
            ]
        )
        for record in selectors.run_records(user=actor, run=run).iterator(chunk_size=2_000):
            for match in record.candidates:  # type: ignore[attr-defined]  # prefetched
                address, beat = _beat_and_address(match.resident.current)
                sheet.append(
                    [
                        record.line,
                        shown(record.name),
                        record.id_masked,
                        record.phone_masked,
                        str(band_label.get(match.band, match.band)),
                        round(match.probability, 4),
                        shown(match.resident.name),
                        told(address),
                        beat,
                        _explained(match.explanation),
                        born(record.birth_date),
                        told(record.address),
                        told(record.note),
                        born(match.resident.birth_date),
                    ]
                )
                rows += 1
    else:
        sheet.append(
            [
                _("Resident"),
                _("Dwelling"),
                _("Beat"),
                _("Other resident"),
                _("Dwelling"),
                _("Beat"),
                _("Band"),
                _("Probability"),
                _("Explanation"),
                _("Date of birth"),
                _("Other's date of birth"),
            ]
        )
        elsewhere = str(_("outside your jurisdiction"))
        for pair in selectors.merge_candidates(user=actor, run=run).iterator(chunk_size=2_000):
            sides = []
            for resident in selectors.pair_sides(actor, pair):
                if resident is None:
                    sides.append((elsewhere, "", "", ""))
                    continue
                address, beat = _beat_and_address(resident.current)  # type: ignore[attr-defined]
                sides.append((shown(resident.name), told(address), beat, born(resident.birth_date)))
            (name, address, beat, birth), (other_name, other_address, other_beat, other_birth) = (
                sides
            )
            sheet.append(
                [
                    name,
                    address,
                    beat,
                    other_name,
                    other_address,
                    other_beat,
                    str(band_label.get(pair.band, pair.band)),
                    round(pair.probability, 4),
                    _explained(pair.explanation),
                    birth,
                    other_birth,
                ]
            )
            rows += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    audit_record(
        actor=actor,
        action="screening.export",
        obj=run,
        reason=run.purpose,
        detail={"rows": rows, "names_shown": names},
    )
    return buffer.getvalue()
