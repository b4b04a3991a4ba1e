"""Plausible boundaries for the demo city: Voronoi cells that tile their parent exactly.

Every level is cut from the level above (``subdivide``), so subdistricts tile their district,
communities their subdistrict and grids their community, and no two grids overlap. All
geometry is snapped to the precision the database stores (``places.geo.COORD_DECIMALS``)
before it is cut further or sampled, so a point drawn inside a stored polygon is inside it
for ``beat_at`` too.
"""

from __future__ import annotations

import math
from random import Random

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from safecommunity.places.geo import COORD_DECIMALS

GRID_SIZE = 10**-COORD_DECIMALS

# A rough outline of Tianjin (lng, lat): narrow in the Jizhou hills to the north, widening
# towards the Bohai coast in the south-east.
CITY_OUTLINE = (
    (117.25, 40.20),
    (117.60, 40.15),
    (117.75, 39.85),
    (117.62, 39.58),
    (117.90, 39.25),
    (117.82, 38.75),
    (117.45, 38.60),
    (116.95, 38.62),
    (116.88, 38.95),
    (117.00, 39.35),
    (117.08, 39.65),
    (117.15, 39.95),
)
CITY_CENTRE = (117.20, 39.13)


def snap(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """``geom`` snapped to the stored precision, kept valid and polygonal."""
    snapped = shapely.set_precision(geom, GRID_SIZE)
    return polygonal(snapped if snapped.is_valid else shapely.make_valid(snapped))


def polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """The polygon part of ``geom`` (clipping can leave stray lines or points behind).

    A piece that clipping split in two stays a MultiPolygon rather than losing its smaller
    part: dropping it would leave a hole in the tiling that no beat answers for.
    """
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts: list[Polygon] = []
    for part in getattr(geom, "geoms", ()):
        if isinstance(part, Polygon):
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(part.geoms)
    parts = [p for p in parts if p.area > 0]
    if not parts:
        raise ValueError(f"no polygon left in {geom.geom_type}")
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def city_outline() -> Polygon:
    return Polygon(CITY_OUTLINE)


def cells_for_seeds(
    parent: BaseGeometry, seeds: list[tuple[float, float]]
) -> list[Polygon | MultiPolygon]:
    """The Voronoi cell of each seed, clipped to ``parent``, in seed order."""
    if len(seeds) == 1:
        return [snap(parent)]
    regions = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=parent, ordered=True)
    clipped = shapely.intersection(list(regions.geoms), parent)
    return [snap(cell) for cell in clipped]


def random_point(geom: BaseGeometry, rng: Random, *, attempts: int = 500) -> tuple[float, float]:
    """A point strictly inside ``geom`` (already rounded to the stored precision).

    Rejection sampling over the bounding box; thin or tiny shapes fall back to a point
    shapely guarantees to be inside.
    """
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    for _ in range(attempts):
        x = round(rng.uniform(minx, maxx), COORD_DECIMALS)
        y = round(rng.uniform(miny, maxy), COORD_DECIMALS)
        if shapely.contains_xy(geom, x, y):
            return x, y
    p = geom.representative_point()
    return round(p.x, COORD_DECIMALS), round(p.y, COORD_DECIMALS)


def point_near(
    geom: BaseGeometry, centre: tuple[float, float], spread: float, rng: Random
) -> tuple[float, float]:
    """A point inside ``geom`` within about ``spread`` degrees of ``centre`` (itself inside)."""
    for _ in range(12):
        x = round(centre[0] + rng.gauss(0, spread), COORD_DECIMALS)
        y = round(centre[1] + rng.gauss(0, spread), COORD_DECIMALS)
        if shapely.contains_xy(geom, x, y):
            return x, y
    return centre


def subdivide(
    parent: BaseGeometry, n: int, rng: Random, *, relax: int = 1
) -> list[Polygon | MultiPolygon]:
    """Cut ``parent`` into ``n`` cells that tile it exactly.

    Seeds are drawn at random inside the parent, then moved to the centroids of their cells
    ``relax`` times (Lloyd's relaxation): cells come out of similar size and compact, the way
    administrative areas look, rather than the slivers raw random Voronoi cells give.
    """
    if n <= 1:
        return [snap(parent)]
    seeds = [random_point(parent, rng) for _ in range(n)]
    seeds = _distinct(seeds, parent, rng)
    for _ in range(relax):
        cells = cells_for_seeds(parent, seeds)
        moved = []
        for cell, seed in zip(cells, seeds, strict=True):
            c = cell.centroid
            moved.append((c.x, c.y) if parent.contains(c) else seed)
        seeds = _distinct(moved, parent, rng)
    return cells_for_seeds(parent, seeds)


def _distinct(
    seeds: list[tuple[float, float]], parent: BaseGeometry, rng: Random
) -> list[tuple[float, float]]:
    # Two equal seeds would merge into one Voronoi cell and lose a child.
    seen: set[tuple[float, float]] = set()
    out = []
    for seed in seeds:
        while seed in seen:
            seed = random_point(parent, rng)
        seen.add(seed)
        out.append(seed)
    return out


def centre_of(geom: BaseGeometry) -> tuple[float, float]:
    p = geom.representative_point()
    return p.x, p.y


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def cluster(centres: list[tuple[float, float]], k: int) -> list[int]:
    """Group points into ``k`` clusters: farthest-point picks of ``k`` heads, then every point
    joins its nearest head. Returns, per point, the index of its head (a head is its own)."""
    heads = [0]
    best = [distance(c, centres[0]) for c in centres]
    while len(heads) < k:
        far = max(range(len(centres)), key=lambda i: (best[i], -i))
        heads.append(far)
        best = [min(best[i], distance(centres[i], centres[far])) for i in range(len(centres))]
    owner = []
    for i, c in enumerate(centres):
        if i in heads:
            owner.append(i)
        else:
            owner.append(min(heads, key=lambda h: (distance(c, centres[h]), h)))
    return owner


def union(cells: list[Polygon | MultiPolygon]) -> Polygon | MultiPolygon:
    return snap(shapely.union_all(cells))
