"""The demo city: a deterministic, plausible Tianjin built into an empty database.

``build_demo_city(scale=..., seed=...)`` plans everything in memory (``plan_demo_city``),
then writes it with ``bulk_create`` inside one transaction and creates the seven demo logins
through ``accounts.services.user_create``. The same scale and seed give the same codes,
names, boundaries and addresses on every run (``plan_digest`` / ``database_digest``); only
dates that follow "today" (assignment dates, the duty roster) move with the calendar.

What gets built, and why it looks the way it does:

* **Civil tree.** 天津市 (120100), its districts with their GB/T 2260 codes, subdistricts
  (9 digits: 街道 ``001``–``099``, 镇 ``101``–), communities (12 digits: 社区 ``001``–``199``,
  村 ``201``–, the GB/T 10114 split between residents' and villagers' committees) and grids
  (15 digits). Paths come from ``places.services.path_for_code`` and every code passes
  ``check_code``. Boundaries are Voronoi cells cut level by level from a rough outline of the
  city (``demo.geometry``): children tile their parent and no two grids overlap.
* **Communities without a grid of their own.** The city has fewer grids (4,643) than
  communities (5,400), as Tianjin does. Every urban community (社区) has one to four grids of
  its own. Villages (村) in a town are grouped into *joint-village grids* (联村网格) of one to
  a few neighbouring villages: the grid belongs, in the data, to the group's head village
  (where the grid workers sit, so its code extends that village's code), and its boundary is
  the union of the villages' boundaries. So the other villages of a group have no grid of
  their own, and every point of the city still lies in exactly one grid = beat.
* **Policing.** One police station per subdistrict, owning its beats (beat = grid, one to one,
  the beat's code is the grid's). Offices sit in the party-mass service centre of a
  community and serve a run of neighbouring beats of one station: 4,643 beats over 2,311
  offices is 2.01 beats an office, so most serve two and a few three. Each community
  officer answers for one or two beats of the same office; 2,598 officers for 4,643 beats
  means 2,045 of them answer for two.
* **Teams.** Each beat gets its responsible officer, two or three community workers and one
  or more grid workers (a joint-village grid has one per village, up to three). Every officer
  holds a post on a community committee (Tianjin reports 100%). Each office has a duty
  roster for the current and the next week, so the roster's seven-day view is never empty.
  A handful of beats break the 1+2+N rule on purpose (``BREAKAGES``): the compliance view
  must have something true to show.
* **Addresses.** Compounds, buildings, entrances and dwellings in every grid, with points
  inside the grid and a standard address (district, subdistrict, road and number, compound,
  building, entrance, room; villages use row and house number instead).
* **Logins.** ``admin``, ``city``, ``district``, ``station``, ``officer``, ``worker``,
  ``grid`` with the password ``demo``. The district is 南开区 when the scale builds it (the
  ``district`` scale builds 滨海新区 and uses that); the station is that district's first;
  ``officer``, ``worker`` and ``grid`` are linked to the staff records of that station's
  first beat, whose team keeps the rule.
"""

from __future__ import annotations

import hashlib
import math
import time as time_module
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from random import Random
from typing import Any, TypeAlias

from django.db import connection, models, transaction
from django.utils import timezone
from shapely.geometry import MultiPolygon, Polygon

from safecommunity.accounts.models import Role, User
from safecommunity.accounts.services import audit_record, user_create
from safecommunity.demo import geometry as geo
from safecommunity.demo.custody import populate_custody
from safecommunity.demo.disputes import populate_disputes
from safecommunity.demo.fieldwork import populate_fieldwork
from safecommunity.demo.names import NamePool, chinese_number, roads, short_name
from safecommunity.demo.people import person_name
from safecommunity.demo.progress import Progress, no_progress
from safecommunity.demo.residents import populate
from safecommunity.demo.scales import CITY_CODE, CITY_NAME, DISTRICT_SEEDS, SCALES, DistrictSpec
from safecommunity.demo.screening import populate_screening
from safecommunity.demo.service_requests import populate_service_requests
from safecommunity.people.baseline import baseline_rebuild
from safecommunity.people.services import dwelling_use_refresh
from safecommunity.places.geo import invalidate_locator, to_geojson_text
from safecommunity.places.models import (
    Beat,
    Building,
    Compound,
    Division,
    DivisionKind,
    Dwelling,
    DwellingUse,
    Entrance,
    Grid,
    PoliceOffice,
    PoliceStation,
)
from safecommunity.places.services import check_code, path_for_code
from safecommunity.teams.models import (
    Assignment,
    Committee,
    CommitteePost,
    CommitteePostTitle,
    DutyShift,
    Staff,
    StaffKind,
)

Geom: TypeAlias = Polygon | MultiPolygon

DEMO_PASSWORD = "demo"  # noqa: S105  # the demo's published password, printed by `demo`
DEMO_USERNAMES = ("admin", "city", "district", "station", "officer", "worker", "grid")
DEFAULT_SEED = 2022
# The district the district, station and beat logins sit in, when the scale builds it.
LOGIN_DISTRICT = "120104"
# Urban communities average this many grids where a district also has villages to cover.
URBAN_GRIDS_PER_COMMUNITY = 1.5
MAX_GRIDS_PER_COMMUNITY = 4
BATCH = 2000


