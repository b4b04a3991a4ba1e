"""Shapes of the teams API (validation and output only)."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from ninja import Schema
from pydantic import field_serializer

from safecommunity.places.schemas import Ref


class NamedRef(Schema):
    id: int
    name: str


class ComplianceSummaryOut(Schema):
    beats: int
    compliant: int
    compliant_share: float
    officers: int
    officers_with_post: int
    committee_share: float


class BreakingBeatOut(Schema):
    beat: Ref
    station: Ref
    officers: int
    community_workers: int
    grid_workers: int
    problems: list[str]


class ComplianceOut(Schema):
    summary: ComplianceSummaryOut
    breaking: list[BreakingBeatOut]


class StaffOut(Schema):
    id: int
    kind: str
    name: str
    police_number: str
    phone: str
    station_id: int | None


class StaffBeatOut(Schema):
    beat: Ref
    responsible: bool
    since: date


class CommitteePostOut(Schema):
    community: Ref
    committee: str
    title: str
    since: date
    until: date | None


class StaffDetailOut(StaffOut):
    station: Ref | None
    beats: list[StaffBeatOut]
    committee_posts: list[CommitteePostOut]


class TeamMemberOut(Schema):
    staff_id: int
    name: str
    kind: str
    responsible: bool
    since: date
    police_number: str
    phone: str


class BeatTeamOut(Schema):
    beat: Ref
    members: list[TeamMemberOut]
    # Why the team breaks the 1+2+N rule; empty when it holds.
    problems: list[str]


class ShiftOut(Schema):
    id: int
    office: Ref
    staff: NamedRef
    starts_at: datetime
    ends_at: datetime

    @field_serializer("starts_at", "ends_at")
    def _local(self, value: datetime) -> str:
        # Offices keep local hours: answer in the project's time zone (+08:00), not UTC.
        return timezone.localtime(value).isoformat()
