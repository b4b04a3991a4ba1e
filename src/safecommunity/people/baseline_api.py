"""Baseline counts over the API: ``GET /api/v1/people/baseline?path=12.01.04``.

The same table as the page (``people.baseline.baseline_for``): the place, its ancestors, one
row per child place and the totals. A path outside the user's jurisdiction is a 404.
"""

# No ``from __future__ import annotations``: ninja reads the annotations at runtime.

from typing import Annotated

from django.http import HttpRequest
from ninja import Query, Router, Schema

from safecommunity.accounts.api import request_user
from safecommunity.people.baseline import Counts, Place, baseline_for

router = Router(tags=["people"])

PATH_PATTERN = r"^\d+(\.\d+)*$"


class PlaceOut(Schema):
    path: str
    name: str
    kind: str
    code: str


class CountsOut(Schema):
    residents: int
    registered: int
    floating: int
    dwellings: int
    occupied: int
    vacant: int
    rented: int
    care_tagged: int
    verified_30d: int
    verified_90d: int
    verified_365d: int


class RowOut(Schema):
    place: PlaceOut
    counts: CountsOut


class BaselineOut(Schema):
    place: PlaceOut
    ancestors: list[PlaceOut]
    child_kind: str
    rows: list[RowOut]
    totals: CountsOut


class MessageOut(Schema):
    detail: str


def _place(place: Place) -> PlaceOut:
    return PlaceOut(path=place.path, name=place.name, kind=place.kind, code=place.code)


def _counts(counts: Counts) -> CountsOut:
    return CountsOut(**counts.as_dict())


@router.get(
    "",
    response={200: BaselineOut, 404: MessageOut},
    summary="Baseline counts for a place in scope, one row per child place",
)
def baseline(
    request: HttpRequest,
    path: Annotated[
        str | None,
        Query(
            pattern=PATH_PATTERN,
            max_length=64,
            description="A place path (default: the user's jurisdiction), e.g. 12.01.04",
        ),
    ] = None,
) -> BaselineOut:
    table = baseline_for(user=request_user(request), path=path)
    return BaselineOut(
        place=_place(table.node),
        ancestors=[_place(p) for p in table.ancestors],
        child_kind=table.child_kind,
        rows=[RowOut(place=_place(r.place), counts=_counts(r.counts)) for r in table.rows],
        totals=_counts(table.totals),
    )
