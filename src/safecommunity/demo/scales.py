"""How big each demo scale is.

``city`` follows the Tianjin figures (DESIGN.md): 16 districts, 250 subdistricts, 5,400
communities, 4,643 grids = beats, 2,311 police offices, 2,598 community officers. The
per-district split of subdistricts, communities and villages follows the real shape of the
city: six small, dense central districts with only urban communities, ten outer districts
whose towns (镇) hold most of the villages.

``small`` is two central districts (南开区, 河北区) with 200 beats, 27,000 dwellings and
54,000 residents; ``district`` is 滨海新区, the largest district, with the civil tree and
beats exactly as the city scale builds them (27 subdistricts, 600 beats) but denser housing,
about 250,000 dwellings for 500,000 residents. ``city`` builds no residents unless asked.
"""

from __future__ import annotations

from dataclasses import dataclass

# GB/T 2260 codes and a point near the middle of each district (lng, lat). The district
# polygons are the Voronoi cells of these points inside the city outline, the same at every
# scale, so 南开区 has one shape whether it is built alone or with the whole city.
CITY_CODE = "120100"
CITY_NAME = "天津市"
DISTRICT_SEEDS: dict[str, tuple[str, tuple[float, float]]] = {
    "120101": ("和平区", (117.200, 39.118)),
    "120102": ("河东区", (117.252, 39.128)),
    "120103": ("河西区", (117.223, 39.082)),
    "120104": ("南开区", (117.152, 39.120)),
    "120105": ("河北区", (117.200, 39.162)),
    "120106": ("红桥区", (117.150, 39.170)),
    "120110": ("东丽区", (117.340, 39.100)),
    "120111": ("西青区", (117.030, 39.060)),
    "120112": ("津南区", (117.380, 38.950)),
    "120113": ("北辰区", (117.150, 39.280)),
    "120114": ("武清区", (117.050, 39.450)),
    "120115": ("宝坻区", (117.330, 39.650)),
    "120116": ("滨海新区", (117.700, 39.030)),
    "120117": ("宁河区", (117.750, 39.400)),
    "120118": ("静海区", (116.950, 38.850)),
    "120119": ("蓟州区", (117.400, 40.000)),
}

# Tianjin's ratios, used to size the offices and officers of the smaller scales.
CITY_BEATS = 4643
CITY_OFFICES = 2311
CITY_OFFICERS = 2598


@dataclass(frozen=True)
class DistrictSpec:
    code: str
    streets: int  # 街道: urban subdistricts
    towns: int  # 镇: rural subdistricts, holding the villages
    communities: int  # residents' committees (社区), in streets and one per town seat
    villages: int  # villagers' committees (村), in towns
    grids: int

    @property
    def name(self) -> str:
        return DISTRICT_SEEDS[self.code][0]


@dataclass(frozen=True)
class ScaleSpec:
    name: str
    districts: tuple[DistrictSpec, ...]
    offices: int
    officers: int
    dwellings_per_beat: tuple[int, int]
    # Beats deliberately breaking the 1+2+N rule, so the compliance view has something to show.
    broken_beats: int
    # Whether ``demo-city`` fills the dwellings with residents unless told otherwise.
    residents: bool = True

    @property
    def beats(self) -> int:
        return sum(d.grids for d in self.districts)


def _scaled(beats: int, city_figure: int) -> int:
    return round(beats * city_figure / CITY_BEATS)


_CITY_DISTRICTS = (
    DistrictSpec("120101", streets=6, towns=0, communities=63, villages=0, grids=140),
    DistrictSpec("120102", streets=13, towns=0, communities=160, villages=0, grids=260),
    DistrictSpec("120103", streets=14, towns=0, communities=170, villages=0, grids=290),
    DistrictSpec("120104", streets=12, towns=0, communities=170, villages=0, grids=290),
    DistrictSpec("120105", streets=10, towns=0, communities=110, villages=0, grids=200),
    DistrictSpec("120106", streets=10, towns=0, communities=90, villages=0, grids=160),
    DistrictSpec("120110", streets=8, towns=4, communities=110, villages=150, grids=230),
    DistrictSpec("120111", streets=5, towns=7, communities=80, villages=150, grids=210),
    DistrictSpec("120112", streets=2, towns=6, communities=60, villages=160, grids=170),
    DistrictSpec("120113", streets=5, towns=9, communities=100, villages=130, grids=200),
    DistrictSpec("120114", streets=5, towns=24, communities=100, villages=630, grids=480),
    DistrictSpec("120115", streets=6, towns=18, communities=70, villages=720, grids=420),
    DistrictSpec("120116", streets=20, towns=7, communities=330, villages=150, grids=600),
    DistrictSpec("120117", streets=2, towns=12, communities=40, villages=280, grids=230),
    DistrictSpec("120118", streets=2, towns=16, communities=60, villages=380, grids=320),
    DistrictSpec("120119", streets=2, towns=25, communities=50, villages=887, grids=443),
)

_SMALL_DISTRICTS = (
    DistrictSpec("120104", streets=6, towns=0, communities=70, villages=0, grids=115),
    DistrictSpec("120105", streets=4, towns=0, communities=50, villages=0, grids=85),
)
_DISTRICT_DISTRICTS = tuple(d for d in _CITY_DISTRICTS if d.code == "120116")


def _spec(
    name: str,
    districts: tuple[DistrictSpec, ...],
    dwellings: tuple[int, int],
    broken: int,
    *,
    residents: bool = True,
) -> ScaleSpec:
    beats = sum(d.grids for d in districts)
    return ScaleSpec(
        name=name,
        districts=districts,
        offices=_scaled(beats, CITY_OFFICES),
        officers=_scaled(beats, CITY_OFFICERS),
        dwellings_per_beat=dwellings,
        broken_beats=broken,
        residents=residents,
    )


SCALES: dict[str, ScaleSpec] = {
    # About 27,000 dwellings and 50,000 residents.
    "small": _spec("small", _SMALL_DISTRICTS, (100, 150), 3),
    # About 250,000 dwellings and 500,000 residents.
    "district": _spec("district", _DISTRICT_DISTRICTS, (340, 500), 5),
    # Fewer dwellings per beat at city scale keeps the build inside its time budget, and no
    # residents unless asked (``--residents``): the structure alone must build in a minute.
    # Benchmarks that need a city's population add it in bulk (bench/baseline.py).
    "city": _spec("city", _CITY_DISTRICTS, (20, 40), 7, residents=False),
}
