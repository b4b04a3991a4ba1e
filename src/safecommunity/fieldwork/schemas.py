"""Shapes of the field-work API (validation and output only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from ninja import Field, Schema

from safecommunity.fieldwork.models import PublicityTopic, VisitOutcome
from safecommunity.places.schemas import MAX_ID

Id = Field(ge=1, le=MAX_ID)
TEXT_MAX = 5000


class FindingIn(Schema):
    """Open a record from the findings: a request (``code`` = its service code), a dispute
    (``code`` = its category, with a risk level) or a hazard."""

    kind: Literal["request", "dispute", "hazard"]
    code: str = Field("", max_length=64)
    risk: Literal["low", "medium", "high"] = "low"
    attributes: dict[str, str] = Field(
        default_factory=dict, description="The request's Open311 attributes, e.g. hazard_kind"
    )


class NewResidentIn(Schema):
    name: str = Field(max_length=50)
    gender: Literal["male", "female"] | None = None
    birth_date: date | None = None
    id_number: str | None = Field(None, max_length=32)
    phone: str | None = Field(None, max_length=32)
    relation: Literal["owner", "owner_family", "tenant", "other"] = "other"
    registered: bool = False


class VisitIn(Schema):
    client_uuid: UUID = Field(description="Made by the client; sending it again is harmless")
    dwelling_id: int = Id
    outcome: VisitOutcome
    visited_at: datetime | None = Field(None, description="Default: now")
    residents_confirmed: bool = False
    findings: str = Field("", max_length=TEXT_MAX)
    campaign_id: int | None = Field(None, ge=1, le=MAX_ID)
    moved_out: list[int] = Field(default_factory=list, max_length=50)
    moved_in: list[int] = Field(default_factory=list, max_length=50)
    new_residents: list[NewResidentIn] = Field(default_factory=list, max_length=20)
    open_as: FindingIn | None = None


class DwellingRef(Schema):
    id: int
    standard_address: str


class VisitOut(Schema):
    id: int
    client_uuid: UUID
    dwelling: DwellingRef
    visited_at: datetime
    outcome: str
    residents_confirmed: bool
    findings: str
    campaign_id: int | None
    opened_kind: str
    opened_id: str
    registry_changes: list[dict[str, Any]]
    recorded_by: str


class PatrolIn(Schema):
    beat_id: int = Id
    route: dict[str, Any] | str = Field(description="A GeoJSON LineString [lng, lat]")
    started_at: datetime
    ended_at: datetime
    findings: str = Field("", max_length=TEXT_MAX)
    open_as: FindingIn | None = None


class PatrolOut(Schema):
    id: int
    beat_id: int
    started_at: datetime
    ended_at: datetime
    route: dict[str, Any]
    length_m: int
    findings: str
    opened_kind: str
    opened_id: str
    recorded_by: str


class StationingIn(Schema):
    office_id: int = Id
    beat_id: int | None = Field(None, ge=1, le=MAX_ID)
    started_at: datetime
    ended_at: datetime
    notes: str = Field("", max_length=TEXT_MAX)


class StationingOut(Schema):
    id: int
    office_id: int
    beat_id: int
    started_at: datetime
    ended_at: datetime
    notes: str
    recorded_by: str


class PublicityIn(Schema):
    beat_id: int = Id
    topic: PublicityTopic
    place: str = Field(min_length=1, max_length=200)
    held_at: datetime
    people_reached: int = Field(ge=0, le=1_000_000)
    notes: str = Field("", max_length=TEXT_MAX)


class PublicityOut(Schema):
    id: int
    beat_id: int
    topic: str
    place: str
    held_at: datetime
    people_reached: int
    notes: str
    recorded_by: str


class CampaignIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    path: str = Field(min_length=1, max_length=64, description="A division's or beat's path")
    starts_on: date
    ends_on: date


class CampaignOut(Schema):
    id: int
    name: str
    path: str
    scope_name: str
    starts_on: date
    ends_on: date


class CoverageRowOut(Schema):
    path: str
    name: str
    kind: str
    beat_id: int | None
    target: int
    visited: int
    share: float
    children: list[str]


class CoverageOut(Schema):
    campaign: CampaignOut
    target: int
    visited: int
    share: float
    roots: list[str]
    rows: list[CoverageRowOut]


class UnvisitedOut(Schema):
    id: int
    standard_address: str
    lat: float
    lng: float