@dataclass(frozen=True)
class Breakage:
    """How a deliberately broken beat departs from 1+2+N."""

    name: str
    responsible: bool  # False: an officer serves the beat but nobody is designated responsible
    community_workers: int
    grid_workers: int


BREAKAGES = (
    Breakage("no_responsible_officer", False, 2, 1),
    Breakage("one_community_worker", True, 1, 1),
    Breakage("no_grid_worker", True, 2, 0),
    Breakage("no_community_workers", True, 0, 1),
    Breakage("one_community_worker_no_grid_worker", True, 1, 0),
    Breakage("no_responsible_officer_no_grid_worker", False, 2, 0),
    Breakage("officer_only", True, 0, 0),
)


class DemoCityError(Exception):
    """The demo city cannot be built here (the message says why)."""


@dataclass
class _GridInfo:
    grid: Grid
    geom: Geom
    district: Division
    subdistrict: Division
    roads: list[str]
    villages: list[str]  # the villages of a joint-village grid; empty for an urban grid
    beat: Beat | None = None


@dataclass
class _Login:
    role: str
    jurisdiction: models.Model | None
    surname: str
    given: str
    staff: Staff | None = None


@dataclass
class DemoPlan:
    """Everything the demo city holds, as unsaved model instances in write order."""

    scale: str
    seed: int
    today: date
    divisions: list[Division] = field(default_factory=list)
    grids: list[Grid] = field(default_factory=list)
    stations: list[PoliceStation] = field(default_factory=list)
    offices: list[PoliceOffice] = field(default_factory=list)
    beats: list[Beat] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    posts: list[CommitteePost] = field(default_factory=list)
    shifts: list[DutyShift] = field(default_factory=list)
    compounds: list[Compound] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    entrances: list[Entrance] = field(default_factory=list)
    dwellings: list[Dwelling] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)  # beat code → breakage name
    logins: dict[str, _Login] = field(default_factory=dict)

    def tables(self) -> list[tuple[type[models.Model], Sequence[models.Model]]]:
        return [
            (Division, self.divisions),
            (Grid, self.grids),
            (PoliceStation, self.stations),
            (PoliceOffice, self.offices),
            (Beat, self.beats),
            (Staff, self.staff),
            (Assignment, self.assignments),
            (CommitteePost, self.posts),
            (DutyShift, self.shifts),
            (Compound, self.compounds),
            (Building, self.buildings),
            (Entrance, self.entrances),
            (Dwelling, self.dwellings),
        ]

    def counts(self) -> dict[str, int]:
        kinds = [d.kind for d in self.divisions]
        staff_kinds = [s.kind for s in self.staff]
        return {
            "districts": kinds.count(DivisionKind.DISTRICT),
            "subdistricts": kinds.count(DivisionKind.SUBDISTRICT),
            "communities": kinds.count(DivisionKind.COMMUNITY),
            "grids": len(self.grids),
            "beats": len(self.beats),
            "police_stations": len(self.stations),
            "police_offices": len(self.offices),
            "community_officers": staff_kinds.count(StaffKind.COMMUNITY_OFFICER),
            "community_workers": staff_kinds.count(StaffKind.COMMUNITY_WORKER),
            "grid_workers": staff_kinds.count(StaffKind.GRID_WORKER),
            "staff": len(self.staff),
            "assignments": len(self.assignments),
            "committee_posts": len(self.posts),
            "duty_shifts": len(self.shifts),
            "compounds": len(self.compounds),
            "buildings": len(self.buildings),
            "entrances": len(self.entrances),
            "dwellings": len(self.dwellings),
        }


# --- planning ---------------------------------------------------------------------------------


def plan_demo_city(
    *,
    scale: str,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
    progress: Progress | None = None,
) -> DemoPlan:
    """The whole demo city in memory (no database access). Raises ``DemoCityError`` for an
    unknown scale."""
    if scale not in SCALES:
        raise DemoCityError(f"Unknown scale {scale!r}: choose one of {', '.join(SCALES)}.")
    planner = _Planner(scale, seed, today or timezone.localdate(), progress or no_progress)
    return planner.run()


def apportion(
    total: int,
    weights: Sequence[float],
    *,
    minimum: int | Sequence[int] = 1,
    maximum: Sequence[int] | None = None,
) -> list[int]:
    """Split ``total`` into whole shares close to ``weights``, each within its bounds.

    Raises ``DemoCityError`` when the bounds cannot hold the total (an inconsistent scale).
    """
    n = len(weights)
    lows = [minimum] * n if isinstance(minimum, int) else list(minimum)
    highs = list(maximum) if maximum is not None else [total] * n
    if not sum(lows) <= total <= sum(highs):
        raise DemoCityError(f"cannot split {total} into {n} shares within their bounds")
    counts = list(lows)
    wsum = sum(weights) or 1.0
    ideal = [total * w / wsum for w in weights]
    for _ in range(total - sum(lows)):
        # Give one more to the share furthest below its ideal (ties: the first).
        i = max(
            (i for i in range(n) if counts[i] < highs[i]), key=lambda i: (ideal[i] - counts[i], -i)
        )
        counts[i] += 1
    return counts


