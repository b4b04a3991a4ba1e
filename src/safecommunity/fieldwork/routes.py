"""Patrol routes: a GeoJSON LineString, checked point by point and measured.

A route comes from a phone's GPS track or a line drawn on a map; either way it is text from
outside, so every problem gets a message that says what is wrong and where.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.utils.translation import gettext as _
from shapely.geometry import LineString

EARTH_RADIUS_M = 6_371_000
MAX_POINTS = 10_000


class RouteError(ValueError):
    """The route is not a usable GeoJSON LineString; the message says why."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_route(value: str | dict[str, Any]) -> LineString:
    """A GeoJSON LineString (text or parsed) as a shapely line, or ``RouteError``.

    Accepts a bare geometry or a Feature holding one. Coordinates are [longitude, latitude]
    (an optional third value, the altitude, is dropped); at least two distinct points.
    """
    data: Any = value
    if isinstance(value, str):
        if not value.strip():
            raise RouteError(_("The route is empty."))
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise RouteError(_("The route is not valid JSON: %(why)s") % {"why": exc}) from exc
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict):
        raise RouteError(_("The route must be a GeoJSON LineString object."))
    if data.get("type") != "LineString":
        raise RouteError(
            _("The route must be a GeoJSON LineString, not “%(type)s”.")
            % {"type": str(data.get("type"))[:40]}
        )
    coordinates = data.get("coordinates")
    if not isinstance(coordinates, list):
        raise RouteError(_("The route has no list of coordinates."))
    if len(coordinates) < 2:
        raise RouteError(_("A route needs at least two points."))
    if len(coordinates) > MAX_POINTS:
        raise RouteError(_("A route has at most %(n)d points.") % {"n": MAX_POINTS})
    points: list[tuple[float, float]] = []
    for number, point in enumerate(coordinates, start=1):
        if not isinstance(point, list) or len(point) not in (2, 3) or not all(map(_number, point)):
            raise RouteError(
                _("Point %(n)d of the route is not [longitude, latitude].") % {"n": number}
            )
        lng, lat = float(point[0]), float(point[1])
        if not -180 <= lng <= 180:
            raise RouteError(
                _("Point %(n)d: the longitude %(v)s is outside −180…180.") % {"n": number, "v": lng}
            )
        if not -90 <= lat <= 90:
            raise RouteError(
                _("Point %(n)d: the latitude %(v)s is outside −90…90.") % {"n": number, "v": lat}
            )
        points.append((lng, lat))
    if len(set(points)) < 2:
        raise RouteError(_("A route needs at least two different points."))
    return LineString(points)


def route_text(line: LineString) -> str:
    """The line as compact GeoJSON text (what is stored)."""
    return json.dumps(
        {"type": "LineString", "coordinates": [[x, y] for x, y in line.coords]},
        separators=(",", ":"),
    )


def route_length_m(line: LineString) -> float:
    """Length along the ground, segment by segment (haversine): metres, not degrees."""
    total = 0.0
    coords = list(line.coords)
    for (lng1, lat1), (lng2, lat2) in zip(coords, coords[1:], strict=False):
        phi1, phi2 = math.radians(lat1), math.radians(lat2)
        dphi, dlmb = phi2 - phi1, math.radians(lng2 - lng1)
        a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
        total += 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
    return total
