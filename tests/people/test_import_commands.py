"""The import command (progress, error file beside the input, summary line), the upload
page, the background job with its progress fragment and error download, and the worker."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from safecommunity.accounts.models import AuditEntry
from safecommunity.people.models import ImportJob, ImportStatus, Resident
from safecommunity.people.tasks import (
    import_job_claim,
    import_job_enqueue,
    import_jobs_run_pending,
)
from tests.conftest import World, client_for
from tests.people.test_imports import CHINESE_HEADER, ZHANG, good_rows, write_csv


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def bad_file(tmp_path: Path) -> Path:
    rows = [CHINESE_HEADER, *good_rows()]
    rows[2] = [*rows[2]]
    rows[2][3] = ZHANG[:-1] + ("0" if ZHANG[-1] != "0" else "1")  # 李娜 with a bad ID
    return write_csv(tmp_path / "居民.csv", rows)


def test_the_command_writes_the_error_file_and_the_summary(world: World, tmp_path: Path) -> None:
    path = bad_file(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    call_command("import-residents", str(path), stdout=out, stderr=err)
    errors = tmp_path / "居民.csv.errors.csv"
    lines = out.getvalue().splitlines()
    assert lines[-1] == "created 2, updated 0, unchanged 0, rejected 1"
    assert str(errors) in out.getvalue()
    assert "import" in err.getvalue() and "100%" in err.getvalue()
    content = errors.read_text(encoding="utf-8-sig").splitlines()
    assert content[0] == "line,column,value,reason"
    assert content[1].startswith("3,身份证号,120104********")
    assert ZHANG[:-1] not in errors.read_text(encoding="utf-8-sig")
    call_command("import-residents", str(path), stdout=(again := io.StringIO()), stderr=err)
    assert again.getvalue().splitlines()[-1] == "created 0, updated 0, unchanged 2, rejected 1"


def test_the_command_fails_clearly_on_an_unreadable_file(world: World, tmp_path: Path) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01\x02" * 1000)
    with pytest.raises(CommandError, match="binary data .* Nothing was imported"):
        call_command("import-residents", str(junk), stdout=io.StringIO(), stderr=io.StringIO())
    assert not (tmp_path / "junk.csv.errors.csv").exists()
    with pytest.raises(CommandError, match="no such file"):
        call_command("import-residents", str(tmp_path / "missing.csv"))


def test_the_upload_page_queues_a_job_that_the_worker_runs(world: World, tmp_path: Path) -> None:
    client = client_for(world.users["station"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the summary is asserted in English
    assert client.get(reverse("people:import")).status_code == 200
    upload = SimpleUploadedFile("居民.csv", bad_file(tmp_path).read_bytes(), "text/csv")
    response = client.post(reverse("people:import"), {"file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("people:import_job", args=[job.pk])
    assert job.status == ImportStatus.QUEUED and Path(job.stored_file).is_file()
    page = client.get(reverse("people:import_job", args=[job.pk]))
    assert 'hx-trigger="every 1s"' in page.content.decode()

    call_command("worker", "--once", stdout=io.StringIO(), stderr=io.StringIO())
    job.refresh_from_db()
    assert (job.status, job.created, job.rejected, job.percent) == (ImportStatus.DONE, 2, 1, 100)
    assert not Path(job.stored_file).exists()  # the clear-text upload is gone
    fragment = client.get(reverse("people:import_job", args=[job.pk]), HTTP_HX_REQUEST="true")
    text = fragment.content.decode()
    assert "hx-trigger" not in text  # finished: polling stops
    assert "created 2, updated 0, unchanged 0, rejected 1" in text
    download = client.get(reverse("people:import_job_errors", args=[job.pk]))
    body = b"".join(download.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert body.splitlines()[1].startswith("3,身份证号,120104********")
    assert AuditEntry.objects.get(action="resident.import").actor == world.users["station"]


def test_the_job_uses_the_uploaders_scope(world: World, tmp_path: Path) -> None:
    upload = SimpleUploadedFile("r.csv", bad_file(tmp_path).read_bytes())
    job = import_job_enqueue(
        actor=world.users["neighbour"], upload=upload, create_missing_addresses=False
    )
    import_jobs_run_pending()
    job.refresh_from_db()
    # Beat B's officer: only 王芳's address (beat B) is a dwelling they can find.
    assert (job.created, job.rejected) == (1, 2)
    assert list(Resident.objects.values_list("name", flat=True)) == ["王芳"]


def test_others_cannot_see_a_job_and_analysts_cannot_import(world: World, tmp_path: Path) -> None:
    upload = SimpleUploadedFile("r.csv", bad_file(tmp_path).read_bytes())
    job = import_job_enqueue(
        actor=world.users["officer"], upload=upload, create_missing_addresses=False
    )
    neighbour = client_for(world.users["neighbour"])
    assert neighbour.get(reverse("people:import_job", args=[job.pk])).status_code == 404
    assert neighbour.get(reverse("people:import_job_errors", args=[job.pk])).status_code == 404
    assert client_for(world.users["city"]).get(reverse("people:import")).status_code == 404
    assert (
        client_for(world.users["officer"])
        .get(reverse("people:import_job", args=[job.pk]))
        .status_code
        == 200
    )


def test_a_job_is_claimed_once(world: World, tmp_path: Path) -> None:
    upload = SimpleUploadedFile("r.csv", b"x")
    import_job_enqueue(actor=world.users["officer"], upload=upload, create_missing_addresses=False)
    assert import_job_claim() is not None
    assert import_job_claim() is None


def test_a_job_with_an_unreadable_file_fails_with_the_reason(world: World) -> None:
    upload = SimpleUploadedFile("r.csv", "姓名,手机\n张伟,1\n".encode())
    job = import_job_enqueue(
        actor=world.users["officer"], upload=upload, create_missing_addresses=False
    )
    import_jobs_run_pending()
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "missing column(s)" in job.message and "Nothing was imported." in job.message
    page = client_for(world.users["officer"]).get(reverse("people:import_job", args=[job.pk]))
    assert "missing column(s)" in page.content.decode()


def test_the_upload_form_requires_a_file(world: World) -> None:
    response = client_for(world.users["officer"]).post(reverse("people:import"), {})
    assert response.status_code == 400