class _Planner:
    def __init__(self, scale: str, seed: int, today: date, progress: Progress) -> None:
        self.spec = SCALES[scale]
        self.seed = seed
        self.plan = DemoPlan(scale=scale, seed=seed, today=today)
        self.progress = progress
        self.grid_infos: list[_GridInfo] = []
        self.grids_by_subdistrict: dict[str, list[_GridInfo]] = {}
        self.office_groups: list[tuple[PoliceOffice, list[_GridInfo]]] = []
        # Keyed by id() of the unsaved instances, which have no primary key yet.
        self.staff_names: dict[int, tuple[str, str]] = {}
        self.team_of: dict[int, list[Staff]] = {}

    def rng(self, key: str) -> Random:
        # A generator per place: one district's data does not shift when another changes.
        return Random(f"{self.seed}:{key}")

    def run(self) -> DemoPlan:
        self._civil_tree()
        self._policing()
        self._teams()
        self._addresses()
        return self.plan

    # civil tree ----------------------------------------------------------------------------

    def _civil_tree(self) -> None:
        outline = geo.snap(geo.city_outline())
        codes = sorted(DISTRICT_SEEDS)
        cells = dict(
            zip(
                codes,
                geo.cells_for_seeds(outline, [DISTRICT_SEEDS[c][1] for c in codes]),
                strict=True,
            )
        )
        city = self._division(DivisionKind.CITY, CITY_CODE, CITY_NAME, None, outline)
        total = len(self.spec.districts)
        for done, spec in enumerate(self.spec.districts):
            self.progress("civil tree", done, total)
            self._district(spec, city, cells[spec.code])
        self.progress("civil tree", total, total)

    def _division(
        self, kind: str, code: str, name: str, parent: Division | None, geom: Geom
    ) -> Division:
        check_code(kind, code, parent.code if parent else None)
        division = Division(
            kind=kind,
            code=code,
            name=name,
            parent=parent,
            path=path_for_code(kind, code),
            boundary=to_geojson_text(geom),
        )
        self.plan.divisions.append(division)
        return division

    def _district(self, spec: DistrictSpec, city: Division, geom: Geom) -> None:
        rng = self.rng(spec.code)
        district = self._division(DivisionKind.DISTRICT, spec.code, spec.name, city, geom)
        n_sub = spec.streets + spec.towns
        cells = geo.subdivide(geom, n_sub, rng, relax=2)
        # Streets (街道) are the subdistricts nearest the city centre; towns lie further out.
        order = sorted(
            range(n_sub), key=lambda i: (geo.distance(geo.centre_of(cells[i]), geo.CITY_CENTRE), i)
        )
        street_cells = [cells[i] for i in order[: spec.streets]]
        town_cells = [cells[i] for i in order[spec.streets :]]

        # Every town has one urban community at its seat; the streets share the rest.
        street_communities = apportion(
            spec.communities - spec.towns, [rng.uniform(0.7, 1.3) for _ in street_cells]
        )
        town_villages = apportion(spec.villages, [rng.uniform(0.6, 1.4) for _ in town_cells])
        urban_grids, clusters = self._grid_budget(spec)
        community_slots = street_communities + [1] * spec.towns
        grids_per_slot = apportion(
            urban_grids,
            [rng.uniform(0.5, 1.5) for _ in range(spec.communities)],
            maximum=[MAX_GRIDS_PER_COMMUNITY] * spec.communities,
        )
        town_clusters = apportion(clusters, town_villages, maximum=town_villages)

        names = NamePool(rng)
        slot = 0
        for index, cell in enumerate(street_cells):
            n = street_communities[index]
            sub = self._division(
                DivisionKind.SUBDISTRICT,
                f"{spec.code}{index + 1:03d}",
                names.place("街道"),
                district,
                cell,
            )
            self._subdistrict(district, sub, cell, grids_per_slot[slot : slot + n], 0, 0)
            slot += n
        for index, cell in enumerate(town_cells):
            sub = self._division(
                DivisionKind.SUBDISTRICT,
                f"{spec.code}{101 + index:03d}",
                names.place("镇"),
                district,
                cell,
            )
            self._subdistrict(
                district,
                sub,
                cell,
                grids_per_slot[slot : slot + 1],
                town_villages[index],
                town_clusters[index],
            )
            slot += 1
        assert slot == sum(community_slots)  # noqa: S101  # every community got its grids

    def _grid_budget(self, spec: DistrictSpec) -> tuple[int, int]:
        """How many grids go to urban communities and how many joint-village grids there are."""
        if spec.villages == 0:
            return spec.grids, 0
        fewest_clusters = max(spec.towns, math.ceil(spec.villages / 3))
        urban = round(spec.communities * URBAN_GRIDS_PER_COMMUNITY)
        urban = max(spec.communities, min(urban, spec.grids - fewest_clusters))
        clusters = spec.grids - urban
        if not spec.towns <= clusters <= spec.villages:
            raise DemoCityError(f"district {spec.code}: {spec.grids} grids cannot cover it")
        return urban, clusters

    def _subdistrict(
        self,
        district: Division,
        sub: Division,
        geom: Geom,
        grid_counts: list[int],
        villages: int,
        clusters: int,
    ) -> None:
        rng = self.rng(sub.code)
        road_names = roads(rng, 10)
        n_comm = len(grid_counts)
        cells = geo.subdivide(geom, n_comm + villages, rng, relax=1)
        centre = geo.centre_of(geom)
        # The urban communities are the cells at the heart of the subdistrict (a town's seat).
        cells.sort(key=lambda c: geo.distance(geo.centre_of(c), centre))
        names = NamePool(rng)
        infos = self.grids_by_subdistrict.setdefault(sub.code, [])
        for index in range(n_comm):
            community = self._division(
                DivisionKind.COMMUNITY,
                f"{sub.code}{index + 1:03d}",
                names.place("社区"),
                sub,
                cells[index],
            )
            pieces = geo.subdivide(cells[index], grid_counts[index], rng, relax=1)
            for number, piece in enumerate(pieces, start=1):
                name = f"{community.name}第{chinese_number(number)}网格"
                infos.append(
                    self._grid(
                        community,
                        f"{community.code}{number:03d}",
                        name,
                        piece,
                        district,
                        sub,
                        road_names,
                        [],
                    )
                )
        if not villages:
            return
        village_cells = cells[n_comm:]
        communities = [
            self._division(
                DivisionKind.COMMUNITY, f"{sub.code}{201 + index:03d}", names.village(), sub, cell
            )
            for index, cell in enumerate(village_cells)
        ]
        owner = geo.cluster([geo.centre_of(c) for c in village_cells], clusters)
        for head in sorted(set(owner)):
            members = [i for i, o in enumerate(owner) if o == head]
            village = communities[head]
            suffix = "联村网格" if len(members) > 1 else "网格"
            infos.append(
                self._grid(
                    village,
                    f"{village.code}001",
                    f"{village.name}{suffix}",
                    geo.union([village_cells[i] for i in members]),
                    district,
                    sub,
                    road_names,
                    [communities[i].name for i in members],
                )
            )

    def _grid(
        self,
        community: Division,
        code: str,
        name: str,
        geom: Geom,
        district: Division,
        sub: Division,
        road_names: list[str],
        villages: list[str],
    ) -> _GridInfo:
        check_code("grid", code, community.code)
        grid = Grid(
            community=community,
            code=code,
            name=name,
            path=path_for_code("grid", code),
            boundary=to_geojson_text(geom),
        )
        self.plan.grids.append(grid)
        info = _GridInfo(grid, geom, district, sub, road_names, villages)
        self.grid_infos.append(info)
        return info

    # policing ------------------------------------------------------------------------------

    def _policing(self) -> None:
        plan = self.plan
        subs = [d for d in plan.divisions if d.kind == DivisionKind.SUBDISTRICT]
        by_code = {d.code: d for d in plan.divisions}
        station_beats: list[list[_GridInfo]] = []
        for done, sub in enumerate(subs):
            self.progress("police", done, len(subs))
            rng = self.rng(f"{sub.code}:station")
            district = by_code[sub.code[:6]]
            infos = sorted(self.grids_by_subdistrict[sub.code], key=lambda i: i.grid.code)
            station = PoliceStation(
                district=district,
                code=f"PS{sub.code}",
                name=f"{short_name(sub.name)}派出所",
                address=f"{CITY_NAME}{district.name}{sub.name}{rng.choice(infos[0].roads)}"
                f"{rng.randint(1, 399)}号",
                phone=_phone(rng),
            )
            plan.stations.append(station)
            for info in infos:
                grid = info.grid
                info.beat = Beat(
                    grid=grid,
                    station=station,
                    code=grid.code,
                    name=grid.name.removesuffix("网格") + "警务区",
                    path=grid.path,
                )
                plan.beats.append(info.beat)
            station_beats.append(infos)
        self.progress("police", len(subs), len(subs))

        # Offices: each serves a run of neighbouring beats (in code order) of one station.
        counts = [len(b) for b in station_beats]
        per_station = apportion(
            self.spec.offices, counts, minimum=[math.ceil(c / 3) for c in counts], maximum=counts
        )
        for station, infos, n_offices in zip(
            plan.stations, station_beats, per_station, strict=True
        ):
            rng = self.rng(f"{station.code}:offices")
            sizes = [
                len(infos) // n_offices + (i < len(infos) % n_offices) for i in range(n_offices)
            ]
            rng.shuffle(sizes)
            start = 0
            for number, size in enumerate(sizes, start=1):
                group = infos[start : start + size]
                start += size
                office = self._office(station, number, group, rng)
                for info in group:
                    assert info.beat is not None  # noqa: S101  # set above
                    info.beat.office = office
                self.office_groups.append((office, group))

    def _office(
        self, station: PoliceStation, number: int, group: list[_GridInfo], rng: Random
    ) -> PoliceOffice:
        first = group[0]
        community = first.grid.community
        lng, lat = geo.random_point(first.geom, rng)
        office = PoliceOffice(
            station=station,
            code=f"{station.code}-{number:02d}",
            name=f"{community.name}警务室",
            service_centre=f"{community.name}党群服务中心",
            address=f"{CITY_NAME}{first.district.name}{first.subdistrict.name}"
            f"{rng.choice(first.roads)}{rng.randint(1, 399)}号{community.name}党群服务中心",
            opening_hours=rng.choice(("08:30-17:30", "08:30-17:30", "09:00-17:30", "08:00-18:00")),
            phone=_phone(rng),
            lat=lat,
            lng=lng,
        )
        self.plan.offices.append(office)
        return office

    # teams ---------------------------------------------------------------------------------

    def _officer_units(self) -> list[list[list[_GridInfo]]]:
        """Per office, the beats each of its officers answers for (one or two each).

        Each office's run of beats is cut into pairs (and a single for an odd run), the fewest
        officers it can have; then randomly chosen pairs are split between two officers until
        the city has exactly the officers the scale asks for.
        """
        units: list[list[list[_GridInfo]]] = []
        pairs: list[tuple[int, int]] = []
        for o, (_, group) in enumerate(self.office_groups):
            cut = [group[i : i + 2] for i in range(0, len(group), 2)]
            pairs.extend((o, u) for u, unit in enumerate(cut) if len(unit) == 2)
            units.append(cut)
        extra = self.spec.officers - sum(len(u) for u in units)
        if not 0 <= extra <= len(pairs):
            raise DemoCityError(
                f"{self.spec.officers} officers cannot serve {len(self.plan.beats)} beats "
                f"of {len(self.office_groups)} offices, one or two beats each"
            )
        rng = self.rng("officers")
        for o, u in sorted(rng.sample(pairs, extra), reverse=True):
            a, b = units[o][u]
            units[o][u : u + 1] = [[a], [b]]
        return units

    def _teams(self) -> None:
        plan = self.plan
        units = self._officer_units()
        rng = self.rng("teams")
        login_info = self._choose_logins()
        candidates = [i for i in self.grid_infos if i is not login_info]
        station_mates = [
            i
            for i in candidates
            if i.beat is not None
            and login_info.beat is not None
            and i.beat.station is login_info.beat.station
        ]
        broken: list[_GridInfo] = []
        if station_mates and self.spec.broken_beats:
            # One in the demo station, so the station login's compliance view shows it.
            broken.append(rng.choice(station_mates))
        others = [i for i in candidates if i not in broken]
        broken += rng.sample(others, self.spec.broken_beats - len(broken))
        breakage = {id(info): BREAKAGES[n] for n, info in enumerate(broken)}
        for info in broken:
            assert info.beat is not None  # noqa: S101
            plan.broken[info.beat.code] = breakage[id(info)].name

        police_numbers = rng.sample(range(1_000_000), self.spec.officers)
        total = len(self.office_groups)
        for done, ((office, _), office_units) in enumerate(
            zip(self.office_groups, units, strict=True)
        ):
            if done % 200 == 0:
                self.progress("teams", done, total)
            officers = []
            for unit in office_units:
                officer = self._staff(
                    StaffKind.COMMUNITY_OFFICER, unit[0], rng, police_number=police_numbers.pop()
                )
                officers.append(officer)
                for info in unit:
                    rule = breakage.get(id(info))
                    self._assign(officer, info, rng, responsible=rule.responsible if rule else True)
                    self._team(info, rng, rule)
                community = unit[0].grid.community
                committee = rng.choice((Committee.PARTY, Committee.RESIDENTS))
                title = rng.choice(
                    (CommitteePostTitle.DEPUTY_SECRETARY, CommitteePostTitle.MEMBER)
                    if committee == Committee.PARTY
                    else (CommitteePostTitle.DEPUTY_DIRECTOR, CommitteePostTitle.MEMBER)
                )
                plan.posts.append(
                    CommitteePost(
                        staff=officer,
                        community=community,
                        committee=committee,
                        title=title,
                        since=self._since(rng),
                        path=community.path,
                    )
                )
            self._roster(office, officers)
        self.progress("teams", total, total)
        self._link_logins(login_info)

    def _staff(
        self, kind: str, info: _GridInfo, rng: Random, *, police_number: int | None = None
    ) -> Staff:
        surname, given = person_name(rng)
        assert info.beat is not None  # noqa: S101
        staff = Staff(
            kind=kind,
            name=surname + given,
            station=info.beat.station if police_number is not None else None,
            police_number=f"{police_number:06d}" if police_number is not None else "",
            path=info.grid.path,
        )
        self.plan.staff.append(staff)
        self.staff_names[id(staff)] = (surname, given)
        return staff

    def _assign(self, staff: Staff, info: _GridInfo, rng: Random, *, responsible: bool) -> None:
        assert info.beat is not None  # noqa: S101
        self.plan.assignments.append(
            Assignment(
                staff=staff,
                beat=info.beat,
                kind=staff.kind,
                responsible=responsible,
                since=self._since(rng),
                path=info.beat.path,
            )
        )
        self.team_of.setdefault(id(info), []).append(staff)

    def _team(self, info: _GridInfo, rng: Random, rule: Breakage | None) -> None:
        workers = rule.community_workers if rule else rng.choice((2, 2, 2, 3))
        grid_workers = (
            rule.grid_workers if rule else max(1, min(3, len(info.villages))) + (rng.random() < 0.2)
        )
        for _ in range(workers):
            self._assign(
                self._staff(StaffKind.COMMUNITY_WORKER, info, rng), info, rng, responsible=False
            )
        for _ in range(grid_workers):
            self._assign(
                self._staff(StaffKind.GRID_WORKER, info, rng), info, rng, responsible=False
            )

    def _since(self, rng: Random) -> date:
        return self.plan.today - timedelta(days=rng.randint(30, 6 * 365))

    def _roster(self, office: PoliceOffice, officers: list[Staff]) -> None:
        """Day shifts at the office for this week and next, in turn among its officers."""
        tz = timezone.get_default_timezone()
        opens, closes = (time.fromisoformat(t) for t in office.opening_hours.split("-"))
        monday = self.plan.today - timedelta(days=self.plan.today.weekday())
        for offset in range(14):
            day = monday + timedelta(days=offset)
            self.plan.shifts.append(
                DutyShift(
                    office=office,
                    staff=officers[offset % len(officers)],
                    starts_at=datetime.combine(day, opens, tzinfo=tz),
                    ends_at=datetime.combine(day, closes, tzinfo=tz),
                )
            )

    # logins --------------------------------------------------------------------------------

    def _choose_logins(self) -> _GridInfo:
        codes = [d.code for d in self.spec.districts]
        district_code = LOGIN_DISTRICT if LOGIN_DISTRICT in codes else codes[0]
        station = min(
            (s for s in self.plan.stations if s.district.code == district_code),
            key=lambda s: s.code,
        )
        info = min(
            (i for i in self.grid_infos if i.beat is not None and i.beat.station is station),
            key=lambda i: i.grid.code,
        )
        city = self.plan.divisions[0]
        rng = self.rng("logins")
        logins = self.plan.logins
        logins["admin"] = _Login(Role.ADMIN, None, *person_name(rng))
        logins["city"] = _Login(Role.CITY_ANALYST, city, *person_name(rng))
        logins["district"] = _Login(Role.DISTRICT_LEADER, station.district, *person_name(rng))
        logins["station"] = _Login(Role.STATION_LEADER, station, *person_name(rng))
        return info

    def _link_logins(self, info: _GridInfo) -> None:
        assert info.beat is not None  # noqa: S101
        team = self.team_of[id(info)]
        for username, role, kind, where in (
            ("officer", Role.COMMUNITY_OFFICER, StaffKind.COMMUNITY_OFFICER, info.beat),
            ("worker", Role.COMMUNITY_WORKER, StaffKind.COMMUNITY_WORKER, info.grid.community),
            ("grid", Role.GRID_WORKER, StaffKind.GRID_WORKER, info.beat),
        ):
            staff = next(s for s in team if s.kind == kind)
            self.plan.logins[username] = _Login(role, where, *self.staff_names[id(staff)], staff)

    # addresses -----------------------------------------------------------------------------

    def _addresses(self) -> None:
        total = len(self.grid_infos)
        for done, info in enumerate(self.grid_infos):
            if done % 100 == 0:
                self.progress("addresses", done, total)
            rng = self.rng(f"{info.grid.code}:addresses")
            target = rng.randint(*self.spec.dwellings_per_beat)
            if info.villages:
                self._village_addresses(info, rng, target)
            else:
                self._urban_addresses(info, rng, target)
        self.progress("addresses", total, total)

    def _urban_addresses(self, info: _GridInfo, rng: Random, target: int) -> None:
        plan, grid, geom = self.plan, info.grid, info.geom
        minx, miny, maxx, maxy = geom.bounds
        spread = max(maxx - minx, maxy - miny) / 12
        names = NamePool(rng)
        place = f"{CITY_NAME}{info.district.name}{info.subdistrict.name}"
        count = 0
        while count < target:
            name = names.compound()
            street = f"{place}{rng.choice(info.roads)}{rng.randint(1, 399)}号"
            lng, lat = geo.random_point(geom, rng)
            compound = Compound(
                grid=grid, name=name, address=street, path=grid.path, lat=lat, lng=lng
            )
            plan.compounds.append(compound)
            floors = rng.choice((5, 6, 6, 7, 11, 18))
            for b in range(1, rng.randint(1, 4) + 1):
                building = Building(compound=compound, number=str(b), path=grid.path)
                plan.buildings.append(building)
                b_lng, b_lat = geo.point_near(geom, (lng, lat), spread, rng)
                for e in range(1, rng.randint(1, 3) + 1):
                    entrance = Entrance(building=building, number=str(e), path=grid.path)
                    plan.entrances.append(entrance)
                    for floor in range(1, floors + 1):
                        for room in (1, 2):
                            number = f"{floor}{room:02d}"
                            plan.dwellings.append(
                                Dwelling(
                                    entrance=entrance,
                                    grid=grid,
                                    number=number,
                                    floor=floor,
                                    standard_address=f"{street}{name}{b}号楼{e}门{number}",
                                    path=grid.path,
                                    lat=b_lat,
                                    lng=b_lng,
                                )
                            )
                    count += floors * 2
                    if count >= target:
                        break
                if count >= target:
                    break

    def _village_addresses(self, info: _GridInfo, rng: Random, target: int) -> None:
        """Villages: one settlement per village, rows (排) of houses numbered 1号, 2号, …"""
        plan, grid, geom = self.plan, info.grid, info.geom
        minx, miny, maxx, maxy = geom.bounds
        spread = max(maxx - minx, maxy - miny) / 20
        per_village = math.ceil(target / len(info.villages))
        place = f"{CITY_NAME}{info.district.name}{info.subdistrict.name}"
        for village in info.villages:
            lng, lat = geo.random_point(geom, rng)
            compound = Compound(
                grid=grid,
                name=village,
                address=f"{place}{village}",
                path=grid.path,
                lat=lat,
                lng=lng,
            )
            plan.compounds.append(compound)
            houses = rng.randint(6, 10)
            for row in range(1, math.ceil(per_village / houses) + 1):
                building = Building(compound=compound, number=f"{row}排", path=grid.path)
                entrance = Entrance(building=building, number="1", path=grid.path)
                plan.buildings.append(building)
                plan.entrances.append(entrance)
                r_lng, r_lat = geo.point_near(geom, (lng, lat), spread, rng)
                for house in range(1, houses + 1):
                    plan.dwellings.append(
                        Dwelling(
                            entrance=entrance,
                            grid=grid,
                            number=f"{house}号",
                            floor=1,
                            standard_address=f"{place}{village}{row}排{house}号",
                            path=grid.path,
                            lat=r_lat,
                            lng=r_lng,
                        )
                    )


