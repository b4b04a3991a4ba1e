"""Compliance, staff and duty roster pages, each limited to the user's jurisdiction."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from safecommunity.accounts.models import User
from safecommunity.places.models import PoliceOffice
from safecommunity.places.services import beat_create, grid_create
from safecommunity.teams.models import Staff, StaffKind
from safecommunity.teams.services import duty_shift_create, staff_assign, staff_create
from safecommunity.teams.views import OFFICES_PER_PAGE
from tests.conftest import World, client_for

NOW = "2025-03-05 09:00 +0800"  # a Wednesday


def _shift(
    world: World,
    day: int,
    hour: int,
    office: PoliceOffice | None = None,
    staff: Staff | None = None,
) -> None:
    tz = timezone.get_current_timezone()
    start = datetime(2025, 3, day, hour, tzinfo=tz)
    duty_shift_create(
        office=office or world.office,
        staff=staff or world.officer_a,
        starts_at=start,
        ends_at=start + timedelta(hours=8),
    )


# Compliance ---------------------------------------------------------------------------------


def test_it_shows_compliance_with_the_breaking_beats_and_why(world: World) -> None:
    response = client_for(world.users["district"]).get(reverse("teams:compliance"))
    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.beats, summary.compliant) == (2, 1)
    assert summary.officers_with_post == 1 and summary.officers == 2
    breaking = response.context["breaking"]
    assert [row.beat.name for row in breaking] == ["学府二警务区"]
    assert len(breaking[0].problems) == 2
    assert response.context["stations"][0].breaking == 1
    assert "万兴派出所".encode() in response.content


def test_it_shows_nothing_of_a_neighbouring_beat_in_compliance(world: World) -> None:
    response = client_for(world.users["officer"]).get(reverse("teams:compliance"))
    assert response.context["summary"].beats == 1
    assert response.context["breaking"] == []
    assert "学府二警务区".encode() not in response.content
    response = client_for(world.users["neighbour"]).get(reverse("teams:compliance"))
    assert "学府一警务区".encode() not in response.content
    assert "马燕".encode() not in response.content


def test_it_counts_compliance_queries_independently_of_beats(
    world: World, django_assert_max_num_queries: object
) -> None:
    client = client_for(world.users["city"])
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        assert client.get(reverse("teams:compliance")).status_code == 200


# Staff --------------------------------------------------------------------------------------


def test_it_lists_staff_with_their_beats(world: World) -> None:
    response = client_for(world.users["district"]).get(reverse("teams:staff"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "马燕" in content and "王强" in content and "网格员甲" in content
    assert reverse("places:beat", args=[world.beat_a.pk]) in content


def test_it_filters_staff_by_kind(world: World) -> None:
    response = client_for(world.users["district"]).get(
        reverse("teams:staff"), {"kind": StaffKind.GRID_WORKER}
    )
    names = [person.name for person, _, _ in response.context["people"]]
    assert names == ["网格员甲"]


def test_it_refuses_an_unknown_staff_kind_with_a_message(world: World) -> None:
    response = client_for(world.users["district"]).get(reverse("teams:staff"), {"kind": "boss"})
    assert response.status_code == 400
    assert response.context["form"].errors["kind"]


def test_it_hides_neighbouring_staff_and_their_other_beats(world: World) -> None:
    # 王强 works for beat B and also helps in beat A: the neighbour sees him, not beat A.
    staff_assign(staff=world.officer_b, beat=world.beat_a, since=date(2024, 1, 1))
    response = client_for(world.users["neighbour"]).get(reverse("teams:staff"))
    content = response.content.decode()
    assert "王强" in content
    assert "马燕" not in content and "网格员甲" not in content
    assert "学府一警务区" not in content
    assert reverse("places:beat", args=[world.beat_a.pk]) not in content


def test_it_paginates_staff_without_n_plus_one(
    world: World, django_assert_max_num_queries: object
) -> None:
    for i in range(60):
        person = staff_create(
            kind=StaffKind.GRID_WORKER, name=f"网格员{i:02d}", path=world.beat_a.path
        )
        staff_assign(staff=person, beat=world.beat_a)
    client = client_for(world.users["district"])
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        response = client.get(reverse("teams:staff"), {"kind": StaffKind.GRID_WORKER})
    assert response.context["page"].paginator.count == 61
    assert len(response.context["people"]) == 50
    response = client.get(reverse("teams:staff"), {"kind": StaffKind.GRID_WORKER, "page": "2"})
    assert len(response.context["people"]) == 11
    assert b"kind=grid_worker&amp;page=1" in response.content


# Duty roster --------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_it_shows_this_weeks_roster_by_office(world: World) -> None:
    _shift(world, 3, 8)  # Monday
    _shift(world, 9, 8)  # Sunday
    _shift(world, 10, 8)  # next Monday: not this week
    response = client_for(world.users["officer"]).get(reverse("teams:roster"))
    assert response.status_code == 200
    [(office, cells)] = response.context["table"]
    assert office == world.office
    assert [len(cell) for cell in cells] == [1, 0, 0, 0, 0, 0, 1]
    assert "马燕".encode() in response.content


@time_machine.travel(NOW, tick=False)
def test_it_shows_one_day_of_the_roster(world: World) -> None:
    _shift(world, 5, 8)
    _shift(world, 6, 8)
    response = client_for(world.users["officer"]).get(reverse("teams:roster"), {"view": "day"})
    [(_, cells)] = response.context["table"]
    assert [len(cell) for cell in cells] == [1]


@time_machine.travel(NOW, tick=False)
def test_it_filters_the_roster_by_office(world: World) -> None:
    _shift(world, 5, 8)
    client = client_for(world.users["district"])
    response = client.get(reverse("teams:roster"), {"office": world.office.pk})
    assert response.status_code == 200
    assert len(response.context["table"]) == 1


@time_machine.travel(NOW, tick=False)
def test_it_refuses_an_office_outside_the_jurisdiction(world: World) -> None:
    _shift(world, 5, 8)
    response = client_for(world.users["other_district"]).get(
        reverse("teams:roster"), {"office": world.office.pk}
    )
    assert response.status_code == 400
    assert response.context["table"] == []
    assert "学府警务室".encode() not in response.content


@pytest.mark.parametrize("params", [{"start": "someday"}, {"view": "year"}, {"office": "x"}])
def test_it_refuses_malformed_roster_filters_with_a_message(
    world: World, params: dict[str, str]
) -> None:
    response = client_for(world.users["officer"]).get(reverse("teams:roster"), params)
    assert response.status_code == 400
    assert response.context["form"].errors


@time_machine.travel(NOW, tick=False)
def test_it_shows_nothing_of_a_neighbouring_office_in_the_roster(world: World) -> None:
    _shift(world, 5, 8)
    response = client_for(world.users["other_district"]).get(reverse("teams:roster"))
    assert response.context["table"] == []
    assert "马燕".encode() not in response.content


@time_machine.travel(NOW, tick=False)
def test_it_builds_the_roster_without_n_plus_one(
    world: World, django_assert_max_num_queries: object
) -> None:
    for day in range(3, 10):
        _shift(world, day, 8)
        _shift(world, day, 16)
    client = client_for(world.users["district"])
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        response = client.get(reverse("teams:roster"))
    [(_, cells)] = response.context["table"]
    assert sum(len(c) for c in cells) == 14


@time_machine.travel(NOW, tick=False)
def test_it_shows_each_beat_only_its_own_staffs_shifts_at_a_shared_office(world: World) -> None:
    # 学府警务室 serves beats A and B: 马燕 (A) and 王强 (B) both have shifts there.
    _shift(world, 5, 8)
    _shift(world, 5, 16, staff=world.officer_b)
    office_page = reverse("places:office", args=[world.office.pk])
    for username, mine, theirs in (("officer", "马燕", "王强"), ("neighbour", "王强", "马燕")):
        client = client_for(world.users[username])
        for url in (reverse("teams:roster"), office_page):
            content = client.get(url).content.decode()
            assert mine in content, (username, url)
            assert theirs not in content, (username, url)
    content = client_for(world.users["station"]).get(office_page).content.decode()
    assert "马燕" in content and "王强" in content


@pytest.mark.parametrize(
    "query",
    [
        "start=9999-12-31",
        "start=9999-12-31&view=day",
        "start=0001-01-01",
        "start=0001-01-01&view=day",
    ],
)
def test_it_refuses_a_roster_start_beyond_the_calendar_it_keeps(world: World, query: str) -> None:
    response = client_for(world.users["officer"]).get(reverse("teams:roster") + "?" + query)
    assert response.status_code == 400
    assert response.context["form"].errors["start"]
    assert "2000-01-01" in response.content.decode()


def test_it_hides_a_station_out_of_scope_in_the_staff_list(world: World, roaming: Staff) -> None:
    content = client_for(world.users["officer"]).get(reverse("teams:staff")).content.decode()
    assert "李明" in content
    assert "光复道派出所" not in content
    content = client_for(world.users["other_district"]).get(reverse("teams:staff")).content
    assert "光复道派出所" in content.decode()


# Names --------------------------------------------------------------------------------------


def _pages(world: World) -> list[str]:
    return [
        reverse("places:beat", args=[world.beat_a.pk]),
        reverse("places:office", args=[world.office.pk]),
        reverse("teams:staff"),
        reverse("teams:roster"),
    ]


@time_machine.travel(NOW, tick=False)
def test_it_masks_names_numbers_and_phones_for_a_city_analyst(world: World) -> None:
    _shift(world, 5, 8)
    world.officer_a.phone = "13900000000"
    world.officer_a.save(update_fields=["phone"])
    client = client_for(world.users["city"])
    for url in _pages(world):
        content = client.get(url).content.decode()
        assert "马*" in content, url
        assert "马燕" not in content, url
        assert "012345" not in content and "13900000000" not in content, url


@time_machine.travel(NOW, tick=False)
def test_it_shows_names_to_a_city_analyst_granted_them(world: World, named_city: User) -> None:
    _shift(world, 5, 8)
    client = client_for(named_city)
    for url in _pages(world):
        assert "马燕" in client.get(url).content.decode(), url
    assert "012345" in client.get(reverse("places:beat", args=[world.beat_a.pk])).content.decode()


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("username", ["district", "station", "officer"])
def test_it_shows_names_to_the_people_working_the_beats(world: World, username: str) -> None:
    _shift(world, 5, 8)
    client = client_for(world.users[username])
    for url in _pages(world):
        content = client.get(url).content.decode()
        assert "马燕" in content and "马*" not in content, url
    assert "012345" in client.get(reverse("places:beat", args=[world.beat_a.pk])).content.decode()


# Home ---------------------------------------------------------------------------------------


def test_it_counts_what_lies_in_the_jurisdiction_on_the_home_page(world: World) -> None:
    response = client_for(world.users["district"]).get(reverse("home"))
    assert response.status_code == 200
    ctx = response.context
    assert (ctx["beats"], ctx["stations"], ctx["offices"], ctx["dwellings"]) == (2, 1, 1, 2)
    assert dict((str(k), v) for k, v in ctx["divisions"])  # labels present
    assert [n for _, n in ctx["divisions"]] == [1, 1, 1]
    assert ctx["staff_total"] == 6
    assert ctx["summary"].beats == 2


def test_it_counts_only_the_neighbours_beat_on_the_home_page(
    world: World, django_assert_max_num_queries: object
) -> None:
    client = client_for(world.users["neighbour"])
    with django_assert_max_num_queries(15):  # type: ignore[operator]
        response = client.get(reverse("home"))
    ctx = response.context
    assert (ctx["beats"], ctx["dwellings"], ctx["staff_total"]) == (1, 1, 2)
    assert ctx["summary"].compliant == 0


def test_it_groups_compliance_by_district_for_a_city_wide_user(world: World) -> None:
    # Beat C (河北区) has no team at all; beat B (南开区) breaks the rule too.
    response = client_for(world.users["city"]).get(reverse("teams:compliance"))
    districts = {row.place.name: (row.beats, row.breaking) for row in response.context["districts"]}
    assert districts == {"南开区": (2, 1), "河北区": (1, 1)}


def test_it_shows_no_district_table_inside_one_district(world: World) -> None:
    response = client_for(world.users["district"]).get(reverse("teams:compliance"))
    assert response.context["districts"] == []


@time_machine.travel(NOW, tick=False)
def test_it_pages_the_roster_by_office_and_shows_offices_without_shifts(world: World) -> None:
    """A city has thousands of offices: the roster shows a page of them, each with its week,
    empty days included."""
    for i in range(OFFICES_PER_PAGE):
        office = PoliceOffice.objects.create(
            station=world.station,
            code=f"O-NK-{i + 10:02d}",
            name=f"第{i}警务室",
            address="南开区",
            opening_hours="08:30-17:30",
            phone="022-23500000",
        )
        grid = grid_create(
            community=world.community, code=f"120104003017{i + 10:03d}", name=f"网格{i}"
        )
        beat_create(grid=grid, station=world.station, office=office, code=f"B-X{i}", name=f"{i}")
    _shift(world, 5, 8)
    client = client_for(world.users["station"])

    first = client.get(reverse("teams:roster"))
    second = client.get(reverse("teams:roster"), {"page": 2})

    assert [len(page.context["table"]) for page in (first, second)] == [OFFICES_PER_PAGE, 1]
    assert all(len(cells) == 7 for _office, cells in first.context["table"])
    shown = [o.code for page in (first, second) for o, _cells in page.context["table"]]
    assert len(set(shown)) == OFFICES_PER_PAGE + 1
