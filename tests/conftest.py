"""Shared fixtures: a small world with two districts and neighbouring beats, and a cast of
users — one per role, plus users scoped to a single beat who must see nothing next door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.test import Client

from safecommunity.accounts.models import Role, User
from safecommunity.accounts.services import user_create
from safecommunity.places.geo import invalidate_locator
from safecommunity.places.models import (
    Beat,
    Building,
    Compound,
    Division,
    Dwelling,
    Entrance,
    Grid,
    PoliceOffice,
    PoliceStation,
)
from safecommunity.places.services import beat_create, division_create, grid_create
from safecommunity.teams.models import Staff, StaffKind
from safecommunity.teams.services import committee_post_grant, staff_assign, staff_create

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_beat_index() -> None:
    """Each test gets its own beat index: the process cache would carry one test's beats
    into the next."""
    invalidate_locator()


def square(x0: float, y0: float, size: float = 0.01) -> dict[str, object]:
    """A GeoJSON square with its south-west corner at (x0, y0) (longitude, latitude)."""
    return {
        "type": "Polygon",
        "coordinates": [
            [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
        ],
    }


@dataclass
class World:
    city: Division
    district: Division  # 南开区 with beats A and B
    other_district: Division  # 河北区 with beat C
    subdistrict: Division
    community: Division
    grid_a: Grid
    grid_b: Grid
    grid_c: Grid
    station: PoliceStation  # owns A and B
    other_station: PoliceStation  # owns C
    office: PoliceOffice
    beat_a: Beat
    beat_b: Beat
    beat_c: Beat
    dwelling_a: Dwelling
    dwelling_b: Dwelling
    officer_a: Staff
    officer_b: Staff
    users: dict[str, User]


def _dwelling(grid: Grid, name: str, lng: float, lat: float) -> Dwelling:
    compound = Compound.objects.create(
        grid=grid, name=name, address=f"{name}路1号", path=grid.path, lat=lat, lng=lng
    )
    building = Building.objects.create(compound=compound, number="1", path=grid.path)
    entrance = Entrance.objects.create(building=building, number="1", path=grid.path)
    return Dwelling.objects.create(
        entrance=entrance,
        grid=grid,
        number="101",
        floor=1,
        standard_address=f"{name}1号楼1门101",
        path=grid.path,
        lat=lat,
        lng=lng,
    )


@pytest.fixture
def world(db: None) -> World:
    city = division_create(kind="city", code="120100", name="天津市", parent=None)
    nankai = division_create(kind="district", code="120104", name="南开区", parent=city)
    hebei = division_create(kind="district", code="120105", name="河北区", parent=city)
    sub = division_create(kind="subdistrict", code="120104003", name="万兴街道", parent=nankai)
    community = division_create(kind="community", code="120104003017", name="学府社区", parent=sub)
    sub_c = division_create(kind="subdistrict", code="120105001", name="光复道街道", parent=hebei)
    community_c = division_create(
        kind="community", code="120105001001", name="三戒里社区", parent=sub_c
    )
    grid_a = grid_create(
        community=community,
        code="120104003017001",
        name="学府一网格",
        boundary=square(117.10, 39.10),
    )
    grid_b = grid_create(
        community=community,
        code="120104003017002",
        name="学府二网格",
        boundary=square(117.11, 39.10),
    )
    grid_c = grid_create(
        community=community_c,
        code="120105001001001",
        name="三戒里一网格",
        boundary=square(117.20, 39.15),
    )
    station = PoliceStation.objects.create(district=nankai, code="S-NK-01", name="万兴派出所")
    other = PoliceStation.objects.create(district=hebei, code="S-HB-01", name="光复道派出所")
    office = PoliceOffice.objects.create(
        station=station,
        code="O-NK-01",
        name="学府警务室",
        service_centre="学府社区党群服务中心",
        address="南开区学府街1号",
        opening_hours="08:30-17:30",
        phone="022-23500001",
    )
    beat_a = beat_create(
        grid=grid_a, station=station, office=office, code="B-A", name="学府一警务区"
    )
    beat_b = beat_create(
        grid=grid_b, station=station, office=office, code="B-B", name="学府二警务区"
    )
    beat_c = beat_create(grid=grid_c, station=other, code="B-C", name="三戒里警务区")
    dwelling_a = _dwelling(grid_a, "学府花园", 117.105, 39.105)
    dwelling_b = _dwelling(grid_b, "南开小区", 117.115, 39.105)
    _dwelling(grid_c, "三戒里", 117.205, 39.155)

    officer_a = staff_create(
        kind=StaffKind.COMMUNITY_OFFICER,
        name="马燕",
        path=beat_a.path,
        station=station,
        police_number="012345",
    )
    officer_b = staff_create(
        kind=StaffKind.COMMUNITY_OFFICER,
        name="王强",
        path=beat_b.path,
        station=station,
        police_number="012346",
    )
    staff_assign(staff=officer_a, beat=beat_a, responsible=True, since=date(2024, 1, 1))
    staff_assign(staff=officer_b, beat=beat_b, responsible=True, since=date(2024, 1, 1))
    committee_post_grant(
        staff=officer_a, community=community, committee="party", title="deputy_secretary"
    )
    for i in range(2):
        worker = staff_create(kind=StaffKind.COMMUNITY_WORKER, name=f"社工{i}", path=beat_a.path)
        staff_assign(staff=worker, beat=beat_a)
    grid_worker = staff_create(kind=StaffKind.GRID_WORKER, name="网格员甲", path=beat_a.path)
    staff_assign(staff=grid_worker, beat=beat_a)
    # Beat B breaks the 1+2+N rule: one community worker, no grid worker.
    worker_b = staff_create(kind=StaffKind.COMMUNITY_WORKER, name="社工乙", path=beat_b.path)
    staff_assign(staff=worker_b, beat=beat_b)

    users = {
        "admin": user_create(
            username="admin", password=PASSWORD, role=Role.ADMIN, is_superuser=True
        ),
        "city": user_create(
            username="city", password=PASSWORD, role=Role.CITY_ANALYST, jurisdiction=city
        ),
        "district": user_create(
            username="district", password=PASSWORD, role=Role.DISTRICT_LEADER, jurisdiction=nankai
        ),
        "station": user_create(
            username="station", password=PASSWORD, role=Role.STATION_LEADER, jurisdiction=station
        ),
        "officer": user_create(
            username="officer", password=PASSWORD, role=Role.COMMUNITY_OFFICER, jurisdiction=beat_a
        ),
        "worker": user_create(
            username="worker", password=PASSWORD, role=Role.COMMUNITY_WORKER, jurisdiction=community
        ),
        "grid": user_create(
            username="grid", password=PASSWORD, role=Role.GRID_WORKER, jurisdiction=beat_a
        ),
        # Neighbour: scoped to beat B only. Must see nothing of beat A, and vice versa.
        "neighbour": user_create(
            username="neighbour",
            password=PASSWORD,
            role=Role.COMMUNITY_OFFICER,
            jurisdiction=beat_b,
        ),
        "other_district": user_create(
            username="other_district",
            password=PASSWORD,
            role=Role.DISTRICT_LEADER,
            jurisdiction=hebei,
        ),
    }
    return World(
        city=city,
        district=nankai,
        other_district=hebei,
        subdistrict=sub,
        community=community,
        grid_a=grid_a,
        grid_b=grid_b,
        grid_c=grid_c,
        station=station,
        other_station=other,
        office=office,
        beat_a=beat_a,
        beat_b=beat_b,
        beat_c=beat_c,
        dwelling_a=dwelling_a,
        dwelling_b=dwelling_b,
        officer_a=officer_a,
        officer_b=officer_b,
        users=users,
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client