def _phone(rng: Random) -> str:
    """A Tianjin landline (area code 022, eight digits starting with 2)."""
    return f"022-{rng.randint(2000_0000, 2999_9999)}"


# --- writing ----------------------------------------------------------------------------------


def build_demo_city(
    *,
    scale: str,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
    today: date | None = None,
    residents: bool | None = None,
) -> dict[str, Any]:
    """Build the demo city into an empty database and return a summary of what was built.

    ``residents`` fills the dwellings with residents, residences, care tags and verified
    stamps (``demo.residents``); by default the small and district scales do and the city
    scale does not. Raises ``DemoCityError`` when the database already holds places or any
    demo username: the demo never mixes with real data or a previous demo. Everything is
    written in one transaction, so a failure leaves the database as it was.
    """
    report = progress or no_progress
    started = time_module.perf_counter()
    _refuse_non_empty()
    plan = plan_demo_city(scale=scale, seed=seed, today=today, progress=report)
    planned = time_module.perf_counter() - started
    if residents is None:
        residents = SCALES[scale].residents
    with transaction.atomic():
        _refuse_non_empty()
        _write(plan, report)
        _create_logins(plan)
        population: dict[str, int] = {}
        if residents:
            population = populate(
                plan.dwellings, seed=seed, today=plan.today, progress=report
            ).as_dict()
            dwelling_use_refresh(dwelling_ids=None)
            population["business_dwellings"] = _record_businesses()
            baseline_rebuild()
            population.update(_community_work(seed=seed, today=plan.today, progress=report))
        summary: dict[str, Any] = {
            "scale": scale,
            "seed": seed,
            **plan.counts(),
            **population,
            "broken_beats": dict(sorted(plan.broken.items())),
            "logins": list(DEMO_USERNAMES),
            "plan_seconds": round(planned, 2),
            "seconds": round(time_module.perf_counter() - started, 2),
        }
        audit_record(actor=None, action="demo.build", detail=summary)
    _refresh_planner_statistics()
    invalidate_locator()
    return summary


