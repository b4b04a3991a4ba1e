"""Migrations: none missing, and every one of ours reversible, on SQLite and PostgreSQL.

Migrating back and forth changes the schema, so it runs in a separate Python process on a
database of its own (a temporary SQLite file, or a fresh PostgreSQL database on the test
server when the suite runs on PostgreSQL), never on the test database.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

OUR_APPS = (
    "accounts",
    "places",
    "teams",
    "people",
    "fieldwork",
    "disputes",
    "service_requests",
    "custody",
)

SCRIPT = """
import json

import django

django.setup()

from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from safecommunity.accounts.services import audit_record


def triggers():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'accounts_auditentry'"
            )
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger "
                "WHERE tgrelid = 'accounts_auditentry'::regclass AND NOT tgisinternal"
            )
        return sorted(row[0] for row in cursor.fetchall())


def our_tables():
    return sorted(
        t for t in connection.introspection.table_names()
        if t.startswith(tuple(f"{app}_" for app in OUR_APPS))
    )


def raw_delete():
    audit_record(actor=None, action="migration.probe")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_auditentry")
    except DatabaseError:
        return "refused"
    return "allowed"


OUR_APPS = OUR_APPS_GIVEN

out = {}
call_command("migrate", verbosity=0)
out["migrated"] = triggers()
call_command("migrate", "accounts", "0001", verbosity=0)
out["at_0001"] = triggers()
out["delete_at_0001"] = raw_delete()
call_command("migrate", verbosity=0)
out["again"] = triggers()
out["delete_again"] = raw_delete()
out["tables"] = our_tables()
# Dependents first: each app's zero also unapplies whatever depends on it.
for app in reversed(OUR_APPS):
    call_command("migrate", app, "zero", verbosity=0)
out["tables_at_zero"] = our_tables()
call_command("migrate", verbosity=0)
out["tables_after_zero"] = our_tables()
print(json.dumps(out))
"""


def test_no_model_change_lacks_a_migration(db: None) -> None:
    out = StringIO()

    # Exits with SystemExit(1) if a migration is missing.
    call_command("makemigrations", *OUR_APPS, check=True, dry_run=True, stdout=out)

    assert "No changes detected" in out.getvalue()


@pytest.fixture
def scratch_postgres() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the test server; dropped afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("the suite runs on SQLite; the PostgreSQL run covers this")
    import psycopg

    settings = connection.settings_dict
    name = f"sc_migrations_{uuid.uuid4().hex[:12]}"
    params = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": str(settings["PORT"] or 5432),
        "user": settings["USER"] or "postgres",
        "password": settings["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    try:
        yield f"postgresql://{params['user']}{password}@{params['host']}:{params['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate_back_and_forth(tmp_path: Path, database_url: str) -> dict[str, list[str] | str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "safecommunity.settings",
        "SECRET_KEY": "migrations-test-not-a-secret",
        "SAFECOMMUNITY_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
    }
    result = subprocess.run(  # noqa: S603  # our own interpreter and a fixed script
        [sys.executable, "-c", SCRIPT.replace("OUR_APPS_GIVEN", repr(OUR_APPS))],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, list[str] | str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def check_back_and_forth(out: dict[str, list[str] | str]) -> None:
    assert out["migrated"], "migration 0002 installs the append-only triggers"
    assert out["at_0001"] == []
    assert out["delete_at_0001"] == "allowed"
    assert out["again"] == out["migrated"]
    assert out["delete_again"] == "refused"
    assert out["tables"]
    assert out["tables_at_zero"] == []
    assert out["tables_after_zero"] == out["tables"]


def test_migrations_go_back_and_forth_on_sqlite(tmp_path: Path) -> None:
    out = migrate_back_and_forth(tmp_path, f"sqlite:///{tmp_path / 'migrations.sqlite3'}")

    check_back_and_forth(out)


def test_migrations_go_back_and_forth_on_postgresql(tmp_path: Path, scratch_postgres: str) -> None:
    out = migrate_back_and_forth(tmp_path, scratch_postgres)

    check_back_and_forth(out)
