"""The teams API: 1+2+N compliance, staff, a beat's team and the duty roster, all scoped."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from safecommunity.accounts.models import User
from safecommunity.teams.models import DutyShift, Staff, StaffKind
from safecommunity.teams.services import duty_shift_create, staff_assign, staff_create
from tests.apiclient import api_client, items
from tests.conftest import World

API = "/api/v1/teams"
SHANGHAI = ZoneInfo("Asia/Shanghai")
LIST_QUERIES = 6
# A city analyst's permissions (may they see names?), read once per request.
PERMISSION_QUERIES = 2


def names(response: Any) -> set[str]:
    return {row["name"] for row in items(response)}


@pytest.fixture
def shifts(world: World) -> list[DutyShift]:
    """Two days of shifts at the 学府 office, from 2024-05-06."""
    out = []
    for day in range(2):
        starts = datetime(2024, 5, 6, 8, 30, tzinfo=SHANGHAI) + timedelta(days=day)
        for staff in (world.officer_a, world.officer_b):
            out.append(
                duty_shift_create(
                    office=world.office,
                    staff=staff,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=9),
                )
            )
    return out


@pytest.fixture
def more_staff(world: World) -> None:
    """Ten more grid workers in beat A, so an N+1 in the staff list would show."""
    for i in range(10):
        staff = staff_create(kind=StaffKind.GRID_WORKER, name=f"网格员{i}", path=world.beat_a.path)
        staff_assign(staff=staff, beat=world.beat_a)


# --- anonymous ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/compliance", "/staff", "/staff/1", "/beats/1/team", "/roster"])
def test_it_refuses_anonymous_reads(world: World, path: str) -> None:
    assert Client().get(API + path).status_code == 401


# --- compliance --------------------------------------------------------------------------------


def test_it_summarises_compliance_and_names_the_breaking_beats(world: World) -> None:
    body = api_client(world, "district").get(API + "/compliance").json()
    assert body["summary"]["beats"] == 2
    assert body["summary"]["compliant"] == 1
    assert body["summary"]["compliant_share"] == 0.5
    assert body["summary"]["officers"] == 2
    assert body["summary"]["officers_with_post"] == 1
    [breaking] = body["breaking"]
    assert breaking["beat"]["code"] == "B-B"
    assert breaking["station"]["code"] == "S-NK-01"
    assert (breaking["officers"], breaking["community_workers"], breaking["grid_workers"]) == (
        1,
        1,
        0,
    )
    assert "no grid worker" in breaking["problems"]
    assert any("community worker" in p for p in breaking["problems"])


def test_it_scopes_compliance_to_a_beat(world: World) -> None:
    officer = api_client(world, "officer").get(API + "/compliance").json()
    assert officer["summary"]["beats"] == 1
    assert officer["breaking"] == []
    neighbour = api_client(world, "neighbour").get(API + "/compliance").json()
    assert neighbour["summary"]["beats"] == 1
    assert [b["beat"]["code"] for b in neighbour["breaking"]] == ["B-B"]


def test_it_shows_nothing_of_nankai_in_another_districts_compliance(world: World) -> None:
    body = api_client(world, "other_district").get(API + "/compliance").json()
    assert body["summary"]["beats"] == 1
    assert [b["beat"]["code"] for b in body["breaking"]] == ["B-C"]
    assert body["summary"]["officers"] == 0


def test_it_computes_compliance_in_a_bounded_number_of_queries(
    world: World, more_staff: None, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    client = api_client(world, "city")
    # Session, user, jurisdiction; team counts, stations, districts; officers, officers with a
    # post; the breaking beats. None of them grows with the number of beats or staff.
    with django_assert_max_num_queries(9):
        assert client.get(API + "/compliance").status_code == 200


# --- staff -------------------------------------------------------------------------------------


def test_it_lists_the_staff_of_the_district(world: World) -> None:
    assert names(api_client(world, "district").get(API + "/staff")) == {
        "马燕",
        "王强",
        "社工0",
        "社工1",
        "网格员甲",
        "社工乙",
    }


def test_it_filters_staff_by_kind(world: World) -> None:
    response = api_client(world, "district").get(API + "/staff", {"kind": "community_officer"})
    rows = items(response)
    assert {r["name"] for r in rows} == {"马燕", "王强"}
    assert {r["police_number"] for r in rows} == {"012345", "012346"}


def test_it_hides_beat_a_staff_from_the_neighbour(world: World) -> None:
    client = api_client(world, "neighbour")
    assert names(client.get(API + "/staff")) == {"王强", "社工乙"}
    assert client.get(f"{API}/staff/{world.officer_a.pk}").status_code == 404
    assert client.get(f"{API}/staff/{world.officer_b.pk}").status_code == 200


def test_it_hides_nankai_staff_from_another_district(world: World) -> None:
    client = api_client(world, "other_district")
    assert names(client.get(API + "/staff")) == set()
    assert client.get(f"{API}/staff/{world.officer_a.pk}").status_code == 404


def test_it_shows_a_staff_member_with_beats_and_committee_posts(world: World) -> None:
    body = api_client(world, "officer").get(f"{API}/staff/{world.officer_a.pk}").json()
    assert body["name"] == "马燕"
    assert body["kind"] == "community_officer"
    assert body["station"]["code"] == "S-NK-01"
    assert body["beats"] == [
        {
            "beat": {"id": world.beat_a.pk, "code": "B-A", "name": "学府一警务区"},
            "responsible": True,
            "since": "2024-01-01",
        }
    ]
    [post] = body["committee_posts"]
    assert (post["committee"], post["title"]) == ("party", "deputy_secretary")
    assert post["community"]["name"] == "学府社区"


def test_it_shows_only_the_beats_in_scope_of_an_officer_with_two_beats(world: World) -> None:
    staff_assign(staff=world.officer_b, beat=world.beat_a)
    body = api_client(world, "neighbour").get(f"{API}/staff/{world.officer_b.pk}").json()
    assert [b["beat"]["code"] for b in body["beats"]] == ["B-B"]
    district = api_client(world, "district").get(f"{API}/staff/{world.officer_b.pk}").json()
    assert [b["beat"]["code"] for b in district["beats"]] == ["B-A", "B-B"]


def test_it_lists_staff_in_a_bounded_number_of_queries(
    world: World, more_staff: None, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    client = api_client(world, "station")
    with django_assert_max_num_queries(LIST_QUERIES):
        assert len(items(client.get(API + "/staff"))) == 16


# --- a beat's team -----------------------------------------------------------------------------


def test_it_shows_a_complete_team_without_problems(world: World) -> None:
    body = api_client(world, "officer").get(f"{API}/beats/{world.beat_a.pk}/team").json()
    assert body["beat"]["code"] == "B-A"
    assert body["problems"] == []
    members = body["members"]
    assert members[0]["name"] == "马燕"
    assert members[0]["responsible"] is True
    assert sorted(m["kind"] for m in members) == [
        "community_officer",
        "community_worker",
        "community_worker",
        "grid_worker",
    ]


def test_it_says_why_a_team_breaks_the_rule(world: World) -> None:
    body = api_client(world, "neighbour").get(f"{API}/beats/{world.beat_b.pk}/team").json()
    assert "no grid worker" in body["problems"]


def test_it_hides_beat_a_team_from_the_neighbour_and_another_district(world: World) -> None:
    url = f"{API}/beats/{world.beat_a.pk}/team"
    assert api_client(world, "neighbour").get(url).status_code == 404
    assert api_client(world, "other_district").get(url).status_code == 404
    assert api_client(world, "officer").get(f"{API}/beats/999999/team").status_code == 404


# --- duty roster -------------------------------------------------------------------------------


def test_it_lists_the_roster_of_an_office_from_a_day(world: World, shifts: list[DutyShift]) -> None:
    client = api_client(world, "station")
    rows = items(
        client.get(API + "/roster", {"office": world.office.pk, "start": "2024-05-06", "days": 1})
    )
    assert {r["staff"]["name"] for r in rows} == {"马燕", "王强"}
    assert all(r["office"]["code"] == "O-NK-01" for r in rows)
    assert rows[0]["starts_at"] == "2024-05-06T08:30:00+08:00"
    two_days = items(client.get(API + "/roster", {"start": "2024-05-06", "days": 2}))
    assert len(two_days) == 4


def test_it_hides_nankai_rosters_from_another_district(
    world: World, shifts: list[DutyShift]
) -> None:
    client = api_client(world, "other_district")
    assert items(client.get(API + "/roster", {"start": "2024-05-06"})) == []
    response = client.get(API + "/roster", {"office": world.office.pk, "start": "2024-05-06"})
    assert response.status_code == 404


def test_it_lists_the_roster_in_a_bounded_number_of_queries(
    world: World, shifts: list[DutyShift], django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    client = api_client(world, "city")
    with django_assert_max_num_queries(LIST_QUERIES + PERMISSION_QUERIES):
        assert len(items(client.get(API + "/roster", {"start": "2024-05-06"}))) == 4


def test_it_shows_each_beat_only_its_own_staffs_shifts_at_a_shared_office(
    world: World, shifts: list[DutyShift]
) -> None:
    # 学府警务室 serves beats A and B; 王强 (beat B) is out of beat A's scope, and back.
    query = {"start": "2024-05-06", "days": 2}
    officer = api_client(world, "officer")
    assert {r["staff"]["name"] for r in items(officer.get(API + "/roster", query))} == {"马燕"}
    assert officer.get(f"{API}/staff/{world.officer_b.pk}").status_code == 404
    neighbour = api_client(world, "neighbour")
    rows = items(neighbour.get(API + "/roster", {**query, "office": world.office.pk}))
    assert {r["staff"]["name"] for r in rows} == {"王强"}
    assert len(rows) == 2


# --- what is shown of a person -----------------------------------------------------------------


def test_it_hides_a_station_and_committee_post_out_of_scope(world: World, roaming: Staff) -> None:
    body = api_client(world, "officer").get(f"{API}/staff/{roaming.pk}").json()
    assert body["name"] == "李明"
    assert body["station"] is None
    assert body["station_id"] is None
    assert [b["beat"]["code"] for b in body["beats"]] == ["B-A"]
    assert [p["community"]["name"] for p in body["committee_posts"]] == ["学府社区"]
    [listed] = [
        r for r in items(api_client(world, "officer").get(API + "/staff")) if r["name"] == "李明"
    ]
    assert listed["station_id"] is None


def test_it_shows_the_station_and_posts_in_the_stations_own_district(
    world: World, roaming: Staff
) -> None:
    body = api_client(world, "other_district").get(f"{API}/staff/{roaming.pk}").json()
    assert body["station"]["name"] == "光复道派出所"
    assert body["station_id"] == world.other_station.pk
    assert [p["community"]["name"] for p in body["committee_posts"]] == ["三戒里社区"]


def test_it_masks_names_numbers_and_phones_for_a_city_analyst(
    world: World, roaming: Staff, shifts: list[DutyShift]
) -> None:
    client = api_client(world, "city")
    staff = items(client.get(API + "/staff"))
    assert "马*" in {r["name"] for r in staff} and "马燕" not in {r["name"] for r in staff}
    assert {r["police_number"] for r in staff} == {""}
    assert {r["phone"] for r in staff} == {""}
    detail = client.get(f"{API}/staff/{roaming.pk}").json()
    assert (detail["name"], detail["police_number"], detail["phone"]) == ("李*", "", "")
    team = client.get(f"{API}/beats/{world.beat_a.pk}/team").json()
    assert team["members"][0]["name"] == "马*"
    assert {m["police_number"] for m in team["members"]} == {""}
    roster = items(client.get(API + "/roster", {"start": "2024-05-06"}))
    assert {r["staff"]["name"] for r in roster} == {"马*", "王*"}
    assert "马燕" not in client.get(API + "/roster", {"start": "2024-05-06"}).content.decode()


def test_it_shows_names_to_a_city_analyst_granted_them(
    world: World, named_city: User, roaming: Staff, shifts: list[DutyShift]
) -> None:
    client = api_client(world, "city")
    assert "马燕" in names(client.get(API + "/staff"))
    detail = client.get(f"{API}/staff/{roaming.pk}").json()
    assert (detail["name"], detail["police_number"], detail["phone"]) == (
        "李明",
        "022999",
        "13800000000",
    )
    team = client.get(f"{API}/beats/{world.beat_a.pk}/team").json()
    assert (team["members"][0]["name"], team["members"][0]["police_number"]) == ("马燕", "012345")
    roster = items(client.get(API + "/roster", {"start": "2024-05-06"}))
    assert {r["staff"]["name"] for r in roster} == {"马燕", "王强"}


@pytest.mark.parametrize("username", ["district", "station", "officer"])
def test_it_shows_names_to_the_people_working_the_beats(world: World, username: str) -> None:
    client = api_client(world, username)
    assert "马燕" in names(client.get(API + "/staff"))
    team = client.get(f"{API}/beats/{world.beat_a.pk}/team").json()
    assert (team["members"][0]["name"], team["members"][0]["police_number"]) == ("马燕", "012345")


# --- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/staff/abc",
        "/staff?kind=chief",
        "/staff?limit=0",
        "/staff?offset=99999999999999999999999",
        "/beats/abc/team",
        "/roster?start=2024-13-01",
        "/roster?start=yesterday",
        "/roster?start=9999-12-31",
        "/roster?start=0001-01-01",
        "/roster?days=0",
        "/roster?days=100000",
        "/roster?office=abc",
        "/roster?office=99999999999999999999999",
    ],
)
def test_it_answers_malformed_input_with_a_4xx_json_message(world: World, path: str) -> None:
    response = api_client(world, "admin").get(API + path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert response.json()["detail"]
