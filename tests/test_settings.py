"""The real settings module (not the test settings): each case imports it in a fresh Python
with a clean environment, so what it reads from the environment is exactly what we give it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher

PROBE = """
import json
from safecommunity import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "hashers": s.PASSWORD_HASHERS,
    "time_zone": s.TIME_ZONE,
    "use_tz": s.USE_TZ,
    "language": s.LANGUAGE_CODE,
    "languages": [code for code, _ in s.LANGUAGES],
    "secret_key": s.SECRET_KEY,
    "engine": db["ENGINE"],
    "db_name": str(db["NAME"]),
    "allowed_hosts": s.ALLOWED_HOSTS,
    "debug": s.DEBUG,
    "max_failures": s.LOGIN_MAX_FAILURES,
}))
"""


def load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": "/usr/bin:/bin", "SAFECOMMUNITY_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(  # noqa: S603  # our own interpreter and a fixed script
        [sys.executable, "-c", PROBE],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def settings_with(tmp_path: Path, **env: str) -> dict[str, object]:
    result = load_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


def test_it_hashes_passwords_with_argon2_first(tmp_path: Path) -> None:
    hashers = settings_with(tmp_path, SECRET_KEY="x")["hashers"]

    assert isinstance(hashers, list)
    assert hashers[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_argon2_is_installed_and_hashes() -> None:
    hasher = Argon2PasswordHasher()

    encoded = hasher.encode("correct horse", hasher.salt())

    assert encoded.startswith("argon2$argon2id$")
    assert hasher.verify("correct horse", encoded)
    assert not hasher.verify("wrong horse", encoded)


def test_it_runs_on_shanghai_time_in_simplified_chinese_with_english(tmp_path: Path) -> None:
    loaded = settings_with(tmp_path, SECRET_KEY="x")

    assert loaded["time_zone"] == "Asia/Shanghai"
    assert loaded["use_tz"] is True
    assert loaded["language"] == "zh-hans"
    assert loaded["languages"] == ["zh-hans", "en"]


def test_it_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = load_settings(tmp_path)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_it_reads_a_secret_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    key_file.write_text("from-a-file\n", encoding="utf-8")

    assert settings_with(tmp_path, SECRET_KEY_FILE=str(key_file))["secret_key"] == "from-a-file"


def test_it_names_a_secret_file_it_cannot_read(tmp_path: Path) -> None:
    result = load_settings(tmp_path, SECRET_KEY_FILE=str(tmp_path / "missing"))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "missing" in result.stderr


def test_it_defaults_to_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    loaded = settings_with(tmp_path, SECRET_KEY="x")

    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["db_name"] == str(tmp_path / "safecommunity.sqlite3")
    assert loaded["debug"] is False


def test_it_takes_postgresql_from_database_url(tmp_path: Path) -> None:
    loaded = settings_with(
        tmp_path, SECRET_KEY="x", DATABASE_URL="postgresql://postgres@127.0.0.1:5432/sc"
    )

    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["db_name"] == "sc"


def test_it_reads_lists_and_numbers_from_the_environment(tmp_path: Path) -> None:
    loaded = settings_with(
        tmp_path, SECRET_KEY="x", ALLOWED_HOSTS="a.example, b.example", LOGIN_MAX_FAILURES="7"
    )

    assert loaded["allowed_hosts"] == ["a.example", "b.example"]
    assert loaded["max_failures"] == 7


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_it_refuses_a_boolean_it_cannot_read(tmp_path: Path, value: str) -> None:
    result = load_settings(tmp_path, SECRET_KEY="x", DEBUG=value)

    assert result.returncode != 0
    assert "DEBUG" in result.stderr
    assert "is not a boolean" in result.stderr
