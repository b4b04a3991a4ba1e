"""The housing registry: a dwelling's use follows its residents unless recorded by hand, and
its page shows who lives there and when they were verified — scoped, masked, audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from safecommunity.accounts.models import AuditEntry, User
from safecommunity.people.models import DwellingVerification, Relation, Resident
from safecommunity.people.services import (
    dwelling_use_record,
    residence_move_in,
    residence_move_out,
    resident_create,
    resident_input,
)
from safecommunity.places.models import Dwelling, DwellingUse
from tests.conftest import World, client_for
from tests.people.registry import valid_id


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def en(user: User) -> Client:
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def person(name: str, sequence: int, dwelling: Dwelling | None, relation: str) -> Resident:
    born = date(1980, 5, 17)
    data = resident_input(
        name=name,
        gender="male" if sequence % 2 else "female",
        birth_date=born,
        id_number=valid_id("120104", born, sequence),
    )
    return resident_create(
        data=data, actor=None, dwelling=dwelling, since=date(2020, 1, 1), relation=relation
    )


def use_of(dwelling: Dwelling) -> str:
    dwelling.refresh_from_db()
    return dwelling.use


def test_the_use_follows_who_lives_there(world: World) -> None:
    home = world.dwelling_a
    assert use_of(home) == DwellingUse.VACANT
    owner = person("张三", 1, home, Relation.OWNER)
    assert use_of(home) == DwellingUse.OWNER_OCCUPIED
    tenant = person("李四", 3, home, Relation.TENANT)
    assert use_of(home) == DwellingUse.RENTED
    residence_move_out(resident=tenant, until=date(2024, 1, 1), actor=None)
    assert use_of(home) == DwellingUse.OWNER_OCCUPIED
    residence_move_in(
        resident=owner,
        dwelling=world.dwelling_b,
        since=date(2024, 2, 1),
        relation=Relation.TENANT,
        registered=False,
        actor=None,
    )
    assert use_of(home) == DwellingUse.VACANT
    assert use_of(world.dwelling_b) == DwellingUse.RENTED


def test_a_use_recorded_by_hand_stays_until_cleared(world: World) -> None:
    shop = world.dwelling_a
    dwelling_use_record(dwelling=shop, use=DwellingUse.BUSINESS, actor=world.users["officer"])
    person("张三", 1, shop, Relation.OWNER)  # the shopkeeper registers there
    assert use_of(shop) == DwellingUse.BUSINESS
    dwelling_use_record(dwelling=shop, use=None, actor=world.users["officer"])
    assert use_of(shop) == DwellingUse.OWNER_OCCUPIED and not shop.use_recorded
    changes = AuditEntry.objects.filter(action="dwelling.use").order_by("pk")
    assert [(e.detail["to"], e.detail["recorded"]) for e in changes] == [
        ("business", True),
        ("owner_occupied", False),
    ]


def test_the_page_shows_residents_masked_and_the_latest_stamp(world: World) -> None:
    owner = person("张三", 1, world.dwelling_a, Relation.OWNER)
    response = en(world.users["officer"]).get(
        reverse("people:dwelling", args=[world.dwelling_a.pk])
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "张三" in page and owner.id_masked in page
    assert valid_id("120104", date(1980, 5, 17), 1) not in page
    assert "Owner-occupied" in page and "never" in page
    # A city analyst sees the name masked.
    analyst = en(world.users["city"]).get(reverse("people:dwelling", args=[world.dwelling_a.pk]))
    assert analyst.status_code == 200 and "张三" not in analyst.content.decode()


def test_a_dwelling_next_door_does_not_exist(world: World) -> None:
    neighbour = en(world.users["neighbour"])
    for name in ("people:dwelling", "people:dwelling_use", "people:dwelling_verify"):
        url = reverse(name, args=[world.dwelling_a.pk])
        response = neighbour.get(url) if name == "people:dwelling" else neighbour.post(url, {})
        assert response.status_code == 404, name
    assert (
        en(world.users["officer"]).get(reverse("people:dwelling", args=[10**30])).status_code == 404
    )


def test_the_beat_team_records_the_use_and_stamps_it_verified(world: World) -> None:
    officer = en(world.users["officer"])
    url = reverse("people:dwelling_use", args=[world.dwelling_a.pk])
    assert officer.post(url, {"use": "business"}).status_code == 302
    assert use_of(world.dwelling_a) == DwellingUse.BUSINESS
    response = officer.post(url, {"use": "palace"})
    assert response.status_code == 400 and "use" in response.context["use_form"].errors
    verify = reverse("people:dwelling_verify", args=[world.dwelling_a.pk])
    assert officer.post(verify, {"method": "visit", "note": "敲门核实"}).status_code == 302
    stamp = DwellingVerification.objects.get(dwelling=world.dwelling_a)
    assert (stamp.method, stamp.note, stamp.verified_by) == (
        "visit",
        "敲门核实",
        world.users["officer"],
    )
    response = officer.post(verify, {"method": "telepathy"})
    assert response.status_code == 400 and "method" in response.context["verify_form"].errors
    assert (
        "敲门核实"
        in officer.get(reverse("people:dwelling", args=[world.dwelling_a.pk])).content.decode()
    )


def test_a_city_analyst_may_look_but_not_record(world: World) -> None:
    analyst = en(world.users["city"])
    page = analyst.get(reverse("people:dwelling", args=[world.dwelling_a.pk]))
    assert page.context["use_form"] is None and page.context["verify_form"] is None
    url = reverse("people:dwelling_use", args=[world.dwelling_a.pk])
    assert analyst.post(url, {"use": "business"}).status_code == 403
    assert use_of(world.dwelling_a) == DwellingUse.VACANT
