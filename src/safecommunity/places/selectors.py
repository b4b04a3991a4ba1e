"""Reads for places, every one already narrowed to the user's scope (``accounts.scope``).

A ``get`` of something out of scope raises ``Http404``: the object does not exist for them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from safecommunity.accounts.models import User
from safecommunity.accounts.scope import scope_filter, scope_for
from safecommunity.places import metrics
from safecommunity.places.models import (
    Beat,
    Division,
    DivisionKind,
    Dwelling,
    PoliceOffice,
    PoliceStation,
)
from safecommunity.places.services import beat_at

_SPACES = re.compile(r"\s+")


def normalize_address(raw: str) -> str:
    """How standard addresses are compared with what people type: full-width digits and
    letters made half-width, spaces and NUL characters removed."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", raw.replace("\x00", "")))


def division_list(*, user: User) -> QuerySet[Division]:
    return scope_filter(Division.objects.all(), user)


def division_get(*, user: User, pk: int) -> Division:
    return get_object_or_404(division_list(user=user).select_related("parent"), pk=pk)


def division_children(*, user: User, division: Division) -> QuerySet[Division]:
    return (
        division_list(user=user)
        .filter(parent=division)
        .annotate(
            n_children=Count("children", distinct=True), n_grids=Count("grids", distinct=True)
        )
        .order_by("code")
    )


def division_ancestors(division: Division) -> list[Division]:
    """Names above a division, for breadcrumbs (names of divisions are public)."""
    prefixes: list[str] = []
    parts = division.path.split(".")
    # The city is two segments ("12.01"); every level below adds one.
    for end in range(2, len(parts)):
        prefixes.append(".".join(parts[:end]))
    return list(Division.objects.filter(path__in=prefixes).order_by("path"))


def beat_list(*, user: User) -> QuerySet[Beat]:
    return scope_filter(Beat.objects.all(), user)


def beat_get(*, user: User, pk: int) -> Beat:
    return get_object_or_404(
        beat_list(user=user).select_related("grid", "grid__community", "station", "office"),
        pk=pk,
    )


def beats_of_division(*, user: User, division: Division) -> QuerySet[Beat]:
    return beat_list(user=user).filter(path__startswith=division.path + ".")


def station_list(*, user: User) -> QuerySet[PoliceStation]:
    return scope_filter(PoliceStation.objects.all(), user, via="beats__path", distinct=True)


def station_get(*, user: User, pk: int) -> PoliceStation:
    return get_object_or_404(station_list(user=user).select_related("district"), pk=pk)


def office_list(*, user: User) -> QuerySet[PoliceOffice]:
    return scope_filter(PoliceOffice.objects.all(), user, via="beats__path", distinct=True)


def office_get(*, user: User, pk: int) -> PoliceOffice:
    return get_object_or_404(office_list(user=user).select_related("station"), pk=pk)


def dwelling_list(*, user: User) -> QuerySet[Dwelling]:
    return scope_filter(Dwelling.objects.all(), user)


@dataclass(frozen=True)
class TreeRoot:
    """Where a user's place browser starts: divisions, or beats for beat/station users."""

    divisions: list[Division]
    beats: list[Beat]


def tree_roots(*, user: User) -> TreeRoot:
    scope = scope_for(user)
    if scope.is_everything:
        return TreeRoot(list(Division.objects.filter(kind=DivisionKind.CITY)), [])
    if user.jurisdiction_division_id is not None:
        return TreeRoot(list(Division.objects.filter(pk=user.jurisdiction_division_id)), [])
    return TreeRoot([], list(beat_list(user=user).select_related("station")))


def beat_at_for(*, user: User, lat: float, lng: float) -> Beat:
    """The beat at a point, if it lies in the user's scope; otherwise ``Http404``."""
    hit = beat_at(lat=lat, lng=lng)
    if hit is None:
        raise Http404("No beat at this point.")
    return beat_get(user=user, pk=hit.beat_id)


def beats_geojson(*, user: User, metric: str | None = None) -> str:
    """A GeoJSON FeatureCollection of the beats in scope, as text.

    Boundaries are stored as GeoJSON text and spliced in without parsing, so a city of
    thousands of beats costs one query plus one for the metric.
    """
    import json

    beats = beat_list(user=user)
    values: dict[int, float] = {}
    chosen = metrics.get(metric) if metric else None
    if chosen is not None:
        values = chosen.compute(beats)
    rows = beats.exclude(grid__boundary="").values_list(
        "id", "code", "name", "station__name", "grid__boundary"
    )
    parts = []
    for beat_id, code, name, station_name, boundary in rows.iterator(chunk_size=2000):
        props = {"id": beat_id, "code": code, "name": name, "station": station_name}
        if chosen is not None:
            props["value"] = values.get(beat_id, 0)
        parts.append(
            '{"type":"Feature","properties":'
            + json.dumps(props, ensure_ascii=False)
            + ',"geometry":'
            + boundary
            + "}"
        )
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"
