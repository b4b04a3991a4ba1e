"""Shapes of the screening API (validation and output only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from safecommunity.screening.models import Band, Decision, RunKind, RunStatus, TaskStatus


class RiskListRef(Schema):
    id: int
    name: str


class ProgressOut(Schema):
    stage: str
    done: int
    total: int
    percent: int = Field(description="0–100; 100 once the run is done")


class BandCountsOut(Schema):
    certain: int
    probable: int
    possible: int


class RunOut(Schema):
    id: int
    kind: RunKind
    status: RunStatus
    risk_list: RiskListRef | None
    purpose: str
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    records: int
    matched_records: int
    bands: BandCountsOut


class RunDetailOut(RunOut):
    progress: ProgressOut
    message: str


class RunPageOut(Schema):
    count: int
    items: list[RunOut]


class FieldExplanationOut(Schema):
    field: str = Field(description="id, phone, name, birth, gender or address")
    level: str = Field(description="the comparison level, e.g. exact, homophone, missing")
    weight: float = Field(description="the field's contribution in bits (log2 Bayes factor)")


# What a user who may not see names (a city analyst without ``accounts.view_names``) gets,
# as in the registry's API: the name masked, the birth year without the date, no address and
# no notes — with the name masked, a full date or a dwelling would still single a person out.
_WITHHELD = "; empty (null) for users who may not see names"


class ResidentOut(Schema):
    id: int
    name: str = Field(description="masked when the user may not see names")
    id_masked: str
    phone_masked: str
    birth_date: date | None = Field(description="the date of birth" + _WITHHELD)
    birth_year: int | None
    gender: str
    address: str = Field(
        description="standard address of the current dwelling, or empty" + _WITHHELD
    )
    beat: str = Field(description="the current dwelling's beat, or empty")


class OutsideJurisdictionOut(Schema):
    """The side of a deduplication pair that lies outside the user's jurisdiction: that a
    possible duplicate exists there, and nothing about who or where it is."""

    outside_jurisdiction: Literal[True]
    detail: str


class RiskRecordOut(Schema):
    id: int
    line: int
    name: str = Field(description="masked when the user may not see names")
    id_masked: str
    phone_masked: str
    birth_date: date | None = Field(description="as on the list" + _WITHHELD)
    birth_year: int | None
    gender: str
    address: str = Field(description="as on the list" + _WITHHELD)


class ReviewOut(Schema):
    decision: Decision
    note: str | None = Field(description="the reviewer's note" + _WITHHELD)
    reviewed_by: str
    reviewed_at: datetime


class _ScoredOut(Schema):
    """What a screening match and a deduplication pair share."""

    id: int
    run_id: int
    band: Band
    weight: float = Field(description="the match weight in bits (log2 Bayes factor)")
    probability: float
    rank: int = Field(description="1 = the record's best candidate")
    record_id: int | None = Field(description="the risk record (screening runs)")
    explanation: list[FieldExplanationOut]
    review: ReviewOut | None
    task_id: int | None = Field(description="the verification task of a confirmed match")


class MatchOut(_ScoredOut):
    resident: ResidentOut
    other: ResidentOut | None = Field(
        description="always null: a deduplication pair is listed under ``/pairs``"
    )


class RecordMatchesOut(Schema):
    record: RiskRecordOut
    candidates: list[MatchOut]


class MatchPageOut(Schema):
    count: int = Field(description="risk records with a candidate in scope (after filters)")
    items: list[RecordMatchesOut]


class PairOut(_ScoredOut):
    resident: ResidentOut | OutsideJurisdictionOut = Field(
        description="the pair's first resident, or only that it lies outside your jurisdiction"
    )
    other: ResidentOut | OutsideJurisdictionOut = Field(
        description="the pair's second resident, or only that it lies outside your jurisdiction"
    )
    mergeable: bool = Field(False, description="your jurisdiction covers both residents")


class PairPageOut(Schema):
    count: int
    items: list[PairOut]


class ReviewIn(Schema):
    decision: Decision
    note: str = Field("", max_length=1000)


class TaskOut(Schema):
    id: int
    status: TaskStatus
    match_id: int
    run_id: int
    record_line: int | None = Field(description="the risk record's line in its file")
    resident: ResidentOut
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    outcome: str | None = Field(description="what the check found" + _WITHHELD)


class TaskPageOut(Schema):
    count: int
    items: list[TaskOut]


class TaskDoneIn(Schema):
    outcome: str = Field(min_length=1, max_length=1000)


class MessageOut(Schema):
    detail: str
