"""The requests app's migrations go back and forth, the seeded services with them, in a
process and a SQLite database of their own (never the test database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
from django.core.management import call_command
from safecommunity.service_requests.models import Service, ServiceAttribute

call_command("migrate", verbosity=0)
print(Service.objects.count(), ServiceAttribute.objects.count())
call_command("migrate", "service_requests", "zero", verbosity=0)
call_command("migrate", verbosity=0)
print(Service.objects.count(), ServiceAttribute.objects.count())
"""


def test_it_migrates_back_to_zero_and_forward_again(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        SAFECOMMUNITY_DATA_DIR=str(tmp_path),
        SECRET_KEY="migrations-test-only",
        DJANGO_SETTINGS_MODULE="safecommunity.settings",
    )
    command = str(Path(sys.executable).parent / "safecommunity")
    result = subprocess.run(  # noqa: S603  # our own command
        [command, "shell", "-c", SCRIPT], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(result.stderr[-2000:])
    assert result.stdout.split("\n")[-3:-1] == ["8 14", "8 14"]
