"""Geometry for places: validating GeoJSON boundaries and finding the beat at a point.

``BeatLocator`` is an in-memory spatial index over the beats' grid boundaries: a uniform
bucket grid maps each cell to the few polygons whose bounding boxes touch it, and a prepared
shapely polygon answers the point-in-polygon test. A lookup is a dict probe and one or two
``contains_xy`` calls (no Point object is built), which is what lets one process answer tens
of thousands of lookups a second.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy
import shapely
from django.utils.translation import gettext
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

# Coordinates are WGS-84 longitude/latitude; six decimals is about 0.1 m.
COORD_DECIMALS = 6


class GeometryError(ValueError):
    """A boundary that is not a usable GeoJSON polygon; the message says why."""


def parse_boundary(value: Any) -> BaseGeometry:
    """Parse a GeoJSON Polygon/MultiPolygon (a dict or its JSON text) and check it.

    Raises ``GeometryError`` naming the problem: not JSON, wrong type, bad coordinates
    (wrongly nested, not numbers, NaN or infinite), self-intersection, coordinates outside
    longitude/latitude range. Nothing a client sends makes it raise anything else.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise GeometryError(
                gettext("not valid JSON: %(why)s at character %(pos)d")
                % {"why": exc.msg, "pos": exc.pos}
            ) from exc
        except RecursionError as exc:
            raise GeometryError(gettext("not valid JSON: nested too deeply")) from exc
    if not isinstance(value, dict):
        raise GeometryError(gettext("a geometry must be a JSON object"))
    kind = value.get("type")
    if not isinstance(kind, str):
        raise GeometryError(gettext("geometry type must be Polygon or MultiPolygon"))
    if kind not in {"Polygon", "MultiPolygon"}:
        raise GeometryError(
            gettext("geometry type must be Polygon or MultiPolygon, not %(kind)s")
            % {"kind": repr(kind)}
        )
    if "coordinates" not in value:
        raise GeometryError(gettext("geometry has no coordinates"))
    # Checked before shapely sees them: shapely recurses into nested lists (deep nesting
    # exhausts the stack) and GEOS cannot close a ring whose ends are NaN.
    _check_coordinates(kind, value["coordinates"])
    try:
        geom = shape(value)
    except (ValueError, TypeError, IndexError, AttributeError, GEOSException) as exc:
        raise GeometryError(gettext("malformed coordinates: %(why)s") % {"why": exc}) from exc
    if geom.is_empty:
        raise GeometryError(gettext("geometry is empty"))
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise GeometryError(gettext("coordinates are outside longitude/latitude range"))
    try:
        valid = geom.is_valid
    except GEOSException as exc:
        raise GeometryError(gettext("malformed coordinates: %(why)s") % {"why": exc}) from exc
    if not valid:
        raise GeometryError(
            gettext("invalid polygon: %(why)s") % {"why": shapely.is_valid_reason(geom)}
        )
    return geom


def _check_coordinates(kind: str, coordinates: Any) -> None:
    """Check the nesting of a Polygon's (rings → positions → numbers) or a MultiPolygon's
    (polygons → rings → positions → numbers) coordinates, and that every number is finite.

    The levels above a ring are walked in a loop and each ring is converted by numpy, which
    gives up past its dimension limit rather than recurse: a hostile nesting depth costs
    nothing. Emptiness and ring shape are left to shapely, which names them.
    """
    malformed = gettext("malformed coordinates: %(why)s")
    if not isinstance(coordinates, list):
        raise GeometryError(malformed % {"why": gettext("coordinates must be a list")})
    polygons = coordinates if kind == "MultiPolygon" else [coordinates]
    for polygon in polygons:
        if not isinstance(polygon, list):
            raise GeometryError(malformed % {"why": gettext("a polygon must be a list of rings")})
        for ring in polygon:
            if not isinstance(ring, list):
                raise GeometryError(
                    malformed % {"why": gettext("a ring must be a list of positions")}
                )
            if not ring:
                continue
            try:
                points = numpy.asarray(ring, dtype=float)
            except (ValueError, TypeError, OverflowError):
                points = None
            if points is None or points.ndim != 2 or points.shape[1] not in (2, 3):
                raise GeometryError(
                    malformed
                    % {
                        "why": gettext(
                            "a position must be a list of two or three numbers "
                            "(longitude, latitude)"
                        )
                    }
                )
            if not numpy.isfinite(points).all():
                raise GeometryError(
                    gettext("coordinates must be finite numbers, not NaN or infinity")
                )


