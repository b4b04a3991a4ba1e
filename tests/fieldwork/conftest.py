"""Field-work fixtures: residents living in beat A's dwelling, and a campaign over the
district that holds beats A and B."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from safecommunity.fieldwork.models import Campaign
from safecommunity.fieldwork.services import campaign_create
from safecommunity.people.models import Resident
from safecommunity.people.services import resident_create, resident_input
from tests.conftest import World


@pytest.fixture
def residents(world: World) -> list[Resident]:
    """Two people living in dwelling A since 2020."""
    return [
        resident_create(
            data=resident_input(name=name, gender=gender, birth_date=date(1970 + i, 1, 1)),
            actor=world.users["officer"],
            dwelling=world.dwelling_a,
            since=date(2020, 1, 1),
        )
        for i, (name, gender) in enumerate([("张伟", "male"), ("李娜", "female")])
    ]


@pytest.fixture
def campaign(world: World) -> Campaign:
    today = timezone.localdate()
    return campaign_create(
        actor=world.users["district"],
        name="万名民警进万家",
        path=world.district.path,
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=30),
    )


def hours_ago(n: float) -> datetime:
    return timezone.now() - timedelta(hours=n)
