"""Runs in the background: the worker claims queued runs once, stores progress and a
heartbeat, and a run left running by a killed worker is requeued and restarted cleanly —
without a single duplicate match."""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from safecommunity.screening import tasks
from safecommunity.screening.models import (
    Band,
    ListStatus,
    Match,
    RiskList,
    RiskRecord,
    RunStatus,
    ScreeningRun,
)
from safecommunity.screening.services import (
    ScreeningError,
    risk_list_enqueue,
    run_enqueue,
    run_execute,
)
from tests.screening.conftest import Population, imported, list_rows, write_csv


@pytest.fixture
def queued(population: Population, tmp_path: Path) -> ScreeningRun:
    risk_list = imported(population.station, write_csv(tmp_path / "l.csv", list_rows()))
    return run_enqueue(actor=population.station, risk_list=risk_list, purpose="疫情防控排查")


def test_a_queued_run_is_claimed_once(queued: ScreeningRun) -> None:
    assert queued.status == RunStatus.QUEUED
    claimed = tasks.run_claim_next()
    assert claimed is not None and claimed.pk == queued.pk
    assert claimed.status == RunStatus.RUNNING and claimed.started_at is not None
    assert tasks.run_claim_next() is None
    # Whoever holds a stale copy of the queued row cannot execute it a second time.
    with pytest.raises(ScreeningError, match="already being executed"):
        run_execute(queued)


def test_the_worker_executes_queued_runs(queued: ScreeningRun) -> None:
    out = io.StringIO()
    call_command("worker", "--once", stdout=out, stderr=io.StringIO())
    assert "ran 1 screening run(s)" in out.getvalue()
    queued.refresh_from_db()
    assert queued.status == RunStatus.DONE and queued.attempts == 1
    assert queued.matched_records == 2 and queued.heartbeat_at is not None
    assert queued.stage == "done" and queued.progress_done == queued.progress_total