def _community_work(*, seed: int, today: date, progress: Progress) -> dict[str, int]:
    """Three years of the beat teams' work over the residents just written: field work and
    campaigns, disputes in every state, residents' requests (and the Open311 key
    ``demo-key``), the custody register, and a risk list screened by the station with its
    matches reviewed (``demo.screening``; it needs the logins, written before). Each part
    draws from its own seed-derived stream, so adding one never changes the others."""
    counts: dict[str, int] = {}
    for populate_part in (
        populate_fieldwork,
        populate_disputes,
        populate_service_requests,
        populate_custody,
        populate_screening,
    ):
        counts.update(populate_part(seed=seed, today=today, progress=progress))
    return counts


def _refresh_planner_statistics() -> None:
    """Tell the query planner what was just bulk-loaded.

    Without fresh statistics PostgreSQL plans the city-wide counts as if the tables were
    empty: the compliance page took 1.4 s instead of 0.3 s until autovacuum got round to it.
    """
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _record_businesses() -> int:
    """Some empty ground-floor dwellings are shops and offices (底商): their use is recorded
    by hand as business, as a beat team would. Every seventh, by id: deterministic."""
    candidates = Dwelling.objects.filter(use=DwellingUse.VACANT, floor=1).order_by("pk")
    ids = list(candidates.values_list("pk", flat=True))[::7]
    return Dwelling.objects.filter(pk__in=ids).update(use=DwellingUse.BUSINESS, use_recorded=True)


