"""Writes for screening. Pages, API, the command line and the worker all come here.

Screening is a sensitive use of the registry (DESIGN.md), so every step writes an audit
entry in the transaction of its change: a list imported (``screening.list_import``), a run
queued, started and finished (``screening.run_queue``/``run_start``/``run_finish``/
``run_fail``, with purpose, who and counts), a match reviewed, a task done, an export, a
merge.

A run is executed by ``run_execute``: the one place that calls the engine. It takes the
registry's screening index (``index_store``: built once, kept current), feeds the risk list
to ``engine.screen`` ``RUN_CHUNK`` records at a time — valid ID numbers as their blind index;
the plain number only for an ID that failed its checksum (the engine repairs it) and for
phones (the engine tries their one-digit variants), decrypted for the chunk in hand — and
stores the matches inside the run's scope. A run restarted after its worker died first deletes what the dead worker wrote, so
each match is stored once (the unique constraints on ``Match`` hold the line).
"""

from __future__ import annotations

import io
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F
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
    "pair_merge",
    "risk_list_import",
    "run_enqueue",
    "run_execute",
    "run_export_xlsx",
    "task_complete",
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
        risk_list = self.risk_list
        if risk_list.rows_kept == 0:
            return _(
                "No row of this list can be screened: all %(read)d rows were rejected or "
                "duplicates. See the issues for each row's reason."
            ) % {"read": risk_list.rows_read}
        return _(
            "%(kept)d of %(read)d rows kept; %(rejected)d rejected, %(duplicate)d duplicate "
            "rows stored once, %(issues)d issues reported."
        ) % {
            "kept": risk_list.rows_kept,
            "read": risk_list.rows_read,
            "rejected": risk_list.rows_rejected,
            "duplicate": risk_list.rows_duplicate,
            "issues": self.issue_count,
        }


def risk_list_import(
    *,
    actor: User,
    path: Path,
    file_name: str,
    name: str,
    purpose: str,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
    today: date | None = None,
) -> RiskListImport:
    """Import the risk list in ``path`` (CSV or XLSX) as ``actor``, for ``purpose``.

    One transaction: the list is stored whole, with its counts and issues file, or not at
    all. Raises ``RiskListFileError`` for a file that cannot be read (empty, not CSV/XLSX,
    no name/ID/phone column, no rows); a list whose every row is refused is stored with no
    records and says so (``RiskListImport.message``): its issues file tells why.
    """
    _require_screener(actor)
    purpose = _purpose(purpose)
    file_name = Path(file_name or path.name).name[:255]
    name = (name or "").replace("\x00", "").strip()[:200] or Path(file_name).stem[:200] or "—"
    issues_path: Path | None = None
    try:
        with transaction.atomic():
            risk_list = RiskList.objects.create(
                name=name,
                purpose=purpose,
                file_name=file_name,
                created_by=actor,
                scope_paths=selectors.scope_paths_of(actor),
            )
            issues_path = lists_folder() / f"list-{risk_list.pk}.issues.csv"
            with CsvIssueFile(issues_path) as sink:
                counts = read_risk_list(
                    risk_list=risk_list,
                    path=path,
                    issues=sink,
                    progress=progress,
                    batch_rows=batch_rows,
                    today=today,
                )
            risk_list.rows_read = counts.read
            risk_list.rows_kept = counts.kept
            risk_list.rows_rejected = counts.rejected
            risk_list.rows_duplicate = counts.duplicate
            risk_list.issues_file = str(issues_path) if counts.issues else ""
            risk_list.save(
                update_fields=[
                    "rows_read",
                    "rows_kept",
                    "rows_rejected",
                    "rows_duplicate",
                    "issues_file",
                ]
            )
            audit_record(
                actor=actor,
                action="screening.list_import",
                obj=risk_list,
                reason=purpose,
                detail=_counts_detail(file_name, counts),
            )
    except BaseException:
        if issues_path is not None:
            issues_path.unlink(missing_ok=True)
        raise
    if not counts.issues:
        issues_path.unlink(missing_ok=True)
    return RiskListImport(
        risk_list=risk_list,
        issues=counts.first_issues,
        issue_count=counts.issues,
        invalid_ids=counts.invalid_ids,
    )


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
            },
        )
    reporter.report("done", run.progress_done, run.progress_total, force=True)
    return run


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


