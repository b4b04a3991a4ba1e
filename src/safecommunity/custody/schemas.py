"""Shapes of the custody API (validation and output only)."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from safecommunity.custody.models import ItemKind
from safecommunity.custody.selectors import MAX_ID


class Ref(Schema):
    id: int
    code: str
    name: str


class MovementOut(Schema):
    action: str
    at: datetime
    staff: str | None
    recorded_by: str | None
    note: str
    from_office: Ref | None


class ItemOut(Schema):
    id: int
    tag: str
    kind: ItemKind
    description: str
    state: str
    owner_id: int | None
    owner_name: str
    owner_phone: str
    beat: Ref
    office: Ref
    received_at: datetime
    received_by: str | None
    returned_at: datetime | None
    returned_to: str
    identity_check: str
    returned_by: str | None
    disposed_at: datetime | None


class ItemDetailOut(ItemOut):
    movements: list[MovementOut]


class ItemPageOut(Schema):
    count: int
    items: list[ItemOut]


class ReceiveIn(Schema):
    beat_id: int = Field(ge=1, le=MAX_ID)
    kind: ItemKind
    description: str = Field(max_length=1000)
    tag: str = Field(max_length=100)
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)
    owner_name: str = Field("", max_length=1000)
    owner_phone: str = Field("", max_length=100)
    received_at: datetime | None = None
    note: str = Field("", max_length=1000)


class ReturnIn(Schema):
    returned_to: str = Field(max_length=1000)
    identity_check: str = Field(max_length=1000)
    at: datetime | None = None
    note: str = Field("", max_length=1000)


class TransferIn(Schema):
    beat_id: int = Field(ge=1, le=MAX_ID)
    tag: str = Field("", max_length=100)
    at: datetime | None = None
    note: str = Field("", max_length=1000)


class DisposeIn(Schema):
    reason: str = Field(max_length=1000)
    at: datetime | None = None


class CheckIn(Schema):
    note: str = Field("", max_length=1000)
    at: datetime | None = None


class FieldErrorsOut(Schema):
    detail: str
    errors: dict[str, list[str]]


class MessageOut(Schema):
    detail: str