def _refuse_non_empty() -> None:
    divisions = Division.objects.count()
    if divisions:
        raise DemoCityError(
            f"The database already holds {divisions} divisions: the demo city is built only "
            "into an empty database. Point DATABASE_URL (or SAFECOMMUNITY_DATA_DIR) at a fresh "
            "one."
        )
    taken = sorted(
        User.objects.filter(username__in=DEMO_USERNAMES).values_list("username", flat=True)
    )
    if taken:
        raise DemoCityError(
            f"The database already has users named {', '.join(taken)}, which the demo city "
            "creates: build it into a fresh database."
        )


def _write(plan: DemoPlan, report: Progress) -> None:
    tables = plan.tables()
    total = sum(len(rows) for _, rows in tables)
    done = 0
    for model, rows in tables:
        if model is Division:
            # Parents first: each level needs the ids of the one above.
            for kind in (
                DivisionKind.CITY,
                DivisionKind.DISTRICT,
                DivisionKind.SUBDISTRICT,
                DivisionKind.COMMUNITY,
            ):
                level = [d for d in plan.divisions if d.kind == kind]
                _bulk(Division, level)
        else:
            for start in range(0, len(rows), BATCH * 5):
                _bulk(model, rows[start : start + BATCH * 5])
                report("writing", done + min(start + BATCH * 5, len(rows)), total)
        done += len(rows)
        report("writing", done, total)