def _residence_path(resident: Resident, fallback: str) -> str:
    return resident.path or fallback


def match_review(*, actor: User, match: Match, decision: str, note: str = "") -> Review:
    """Confirm or reject a match. A confirmed screening match becomes a verification task
    for the beat the resident lives in; rejecting it again removes the task while it is
    still open (a task already done stays: its outcome is a record). Audited."""
    if decision not in Decision.values:
        raise ScreeningError(_("Unknown decision “%(d)s”.") % {"d": decision})
    if not selectors.may_review(actor):
        raise PermissionDenied(_("You may not review matches."))
    scope = scope_for(actor)
    if not (scope.covers(match.path) or (match.other_id and scope.covers(match.other_path))):
        raise PermissionDenied(_("This match is outside your jurisdiction."))
    note = (note or "").replace("\x00", "").strip()[:2_000]
    with transaction.atomic():
        locked = Match.objects.select_for_update().select_related("resident").get(pk=match.pk)
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
                    "path": _residence_path(locked.resident, locked.path),
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
    """Record the outcome of a verification task (what the beat team found). Audited."""
    if not selectors.may_work_tasks(actor) or not scope_for(actor).covers(task.path):
        raise PermissionDenied(_("You may not work this task."))
    outcome = (outcome or "").replace("\x00", "").strip()
    if not outcome:
        raise ScreeningError(_("Say what the check found."))
    with transaction.atomic():
        locked = VerificationTask.objects.select_for_update().get(pk=task.pk)
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

    Only a reviewer whose scope covers where both live may (``selectors.may_merge``); the
    pair's matches in every run go (they would pair the kept record with itself), the rest
    is ``people.services.resident_merge``. Audited here and there."""
    if match.other_id is None:
        raise ScreeningError(_("Only a pair of residents can be merged."))
    if keep_id not in (match.resident_id, match.other_id):
        raise ScreeningError(_("Keep one of the two records of the pair."))
    fresh = Match.objects.select_related("resident", "other").get(pk=match.pk)
    if not selectors.may_merge(actor, fresh):
        raise ScreeningError(
            _(
                "Only someone whose jurisdiction covers both records may merge them; ask "
                "a leader whose jurisdiction covers both."
            )
        )
    assert fresh.other is not None  # noqa: S101  # other_id is set
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
        Match.objects.filter(resident__in=[keep, drop], other__in=[keep, drop]).delete()
        try:
            return resident_merge(keep=keep, drop=drop, actor=actor)
        except ValidationError as exc:
            raise ScreeningError(" ".join(exc.messages)) from exc


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
    """The run's matches in ``actor``'s scope as an XLSX workbook (one row per candidate:
    list line, the record's name and masked numbers, band, probability, the resident, their
    dwelling and beat, the explanation). Names are masked for a user who may not see them.
    Audited (the export carries personal data out of the platform)."""
    import openpyxl

    _require_screener(actor)
    names = may_see_names(actor)

    def shown(name: str) -> str:
        return name if names else mask_name(name)

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
                        address,
                        beat,
                        _explained(match.explanation),
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
            ]
        )
        for pair in selectors.merge_candidates(user=actor, run=run).iterator(chunk_size=2_000):
            assert pair.other is not None  # noqa: S101  # pairs only
            address, beat = _beat_and_address(pair.resident.current)  # type: ignore[attr-defined]
            other_address, other_beat = _beat_and_address(pair.other.current)  # type: ignore[attr-defined]
            sheet.append(
                [
                    shown(pair.resident.name),
                    address,
                    beat,
                    shown(pair.other.name),
                    other_address,
                    other_beat,
                    str(band_label.get(pair.band, pair.band)),
                    round(pair.probability, 4),
                    _explained(pair.explanation),
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
