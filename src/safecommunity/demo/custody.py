"""Three years of the demo city's custody register: keys, documents and parcels its police
offices kept for residents, most collected again, some still held.

Runs after places, teams and (when built) residents exist, inside the generator's
transaction. Keys for the elderly living alone (care tag) are the heart of it, as in
"有困难，找马燕": about half of those stay in custody for good. Owners are registry residents
of the beat where there are any, otherwise people not in the registry (their phone stored
protected, as the services store it).

Rows are written with ``bulk_create`` (an item, then its movements), not through the
services: thousands of items through ``custody_receive`` would each write an audit entry
and take minutes; the rows are exactly what the services would have stored, and the
generator writes one audit entry for the whole build. Each beat draws from its own seeded
generator, so one beat's history does not move when another changes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from random import Random

from django.utils import timezone

from safecommunity.custody.models import (
    CustodyItem,
    CustodyMovement,
    ItemKind,
    ItemState,
    MovementAction,
)
from safecommunity.demo.people import person_name
from safecommunity.demo.progress import Progress, no_progress
from safecommunity.people.models import CareTag, CareTagKind, Resident
from safecommunity.people.services import protect_phone
from safecommunity.places.models import Beat
from safecommunity.teams.models import Assignment, StaffKind

YEARS = 3
BATCH = 2000
# Items a beat's office takes in over three years, drawn per beat.
ITEMS_PER_BEAT = (12, 40)
KINDS = (
    (ItemKind.KEY, 55),
    (ItemKind.PARCEL, 20),
    (ItemKind.DOCUMENT, 15),
    (ItemKind.OTHER, 10),
)
TAG_PREFIX = {ItemKind.KEY: "K", ItemKind.DOCUMENT: "D", ItemKind.PARCEL: "P", ItemKind.OTHER: "Q"}
DESCRIPTIONS = {
    ItemKind.KEY: (
        "家门钥匙一把",
        "家门钥匙两把",
        "防盗门及单元门钥匙",
        "备用钥匙一串（四把）",
        "车库钥匙",
        "电动车钥匙",
    ),
    ItemKind.DOCUMENT: ("户口簿", "居住证回执", "医保卡", "老年证", "房产证复印件一袋", "身份证"),
    ItemKind.PARCEL: ("快递包裹一件", "药品一袋", "邻居代收的快递两件", "被褥一套", "生活用品一箱"),
    ItemKind.OTHER: ("雨伞", "拐杖", "轮椅", "手机一部", "钱包（内有现金）", "眼镜"),
}
NOTES = ("住院期间代为保管", "外出探亲", "独居老人备用钥匙", "邻居代交", "")
CHECKS = (
    "本人身份证，核对无误",
    "家属出示户口簿",
    "社区工作者陪同确认",
    "电话与本人核实并出示证件",
)
DISPOSALS = ("超过一年无人认领，移交失物招领", "物主确认不再需要，登记销毁")
RELATIVES = ("（儿子）", "（女儿）", "（本人）", "（本人）", "（老伴）", "（侄子）")
# Share of owners not in the registry (a visitor, a neighbour from elsewhere).
OUTSIDE_REGISTRY = 0.2


def _moment(rng: Random, day: date) -> datetime:
    """A time of day in office hours (08:30–18:00), Asia/Shanghai."""
    minutes = rng.randrange(8 * 60 + 30, 18 * 60)
    at = datetime.combine(day, time(minutes // 60, minutes % 60))
    return timezone.make_aware(at, timezone.get_default_timezone())


def _phone(rng: Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def populate_custody(*, seed: int, today: date, progress: Progress | None = None) -> dict[str, int]:
    """Fill the custody register of every beat with an office for the ``YEARS`` before
    ``today``. Returns the counts written."""
    report = progress or no_progress
    beats = list(
        Beat.objects.filter(office__isnull=False)
        .order_by("path")
        .values_list("pk", "code", "path", "office_id")
    )
    staff: dict[int, list[int]] = defaultdict(list)
    for beat_id, staff_id in (
        Assignment.objects.filter(
            kind__in=[StaffKind.COMMUNITY_OFFICER, StaffKind.COMMUNITY_WORKER]
        )
        .order_by("beat_id", "-responsible", "staff_id")
        .values_list("beat_id", "staff_id")
    ):
        staff[beat_id].append(staff_id)
    residents: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for pk, path, name in (
        Resident.objects.exclude(path="").order_by("pk").values_list("pk", "path", "name")
    ):
        residents[path].append((pk, name))
    elderly: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for pk, path, name in (
        CareTag.objects.filter(kind=CareTagKind.ELDERLY_ALONE)
        .exclude(resident__path="")
        .order_by("resident_id")
        .values_list("resident_id", "resident__path", "resident__name")
    ):
        elderly[path].append((pk, name))

    start = today - timedelta(days=365 * YEARS)
    span = (today - start).days
    # The history ends on ``today`` (or now, when today is today): for a past day the demo is
    # the same whenever it is built.
    end_of_day = timezone.make_aware(
        datetime.combine(today, time(23, 59)), timezone.get_default_timezone()
    )
    now = min(timezone.now(), end_of_day)
    next_tag: dict[int, int] = defaultdict(int)
    items: list[CustodyItem] = []
    trails: list[list[CustodyMovement]] = []
    counts = dict.fromkeys(("items", "held", "returned", "disposed", "movements"), 0)

    def flush() -> None:
        CustodyItem.objects.bulk_create(items, batch_size=BATCH)
        movements = []
        for item, trail in zip(items, trails, strict=True):
            for movement in trail:
                movement.item = item
                movements.append(movement)
        CustodyMovement.objects.bulk_create(movements, batch_size=BATCH)
        counts["movements"] += len(movements)
        items.clear()
        trails.clear()

    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    for done, (beat_id, code, path, office_id) in enumerate(beats, start=1):
        rng = Random(f"{seed}:{code}:custody")
        # A beat without officer or workers (a broken 1+2+N team) records no staff name.
        team: list[int | None] = list(staff.get(beat_id, [])) or [None]
        for _ in range(rng.randint(*ITEMS_PER_BEAT)):
            kind = rng.choices(kinds, weights)[0]
            day = start + timedelta(days=rng.randrange(span + 1))
            received_at = _moment(rng, day)
            if received_at > now:
                received_at = now - timedelta(minutes=rng.randrange(1, 600))
            owner_id: int | None = None
            phone = None
            standing = False
            pool = elderly.get(path) if kind == ItemKind.KEY and rng.random() < 0.6 else None
            if pool:
                owner_id, owner_name = rng.choice(pool)
                standing = rng.random() < 0.5  # kept for good: a spare key for emergencies
            elif residents.get(path) and rng.random() >= OUTSIDE_REGISTRY:
                owner_id, owner_name = rng.choice(residents[path])
            else:
                owner_name = "".join(person_name(rng))
                phone = protect_phone(_phone(rng)) if rng.random() < 0.7 else None
            next_tag[office_id] += 1
            received_by = rng.choice(team)
            item = CustodyItem(
                office_id=office_id,
                beat_id=beat_id,
                path=path,
                owner_id=owner_id,
                owner_name=owner_name,
                owner_phone_cipher=phone.cipher if phone else None,
                owner_phone_index=phone.lookup if phone else None,
                owner_phone_masked=phone.masked if phone else "",
                kind=kind,
                description=rng.choice(DESCRIPTIONS[kind]),
                tag=f"{TAG_PREFIX[kind]}-{next_tag[office_id]:04d}",
                state=ItemState.HELD,
                received_at=received_at,
                received_by_id=received_by,
            )
            trail = [
                CustodyMovement(
                    action=MovementAction.RECEIVED,
                    at=received_at,
                    staff_id=received_by,
                    note=rng.choice(NOTES),
                    path=path,
                )
            ]
            age = (now - received_at).days
            # Recent items are mostly still waiting; old ones mostly collected long ago.
            if standing:
                closing = None
            elif age < 14:
                closing = "returned" if rng.random() < 0.4 else None
            else:
                roll = rng.random()
                closing = "returned" if roll < 0.88 else "disposed" if roll < 0.93 else None
            if closing is None:
                # Held items are checked at the quarterly inventory.
                for quarter in range(90, age, 90):
                    if rng.random() < 0.7:
                        trail.append(
                            CustodyMovement(
                                action=MovementAction.CHECKED,
                                at=received_at + timedelta(days=quarter),
                                staff_id=rng.choice(team),
                                note="季度盘点",
                                path=path,
                            )
                        )
            else:
                later = timedelta(hours=rng.randrange(1, 24 * min(max(age, 1), 40)))
                closed_at = min(received_at + later, now)
                by = rng.choice(team)
                if closing == "returned":
                    item.state = ItemState.RETURNED
                    item.returned_at = closed_at
                    item.returned_to = owner_name + rng.choice(RELATIVES)
                    item.return_check = rng.choice(CHECKS)
                    item.returned_by_id = by
                    trail.append(
                        CustodyMovement(
                            action=MovementAction.RETURNED,
                            at=closed_at,
                            staff_id=by,
                            note=item.return_check,
                            path=path,
                        )
                    )
                else:
                    item.state = ItemState.DISPOSED
                    item.disposed_at = closed_at
                    trail.append(
                        CustodyMovement(
                            action=MovementAction.DISPOSED,
                            at=closed_at,
                            staff_id=by,
                            note=rng.choice(DISPOSALS),
                            path=path,
                        )
                    )
            counts["items"] += 1
            counts[str(item.state)] += 1
            items.append(item)
            trails.append(trail)
        if len(items) >= BATCH:
            flush()
        report("custody", done, len(beats))
    flush()
    return {f"custody_{key}": value for key, value in counts.items()}
