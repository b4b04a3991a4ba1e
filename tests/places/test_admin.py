"""Places in the admin: administrators only, every save audited, and an office stays with its
station (and a station with its district) once created."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import RequestFactory

from safecommunity.accounts.models import AuditEntry
from safecommunity.places.models import Beat, PoliceOffice, PoliceStation
from tests.accounts.test_admin import change_form_data
from tests.conftest import World, client_for

OFFICE_URL = "/admin/places/policeoffice/{pk}/change/"
STATION_URL = "/admin/places/policestation/{pk}/change/"


def test_it_audits_an_office_change_with_the_fields_changed(world: World) -> None:
    client = client_for(world.users["admin"])
    url = OFFICE_URL.format(pk=world.office.pk)
    data = change_form_data(client, url)

    response = client.post(url, {**data, "phone": "022-23500099", "opening_hours": "24h"})

    assert response.status_code == 302
    world.office.refresh_from_db()
    assert world.office.phone == "022-23500099"
    entry = AuditEntry.objects.get(action="admin.change", object_id=str(world.office.pk))
    assert entry.object_type == "places.policeoffice"
    assert entry.actor_username == "admin"
    assert entry.detail == {"fields": ["opening_hours", "phone"]}


def test_it_keeps_an_offices_station_read_only_on_change(world: World) -> None:
    client = client_for(world.users["admin"])
    url = OFFICE_URL.format(pk=world.office.pk)

    page = client.get(url)
    data = change_form_data(client, url)
    response = client.post(url, {**data, "station": world.other_station.pk})

    assert "station" not in page.context["adminform"].form.fields
    assert "station" in page.context["adminform"].readonly_fields
    assert response.status_code == 302
    world.office.refresh_from_db()
    assert world.office.station == world.station
    # The rule a station move would break: a beat's office belongs to the beat's station.
    assert set(Beat.objects.filter(office=world.office).values_list("station", flat=True)) == {
        world.station.pk
    }


def test_it_lets_the_station_be_chosen_when_adding_an_office_and_audits_it(
    world: World,
) -> None:
    client = client_for(world.users["admin"])

    response = client.post(
        "/admin/places/policeoffice/add/",
        {
            "station": world.other_station.pk,
            "code": "O-HB-01",
            "name": "三戒里警务室",
            "address": "河北区三戒里1号",
            "opening_hours": "08:30-17:30",
            "phone": "022-26200001",
        },
    )

    assert response.status_code == 302
    office = PoliceOffice.objects.get(code="O-HB-01")
    assert office.station == world.other_station
    entry = AuditEntry.objects.get(action="admin.add", object_id=str(office.pk))
    assert "station" in entry.detail["fields"]


def test_it_keeps_a_stations_district_read_only_on_change_and_audits_the_save(
    world: World,
) -> None:
    client = client_for(world.users["admin"])
    url = STATION_URL.format(pk=world.station.pk)
    data = change_form_data(client, url)

    response = client.post(url, {**data, "district": world.other_district.pk, "phone": "110"})

    assert response.status_code == 302
    station = PoliceStation.objects.get(pk=world.station.pk)
    assert station.district == world.district
    assert station.phone == "110"
    entry = AuditEntry.objects.get(action="admin.change", object_id=str(station.pk))
    assert entry.detail == {"fields": ["phone"]}


def test_it_audits_a_name_corrected_on_a_read_mostly_place(world: World) -> None:
    client = client_for(world.users["admin"])
    url = f"/admin/places/beat/{world.beat_a.pk}/change/"

    response = client.post(url, {"name": "学府第一警务区"})

    assert response.status_code == 302
    world.beat_a.refresh_from_db()
    assert world.beat_a.name == "学府第一警务区"
    assert AuditEntry.objects.filter(
        action="admin.change", object_id=str(world.beat_a.pk), object_type="places.beat"
    ).exists()


@pytest.mark.parametrize(
    ("model", "neighbour_sees", "other_district_sees"),
    [
        (Beat, ["beat_b"], ["beat_c"]),
        (PoliceStation, ["station"], ["other_station"]),
        (PoliceOffice, ["office"], []),
    ],
)
def test_it_still_narrows_lists_to_the_users_scope_behind_the_gate(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    model: Any,
    neighbour_sees: list[str],
    other_district_sees: list[str],
) -> None:
    """Second line of defence: should the administrators-only gate ever let a scoped user
    through, the admin's lists still go through ``scope_filter``."""
    monkeypatch.setattr("safecommunity.accounts.admin.is_site_administrator", lambda user: True)
    model_admin = admin.site._registry[model]

    for who, expected in (("neighbour", neighbour_sees), ("other_district", other_district_sees)):
        request = RequestFactory().get("/admin/")
        request.user = world.users[who]
        listed = list(model_admin.get_queryset(request))
        assert listed == [getattr(world, name) for name in expected], who
