"""Team services: the rules of the 1+2+N team, held by the services and by the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from safecommunity.accounts.models import AuditEntry
from safecommunity.places.models import Beat
from safecommunity.teams.models import Assignment, CommitteePost, DutyShift, Staff, StaffKind
from safecommunity.teams.services import (
    committee_post_grant,
    duty_shift_create,
    staff_assign,
    staff_create,
)
from tests.conftest import World

SHIFT_START = datetime(2025, 3, 1, 0, 30, tzinfo=UTC)  # 08:30 in Tianjin


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in English; the default language (zh-hans) has translations.
    with translation.override("en"):
        yield


def worker(world: World, name: str = "社工丙") -> Staff:
    return staff_create(kind=StaffKind.COMMUNITY_WORKER, name=name, path=world.beat_a.path)


def officer(world: World, name: str = "李明", number: str = "012399") -> Staff:
    return staff_create(
        kind=StaffKind.COMMUNITY_OFFICER,
        name=name,
        path=world.beat_a.path,
        station=world.station,
        police_number=number,
    )


class TestStaffCreate:
    def test_it_creates_staff_and_audits_it(self, world: World) -> None:
        staff = officer(world)

        assert staff.police_number == "012399"
        assert AuditEntry.objects.filter(action="staff.create", object_id=str(staff.pk)).exists()

    def test_it_refuses_a_police_number_for_a_worker(self, world: World) -> None:
        with pytest.raises(ValidationError, match="Only community officers"):
            staff_create(
                kind=StaffKind.GRID_WORKER, name="x", path=world.beat_a.path, police_number="1"
            )

        assert not Staff.objects.filter(name="x").exists()

    def test_the_database_refuses_a_police_number_for_a_worker(self, world: World) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            Staff.objects.create(
                kind=StaffKind.GRID_WORKER, name="x", path=world.beat_a.path, police_number="1"
            )

    def test_it_refuses_an_unknown_kind(self, world: World) -> None:
        with pytest.raises(ValidationError, match="Unknown staff kind"):
            staff_create(kind="sheriff", name="x", path=world.beat_a.path)


class TestStaffAssign:
    def test_it_assigns_staff_with_the_beats_path(self, world: World) -> None:
        staff = worker(world)

        assignment = staff_assign(staff=staff, beat=world.beat_b, since=date(2025, 1, 1))

        assert assignment.path == world.beat_b.path
        assert assignment.kind == StaffKind.COMMUNITY_WORKER
        assert not assignment.responsible

    def test_it_refuses_a_responsible_worker(self, world: World) -> None:
        staff = worker(world)

        with pytest.raises(ValidationError, match="Only a community officer can be responsible"):
            staff_assign(staff=staff, beat=world.beat_c, responsible=True)

        assert not Assignment.objects.filter(beat=world.beat_c).exists()

    def test_the_database_refuses_a_responsible_worker(self, world: World) -> None:
        staff = worker(world)

        with pytest.raises(IntegrityError), transaction.atomic():
            Assignment.objects.create(
                staff=staff,
                beat=world.beat_c,
                kind=StaffKind.COMMUNITY_WORKER,
                responsible=True,
                since=date(2025, 1, 1),
                path=world.beat_c.path,
            )

    def test_it_refuses_a_second_responsible_officer(self, world: World) -> None:
        second = officer(world)

        with pytest.raises(ValidationError) as caught:
            staff_assign(staff=second, beat=world.beat_a, responsible=True)

        message = " ".join(caught.value.messages)
        assert "B-A" in message
        assert "马燕" in message
        assert Assignment.objects.filter(beat=world.beat_a, responsible=True).count() == 1

    def test_the_database_refuses_a_second_responsible_officer(self, world: World) -> None:
        second = officer(world)

        with pytest.raises(IntegrityError), transaction.atomic():
            Assignment.objects.create(
                staff=second,
                beat=world.beat_a,
                kind=StaffKind.COMMUNITY_OFFICER,
                responsible=True,
                since=date(2025, 1, 1),
                path=world.beat_a.path,
            )

    def test_it_lets_one_officer_answer_for_several_beats(self, world: World) -> None:
        assignment = staff_assign(staff=world.officer_a, beat=world.beat_c, responsible=True)

        assert assignment.responsible
        assert world.officer_a.assignments.filter(responsible=True).count() == 2

    def test_it_lets_a_second_officer_join_without_responsibility(self, world: World) -> None:
        second = officer(world)

        assignment = staff_assign(staff=second, beat=world.beat_a)

        assert not assignment.responsible

    def test_it_refuses_the_same_person_twice_in_one_team(self, world: World) -> None:
        with pytest.raises(ValidationError, match="already in the team of beat B-A"):
            staff_assign(staff=world.officer_a, beat=world.beat_a)

    def test_it_writes_the_assignment_and_its_audit_entry_together(self, world: World) -> None:
        staff = worker(world)
        before = AuditEntry.objects.filter(action="team.assign").count()

        with pytest.raises(ValidationError):
            staff_assign(staff=world.officer_b, beat=world.beat_b)

        assert AuditEntry.objects.filter(action="team.assign").count() == before
        staff_assign(staff=staff, beat=world.beat_b)
        assert AuditEntry.objects.filter(action="team.assign").count() == before + 1


class TestCommitteePostGrant:
    def test_it_grants_a_post_with_the_communitys_path(self, world: World) -> None:
        post = committee_post_grant(
            staff=world.officer_b,
            community=world.community,
            committee="residents",
            title="member",
            since=date(2024, 6, 1),
        )

        assert post.path == world.community.path
        assert post.until is None

    def test_it_refuses_a_post_outside_a_community(self, world: World) -> None:
        with pytest.raises(ValidationError, match="community's committees"):
            committee_post_grant(
                staff=world.officer_b, community=world.district, committee="party", title="member"
            )

    def test_it_refuses_an_unknown_committee_or_post(self, world: World) -> None:
        with pytest.raises(ValidationError, match="Unknown committee or post"):
            committee_post_grant(
                staff=world.officer_b, community=world.community, committee="club", title="member"
            )

    def test_the_database_refuses_two_current_posts_on_one_committee(self, world: World) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            CommitteePost.objects.create(
                staff=world.officer_a,
                community=world.community,
                committee="party",
                title="member",
                since=date(2025, 1, 1),
                path=world.community.path,
            )


class TestDutyShiftCreate:
    def test_it_creates_a_shift(self, world: World) -> None:
        shift = duty_shift_create(
            office=world.office,
            staff=world.officer_a,
            starts_at=SHIFT_START,
            ends_at=SHIFT_START + timedelta(hours=9),
        )

        assert shift.ends_at - shift.starts_at == timedelta(hours=9)
        assert AuditEntry.objects.filter(action="team.duty_shift", object_id=str(shift.pk)).exists()

    @pytest.mark.parametrize("hours", [-1, 0])
    def test_it_refuses_a_shift_ending_before_it_starts(self, world: World, hours: int) -> None:
        with pytest.raises(ValidationError, match="must end after it starts"):
            duty_shift_create(
                office=world.office,
                staff=world.officer_a,
                starts_at=SHIFT_START,
                ends_at=SHIFT_START + timedelta(hours=hours),
            )

        assert not DutyShift.objects.exists()

    def test_the_database_refuses_a_shift_ending_before_it_starts(self, world: World) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            DutyShift.objects.create(
                office=world.office,
                staff=world.officer_a,
                starts_at=SHIFT_START,
                ends_at=SHIFT_START - timedelta(minutes=1),
            )


def test_the_world_has_the_teams_it_promises(world: World) -> None:
    """A guard on the fixture the selector tests rely on."""
    beat_b = Beat.objects.get(pk=world.beat_b.pk)

    kinds = sorted(beat_b.assignments.values_list("kind", flat=True))
    assert kinds == [StaffKind.COMMUNITY_OFFICER, StaffKind.COMMUNITY_WORKER]
