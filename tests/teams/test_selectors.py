"""Team selectors: the 1+2+N compliance view, the staff lists and the duty roster."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from django.http import Http404
from django.utils import timezone, translation
from pytest_django import DjangoAssertNumQueries

from safecommunity.accounts.scope import scope_for
from safecommunity.places.models import PoliceOffice
from safecommunity.teams.models import Staff, StaffKind
from safecommunity.teams.selectors import (
    beat_compliance,
    beat_team,
    compliance_by_station,
    compliance_problems,
    compliance_summary,
    duty_roster,
    staff_committee_posts,
    staff_get,
    staff_list,
    staff_stations_in_scope,
)
from safecommunity.teams.services import duty_shift_create, staff_assign, staff_create
from tests.conftest import World

DAY = date(2025, 3, 3)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in English; the default language (zh-hans) has translations.
    with translation.override("en"):
        yield


def at(hour: int, day: date = DAY) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=timezone.get_current_timezone()) + (
        timedelta(hours=hour)
    )


class TestCompliance:
    def test_it_lists_beat_b_with_the_reasons_it_breaks_the_rule(self, world: World) -> None:
        rows = beat_compliance(user=world.users["station"], only_breaking=True)

        assert [r.beat for r in rows] == [world.beat_b]
        assert rows[0].problems == [
            "1 community worker(s), needs at least 2",
            "no grid worker",
        ]
        assert (rows[0].officers, rows[0].community_workers, rows[0].grid_workers) == (1, 1, 0)

    def test_it_passes_beat_a(self, world: World) -> None:
        rows = beat_compliance(user=world.users["officer"])

        assert len(rows) == 1
        assert rows[0].beat == world.beat_a
        assert rows[0].ok
        assert (rows[0].officers, rows[0].community_workers, rows[0].grid_workers) == (1, 2, 1)

    def test_it_names_every_problem_of_an_empty_beat(self, world: World) -> None:
        rows = beat_compliance(user=world.users["other_district"])

        assert [r.beat for r in rows] == [world.beat_c]
        assert rows[0].problems == [
            "no responsible community officer",
            "0 community worker(s), needs at least 2",
            "no grid worker",
        ]

    def test_it_counts_only_the_responsible_officer(self, world: World) -> None:
        staff_assign(staff=world.officer_b, beat=world.beat_a)

        rows = beat_compliance(user=world.users["officer"])

        assert rows[0].officers == 1
        assert rows[0].ok

    def test_it_words_too_many_officers(self) -> None:
        assert compliance_problems(2, 2, 1) == ["2 responsible officers (must be one)"]
        assert compliance_problems(1, 2, 1) == []

    def test_it_becomes_compliant_when_the_team_is_completed(self, world: World) -> None:
        for kind, name in [
            (StaffKind.COMMUNITY_WORKER, "社工丁"),
            (StaffKind.GRID_WORKER, "网格员乙"),
        ]:
            staff_assign(
                staff=staff_create(kind=kind, name=name, path=world.beat_b.path), beat=world.beat_b
            )

        assert beat_compliance(user=world.users["neighbour"], only_breaking=True) == []

    def test_it_answers_for_every_beat_in_two_queries(
        self, world: World, django_assert_num_queries: DjangoAssertNumQueries
    ) -> None:
        city = world.users["city"]
        scope_for(city)

        # The grouped counts, then the beats with their station and community.
        with django_assert_num_queries(2):
            rows = beat_compliance(user=city)
            assert [r.beat.station.name for r in rows]  # select_related: no extra query

        assert len(rows) == 3


class TestSummary:
    def test_it_gives_the_shares_for_a_station(self, world: World) -> None:
        summary = compliance_summary(user=world.users["station"])

        assert (summary.beats, summary.compliant) == (2, 1)
        assert summary.compliant_share == 0.5
        assert (summary.officers, summary.officers_with_post) == (2, 1)
        assert summary.committee_share == 0.5

    def test_it_gives_the_shares_for_the_city(self, world: World) -> None:
        summary = compliance_summary(user=world.users["city"])

        assert (summary.beats, summary.compliant) == (3, 1)
        assert summary.compliant_share == pytest.approx(1 / 3)
        assert summary.committee_share == 0.5

    def test_it_gives_full_shares_to_a_compliant_beat(self, world: World) -> None:
        summary = compliance_summary(user=world.users["officer"])

        assert summary.compliant_share == 1.0
        assert summary.committee_share == 1.0

    def test_it_gives_zero_shares_when_there_is_nothing(self, world: World) -> None:
        summary = compliance_summary(user=world.users["other_district"])

        assert (summary.beats, summary.compliant, summary.officers) == (1, 0, 0)
        assert summary.committee_share == 0.0

    def test_it_groups_breaking_beats_by_station(self, world: World) -> None:
        groups = compliance_by_station(user=world.users["city"])

        by_station = {g["station"]: (g["beats"], g["breaking"]) for g in groups}
        assert by_station == {world.station: (2, 1), world.other_station: (1, 1)}


class TestStaffLists:
    def test_it_lists_the_staff_of_the_beats_in_scope(self, world: World) -> None:
        officers = staff_list(user=world.users["station"], kind=StaffKind.COMMUNITY_OFFICER)

        assert set(officers) == {world.officer_a, world.officer_b}

    def test_it_lists_a_person_serving_two_beats_once(self, world: World) -> None:
        staff_assign(staff=world.officer_a, beat=world.beat_b)

        names = [s.name for s in staff_list(user=world.users["station"])]

        assert names.count("马燕") == 1

    def test_it_hides_staff_of_the_neighbouring_beat(self, world: World) -> None:
        with pytest.raises(Http404):
            staff_get(user=world.users["neighbour"], pk=world.officer_a.pk)
        assert staff_get(user=world.users["officer"], pk=world.officer_a.pk) == world.officer_a

    def test_it_lists_a_team_with_the_responsible_officer_first(self, world: World) -> None:
        team = list(beat_team(user=world.users["officer"], beat=world.beat_a))

        assert team[0].staff == world.officer_a
        assert [a.kind for a in team[1:]] == [
            StaffKind.COMMUNITY_WORKER,
            StaffKind.COMMUNITY_WORKER,
            StaffKind.GRID_WORKER,
        ]

    def test_it_shows_no_team_out_of_scope(self, world: World) -> None:
        assert list(beat_team(user=world.users["neighbour"], beat=world.beat_a)) == []


class TestDutyRoster:
    @pytest.fixture
    def other_office(self, world: World) -> PoliceOffice:
        office = PoliceOffice.objects.create(
            station=world.other_station,
            code="O-HB-01",
            name="三戒里警务室",
            address="河北区三戒里1号",
            opening_hours="24h",
            phone="022-26200001",
        )
        world.beat_c.office = office
        world.beat_c.save(update_fields=["office"])
        return office

    def test_it_lists_the_shifts_of_the_offices_in_scope_within_the_window(
        self, world: World, other_office: PoliceOffice
    ) -> None:
        inside = duty_shift_create(
            office=world.office, staff=world.officer_b, starts_at=at(8), ends_at=at(17)
        )
        duty_shift_create(
            office=world.office,
            staff=world.officer_b,
            starts_at=at(8, DAY + timedelta(days=9)),
            ends_at=at(17, DAY + timedelta(days=9)),
        )
        duty_shift_create(
            office=other_office, staff=world.officer_b, starts_at=at(8), ends_at=at(17)
        )

        roster = list(duty_roster(user=world.users["neighbour"], start=DAY))

        assert roster == [inside]

    def test_it_includes_a_night_shift_that_started_the_day_before(self, world: World) -> None:
        night = duty_shift_create(
            office=world.office, staff=world.officer_a, starts_at=at(-4), ends_at=at(6)
        )

        assert list(duty_roster(user=world.users["officer"], start=DAY, days=1)) == [night]

    def test_it_shows_no_shift_of_an_office_out_of_scope(
        self, world: World, other_office: PoliceOffice
    ) -> None:
        duty_shift_create(
            office=world.office, staff=world.officer_a, starts_at=at(8), ends_at=at(17)
        )

        assert list(duty_roster(user=world.users["other_district"], start=DAY)) == []

    def test_it_shows_only_the_shifts_of_staff_in_scope_at_an_office_serving_two_beats(
        self, world: World
    ) -> None:
        # 学府警务室 serves beats A and B: each beat's officer sees their own team's shifts.
        mine = duty_shift_create(
            office=world.office, staff=world.officer_a, starts_at=at(8), ends_at=at(17)
        )
        theirs = duty_shift_create(
            office=world.office, staff=world.officer_b, starts_at=at(8), ends_at=at(17)
        )

        assert list(duty_roster(user=world.users["officer"], start=DAY)) == [mine]
        assert list(duty_roster(user=world.users["neighbour"], start=DAY)) == [theirs]
        assert set(duty_roster(user=world.users["station"], start=DAY)) == {mine, theirs}

    def test_it_shows_the_shift_of_a_neighbour_who_also_works_in_the_users_beat(
        self, world: World
    ) -> None:
        staff_assign(staff=world.officer_b, beat=world.beat_a, since=DAY)
        shift = duty_shift_create(
            office=world.office, staff=world.officer_b, starts_at=at(8), ends_at=at(17)
        )

        assert list(duty_roster(user=world.users["officer"], start=DAY)) == [shift]


class TestWhatIsShownOfStaff:
    def test_it_names_a_station_only_inside_the_jurisdiction(
        self, world: World, roaming: Staff
    ) -> None:
        # 光复道派出所 owns beat C (河北区): out of scope for beat A and for 南开区.
        for username in ("officer", "station", "district"):
            assert staff_stations_in_scope(user=world.users[username], staff=[roaming]) == set()
        for username in ("other_district", "city", "admin"):
            assert staff_stations_in_scope(user=world.users[username], staff=[roaming]) == {
                world.other_station.pk
            }

    def test_it_finds_the_stations_of_a_whole_page_in_one_query(
        self, world: World, roaming: Staff, django_assert_num_queries: DjangoAssertNumQueries
    ) -> None:
        page = [world.officer_a, world.officer_b, roaming]
        with django_assert_num_queries(1):
            stations = staff_stations_in_scope(user=world.users["city"], staff=page)
        assert stations == {world.station.pk, world.other_station.pk}

    def test_it_shows_the_committee_posts_of_communities_touching_the_scope(
        self, world: World, roaming: Staff
    ) -> None:
        def communities(username: str) -> list[str]:
            posts = staff_committee_posts(user=world.users[username], staff=roaming)
            return [post.community.name for post in posts]

        # A beat user sees the posts of the community holding the beat, not another's.
        assert communities("officer") == ["学府社区"]
        assert communities("neighbour") == ["学府社区"]
        assert communities("district") == ["学府社区"]
        assert communities("other_district") == ["三戒里社区"]
        assert communities("city") == ["三戒里社区", "学府社区"]