def test_progress_and_heartbeat_are_stored_while_running(
    queued: ScreeningRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the page's progress bar reads: the stage and counts on the run, written as the
    run goes (seen here from inside the engine's progress hook)."""
    from safecommunity.screening import engine, services

    monkeypatch.setattr(services, "PROGRESS_EVERY", 0.0)
    seen: list[tuple[str, int, int, Any]] = []
    real = engine.screen

    def watching(index: Any, risk: Any, **kwargs: Any) -> Any:
        def hook(stage: str, done: int, total: int) -> None:
            kwargs["progress"](stage, done, total)
            row = ScreeningRun.objects.get(pk=queued.pk)
            seen.append((row.stage, row.progress_done, row.progress_total, row.heartbeat_at))

        return real(index, risk, **{**kwargs, "progress": hook})

    monkeypatch.setattr(engine, "screen", watching)
    run_execute(queued)
    assert seen and all(stage == "screening" and total == 4 for stage, _d, total, _h in seen)
    assert all(heartbeat is not None for *_rest, heartbeat in seen)


def test_a_run_of_a_killed_worker_restarts_cleanly(
    population: Population, queued: ScreeningRun
) -> None:
    """The worker died mid-run: the run is left ``running`` with some matches stored. The
    next worker requeues it (its heartbeat is old), and the new attempt deletes what the dead
    one wrote before writing again: every match is stored once."""
    claimed = tasks.run_claim_next()
    assert claimed is not None
    partial = Match.objects.create(
        run=claimed,
        record=claimed.risk_list.records.get(line=2),  # type: ignore[union-attr]
        resident=population.zhang,
        path=population.zhang.path,
        band=Band.CERTAIN,
        weight=30.0,
        probability=1.0,
        explanation={"id": ["exact", 9.9]},
    )
    stale = timezone.now() - tasks.STALE_AFTER - timedelta(minutes=1)
    ScreeningRun.objects.filter(pk=claimed.pk).update(heartbeat_at=stale, stage="screening")
    # A live run (recent heartbeat) is left alone; the dead one goes back to the queue.
    assert tasks.runs_requeue_stale(now=stale + timedelta(minutes=5)) == 0
    assert tasks.runs_requeue_stale() == 1
    claimed.refresh_from_db()
    assert claimed.status == RunStatus.QUEUED
    assert tasks.runs_execute_pending() == 1
    claimed.refresh_from_db()
    assert claimed.status == RunStatus.DONE and claimed.attempts == 1
    assert not Match.objects.filter(pk=partial.pk).exists()
    pairs = list(Match.objects.filter(run=claimed).values_list("record__line", "resident_id"))
    assert len(pairs) == len(set(pairs))
    assert (2, population.zhang.pk) in pairs and claimed.matched_records == 2


def test_a_run_executed_twice_stores_its_matches_once(
    population: Population, queued: ScreeningRun
) -> None:
    """Even executing the same claimed run again (a restart from the command line) leaves
    one set of matches, counted once."""
    run_execute(queued)
    first = sorted(Match.objects.filter(run=queued).values_list("record_id", "resident_id"))
    ScreeningRun.objects.filter(pk=queued.pk).update(status=RunStatus.RUNNING)
    queued.refresh_from_db()
    run_execute(queued)
    again = sorted(Match.objects.filter(run=queued).values_list("record_id", "resident_id"))
    assert first == again and queued.attempts == 2 and queued.matched_records == 2


def test_the_worker_requeues_stale_runs_when_it_starts(queued: ScreeningRun) -> None:
    claimed = tasks.run_claim_next()
    assert claimed is not None
    ScreeningRun.objects.filter(pk=claimed.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=2)
    )
    err = io.StringIO()
    call_command("worker", "--once", stdout=io.StringIO(), stderr=err)
    assert "requeued 1 stale screening run(s)" in err.getvalue()
    claimed.refresh_from_db()
    assert claimed.status == RunStatus.DONE


def test_a_failed_run_does_not_stop_the_worker(
    population: Population, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safecommunity.screening import engine

    risk_list = imported(population.station, write_csv(tmp_path / "l.csv", list_rows()))
    first = run_enqueue(actor=population.station, risk_list=risk_list, purpose="a")
    second = run_enqueue(actor=population.station, risk_list=risk_list, purpose="b")
    real = engine.screen
    calls = []

    def first_fails(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "screen", first_fails)
    assert tasks.runs_execute_pending() == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == RunStatus.FAILED and second.status == RunStatus.DONE


class _Stop(Exception):
    """Ends the worker's endless loop in a test."""


def test_the_worker_takes_up_a_run_that_goes_stale_while_it_runs(
    queued: ScreeningRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker was killed mid-run and a new one started at once: at its start the run's
    heartbeat is still fresh, so the run looks alive. Ten minutes on it is stale, and the
    running worker — which looks again every minute, not only when it starts — takes it
    up and finishes it."""
    from safecommunity.people.management.commands import worker

    claimed = tasks.run_claim_next()  # by the worker that is then killed
    assert claimed is not None
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        naps: list[float] = []

        def nap(seconds: float) -> None:
            claimed.refresh_from_db()
            if claimed.status == RunStatus.DONE or len(naps) > 60:
                raise _Stop
            naps.append(seconds)
            traveller.shift(timedelta(seconds=30))

        monkeypatch.setattr(worker.time, "sleep", nap)
        err = io.StringIO()
        with pytest.raises(_Stop):
            call_command("worker", stdout=io.StringIO(), stderr=err)
    assert claimed.status == RunStatus.DONE and claimed.attempts == 1
    assert "requeued 1 stale screening run(s)" in err.getvalue()
    # Taken up once stale (ten minutes after its last heartbeat), not before.
    assert 20 <= len(naps) <= 24


# --- risk lists in the background ---------------------------------------------------------------


def queued_list(population: Population, content: bytes) -> RiskList:
    return risk_list_enqueue(
        actor=population.station,
        upload=SimpleUploadedFile("l.csv", content),
        name="",
        purpose="疫情防控排查",
    )


def list_csv() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(list_rows())
    return buffer.getvalue().encode()


def test_a_list_of_a_killed_worker_is_imported_again_from_a_clean_slate(
    population: Population,
) -> None:
    risk_list = queued_list(population, list_csv())
    claimed = tasks.risk_list_claim_next()
    assert claimed is not None and claimed.status == ListStatus.IMPORTING
    assert tasks.risk_list_claim_next() is None
    # The dead worker had written one record.
    RiskRecord.objects.create(risk_list=claimed, line=2, name="张伟")
    stale = timezone.now() - tasks.STALE_AFTER - timedelta(minutes=1)
    RiskList.objects.filter(pk=claimed.pk).update(heartbeat_at=stale)
    assert tasks.risk_lists_requeue_stale(now=stale + timedelta(minutes=5)) == 0  # alive
    assert tasks.risk_lists_requeue_stale() == 1
    risk_list.refresh_from_db()
    assert risk_list.status == ListStatus.QUEUED and not risk_list.records.exists()
    assert tasks.risk_lists_import_pending() == 1
    risk_list.refresh_from_db()
    assert risk_list.status == ListStatus.DONE and risk_list.records.count() == 4
    assert sorted(risk_list.records.values_list("line", flat=True)) == [2, 3, 4, 5]


def test_a_stale_list_whose_upload_is_gone_fails(population: Population) -> None:
    risk_list = queued_list(population, list_csv())
    claimed = tasks.risk_list_claim_next()
    assert claimed is not None
    Path(claimed.stored_file).unlink()
    RiskList.objects.filter(pk=claimed.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert tasks.risk_lists_requeue_stale() == 1
    risk_list.refresh_from_db()
    assert risk_list.status == ListStatus.FAILED and "upload the list again" in risk_list.message


def test_old_uploads_are_swept_but_not_those_still_waiting(population: Population) -> None:
    waiting = Path(queued_list(population, list_csv()).stored_file)
    folder = waiting.parent
    leftover, fresh = folder / "leftover.csv", folder / "fresh.csv"
    for path in (leftover, fresh):
        path.write_bytes(b"x")
    two_days_ago = (timezone.now() - timedelta(days=2)).timestamp()
    for path in (leftover, waiting):
        os.utime(path, (two_days_ago, two_days_ago))
    assert tasks.uploads_sweep() == 1
    assert not leftover.exists() and fresh.exists() and waiting.exists()
