"""The demo city's field work: three years of household visits, patrols, stationing shifts
and publicity events in every beat, and two visit campaigns — one over, one running with
partial coverage — so the field-work pages and the coverage table show real history.

Runs after places, teams and residents exist. Each beat (each office, for stationing) draws
from its own seeded generator, so one beat's history does not move when another changes.
Rows are written in batches straight into the tables (``demo.residents.insert_rows``), not through ``fieldwork.services``: the services would
also move residents and stamp dwellings (the residents' demo already wrote those stamps), and
one visit at a time would take minutes. The campaigns' visited dwellings are then counted
from the visits by ``campaign_recount``, exactly as the services keep them.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from random import Random

from django.db.models import Model
from django.utils import timezone
from shapely.geometry import LineString

from safecommunity.accounts.models import User
from safecommunity.demo.progress import Progress, no_progress
from safecommunity.demo.residents import Row, insert_rows
from safecommunity.fieldwork.models import (
    Campaign,
    Patrol,
    PublicityEvent,
    PublicityTopic,
    StationingShift,
    Visit,
    VisitOutcome,
)
from safecommunity.fieldwork.routes import route_length_m, route_text
from safecommunity.fieldwork.services import campaign_recount
from safecommunity.places.models import Beat, Division, DivisionKind, Dwelling
from safecommunity.teams.models import Assignment

BATCH = 2000
YEARS = 3
# Visits outside campaigns: each dwelling every year or two, besides the campaigns' visits.
ROUTINE_VISITS = (1, 3)
OUTCOME_WEIGHTS: dict[str, int] = {
    VisitOutcome.MET: 80,
    VisitOutcome.NOBODY_HOME: 15,
    VisitOutcome.REFUSED: 5,
}
CONFIRMED_SHARE = 0.75  # of visits that met the household
FINDINGS_SHARE = 0.08
FINDINGS = (
    "楼道堆放杂物，已提醒清理。",
    "电动车在楼道充电，已劝导。",
    "独居老人身体状况良好，留下警务室电话。",
    "住户反映楼上噪声扰民。",
    "出租屋租客信息已核对。",
    "防盗门锁损坏，建议更换。",
)
PATROL_FINDINGS = ("小区东门监控损坏。", "路灯不亮。", "消防通道被占用。", "")
PUBLICITY_PLACES = ("社区广场", "党群服务中心", "小区门口", "社区活动室", "菜市场门口")
TOPIC_WEIGHTS: dict[str, int] = {
    PublicityTopic.ANTI_FRAUD: 40,
    PublicityTopic.FIRE_SAFETY: 25,
    PublicityTopic.DRUG_PREVENTION: 10,
    PublicityTopic.TRAFFIC_SAFETY: 15,
    PublicityTopic.OTHER: 10,
}
# The ended campaign reached nearly everyone; the running one, each beat its own share.
ENDED_COVERAGE = 0.92
RUNNING_COVERAGE = (0.15, 0.9)


@dataclass(frozen=True)
class _Period:
    start: datetime
    end: datetime  # exclusive: the start of ``today``

    def at(
        self, rng: Random, low: datetime | None = None, high: datetime | None = None
    ) -> datetime:
        """A moment in working hours (08:00–19:59) between ``low`` and ``high``."""
        low, high = low or self.start, min(high or self.end, self.end)
        days = max(0, (high.date() - low.date()).days - 1)
        day = low.date() + timedelta(days=rng.randint(0, days))
        moment = datetime.combine(
            day, time(rng.randint(8, 19), rng.randint(0, 59)), tzinfo=self.start.tzinfo
        )
        return min(max(moment, low), high - timedelta(minutes=1))


def _weighted(rng: Random, weights: Mapping[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _uuid(rng: Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


# Columns written, in the order of the rows built below (``insert_rows``).
COLUMNS: dict[type[Model], tuple[str, ...]] = {
    Visit: (
        "dwelling",
        "staff",
        "recorded_by",
        "visited_at",
        "outcome",
        "residents_confirmed",
        "findings",
        "registry_changes",
        "client_uuid",
        "opened_kind",
        "opened_id",
        "path",
        "created_at",
    ),
    Patrol: (
        "beat",
        "staff",
        "recorded_by",
        "started_at",
        "ended_at",
        "route",
        "length_m",
        "findings",
        "opened_kind",
        "opened_id",
        "path",
        "created_at",
    ),
    PublicityEvent: (
        "beat",
        "staff",
        "recorded_by",
        "topic",
        "place",
        "held_at",
        "people_reached",
        "notes",
        "path",
        "created_at",
    ),
    StationingShift: (
        "office",
        "beat",
        "staff",
        "recorded_by",
        "started_at",
        "ended_at",
        "notes",
        "path",
        "created_at",
    ),
}
VERIFIED = json.dumps([{"change": "verified"}])


def _write(model: type[Model], rows: list[Row]) -> int:
    """Store ``rows`` (plain tuples, as the services would store them) and empty the list;
    how many were stored."""
    for start in range(0, len(rows), BATCH * 5):
        insert_rows(model, COLUMNS[model], rows[start : start + BATCH * 5])
    written = len(rows)
    rows.clear()
    return written


def _visit_row(
    rng: Random,
    members: Sequence[tuple[int | None, int | None]],
    dwelling: tuple[int, str, float, float],
    at: datetime,
    outcome: str,
    now: datetime,
) -> Row:
    staff_id, user_id = rng.choice(members)
    confirmed = outcome == VisitOutcome.MET and rng.random() < CONFIRMED_SHARE
    return (
        dwelling[0],
        staff_id,
        user_id,
        at,
        outcome,
        confirmed,
        rng.choice(FINDINGS) if rng.random() < FINDINGS_SHARE else "",
        VERIFIED if confirmed else "[]",
        _uuid(rng).hex,
        "",
        "",
        dwelling[1],
        now,
    )


def populate_fieldwork(
    *, seed: int, today: date, progress: Progress | None = None
) -> dict[str, int]:
    """Fill the last three years before ``today`` with field work; return the counts."""
    report = progress or no_progress
    tz = timezone.get_default_timezone()
    end = datetime.combine(today, time.min, tzinfo=tz)
    period = _Period(start=end - timedelta(days=365 * YEARS), end=end)
    city = Division.objects.get(kind=DivisionKind.CITY)
    admin = User.objects.filter(username="admin").first()
    ended = Campaign.objects.create(
        name=f"{today.year - 1}年“万名民警进万家”春季走访",
        path=city.path,
        scope_name=city.name,
        starts_on=date(today.year - 1, 3, 1),
        ends_on=date(today.year - 1, 5, 31),
        created_by=admin,
    )
    running = Campaign.objects.create(
        name=f"{today.year}年“万名民警进万家”冬季走访",
        path=city.path,
        scope_name=city.name,
        starts_on=today - timedelta(days=45),
        ends_on=today + timedelta(days=45),
        created_by=admin,
    )
    ended_window = (
        datetime.combine(ended.starts_on, time.min, tzinfo=tz),
        datetime.combine(ended.ends_on + timedelta(days=1), time.min, tzinfo=tz),
    )
    running_window = (datetime.combine(running.starts_on, time.min, tzinfo=tz), end)

    # Who works each beat (staff id and login id, if any), and its dwellings.
    team: dict[int, list[tuple[int | None, int | None]]] = defaultdict(list)
    for member_beat, member, login in Assignment.objects.order_by(
        "beat_id", "kind", "staff_id"
    ).values_list("beat_id", "staff_id", "staff__user_id"):
        team[member_beat].append((member, login))
    homes: dict[int, list[tuple[int, str, float, float]]] = defaultdict(list)
    for pk, grid_id, path, lat, lng in Dwelling.objects.order_by("grid_id", "pk").values_list(
        "pk", "grid_id", "path", "lat", "lng"
    ):
        homes[grid_id].append((pk, path, lat, lng))
    beats = list(Beat.objects.order_by("code"))
    counts = {"visits": 0, "patrols": 0, "stationing_shifts": 0, "publicity_events": 0}
    visits: list[Row] = []
    patrols: list[Row] = []
    events: list[Row] = []
    now = timezone.now()
    for done, beat in enumerate(beats, start=1):
        rng = Random(f"{seed}:{beat.code}:fieldwork")
        members = team.get(beat.pk) or [(None, None)]
        dwellings = homes.get(beat.grid_id, [])
        share = rng.uniform(*RUNNING_COVERAGE)

        for dwelling in dwellings:
            planned = [
                (period.at(rng), _weighted(rng, OUTCOME_WEIGHTS))
                for _ in range(rng.randint(*ROUTINE_VISITS))
            ]
            if rng.random() < ENDED_COVERAGE:
                planned.append((period.at(rng, *ended_window), VisitOutcome.MET))
            if rng.random() < share:
                planned.append((period.at(rng, *running_window), VisitOutcome.MET))
            visits.extend(
                _visit_row(rng, members, dwelling, at, outcome, now) for at, outcome in planned
            )
        # Patrols: about one a week along a few of the beat's addresses.
        if len(dwellings) >= 2:
            for week in range(52 * YEARS):
                low = period.start + timedelta(weeks=week)
                started = period.at(rng, low, low + timedelta(days=7))
                stops = sorted(rng.sample(dwellings, min(len(dwellings), rng.randint(3, 6))))
                points = list(dict.fromkeys((d[3], d[2]) for d in stops))
                if len(points) < 2:  # a beat whose addresses share one point
                    points.append((points[0][0] + 0.002, points[0][1] + 0.001))
                line = LineString(points)
                staff_id, user_id = rng.choice(members)
                patrols.append(
                    (
                        beat.pk,
                        staff_id,
                        user_id,
                        started,
                        min(started + timedelta(minutes=rng.randint(30, 120)), end),
                        route_text(line),
                        round(route_length_m(line)),
                        rng.choice(PATROL_FINDINGS),
                        "",
                        "",
                        beat.path,
                        now,
                    )
                )
        # Publicity: about one event a month.
        for month in range(12 * YEARS):
            low = period.start + timedelta(days=30 * month)
            staff_id, user_id = rng.choice(members)
            events.append(
                (
                    beat.pk,
                    staff_id,
                    user_id,
                    _weighted(rng, TOPIC_WEIGHTS),
                    rng.choice(PUBLICITY_PLACES),
                    period.at(rng, low, low + timedelta(days=30)),
                    rng.randint(15, 300),
                    "",
                    beat.path,
                    now,
                )
            )
        if len(visits) >= BATCH * 5 or done == len(beats):
            counts["visits"] += _write(Visit, visits)
            counts["patrols"] += _write(Patrol, patrols)
            counts["publicity_events"] += _write(PublicityEvent, events)
        report("field work", done, len(beats))
    counts["stationing_shifts"] = _stationing(seed, beats, team, period)
    report("campaigns", 0, 2)
    counts["campaigns"] = 2
    counts["ended_campaign_visited"] = campaign_recount(campaign=ended)
    counts["running_campaign_visited"] = campaign_recount(campaign=running)
    report("campaigns", 2, 2)
    return counts


def _stationing(
    seed: int,
    beats: Sequence[Beat],
    team: dict[int, list[tuple[int | None, int | None]]],
    period: _Period,
) -> int:
    """A stationing shift a week at every office, for its first beat, by its officers."""
    first_beat: dict[int, Beat] = {}
    for beat in beats:
        if beat.office_id is not None and beat.office_id not in first_beat:
            first_beat[beat.office_id] = beat
    rows: list[Row] = []
    total = 0
    now = timezone.now()
    for office_id, beat in sorted(first_beat.items()):
        rng = Random(f"{seed}:office{office_id}:stationing")
        members = team.get(beat.pk) or [(None, None)]
        for week in range(52 * YEARS):
            for day in rng.sample(range(5), 1):
                start = datetime.combine(
                    (period.start + timedelta(weeks=week, days=day)).date(),
                    time(rng.choice((8, 9, 13, 14))),
                    tzinfo=period.start.tzinfo,
                )
                if start + timedelta(hours=4) > period.end:
                    continue
                staff_id, user_id = members[0] if rng.random() < 0.7 else rng.choice(members)
                rows.append(
                    (
                        office_id,
                        beat.pk,
                        staff_id,
                        user_id,
                        start,
                        start + timedelta(hours=4),
                        "",
                        beat.path,
                        now,
                    )
                )
        if len(rows) >= BATCH * 5:
            total += _write(StationingShift, rows)
    return total + _write(StationingShift, rows)