def _bulk(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    # bulk_create copies the ids of already-saved parents into the foreign keys; the
    # backends here (PostgreSQL, SQLite ≥ 3.35) return the new ids for the children.
    model._default_manager.bulk_create(rows, batch_size=BATCH)


def _create_logins(plan: DemoPlan) -> None:
    for username in DEMO_USERNAMES:
        login = plan.logins[username]
        user = user_create(
            username=username,
            password=DEMO_PASSWORD,
            role=login.role,
            first_name=login.given,
            last_name=login.surname,
            jurisdiction=login.jurisdiction,
            is_superuser=login.role == Role.ADMIN,
        )
        if login.staff is not None:
            login.staff.user = user
            login.staff.save(update_fields=["user"])


# --- digests ----------------------------------------------------------------------------------

DIGEST_FIELDS: tuple[tuple[type[models.Model], tuple[str, ...]], ...] = (
    (Division, ("kind", "code", "name", "path", "parent__code", "boundary")),
    (Grid, ("code", "name", "path", "community__code", "boundary")),
    (PoliceStation, ("code", "name", "address", "phone", "district__code")),
    (
        PoliceOffice,
        (
            "code",
            "name",
            "service_centre",
            "address",
            "opening_hours",
            "phone",
            "lat",
            "lng",
            "station__code",
        ),
    ),
    (Beat, ("code", "name", "path", "grid__code", "station__code", "office__code")),
    (Staff, ("kind", "name", "police_number", "path", "station__code")),
    (Assignment, ("beat__code", "kind", "responsible", "staff__name", "since")),
    (CommitteePost, ("community__code", "committee", "title", "staff__name", "since")),
    (DutyShift, ("office__code", "staff__name", "starts_at", "ends_at")),
    (Compound, ("grid__code", "name", "address", "lat", "lng")),
    (Dwelling, ("standard_address", "grid__code", "floor", "lat", "lng", "path")),
)


def _canonical(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, str):
        # Planned rows hold TextChoices members where the database gives back plain str.
        return repr(str(value))
    return repr(value)


def _digest(tables: Iterable[tuple[str, Iterable[Sequence[object]]]]) -> str:
    h = hashlib.sha256()
    for label, rows in tables:
        lines = sorted("\x1f".join(_canonical(v) for v in row) for row in rows)
        h.update(label.encode())
        for line in lines:
            h.update(line.encode())
            h.update(b"\n")
    return h.hexdigest()


def _resolve(obj: object, dotted: str) -> object:
    for part in dotted.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def plan_digest(plan: DemoPlan) -> str:
    """A fingerprint of the planned city; equal to ``database_digest()`` once it is written."""
    rows = {model: list(objs) for model, objs in plan.tables()}
    return _digest(
        (model.__name__, ([_resolve(o, f) for f in fields] for o in rows[model]))
        for model, fields in DIGEST_FIELDS
    )


def database_digest() -> str:
    """The same fingerprint computed from the database (see ``plan_digest``)."""
    return _digest(
        (model.__name__, model._default_manager.values_list(*fields).iterator(chunk_size=5000))
        for model, fields in DIGEST_FIELDS
    )
