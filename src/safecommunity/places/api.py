"""Places API: divisions, beats, stations, offices, point → beat, the beat map, boundaries.

Handlers are thin: every read goes through ``places.selectors`` (already scoped, so an object
out of scope is a 404 exactly like an unknown one), every write through ``places.services``.
"""

# No ``from __future__ import annotations`` here: ninja reads the handlers' annotations at
# runtime to build the parameters' models.

import json
from collections.abc import Iterable
from typing import Annotated, Any

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from safecommunity.accounts.api import request_user
from safecommunity.accounts.models import Role
from safecommunity.places import metrics, selectors, services
from safecommunity.places.models import Beat, Division, DivisionKind, PoliceOffice, PoliceStation
from safecommunity.places.schemas import (
    MAX_ID,
    BeatAtOut,
    BeatDetailOut,
    BeatOut,
    BoundaryImportErrorOut,
    BoundaryImportOut,
    DivisionChildOut,
    DivisionDetailOut,
    DivisionOut,
    GridOut,
    MessageOut,
    MetricOut,
    OfficeDetailOut,
    OfficeOut,
    Pagination,
    Ref,
    StationDetailOut,
    StationOut,
)

router = Router(tags=["places"])

# A place path: dot-joined digit segments (``12.01.04.003``).
PATH_PATTERN = r"^\d+(\.\d+)*$"
PATH_MAX_LENGTH = 64

_NOT_FOUND = {404: MessageOut}


def _geometry(text: str) -> dict[str, Any] | None:
    """Stored boundaries are GeoJSON text, validated on the way in (``places.geo``)."""
    return json.loads(text) if text else None


def _ref(obj: Model | None) -> Ref | None:
    return Ref.model_validate(obj) if obj is not None else None


def _refs(objects: Iterable[Model]) -> list[Ref]:
    return [Ref.model_validate(obj) for obj in objects]


# --- divisions -------------------------------------------------------------------------------


@router.get(
    "/divisions",
    response=list[DivisionOut],
    summary="Divisions in scope (filter by parent id and kind)",
)
@paginate(Pagination)
def division_list(
    request: HttpRequest,
    parent: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only the children of this division")
    ] = None,
    kind: Annotated[DivisionKind | None, Query(description="Only divisions of this kind")] = None,
) -> QuerySet[Division]:
    divisions = selectors.division_list(user=request_user(request))
    if parent is not None:
        divisions = divisions.filter(parent_id=parent)
    if kind is not None:
        divisions = divisions.filter(kind=kind)
    return divisions.order_by("path")


@router.get(
    "/divisions/{division_id}",
    response={200: DivisionDetailOut, **_NOT_FOUND},
    summary="One division with its ancestors and children",
)
def division_detail(request: HttpRequest, division_id: int) -> DivisionDetailOut:
    user = request_user(request)
    division = selectors.division_get(user=user, pk=division_id)
    return DivisionDetailOut(
        id=division.pk,
        kind=division.kind,
        code=division.code,
        name=division.name,
        path=division.path,
        parent_id=division.parent_id,
        ancestors=[DivisionOut.model_validate(d) for d in selectors.division_ancestors(division)],
        children=[
            DivisionChildOut.model_validate(child)
            for child in selectors.division_children(user=user, division=division)
        ],
        boundary=_geometry(division.boundary),
    )


# --- beats -----------------------------------------------------------------------------------


@router.get(
    "/beats",
    response=list[BeatOut],
    summary="Beats in scope (filter by police station and by division path)",
)
@paginate(Pagination)
def beat_list(
    request: HttpRequest,
    station: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only the beats of this station")
    ] = None,
    within: Annotated[
        str | None,
        Query(
            pattern=PATH_PATTERN,
            max_length=PATH_MAX_LENGTH,
            description="Only beats under this place path, e.g. 12.01.04.003",
        ),
    ] = None,
) -> QuerySet[Beat]:
    beats = selectors.beat_list(user=request_user(request)).select_related("station", "office")
    if station is not None:
        beats = beats.filter(station_id=station)
    if within is not None:
        beats = beats.filter(Q(path=within) | Q(path__startswith=within + "."))
    return beats.order_by("path")


@router.get(
    "/beats.geojson",
    response={200: None, 400: MessageOut},
    summary="The beats in scope as a GeoJSON FeatureCollection, optionally with a metric",
    openapi_extra={
        "responses": {
            "200": {
                "description": "A FeatureCollection; with ``metric``, each feature's "
                "properties carry ``value``.",
                "content": {"application/geo+json": {"schema": {"type": "object"}}},
            }
        }
    },
)
def beats_geojson(
    request: HttpRequest,
    metric: Annotated[
        str | None,
        Query(max_length=64, description="A key from /places/metrics to colour beats by"),
    ] = None,
) -> HttpResponse | Status[MessageOut]:
    if metric and metrics.get(metric) is None:
        known = ", ".join(m.key for m in metrics.available())
        detail = _("Unknown metric “%(metric)s”; known metrics: %(known)s.") % {
            "metric": metric,
            "known": known,
        }
        return Status(400, MessageOut(detail=detail))
    text = selectors.beats_geojson(user=request_user(request), metric=metric or None)
    return HttpResponse(text, content_type="application/geo+json")


