"""The small demo city, built once for the module (a few seconds) and rolled back after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from itertools import combinations
from typing import Any

import pytest
import shapely
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone, translation

from safecommunity.accounts.models import AuditEntry, Role, User
from safecommunity.demo.generator import (
    DEMO_USERNAMES,
    build_demo_city,
    database_digest,
    plan_demo_city,
    plan_digest,
)
from safecommunity.places.geo import invalidate_locator, parse_boundary
from safecommunity.places.models import Beat, Division, DivisionKind, Dwelling, Grid, PoliceOffice
from safecommunity.places.services import beat_at, path_for_code
from safecommunity.teams.models import Assignment, DutyShift, Staff, StaffKind
from safecommunity.teams.selectors import beat_compliance, compliance_summary

SEED = 2022
TODAY = date(2025, 1, 8)  # a Wednesday
EXPECTED_COUNTS = {
    "districts": 2,
    "subdistricts": 10,
    "communities": 120,
    "grids": 200,
    "beats": 200,
    "police_stations": 10,
    "police_offices": 100,
    "community_officers": 112,
    "community_workers": 445,
    "grid_workers": 232,
    "staff": 789,
    "assignments": 877,
    "committee_posts": 112,
    "duty_shifts": 1400,
    "compounds": 446,
    "buildings": 895,
    "entrances": 1687,
    "dwellings": 27136,
}
# What beat_compliance must say about each deliberately broken beat, by breakage.
REASONS = {
    "no_responsible_officer": ["no responsible community officer"],
    "one_community_worker": ["1 community worker(s), needs at least 2"],
    "no_grid_worker": ["no grid worker"],
}


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    with django_db_blocker.unblock(), transaction.atomic():
        summary = build_demo_city(scale="small", seed=SEED, today=TODAY, residents=False)
        yield summary
        # Leave the database empty for the other test modules.
        transaction.set_rollback(True)
    invalidate_locator()


@pytest.fixture
def admin(demo: dict[str, Any], db: None) -> User:
    return User.objects.get(username="admin")


def test_it_builds_the_small_city_with_the_expected_counts(
    admin: User, demo: dict[str, Any]
) -> None:
    assert {k: demo[k] for k in EXPECTED_COUNTS} == EXPECTED_COUNTS
    kinds = dict(Division.objects.values_list("kind").annotate(n=Count("id")))
    assert kinds == {"city": 1, "district": 2, "subdistrict": 10, "community": 120}
    assert Grid.objects.count() == Beat.objects.count() == 200
    assert PoliceOffice.objects.count() == 100
    assert Staff.objects.filter(kind=StaffKind.COMMUNITY_OFFICER).count() == 112
    assert Dwelling.objects.count() == 27136
    assert set(Division.objects.filter(kind="district").values_list("code", "name")) == {
        ("120104", "南开区"),
        ("120105", "河北区"),
    }


def test_it_writes_exactly_what_it_plans_and_plans_the_same_city_every_time(
    admin: User,
) -> None:
    # The module's build planned the city once; planning it again must give the same city,
    # and the database must hold exactly that.
    assert database_digest() == plan_digest(plan_demo_city(scale="small", seed=SEED, today=TODAY))


def test_it_derives_every_path_from_the_code(admin: User) -> None:
    for kind, code, path, parent_path in Division.objects.values_list(
        "kind", "code", "path", "parent__path"
    ):
        assert path == path_for_code(kind, code)
        if parent_path:
            assert path.startswith(parent_path + ".")
    assert Division.objects.get(kind=DivisionKind.CITY).code == "120100"
    for code, path, community_code in Grid.objects.values_list("code", "path", "community__code"):
        assert len(code) == 15 and code.startswith(community_code)
        assert path == path_for_code("grid", code)
    assert not Beat.objects.exclude(path=F("grid__path")).exists()
    assert not Beat.objects.exclude(code=F("grid__code")).exists()


def test_every_beat_has_a_valid_grid_boundary(admin: User) -> None:
    boundaries = list(Beat.objects.values_list("grid__boundary", flat=True))
    assert len(boundaries) == 200
    for text in boundaries:
        assert parse_boundary(text).area > 0


def test_grids_tile_their_community_without_overlapping(admin: User) -> None:
    communities = (
        Division.objects.filter(kind=DivisionKind.COMMUNITY)
        .annotate(n=Count("grids"))
        .filter(n__gte=2)
        .order_by("code")[:15]
    )
    assert communities
    for community in communities:
        grids = [parse_boundary(g.boundary) for g in community.grids.all()]
        for a, b in combinations(grids, 2):
            assert a.intersection(b).area < 1e-9
        # Tiled to the stored precision (1e-6°, about 0.1 m): snapping the cut edges to it
        # moves them by centimetres.
        whole = parse_boundary(community.boundary)
        assert shapely.union_all(grids).symmetric_difference(whole).area < 1e-4 * whole.area


def test_compliance_lists_exactly_the_deliberately_broken_beats(
    admin: User, demo: dict[str, Any]
) -> None:
    with translation.override("en"):
        rows = beat_compliance(user=admin, only_breaking=True)
    breaking = {row.beat.code: row.problems for row in rows}
    expected = {code: REASONS[why] for code, why in demo["broken_beats"].items()}
    assert len(expected) == 3
    assert breaking == expected


def test_every_officer_holds_a_committee_post_and_answers_for_one_or_two_beats(
    admin: User,
) -> None:
    summary = compliance_summary(user=admin)
    assert summary.officers == 112 and summary.committee_share == 1.0
    per_officer = Assignment.objects.filter(kind=StaffKind.COMMUNITY_OFFICER).values("staff")
    counts = {row["n"] for row in per_officer.annotate(n=Count("id"))}
    assert counts <= {1, 2}


def test_an_office_serves_neighbouring_beats_of_one_station(admin: User) -> None:
    for office in PoliceOffice.objects.prefetch_related("beats"):
        beats = list(office.beats.all())
        assert 1 <= len(beats) <= 3
        assert {b.station_id for b in beats} == {office.station_id}
        assert office.lat is not None and office.lng is not None
        hit = beat_at(lat=office.lat, lng=office.lng)
        assert hit is not None and hit.beat_id in {b.pk for b in beats}


def test_each_office_has_a_duty_roster_for_the_current_week(admin: User) -> None:
    tz = timezone.get_default_timezone()
    monday = TODAY - timedelta(days=TODAY.weekday())
    week = DutyShift.objects.filter(
        starts_at__date__gte=monday, starts_at__date__lte=monday + timedelta(days=6)
    )
    assert week.values("office").distinct().count() == 100
    assert week.count() == 700
    shift = week.order_by("starts_at").first()
    assert shift is not None and shift.starts_at.astimezone(tz).date() == monday


def test_the_seven_demo_logins_have_their_roles_and_jurisdictions(admin: User) -> None:
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_USERNAMES)}
    assert set(users) == set(DEMO_USERNAMES)
    assert all(u.check_password("demo") and u.first_name and u.last_name for u in users.values())
    assert users["admin"].role == Role.ADMIN and users["admin"].is_superuser
    assert users["city"].jurisdiction_division.code == "120100"  # type: ignore[union-attr]
    assert users["district"].jurisdiction_division.name == "南开区"  # type: ignore[union-attr]
    station = users["station"].jurisdiction_station
    assert station is not None and station.district.code == "120104"
    beat = users["officer"].jurisdiction_beat
    assert beat is not None and beat.station_id == station.pk
    assert users["grid"].jurisdiction_beat == beat
    assert users["worker"].jurisdiction_division == beat.grid.community
    officer = Staff.objects.get(user=users["officer"])
    assert Assignment.objects.filter(staff=officer, beat=beat, responsible=True).exists()
    assert users["officer"].last_name + users["officer"].first_name == officer.name
    for username, kind in (("worker", StaffKind.COMMUNITY_WORKER), ("grid", StaffKind.GRID_WORKER)):
        staff = Staff.objects.get(user=users[username])
        assert staff.kind == kind
        assert Assignment.objects.filter(staff=staff, beat=beat).exists()
    roles = {u.username: u.role for u in users.values()}
    assert roles == {
        "admin": Role.ADMIN,
        "city": Role.CITY_ANALYST,
        "district": Role.DISTRICT_LEADER,
        "station": Role.STATION_LEADER,
        "officer": Role.COMMUNITY_OFFICER,
        "worker": Role.COMMUNITY_WORKER,
        "grid": Role.GRID_WORKER,
    }


def test_a_dwelling_lies_inside_its_grid(admin: User) -> None:
    invalidate_locator()
    dwellings = Dwelling.objects.order_by("id")[::271]
    assert len(dwellings) > 50
    for dwelling in dwellings:
        hit = beat_at(lat=dwelling.lat, lng=dwelling.lng)
        assert hit is not None and hit.grid_id == dwelling.grid_id
        assert dwelling.path == dwelling.grid.path
        assert dwelling.standard_address.startswith("天津市")


def test_it_records_the_build_in_the_audit_log(admin: User) -> None:
    entry = AuditEntry.objects.get(action="demo.build")
    assert entry.actor_id is None
    assert entry.detail["beats"] == 200 and entry.detail["seed"] == SEED


def test_a_different_seed_plans_a_different_city_of_the_same_shape() -> None:
    one = plan_demo_city(scale="small", seed=SEED + 1, today=TODAY)
    assert one.counts()["beats"] == 200 and one.counts()["police_offices"] == 100
    assert len(one.broken) == 3
