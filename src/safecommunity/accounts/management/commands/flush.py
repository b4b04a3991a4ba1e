"""``flush`` that can empty the append-only audit log on SQLite too.

On PostgreSQL ``flush`` truncates, which the audit log's row trigger does not see. On SQLite it
deletes row by row, which the triggers of migration 0002 refuse, so the command (and with it
every transactional test) failed once an audit row existed. Emptying the whole database is an
operator's act, not an edit of the log: on SQLite the triggers are set aside for the flush and
recreated from their own stored definitions, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as FlushCommand
from django.db import DEFAULT_DB_ALIAS, connections, transaction


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        alias = options.get("database") or DEFAULT_DB_ALIAS
        connection = connections[alias]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        with transaction.atomic(using=alias):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name = 'accounts_auditentry'"
                )
                triggers = cursor.fetchall()
                for name, _sql in triggers:
                    cursor.execute(f'DROP TRIGGER "{name}"')
            super().handle(**options)
            with connection.cursor() as cursor:
                for _name, sql in triggers:
                    cursor.execute(sql)
        return None