@router.get(
    "/beats/{beat_id}",
    response={200: BeatDetailOut, **_NOT_FOUND},
    summary="One beat with its grid, police station and police office",
)
def beat_detail(request: HttpRequest, beat_id: int) -> BeatDetailOut:
    beat = selectors.beat_get(user=request_user(request), pk=beat_id)
    return BeatDetailOut(
        id=beat.pk,
        code=beat.code,
        name=beat.name,
        path=beat.path,
        grid=GridOut.model_validate(beat.grid),
        station=Ref.model_validate(beat.station),
        office=_ref(beat.office),
        boundary=_geometry(beat.grid.boundary),
    )


@router.get(
    "/beat-at",
    response={200: BeatAtOut, **_NOT_FOUND},
    summary="The grid, beat, police station and police office at a point",
)
def beat_at(
    request: HttpRequest,
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude (WGS-84)")],
    lng: Annotated[float, Query(ge=-180, le=180, description="Longitude (WGS-84)")],
) -> BeatAtOut:
    beat = selectors.beat_at_for(user=request_user(request), lat=lat, lng=lng)
    return BeatAtOut(
        lat=lat,
        lng=lng,
        grid=Ref.model_validate(beat.grid),
        beat=Ref.model_validate(beat),
        station=Ref.model_validate(beat.station),
        office=_ref(beat.office),
    )


@router.get("/metrics", response=list[MetricOut], summary="Metrics the beat map can colour by")
def metric_list(request: HttpRequest) -> list[MetricOut]:
    return [MetricOut(key=m.key, label=str(m.label)) for m in metrics.available()]


# --- police stations and offices -------------------------------------------------------------


@router.get("/stations", response=list[StationOut], summary="Police stations in scope")
@paginate(Pagination)
def station_list(request: HttpRequest) -> QuerySet[PoliceStation]:
    return (
        selectors.station_list(user=request_user(request))
        .select_related("district")
        .order_by("code")
    )


@router.get(
    "/stations/{station_id}",
    response={200: StationDetailOut, **_NOT_FOUND},
    summary="One police station with its beats and offices in scope",
)
def station_detail(request: HttpRequest, station_id: int) -> StationDetailOut:
    user = request_user(request)
    station = selectors.station_get(user=user, pk=station_id)
    return StationDetailOut(
        id=station.pk,
        code=station.code,
        name=station.name,
        address=station.address,
        phone=station.phone,
        district=Ref.model_validate(station.district),
        beats=_refs(selectors.beat_list(user=user).filter(station=station)),
        offices=_refs(selectors.office_list(user=user).filter(station=station).order_by("code")),
    )


@router.get("/offices", response=list[OfficeOut], summary="Police offices in scope")
@paginate(Pagination)
def office_list(request: HttpRequest) -> QuerySet[PoliceOffice]:
    return (
        selectors.office_list(user=request_user(request)).select_related("station").order_by("code")
    )


@router.get(
    "/offices/{office_id}",
    response={200: OfficeDetailOut, **_NOT_FOUND},
    summary="One police office: address, hours, phone, service centre and its beats in scope",
)
def office_detail(request: HttpRequest, office_id: int) -> OfficeDetailOut:
    user = request_user(request)
    office = selectors.office_get(user=user, pk=office_id)
    return OfficeDetailOut(
        id=office.pk,
        code=office.code,
        name=office.name,
        service_centre=office.service_centre,
        address=office.address,
        opening_hours=office.opening_hours,
        phone=office.phone,
        lat=office.lat,
        lng=office.lng,
        station=Ref.model_validate(office.station),
        beats=_refs(selectors.beat_list(user=user).filter(office=office)),
    )


# --- boundaries ------------------------------------------------------------------------------

_FEATURE_COLLECTION_DOC = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "description": "A Feature whose properties carry code and, for a new place, "
                "kind (city/district/subdistrict/community/grid), name and parent (code).",
            },
        },
    },
}


@router.post(
    "/boundaries",
    response={200: BoundaryImportOut, 400: BoundaryImportErrorOut, 403: MessageOut},
    summary="Import division and grid boundaries from a GeoJSON FeatureCollection (admin)",
    description="All or nothing: when any feature is wrong, nothing is written and the answer "
    "lists every problem with the feature's number and code.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/geo+json": {"schema": _FEATURE_COLLECTION_DOC},
                "application/json": {"schema": _FEATURE_COLLECTION_DOC},
            },
        }
    },
)
def boundaries_import(
    request: HttpRequest,
) -> Status[BoundaryImportOut] | Status[BoundaryImportErrorOut]:
    user = request_user(request)
    if user.role != Role.ADMIN:
        raise HttpError(403, _("Only an administrator may import boundaries."))
    # The raw body goes to the service, which reports malformed JSON in its own words.
    result = services.boundaries_import(data=request.body, actor=user)
    if result.errors:
        return Status(
            400,
            BoundaryImportErrorOut(
                detail=_("The boundaries were not imported; nothing was changed."),
                errors=result.errors,
            ),
        )
    return Status(200, BoundaryImportOut(created=result.created, updated=result.updated))
