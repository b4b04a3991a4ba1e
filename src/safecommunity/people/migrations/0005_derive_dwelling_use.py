"""Derive every existing dwelling's use from its current residences (see
``people.services.dwelling_use_refresh``, which keeps it current from now on)."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import Case, Exists, OuterRef, Value, When


def derive(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Dwelling = apps.get_model("places", "Dwelling")
    Residence = apps.get_model("people", "Residence")
    current = Residence.objects.filter(dwelling=OuterRef("pk"), until__isnull=True)
    Dwelling.objects.filter(use_recorded=False).update(
        use=Case(
            When(Exists(current.filter(relation="tenant")), then=Value("rented")),
            When(Exists(current), then=Value("owner_occupied")),
            default=Value("vacant"),
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0004_leaner_indexes"),
        ("places", "0004_dwelling_use"),
    ]

    # Backwards there is nothing to undo: places 0004 drops the column.
    operations = [migrations.RunPython(derive, migrations.RunPython.noop, elidable=True)]
