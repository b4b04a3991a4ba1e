"""Background resident imports: an uploaded file becomes a queued ``ImportJob``; a worker
(``safecommunity worker``) claims it and runs ``people.imports.import_residents``, storing
progress and counts on the job as it goes.

Why not Django's tasks API (the ``django-tasks`` backport)? It needs its apps and a backend
in settings and a database table of its own; an import needs its own row anyway (file,
progress, counts, error file), so the job table is the queue: a worker claims the oldest
queued job with a conditional ``UPDATE … WHERE status = 'queued'`` and checks the row count,
so two workers never run one job. A job left ``running`` by a worker that died is put back
in the queue by ``import_jobs_requeue_stale`` (``safecommunity worker`` calls it at start).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.models import User
from safecommunity.people.imports import (
    CsvIssueFile,
    ImportFileError,
    ImportResult,
    import_residents,
)
from safecommunity.people.models import ImportJob, ImportStatus

logger = logging.getLogger(__name__)

# A job still running this long after it started is taken to belong to a dead worker. A
# single import of 14 million rows can take longer: run one worker, or raise this.
STALE_AFTER = timedelta(hours=1)


def import_folder() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def import_job_enqueue(
    *, actor: User, upload: UploadedFile[bytes], create_missing_addresses: bool
) -> ImportJob:
    """Store the uploaded file under the data folder and queue its import."""
    suffix = Path(upload.name or "").suffix.lower()[:10]
    stored = import_folder() / f"{uuid.uuid4().hex}{suffix if suffix.isascii() else ''}"
    with stored.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    stored.chmod(0o600)
    return ImportJob.objects.create(
        created_by=actor,
        file_name=Path(upload.name or "upload").name[:255],
        stored_file=str(stored),
        create_missing_addresses=create_missing_addresses,
        progress_total=stored.stat().st_size,
    )


def import_job_claim() -> ImportJob | None:
    """The oldest queued job, now ``running`` and this worker's; None when none is queued."""
    for pk in (
        ImportJob.objects.filter(status=ImportStatus.QUEUED)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:10]
    ):
        claimed = ImportJob.objects.filter(pk=pk, status=ImportStatus.QUEUED).update(
            status=ImportStatus.RUNNING, started_at=timezone.now()
        )
        if claimed == 1:
            return ImportJob.objects.select_related("created_by").get(pk=pk)
    return None


def import_job_run(job: ImportJob) -> ImportJob:
    """Run a claimed job to the end: ``done`` with its counts, or ``failed`` with a message.
    The uploaded file (personal data in the clear) is deleted either way."""
    errors_path = import_folder() / f"job-{job.pk}.errors.csv"
    last_save = [0.0]

    def progress(done: int, total: int, result: ImportResult) -> None:
        now = timezone.now().timestamp()
        if now - last_save[0] < 0.5:
            return
        last_save[0] = now
        ImportJob.objects.filter(pk=job.pk).update(
            progress_done=done,
            progress_total=total,
            rows_done=result.rows,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            rejected=result.rejected,
        )

    status, message = ImportStatus.DONE, ""
    result = ImportResult()
    try:
        with CsvIssueFile(errors_path) as issues:
            result = import_residents(
                path=Path(job.stored_file),
                actor=job.created_by,
                issues=issues,
                create_missing_addresses=job.create_missing_addresses,
                progress=progress,
                file_name=job.file_name,
                # The progress written above must be visible to the page as it goes, which
                # the one transaction of a first load would hide until the end.
                defer_indexes=False,
            )
    except ImportFileError as exc:
        status, message = ImportStatus.FAILED, str(exc) + " " + _("Nothing was imported.")
    except Exception:  # a worker must record the failure and go on with the next job
        logger.exception("resident import job %s failed", job.pk)
        status, message = (
            ImportStatus.FAILED,
            _("The import stopped on an internal error; rows up to the last batch are kept."),
        )
    finally:
        Path(job.stored_file).unlink(missing_ok=True)
    job.status = status
    job.message = message
    job.finished_at = timezone.now()
    job.rows_done = result.rows
    job.created, job.updated = result.created, result.updated
    job.unchanged, job.rejected = result.unchanged, result.rejected
    if status == ImportStatus.DONE:
        job.progress_done = job.progress_total
    job.error_file = str(errors_path) if result.issues else ""
    if not result.issues:
        errors_path.unlink(missing_ok=True)
    job.save(
        update_fields=[
            "status",
            "message",
            "finished_at",
            "rows_done",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "progress_done",
            "error_file",
        ]
    )
    return job


def import_jobs_run_pending(*, limit: int | None = None) -> int:
    """Claim and run queued jobs until none is left (or ``limit`` ran). Returns how many."""
    ran = 0
    while limit is None or ran < limit:
        job = import_job_claim()
        if job is None:
            break
        import_job_run(job)
        ran += 1
    return ran


def import_jobs_requeue_stale() -> int:
    """Jobs left ``running`` by a worker that died go back to the queue, from the start:
    the import is idempotent, so the rows it had written are simply unchanged."""
    cutoff = timezone.now() - STALE_AFTER
    with transaction.atomic():
        return ImportJob.objects.filter(status=ImportStatus.RUNNING, started_at__lt=cutoff).update(
            status=ImportStatus.QUEUED, started_at=None
        )
