"""Shapes of the requests API (validation and output only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class RequestOut(Schema):
    service_request_id: str
    service_code: str
    service_name: str
    status: str
    open311_status: str
    beat_id: int
    beat_name: str
    assigned_to_id: int | None
    assigned_to_name: str | None
    description: str
    address_string: str
    lat: float | None
    lng: float | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    overdue: bool
    source: str


class EventOut(Schema):
    at: datetime
    kind: str
    from_status: str
    to_status: str
    note: str
    actor: str
    assignee_name: str | None
    reinspected_on: str | None
    reinspection_result: str


class RequestDetailOut(RequestOut):
    attributes: dict[str, Any]
    contact_name: str
    contact_phone_masked: str
    status_notes: str
    events: list[EventOut]


class TransitionIn(Schema):
    to: str = Field(..., max_length=16, description="new, assigned, in_progress, done or closed")
    note: str = Field("", max_length=1000)


class AssignIn(Schema):
    assignee: int = Field(..., ge=1, le=2**63 - 1, description="A staff id of the beat's team")
    note: str = Field("", max_length=1000)


class SubmitIn(Schema):
    service_code: str = Field(..., max_length=32)
    description: str = Field("", max_length=4000)
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    address_string: str = Field("", max_length=300)
    address_id: int | None = Field(None, ge=1, le=2**63 - 1)
    attributes: dict[str, str | list[str]] = Field(default_factory=dict)
    contact_name: str = Field("", max_length=100)
    contact_phone: str = Field("", max_length=32)


class MessageOut(Schema):
    detail: str | list[str]
