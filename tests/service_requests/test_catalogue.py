"""The catalogue of services: written by a data migration, and again after a flush."""

from __future__ import annotations

import pytest

from safecommunity.service_requests.catalogue import SERVICES
from safecommunity.service_requests.models import Service, ServiceAttribute
from safecommunity.service_requests.services import service_catalogue_ensure

pytestmark = pytest.mark.django_db


def test_the_migration_writes_every_kind_the_issue_names() -> None:
    codes = set(Service.objects.values_list("service_code", flat=True))
    assert codes == {row[0] for row in SERVICES}
    assert {"elderly", "keys", "hazard", "noise", "illegal_structure"} <= codes
    assert {"lost_found", "residence_certificate", "other"} <= codes


def test_it_writes_the_catalogue_again_into_an_emptied_table() -> None:
    before = sorted(Service.objects.values_list("service_code", "expected_days", "order"))
    attributes = ServiceAttribute.objects.count()
    ServiceAttribute.objects.all().delete()
    Service.objects.all().delete()

    assert service_catalogue_ensure() == len(SERVICES)

    assert sorted(Service.objects.values_list("service_code", "expected_days", "order")) == before
    assert ServiceAttribute.objects.count() == attributes


def test_it_leaves_a_written_catalogue_alone() -> None:
    Service.objects.filter(service_code="other").update(expected_days=99)

    assert service_catalogue_ensure() == len(SERVICES)

    assert Service.objects.get(service_code="other").expected_days == 99
