"""A real server for the end-to-end tests of requests: waitress serving the WSGI app in a
subprocess on a fresh SQLite database (like tests/test_browser.py), with three beats side by
side, the middle one's officer 马燕 able to log in, and an Open311 key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import live_server

USERNAME = "officer"
PASSWORD = "requests-live-test-password"
API_KEY = "live-test-open311-key"
# The middle beat's square: 117.11…117.12, 39.10…39.11.
MIDDLE = (39.105, 117.115)
ADDRESS = "学府花园1号楼1门101"

WORLD = f"""
from datetime import date
from safecommunity.accounts.models import Role
from safecommunity.accounts.services import user_create
from safecommunity.places.models import (Building, Compound, Dwelling, Entrance, PoliceOffice,
    PoliceStation)
from safecommunity.places.services import beat_create, division_create, grid_create
from safecommunity.service_requests.services import api_key_create
from safecommunity.teams.models import StaffKind
from safecommunity.teams.services import staff_assign, staff_create

def square(x, y, size=0.01):
    return {{"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size],
            [x, y + size], [x, y]]]}}

city = division_create(kind="city", code="120100", name="天津市", parent=None)
district = division_create(kind="district", code="120104", name="南开区", parent=city)
sub = division_create(kind="subdistrict", code="120104003", name="万兴街道", parent=district)
com = division_create(kind="community", code="120104003017", name="学府社区", parent=sub)
station = PoliceStation.objects.create(district=district, code="S1", name="万兴派出所")
office = PoliceOffice.objects.create(station=station, code="O1", name="学府警务室",
    address="南开区学府街1号", opening_hours="08:30-17:30", phone="022-23500001")
beats = []
for i, name in enumerate(["学府一警务区", "学府二警务区", "学府三警务区"]):
    grid = grid_create(community=com, code=f"120104003017{{i + 1:03d}}", name=name[:2] + "网格",
                       boundary=square(117.10 + i * 0.01, 39.10))
    beats.append(beat_create(grid=grid, station=station, office=office, code=f"B{{i}}",
                             name=name))
compound = Compound.objects.create(grid=beats[1].grid, name="学府花园", address="学府花园路1号",
    path=beats[1].path, lat={MIDDLE[0]}, lng={MIDDLE[1]})
building = Building.objects.create(compound=compound, number="1", path=beats[1].path)
entrance = Entrance.objects.create(building=building, number="1", path=beats[1].path)
Dwelling.objects.create(entrance=entrance, grid=beats[1].grid, number="101", floor=1,
    standard_address="{ADDRESS}", path=beats[1].path, lat={MIDDLE[0]}, lng={MIDDLE[1]})
login = user_create(username="{USERNAME}", password="{PASSWORD}", role=Role.COMMUNITY_OFFICER,
                    jurisdiction=beats[1])
officer = staff_create(kind=StaffKind.COMMUNITY_OFFICER, name="马燕", path=beats[1].path,
                       station=station, police_number="012345")
officer.user = login
officer.save(update_fields=["user"])
staff_assign(staff=officer, beat=beats[1], responsible=True, since=date(2024, 1, 1))
api_key_create(name="live tests", key="{API_KEY}")
"""


def run_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # The world encrypts residents' contacts: the server needs the data-protection keys.
    keys = {
        "DATA_ENCRYPTION_KEY": "dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc=",
        "BLIND_INDEX_KEY": "dGVzdC1vbmx5LWluZGV4LWtleS0zMi1ieXRlcy1sb24=",
    }
    with live_server(
        tmp_path_factory.mktemp("requests-live"), WORLD, ready_path="/help/", env=keys
    ) as base:
        yield base
