"""The ``safecommunity`` command itself: configuration errors in one line, the embedded
database's folder made on first use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COMMAND = str(Path(sys.executable).parent / "safecommunity")


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "SECRET_KEY_FILE"}
    }
    env.update(extra)
    return env


def test_it_names_a_missing_secret_key_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603  # our own command
        [COMMAND, "check"],
        env=_env(SAFECOMMUNITY_DATA_DIR=str(tmp_path / "var")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_makes_the_data_folder_of_the_embedded_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet" / "there"
    result = subprocess.run(  # noqa: S603  # our own command
        [COMMAND, "migrate", "--check"],
        env=_env(SAFECOMMUNITY_DATA_DIR=str(data_dir), SECRET_KEY="cli-test"),
        capture_output=True,
        text=True,
        check=False,
    )
    # `migrate --check` exits 1 on a new database with unapplied migrations; what matters is
    # that SQLite could open its file.
    assert "unable to open database file" not in result.stderr
    assert (data_dir / "safecommunity.sqlite3").exists()
