"""Fixtures of the custody tests: a resident of beat A, an office for beat C (河北区), and
items held for beats A and B — which share one police office."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.utils import translation

from safecommunity.custody.models import CustodyItem, ItemKind
from safecommunity.custody.services import custody_receive
from safecommunity.people.models import Resident
from safecommunity.places.models import PoliceOffice
from tests.conftest import World
from tests.people.registry import register


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English; pages and the API answer in the client's language."""
    with translation.override("en"):
        yield


@dataclass
class Custody:
    world: World
    resident: Resident
    office_c: PoliceOffice
    item_a: CustodyItem  # keys of the resident of beat A, held
    item_b: CustodyItem  # a parcel held for beat B, same office


@pytest.fixture
def custody(world: World) -> Custody:
    resident = register("张桂兰", world.dwelling_a, phone="13912345678")
    office_c = PoliceOffice.objects.create(
        station=world.other_station,
        code="O-HB-01",
        name="三戒里警务室",
        address="河北区三戒里1号",
        opening_hours="09:00-17:00",
        phone="022-26200001",
    )
    world.beat_c.office = office_c
    world.beat_c.save(update_fields=["office"])
    item_a = custody_receive(
        actor=world.users["officer"],
        beat=world.beat_a,
        kind=ItemKind.KEY,
        description="家门钥匙两把",
        tag="K-001",
        owner=resident,
    )
    item_b = custody_receive(
        actor=world.users["neighbour"],
        beat=world.beat_b,
        kind=ItemKind.PARCEL,
        description="快递一件",
        tag="P-001",
        owner_name="刘大爷",
        owner_phone="13800001111",
    )
    return Custody(world, resident, office_c, item_a, item_b)
