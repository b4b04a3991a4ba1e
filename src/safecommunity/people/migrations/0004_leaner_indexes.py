"""Drop three indexes that cost every import and served nothing: name keys by resident and
residences by dwelling are answered by the composite indexes that lead with the same column,
and the phone blind index needs no LIKE index on PostgreSQL."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0003_baseline_rollup"),
        ("places", "0002_dwelling_standard_address_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="namekey",
            name="resident",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="name_keys",
                to="people.resident",
            ),
        ),
        migrations.AlterField(
            model_name="residence",
            name="dwelling",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="residences",
                to="places.dwelling",
            ),
        ),
        migrations.AlterField(
            model_name="resident",
            name="phone_index",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.AddIndex(
            model_name="resident",
            index=models.Index(fields=["phone_index"], name="resident_phone_index"),
        ),
    ]
