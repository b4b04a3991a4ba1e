"""Three years of residents' requests in the demo city: every kind, every state, with their
history (submitted, assigned, started, done, closed; re-inspections of illegal structures),
and the Open311 key ``demo-key``.

Runs after places and teams exist (residents are not needed), inside the generator's
transaction. Rows are written with ``bulk_create`` — exactly what ``request_submit`` and the
workflow services would have stored — because tens of thousands of submissions through the
services would each write an audit entry and take minutes; the generator writes one audit
entry for the whole build. Each beat draws from its own seeded generator, so one beat's
history does not move when another changes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from random import Random

from django.utils import timezone

from safecommunity.demo.people import person_name
from safecommunity.demo.progress import Progress, no_progress
from safecommunity.people import identity
from safecommunity.places.models import Beat, Dwelling
from safecommunity.service_requests.models import (
    ApiKey,
    EventKind,
    ReinspectionResult,
    RequestEvent,
    Service,
    ServiceRequest,
    Source,
    Status,
)
from safecommunity.service_requests.services import (
    TRACKING_ALPHABET,
    TRACKING_LENGTH,
    api_key_create,
    api_key_hash,
    public_address,
    service_catalogue_ensure,
)
from safecommunity.teams.models import Assignment

DEMO_API_KEY = "demo-key"
YEARS = 3
BATCH = 2000
# Requests a beat's team receives over three years, drawn per beat.
REQUESTS_PER_BEAT = (20, 60)
SERVICE_WEIGHTS = {
    "elderly": 22,
    "keys": 10,
    "hazard": 14,
    "noise": 18,
    "illegal_structure": 8,
    "lost_found": 8,
    "residence_certificate": 12,
    "other": 8,
}
SOURCES = ((Source.PUBLIC, 40), (Source.OPEN311, 25), (Source.VISIT, 20), (Source.STAFF, 15))
ATTRIBUTES: dict[str, list[dict[str, object]]] = {
    "elderly": [
        {"need": "shopping", "living_alone": "yes"},
        {"need": "hospital", "living_alone": "yes"},
        {"need": "signing", "living_alone": "yes"},
        {"need": "repair", "living_alone": "no"},
        {"need": "company", "living_alone": "yes"},
    ],
    "keys": [{"item": "家门钥匙一把"}, {"item": "备用钥匙一串"}, {"item": "单元门钥匙"}],
    "hazard": [
        {"hazard_kind": "fire", "urgent": "yes"},
        {"hazard_kind": "electric", "urgent": "no"},
        {"hazard_kind": "gas", "urgent": "yes"},
        {"hazard_kind": "building", "urgent": "no"},
    ],
    "noise": [
        {"noise_source": "neighbours", "time_of_day": ["night"]},
        {"noise_source": "construction", "time_of_day": ["day", "evening"]},
        {"noise_source": "business", "time_of_day": ["evening", "night"]},
    ],
    "illegal_structure": [
        {"structure_kind": "rooftop"},
        {"structure_kind": "shed"},
        {"structure_kind": "balcony"},
    ],
    "lost_found": [
        {"lost_or_found": "lost", "item": "钱包"},
        {"lost_or_found": "found", "item": "电动车钥匙"},
        {"lost_or_found": "lost", "item": "老人走失后找回的拐杖"},
    ],
    "residence_certificate": [
        {"purpose": "school"},
        {"purpose": "employment"},
        {"purpose": "insurance"},
    ],
    "other": [{}],
}
DESCRIPTIONS = {
    "elderly": ("独居老人需要帮忙买菜", "老人住院，需要邻里代为签字", "卫生间需要安装扶手"),
    "keys": ("出差期间请警务室代管钥匙", "老人记性不好，备用钥匙存放警务室"),
    "hazard": ("楼道堆放杂物堵塞消防通道", "电动车在楼道充电", "闻到燃气味"),
    "noise": ("楼上每晚十一点后装修", "广场舞音响声音太大", "工地夜间施工"),
    "illegal_structure": ("一楼住户私自扩建院墙", "楼顶搭建彩钢房", "小区内违建棚亭"),
    "lost_found": ("在小区门口拾到一个钱包", "丢失一串钥匙"),
    "residence_certificate": ("孩子入学需要居住证明", "办理社保需要居住证明"),
    "other": ("咨询户籍办理流程", "小区路灯不亮"),
}
NOTES = {
    Status.ASSIGNED: ("已受理，社区民警将与您联系", ""),
    Status.IN_PROGRESS: ("已上门了解情况", "已联系相关部门", ""),
    Status.DONE: ("已处理完毕", "已协调解决", "证明已开具，请到警务室领取"),
    Status.CLOSED: ("已回访，群众满意", ""),
}


def _tracking_number(rng: Random) -> str:
    return "".join(rng.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def _moment(rng: Random, day: date) -> datetime:
    at = time(rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59))
    return timezone.make_aware(datetime.combine(day, at))


def _pick_status(rng: Random, age_days: int) -> str:
    """Old requests are mostly closed; recent ones spread over the states; a few old ones
    are still open (overdue), as in any real office."""
    if age_days > 60:
        return rng.choices(
            [Status.CLOSED, Status.DONE, Status.IN_PROGRESS, Status.ASSIGNED],
            weights=[86, 9, 3, 2],
        )[0]
    if age_days > 14:
        return rng.choices(
            [Status.CLOSED, Status.DONE, Status.IN_PROGRESS, Status.ASSIGNED, Status.NEW],
            weights=[45, 25, 18, 8, 4],
        )[0]
    return rng.choices(
        [Status.CLOSED, Status.DONE, Status.IN_PROGRESS, Status.ASSIGNED, Status.NEW],
        weights=[10, 15, 30, 25, 20],
    )[0]


PATH = {
    Status.NEW: [],
    Status.ASSIGNED: [Status.ASSIGNED],
    Status.IN_PROGRESS: [Status.ASSIGNED, Status.IN_PROGRESS],
    Status.DONE: [Status.ASSIGNED, Status.IN_PROGRESS, Status.DONE],
    Status.CLOSED: [Status.ASSIGNED, Status.IN_PROGRESS, Status.DONE, Status.CLOSED],
}


def populate_service_requests(
    *, seed: int, today: date, progress: Progress | None = None
) -> dict[str, int]:
    """Fill the last three years of requests for every beat of the demo city, and make the
    Open311 key ``demo-key``. Deterministic by ``seed`` and ``today``."""
    report = progress or no_progress
    service_catalogue_ensure()
    services = {s.service_code: s for s in Service.objects.prefetch_related("attributes")}
    codes = [c for c in SERVICE_WEIGHTS if c in services]
    weights = [SERVICE_WEIGHTS[c] for c in codes]
    beats = list(Beat.objects.select_related("station").order_by("code"))
    team: dict[int, list[tuple[int, str]]] = defaultdict(list)
    responsible: dict[int, tuple[int, str]] = {}
    for beat_id, staff_id, responsible_flag, username, staff_name in Assignment.objects.order_by(
        "beat_id", "-responsible", "staff__name", "staff_id"
    ).values_list("beat_id", "staff_id", "responsible", "staff__user__username", "staff__name"):
        actor = username or staff_name
        team[beat_id].append((staff_id, actor))
        if responsible_flag:
            responsible[beat_id] = (staff_id, actor)
    dwellings: dict[int, list[tuple[int, str, float, float]]] = defaultdict(list)
    for grid_id, pk, address, lat, lng in Dwelling.objects.order_by("grid_id", "pk").values_list(
        "grid_id", "pk", "standard_address", "lat", "lng"
    ):
        # Filed by address: the dwelling is the link, the text stops at the building.
        dwellings[grid_id].append((pk, public_address(address), lat, lng))

    # Nothing happens after the moment of the build (when ``today`` is today).
    cap = timezone.now()
    first_day = today - timedelta(days=365 * YEARS)
    span = (today - first_day).days
    requests: list[ServiceRequest] = []
    # Events are built with the request's index in ``requests``; the pk is known after insert.
    events: list[tuple[int, RequestEvent]] = []
    seen_numbers: set[str] = set()
    for number, beat in enumerate(beats, start=1):
        rng = Random(f"{seed}:requests:{beat.code}")  # noqa: S311  # demo data
        places = dwellings.get(beat.grid_id, [])
        members = team.get(beat.pk, [])
        officer = responsible.get(beat.pk) or (members[0] if members else None)
        for _ in range(rng.randint(*REQUESTS_PER_BEAT)):
            if not places:
                break
            code = rng.choices(codes, weights=weights)[0]
            service = services[code]
            day = first_day + timedelta(days=int(span * math.sqrt(rng.random())))
            requested = min(_moment(rng, day), cap)
            age = (today - day).days
            status = _pick_status(rng, age)
            pk, address, lat, lng = rng.choice(places)
            tracking = _tracking_number(rng)
            while tracking in seen_numbers:
                tracking = _tracking_number(rng)
            seen_numbers.add(tracking)
            surname, given = person_name(rng)
            phone = f"13{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"
            attributes = dict(rng.choice(ATTRIBUTES[code]))
            expected = requested + timedelta(days=service.expected_days)
            if code == "illegal_structure":
                deadline = day + timedelta(days=rng.choice((15, 30, 45)))
                attributes["rectification_deadline"] = deadline.isoformat()
                expected = timezone.make_aware(datetime.combine(deadline, time(23, 59)))
            # Who the request sits with: the responsible officer, sometimes a team member.
            worker = rng.choice(members) if members and rng.random() < 0.3 else officer
            if officer is None or worker is None:
                status = Status.NEW  # a beat without a team: nobody has taken it up
            index = len(requests)
            at = requested
            history: list[RequestEvent] = [
                RequestEvent(
                    at=at,
                    kind=EventKind.SUBMITTED,
                    to_status=Status.NEW,
                    assignee_id=officer[0] if officer else None,
                )
            ]
            previous: str = Status.NEW
            note = ""
            leader_name = officer[1] if officer else ""
            worker_id, worker_name = worker if worker else (None, "")
            for step in PATH[Status(status)]:
                at = at + timedelta(hours=rng.randint(1, 24 * max(1, service.expected_days // 2)))
                note = rng.choice(NOTES[step])
                if step == Status.DONE and service.needs_reinspection:
                    if rng.random() < 0.35:
                        history.append(
                            RequestEvent(
                                at=at,
                                kind=EventKind.REINSPECTION,
                                from_status=previous,
                                to_status=previous,
                                note="复查未整改，已责令限期拆除",
                                actor_name=worker_name,
                                reinspected_on=timezone.localtime(at).date(),
                                reinspection_result=ReinspectionResult.NOT_RECTIFIED,
                            )
                        )
                        at = at + timedelta(days=rng.randint(7, 20))
                    note = "复查已整改"
                    history.append(
                        RequestEvent(
                            at=at,
                            kind=EventKind.REINSPECTION,
                            from_status=previous,
                            to_status=step,
                            note=note,
                            actor_name=worker_name,
                            reinspected_on=timezone.localtime(at).date(),
                            reinspection_result=ReinspectionResult.RECTIFIED,
                        )
                    )
                else:
                    assigning = step == Status.ASSIGNED
                    history.append(
                        RequestEvent(
                            at=at,
                            kind=EventKind.ASSIGNED if assigning else EventKind.TRANSITION,
                            from_status=previous,
                            to_status=step,
                            note=note,
                            actor_name=leader_name
                            if step in (Status.ASSIGNED, Status.CLOSED)
                            else worker_name,
                            assignee_id=worker_id if assigning else None,
                        )
                    )
                previous = step
            for event in history:
                event.at = min(event.at, cap)
            updated = history[-1].at
            requests.append(
                ServiceRequest(
                    service_request_id=tracking,
                    token=f"{rng.getrandbits(128):032x}",
                    service=service,
                    description=rng.choice(DESCRIPTIONS[code]),
                    lat=round(lat + rng.uniform(-0.0003, 0.0003), 6),
                    lng=round(lng + rng.uniform(-0.0003, 0.0003), 6),
                    address_string=address,
                    dwelling_id=pk,
                    beat=beat,
                    path=beat.path,
                    status=status,
                    assigned_to_id=worker_id
                    if status != Status.NEW
                    else (officer[0] if officer else None),
                    attributes=attributes,
                    contact_name=surname + given,
                    contact_phone_cipher=identity.encrypt(phone, purpose="request_phone"),
                    contact_phone_masked=identity.mask_phone(phone),
                    requested_datetime=requested,
                    updated_datetime=updated,
                    expected_datetime=expected,
                    agency_responsible=beat.station.name,
                    status_notes=note,
                    source=rng.choices([s for s, _w in SOURCES], weights=[w for _s, w in SOURCES])[
                        0
                    ],
                )
            )
            events.extend((index, event) for event in history)
        report("requests", number, len(beats))

    for start in range(0, len(requests), BATCH):
        ServiceRequest.objects.bulk_create(requests[start : start + BATCH])
        report("requests saved", min(start + BATCH, len(requests)), len(requests))
    for index, event in events:
        event.request_id = requests[index].pk
    RequestEvent.objects.bulk_create([e for _i, e in events], batch_size=BATCH)
    report("request events", len(events), len(events))

    if not ApiKey.objects.filter(key_hash=api_key_hash(DEMO_API_KEY)).exists():
        api_key_create(name="demo", key=DEMO_API_KEY)
    return {"service_requests": len(requests), "request_events": len(events)}
