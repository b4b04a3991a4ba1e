"""The kinds of request residents file (DESIGN.md, issue 4), with their attribute definitions.

The data lives in ``service_requests.catalogue``, with historical models passed in.
Reversing it removes these services again (and fails while requests use them, as it should).
"""

from typing import Any

from django.db import migrations

from safecommunity.service_requests.catalogue import SERVICES, catalogue_write


def seed(apps: Any, schema_editor: Any) -> None:
    catalogue_write(
        apps.get_model("service_requests", "Service"),
        apps.get_model("service_requests", "ServiceAttribute"),
    )


def unseed(apps: Any, schema_editor: Any) -> None:
    ServiceRequest = apps.get_model("service_requests", "ServiceRequest")
    codes = [row[0] for row in SERVICES]
    if ServiceRequest.objects.filter(service__service_code__in=codes).exists():
        raise RuntimeError("Requests use the seeded services; delete the requests first.")
    marks = ", ".join(["%s"] * len(codes))
    # Plain SQL: Django's delete collector trips over the historical models here.
    # Only placeholders are formatted in; the codes travel as parameters.
    schema_editor.execute(
        "DELETE FROM service_requests_serviceattribute WHERE service_id IN "  # noqa: S608
        f"(SELECT id FROM service_requests_service WHERE service_code IN ({marks}))",
        codes,
    )
    schema_editor.execute(
        f"DELETE FROM service_requests_service WHERE service_code IN ({marks})",  # noqa: S608
        codes,
    )


class Migration(migrations.Migration):
    dependencies = [("service_requests", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