def to_geojson_text(geom: BaseGeometry) -> str:
    """Compact GeoJSON text of ``geom`` with rounded coordinates, ready to send as is."""
    rounded = shapely.set_precision(geom, 10**-COORD_DECIMALS)
    text: str = shapely.to_geojson(rounded)
    return text


def polygon_or_multi(geom: BaseGeometry) -> Polygon | MultiPolygon:
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    raise GeometryError(gettext("expected a polygon, got %(type)s") % {"type": geom.geom_type})


@dataclass(frozen=True, slots=True)
class BeatHit:
    beat_id: int
    grid_id: int
    station_id: int
    office_id: int | None


class BeatLocator:
    """Point → beat over a fixed set of beat polygons (immutable once built)."""

    def __init__(self, items: list[tuple[BeatHit, BaseGeometry]]) -> None:
        self._hits = [hit for hit, _ in items]
        self._polys = [geom for _, geom in items]
        for poly in self._polys:
            shapely.prepare(poly)
        self._buckets: dict[tuple[int, int], list[int]] = {}
        if not items:
            self._cell = 1.0
            self._x0 = self._y0 = 0.0
            return
        bounds = shapely.bounds(self._polys)
        self._x0 = float(bounds[:, 0].min())
        self._y0 = float(bounds[:, 1].min())
        # Cells about the size of a small polygon. The mean would be dominated by a few large
        # rural grids and leave ten candidates per probe in the dense centre; the tenth
        # percentile keeps it to a few, at the cost of more (cheap) cells for the big grids.
        sizes = ((bounds[:, 2] - bounds[:, 0]) + (bounds[:, 3] - bounds[:, 1])) / 2
        self._cell = max(float(numpy.percentile(sizes, 10)), 1e-6)
        for index, (minx, miny, maxx, maxy) in enumerate(bounds):
            for i in range(self._ix(minx), self._ix(maxx) + 1):
                for j in range(self._iy(miny), self._iy(maxy) + 1):
                    self._buckets.setdefault((i, j), []).append(index)

    def _ix(self, x: float) -> int:
        return math.floor((x - self._x0) / self._cell)

    def _iy(self, y: float) -> int:
        return math.floor((y - self._y0) / self._cell)

    def __len__(self) -> int:
        return len(self._hits)

    def locate(self, lng: float, lat: float) -> BeatHit | None:
        """The beat whose boundary contains (lng, lat), or None. On a shared edge, the first
        beat in code order wins, so the answer is stable."""
        candidates = self._buckets.get((self._ix(lng), self._iy(lat)))
        if not candidates:
            return None
        polys = self._polys
        for index in candidates:
            if shapely.intersects_xy(polys[index], lng, lat):
                return self._hits[index]
        return None


_locator: BeatLocator | None = None
_locator_version: tuple[Any, ...] | None = None
_locator_checked = 0.0
_lock = threading.Lock()
# How long a process trusts its index before asking the database whether boundaries changed.
LOCATOR_RECHECK_SECONDS = 30.0


def _boundary_version() -> tuple[Any, ...]:
    from django.db.models import Count, Max

    from safecommunity.places.models import Beat, Grid

    grid = Grid.objects.aggregate(n=Count("id"), latest=Max("updated_at"))
    beats = Beat.objects.aggregate(n=Count("id"), top=Max("id"))
    return (grid["n"], grid["latest"], beats["n"], beats["top"])


def _build() -> BeatLocator:
    from safecommunity.places.models import Beat

    items: list[tuple[BeatHit, BaseGeometry]] = []
    rows = (
        Beat.objects.exclude(grid__boundary="")
        .order_by("code")
        .values_list("id", "grid_id", "station_id", "office_id", "grid__boundary")
    )
    for beat_id, grid_id, station_id, office_id, boundary in rows.iterator(chunk_size=2000):
        items.append((BeatHit(beat_id, grid_id, station_id, office_id), parse_boundary(boundary)))
    return BeatLocator(items)


def get_locator(*, force_check: bool = False) -> BeatLocator:
    """The process's beat index, rebuilt when the boundaries in the database changed."""
    global _locator, _locator_version, _locator_checked
    now = time.monotonic()
    if (
        _locator is not None
        and not force_check
        and now - _locator_checked < LOCATOR_RECHECK_SECONDS
    ):
        return _locator
    with _lock:
        version = _boundary_version()
        if _locator is None or version != _locator_version:
            _locator = _build()
            _locator_version = version
        _locator_checked = now
        return _locator


def invalidate_locator() -> None:
    """Forget the index; the next lookup rebuilds it. Called by services that move borders."""
    global _locator, _locator_version
    with _lock:
        _locator = None
        _locator_version = None
