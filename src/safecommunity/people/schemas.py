"""Shapes of the registry API (validation and output only).

Nothing here carries a plain ID or phone number except ``UnmaskOut``, the answer to an
audited unmask request.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from ninja import Field, Schema

from safecommunity.people.models import Gender, Relation
from safecommunity.places.schemas import MAX_ID


class BeatRef(Schema):
    id: int
    code: str
    name: str


class ResidenceOut(Schema):
    dwelling_id: int
    address: str
    beat: BeatRef | None
    since: date
    until: date | None
    relation: str
    registered: bool


class CareTagOut(Schema):
    kind: str
    label: str
    since: date
    notes: str


class ResidentOut(Schema):
    """A resident as a list shows them: the name as the user may see it (masked for a city
    analyst without ``accounts.view_names``), ID and phone masked, the current dwelling."""

    id: int
    name: str
    gender: str
    birth_date: date | None = Field(
        description="Omitted (null) for users who may not see names: with the name masked "
        "it would still single a person out."
    )
    birth_year: int
    id_number: str = Field(description="Masked, e.g. 120104********1234; empty when none")
    phone: str = Field(description="Masked, e.g. 138****5678; empty when none")
    current: ResidenceOut | None
    care_tags: list[CareTagOut] | None = Field(
        description="Only for the beat team; null for everyone else."
    )


class ResidentDetailOut(ResidentOut):
    ethnicity: str
    notes: str | None
    residences: list[ResidenceOut]


class ResidentPageOut(Schema):
    count: int = Field(description="Results, counted up to 1,000 (see count_capped)")
    count_capped: bool = Field(description="More results than count: refine the search")
    page: int
    pages: int
    mode: str = Field(description="How the search text was read: all, id, phone or text")
    addresses_searched: bool = Field(
        description="Text was also matched against addresses (Chinese or digits, 3+ characters)"
    )
    items: list[ResidentOut]


class ResidentIn(Schema):
    name: str = Field(min_length=1, max_length=50)
    gender: Gender | None = None
    birth_date: date | None = Field(None, ge=date(1900, 1, 1))
    id_number: str | None = Field(None, max_length=40)
    phone: str | None = Field(None, max_length=30)
    ethnicity: str = Field("", max_length=20)
    notes: str = Field("", max_length=5000)
    dwelling_id: int = Field(ge=1, le=MAX_ID)
    since: date | None = Field(None, ge=date(1900, 1, 1))
    relation: Relation = Relation.OTHER
    registered: bool = False
    confirm_new_person: bool = Field(
        False,
        description="Save even though possible duplicates exist (the answer was 409 with "
        "their ids and the user checked they are a different person).",
    )


class DuplicatesOut(Schema):
    detail: str
    candidates: list[int]


class FieldErrorsOut(Schema):
    detail: str
    errors: dict[str, list[str]]


class UnmaskIn(Schema):
    field: Literal["id_number", "phone"]
    reason: str = Field(min_length=1, max_length=500)


class UnmaskOut(Schema):
    field: str
    value: str


class MessageOut(Schema):
    detail: str
