"""Fixtures of the teams tests: a staff member working across two districts, and a city
analyst granted the right to see names."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Permission

from safecommunity.accounts.models import User
from safecommunity.teams.models import Staff, StaffKind
from safecommunity.teams.services import committee_post_grant, staff_assign, staff_create
from tests.conftest import World


@pytest.fixture
def roaming(world: World) -> Staff:
    """李明: an officer of 光复道派出所 (河北区) who also works in beat A, holding a post in
    三戒里社区 (河北区) and one in 学府社区 (beat A's community)."""
    staff = staff_create(
        kind=StaffKind.COMMUNITY_OFFICER,
        name="李明",
        path=world.beat_c.path,
        station=world.other_station,
        police_number="022999",
        phone="13800000000",
    )
    staff_assign(staff=staff, beat=world.beat_c, responsible=True, since=date(2024, 1, 1))
    staff_assign(staff=staff, beat=world.beat_a, since=date(2024, 1, 1))
    committee_post_grant(
        staff=staff, community=world.grid_c.community, committee="party", title="member"
    )
    committee_post_grant(
        staff=staff, community=world.community, committee="residents", title="member"
    )
    return staff


@pytest.fixture
def named_city(world: World) -> User:
    """The city analyst, granted ``accounts.view_names``."""
    city = world.users["city"]
    city.user_permissions.add(Permission.objects.get(codename="view_names"))
    return User.objects.get(pk=city.pk)
