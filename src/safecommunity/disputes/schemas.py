"""Shapes of the disputes API (validation and output only).

Choice fields are plain strings here: the services check them and answer 400 naming the field
and the allowed values, the same words the pages show.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from ninja import Field, Schema
from pydantic import field_serializer

from safecommunity.places.schemas import MAX_ID, Ref


class _Local(Schema):
    @field_serializer("*", check_fields=False)
    def _local(self, value: object) -> object:
        # Answer in the project's time zone (+08:00), as people there read the times.
        if isinstance(value, datetime):
            return timezone.localtime(value).isoformat()
        return value


class DisputeOut(_Local):
    id: int
    beat: Ref
    place: str
    source: str
    category: str
    risk: str
    may_turn_violent: bool
    escalated: bool
    state: str
    state_label: str
    due_at: datetime | None
    overdue: bool
    # A repeat (same parties or dwelling within 90 days); the earlier dispute's id only when
    # it lies in the user's scope.
    repeat: bool
    repeat_of_id: int | None
    outcome: str
    referred_to: str
    reported_at: datetime
    settled_at: datetime | None
    closed_at: datetime | None


class PartyOut(Schema):
    name: str
    role: str
    resident_id: int | None
    phone: str  # masked, or empty


class SessionOut(_Local):
    id: int
    held_at: datetime
    mediators: str
    participants: str
    notes: str
    agreement: str


class EventOut(_Local):
    from_state: str
    to_state: str
    actor: str
    at: datetime
    note: str


class DisputeDetailOut(DisputeOut):
    description: str
    dwelling_id: int | None
    referral_note: str
    parties: list[PartyOut]
    sessions: list[SessionOut]
    events: list[EventOut]
    # The states this user may move the dispute to now.
    next_states: list[str]


class PartyIn(Schema):
    resident_id: int | None = Field(None, ge=1, le=MAX_ID)
    name: str = Field("", max_length=50)
    phone: str = Field("", max_length=32)
    role: str = Field("applicant", max_length=16)


class DisputeIn(Schema):
    beat_id: int = Field(..., ge=1, le=MAX_ID)
    dwelling_id: int | None = Field(None, ge=1, le=MAX_ID)
    place: str = Field("", max_length=200)
    source: str = Field(..., max_length=32)
    category: str = Field(..., max_length=32)
    risk: str = Field("low", max_length=16)
    may_turn_violent: bool = False
    description: str = Field(..., max_length=5000)
    parties: list[PartyIn] = Field(default_factory=list, max_length=20)


class TransitionIn(Schema):
    to_state: str = Field(..., max_length=32)
    note: str = Field("", max_length=2000)
    referred_to: str = Field("", max_length=32)


class SessionIn(Schema):
    held_at: datetime
    mediators: str = Field(..., max_length=200)
    participants: str = Field("", max_length=5000)
    notes: str = Field("", max_length=5000)
    agreement: str = Field("", max_length=5000)


class CategoryCountOut(Schema):
    category: str
    label: str
    count: int


class PlaceCountOut(Schema):
    path: str
    name: str
    kind: str
    count: int


class MonthCountOut(Schema):
    month: str  # YYYY-MM
    reported: int
    settled: int


class StatisticsOut(Schema):
    since: date
    total: int
    total_since: int
    settled: int
    with_outcome: int
    settlement_rate: float | None
    median_days_to_settle: float | None
    open: int
    overdue: int
    escalated: int
    repeats: int
    by_outcome: dict[str, int]
    by_category: list[CategoryCountOut]
    by_place: list[PlaceCountOut]
    by_month: list[MonthCountOut]


class ErrorsOut(Schema):
    detail: list[str]
