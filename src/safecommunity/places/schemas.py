"""Shapes of the places API (validation and output only), and the API's page of a list."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

# Largest offset a client may ask for: far beyond any real list, small enough that
# ``offset + limit`` always fits the database's 64-bit integers.
MAX_OFFSET = 1_000_000_000
MAX_LIMIT = 500
# Ids are 64-bit; a larger one in a filter makes SQLite's driver overflow (a 500).
MAX_ID = 2**63 - 1


class Pagination(LimitOffsetPagination):
    """``?limit=&offset=`` with both bounded, answering ``{"items": [...], "count": n}``.

    Ninja's own class leaves the offset unbounded, and an offset past 2**63 makes the database
    driver fail (a 500); here it is a 422 naming the parameter.
    """

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)


class Ref(Schema):
    """Enough of a place to name and link it."""

    id: int
    code: str
    name: str


class DivisionOut(Schema):
    id: int
    kind: str
    code: str
    name: str
    path: str
    parent_id: int | None


class DivisionChildOut(DivisionOut):
    n_children: int
    n_grids: int


class DivisionDetailOut(DivisionOut):
    # Names above the division, for breadcrumbs (division names are public).
    ancestors: list[DivisionOut]
    children: list[DivisionChildOut]
    boundary: dict[str, Any] | None


class BeatOut(Schema):
    id: int
    code: str
    name: str
    path: str
    grid_id: int
    station: Ref
    office: Ref | None


class GridOut(Ref):
    path: str
    community: Ref


class BeatDetailOut(Schema):
    id: int
    code: str
    name: str
    path: str
    grid: GridOut
    station: Ref
    office: Ref | None
    boundary: dict[str, Any] | None


class StationOut(Schema):
    id: int
    code: str
    name: str
    address: str
    phone: str
    district: Ref


class StationDetailOut(StationOut):
    beats: list[Ref]
    offices: list[Ref]


class OfficeOut(Schema):
    id: int
    code: str
    name: str
    service_centre: str
    address: str
    opening_hours: str
    phone: str
    lat: float | None
    lng: float | None
    station: Ref


class OfficeDetailOut(OfficeOut):
    beats: list[Ref]


class BeatAtOut(Schema):
    """What answers for a point: its grid, beat, police station and police office."""

    lat: float
    lng: float
    grid: Ref
    beat: Ref
    station: Ref
    office: Ref | None


class MetricOut(Schema):
    key: str
    label: str


class BoundaryImportOut(Schema):
    created: int
    updated: int


class BoundaryImportErrorOut(Schema):
    detail: str
    # One line per problem, each naming the feature by number and code and saying why.
    errors: list[str]


class MessageOut(Schema):
    detail: str
