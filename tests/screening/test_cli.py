"""The commands: ``screen FILE`` (import, screen inline with a progress bar, counts by band
and the run id; a bad file exits 1 with one clear line) and ``dedupe``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from safecommunity.accounts.models import AuditEntry
from safecommunity.screening.models import RiskList, RunKind, RunStatus, ScreeningRun
from tests.screening.conftest import Duplicates, Population, list_rows, write_csv


def test_screen_imports_screens_and_prints_the_counts(
    population: Population, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "名单.csv", [*list_rows(), ["", "", "123", "", "", "", ""]])
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "screen",
        str(path),
        "--purpose",
        "疫情防控排查",
        "--user",
        "station",
        stdout=out,
        stderr=err,
    )
    run = ScreeningRun.objects.get()
    lines = out.getvalue().splitlines()
    assert lines[0] == f"list {run.risk_list_id}: 5 rows read, 4 kept, 1 rejected, 0 duplicate"
    assert lines[1].startswith("issues: ") and lines[1].endswith(".issues.csv")
    assert lines[-3:] == [
        "records matched: 2 of 4",
        "certain 2, probable 0, possible 0",
        f"run {run.pk}",
    ]
    assert run.status == RunStatus.DONE and run.created_by.username == "station"
    assert run.purpose == "疫情防控排查"
    # The bar went to stderr: the import, then the screening, each to 100%.
    progress = err.getvalue()
    assert "import" in progress and "screening" in progress and "100%" in progress
    assert AuditEntry.objects.filter(
        action="screening.run_finish", actor_username="station"
    ).exists()


def test_screen_names_the_list_and_keeps_the_band_asked_for(
    population: Population, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "l.csv", list_rows())
    call_command(
        "screen",
        str(path),
        "--purpose",
        "排查",
        "--user",
        "admin",
        "--name",
        "三月名单",
        "--min-band",
        "certain",
        "--no-progress",
        stdout=io.StringIO(),
    )
    run = ScreeningRun.objects.get()
    assert run.min_band == "certain" and RiskList.objects.get().name == "三月名单"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty. Nothing was imported."),
        ("来源\n卫健委\n".encode(), "no column to match on"),
        ("姓名\n".encode(), "no rows below it"),
    ],
)
def test_screen_refuses_a_bad_file_clearly(
    population: Population, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("screen", str(path), "--purpose", "x", "--user", "station")
    assert not ScreeningRun.objects.exists()


def test_screen_refuses_a_list_with_no_usable_row(population: Population, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [["姓名", "手机号"], ["", "123"]])
    with pytest.raises(CommandError, match="No row of this list can be screened"):
        call_command(
            "screen", str(path), "--purpose", "x", "--user", "station", stdout=io.StringIO()
        )
    assert not ScreeningRun.objects.exists()


def test_screen_refuses_unknown_users_and_non_screeners(
    population: Population, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "l.csv", list_rows())
    with pytest.raises(CommandError, match="no user"):
        call_command("screen", str(path), "--purpose", "x", "--user", "nobody")
    with pytest.raises(CommandError, match="may not screen"):
        call_command("screen", str(path), "--purpose", "x", "--user", "grid")
    with pytest.raises(CommandError, match="no such file"):
        call_command("screen", str(tmp_path / "missing.csv"), "--purpose", "x", "--user", "admin")


def test_a_bad_file_exits_with_status_1(tmp_path: Path) -> None:
    """Run as a program: one line on stderr, exit code 1, no traceback (every refusal above
    is the same ``CommandError``; a missing file needs no database to show it)."""
    path = tmp_path / "missing.csv"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(  # noqa: S603  # our own command, fixed arguments
        [
            sys.executable,
            "-m",
            "safecommunity.cli",
            "screen",
            str(path),
            "--purpose",
            "x",
            "--user",
            "u",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == f"CommandError: {path}: no such file"


def test_dedupe_prints_pairs_by_band(duplicates: Duplicates) -> None:
    out = io.StringIO()
    call_command(
        "dedupe",
        "--purpose",
        "实有人口查重",
        "--user",
        "district",
        stdout=out,
        stderr=io.StringIO(),
    )
    run = ScreeningRun.objects.get(kind=RunKind.DEDUPLICATION)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"pairs: 2 among {run.records} residents"
    assert lines[-1] == f"run {run.pk}"
    assert run.matched_records == 2 and run.status == RunStatus.DONE
