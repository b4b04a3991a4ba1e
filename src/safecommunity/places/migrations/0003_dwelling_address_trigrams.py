"""A trigram index on dwellings' standard addresses, on PostgreSQL.

The search box finds residents by an address fragment (``standard_address LIKE '%…%'``).
Without this index PostgreSQL reads every dwelling in scope for each such search (190 ms at
city scale); with it, a fragment of three or more characters is answered from the index.
``pg_trgm`` is a trusted extension (PostgreSQL 13+), so the database owner may create it.
SQLite has no such index: its scan of the dwellings stays fast enough at city scale.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

INDEX = "dwelling_address_trgm"


def create_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON places_dwelling "
        "USING gin (standard_address gin_trgm_ops)"
    )


def drop_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: other objects may have come to depend on it.
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("places", "0002_dwelling_standard_address_index"),
    ]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
