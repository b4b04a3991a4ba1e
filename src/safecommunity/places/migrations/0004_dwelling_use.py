"""Dwellings carry their use: owner-occupied, rented, vacant or business. The people app's
migration 0005 derives it for the dwellings that exist."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("places", "0003_dwelling_address_trigrams"),
    ]

    operations = [
        migrations.AddField(
            model_name="dwelling",
            name="use",
            field=models.CharField(
                choices=[
                    ("owner_occupied", "Owner-occupied"),
                    ("rented", "Rented"),
                    ("vacant", "Vacant"),
                    ("business", "Business"),
                ],
                default="vacant",
                max_length=16,
                verbose_name="use",
            ),
        ),
        migrations.AddField(
            model_name="dwelling",
            name="use_recorded",
            field=models.BooleanField(default=False, verbose_name="use recorded by hand"),
        ),
        migrations.AddConstraint(
            model_name="dwelling",
            constraint=models.CheckConstraint(
                condition=models.Q(("use__in", ["owner_occupied", "rented", "vacant", "business"])),
                name="dwelling_use_valid",
            ),
        ),
    ]
