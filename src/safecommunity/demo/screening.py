"""The demo's risk screening: a sample risk list, screened for real, with something on every
page.

``populate_screening(seed=..., today=...)`` runs after the residents and the logins exist.
It writes a risk list of about 300 people to ``risk_list_path()`` (``DATA_DIR/demo/
risk-list.csv``, the file ``safecommunity demo`` names so a visitor can upload it again),
then does what a station leader would: imports it through ``screening.services``, screens
it (the run builds the screening index), confirms a few certain matches (verification tasks
for the beat teams; the ``officer`` login completes one) and rejects a namesake, and runs a
registry deduplication. Everything goes through the services, so the audit log, counts and
pages are exactly those of real use.

The list looks like the ones stations received during epidemic prevention, typed by other
agencies from other sources:

* ``FROM_STATION`` residents of the ``station`` login's jurisdiction (``FROM_BEAT`` of them
  in the ``officer`` login's beat, so the beat team has tasks) and ``FROM_ELSEWHERE`` from
  the rest of the city (the run does not look outside the station: they stay unmatched),
  each with the errors such lists have (``_garble``): an ID number missing or with one
  digit wrong or two swapped, a phone missing or one digit off, a homophone in the given
  name (伟→玮), traditional characters, day and month of birth swapped, the address without
  city and district; ``SPARSE_SHARE`` of them give only a name and one clue (a date of
  birth with a digit wrong, the flat next door …): those reach the probable and possible
  bands;
* ``OUTSIDERS`` people who live elsewhere, ``NAMESAKES`` of them sharing the name of a
  resident of the station — ``NEIGHBOURS`` in the same compound, the rest born the same
  year: the candidates a reviewer has to turn down;
* a repeated row and a malformed phone, so the import reports its issues.

The residents' ID and phone numbers are decrypted (``people.identity.decrypt``) for the few
hundred people drawn — only the demo does this, to make a list that can match. The list
depends only on the seed and the residents, so the same seed gives the same file.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from random import Random

from django.conf import settings
from faker.providers.person.zh_CN import Provider

from safecommunity.accounts.models import User
from safecommunity.accounts.scope import Scope, scope_for
from safecommunity.demo.identities import IdNumbers, mobile
from safecommunity.demo.people import person_name
from safecommunity.demo.progress import Progress, no_progress
from safecommunity.demo.scales import CITY_NAME, DISTRICT_SEEDS
from safecommunity.people import identity
from safecommunity.people.models import Gender, Residence, Resident
from safecommunity.screening.engine import names
from safecommunity.screening.models import (
    Band,
    Decision,
    Match,
    ScreeningRun,
    VerificationTask,
)
from safecommunity.screening.services import (
    dedup_enqueue,
    match_review,
    risk_list_import,
    run_enqueue,
    run_execute,
    task_complete,
)

LIST_NAME = "疫情防控协查人员名单（演示）"
PURPOSE = "演示：疫情防控风险人员排查"
DEDUP_PURPOSE = "演示：实有人口重复登记清理"
HEADER = ("姓名", "性别", "出生日期", "身份证号", "手机号", "现住址", "备注")
NOTES = (
    "密切接触者",
    "密切接触者",
    "次密切接触者",
    "时空伴随",
    "中高风险地区来津",
    "外省协查",
    "",
)

FROM_STATION = 220
FROM_BEAT = 30  # of FROM_STATION: the officer login's beat
FROM_ELSEWHERE = 20
OUTSIDERS = 60
# Of the residents' rows, the share with neither ID nor phone: these reach only the
# probable and possible bands, which reviewers then have to decide.
SPARSE_SHARE = 0.15
NAMESAKES = 20  # of OUTSIDERS
NEIGHBOURS = 4  # of NAMESAKES
CONFIRM = 6  # certain matches confirmed: half in the officer's beat
# Residents drawn are adults: a fixed date, so the list does not change with the day.
BORN_BEFORE = date(2006, 1, 1)

# Common name characters and their traditional forms (a list typed in Hong Kong, Macao or
# Taiwan, or by someone copying an old document). Only characters whose forms differ.
TRADITIONAL = str.maketrans(
    "张刘陈杨赵黄吴郑孙马罗谢韩冯邓许叶苏卢蒋贾钟陆邹吕龙凤兰云飞鹏杰涛宁伟华丽军红刚国东强"
    "丰荣庆爱宝贵进义礼乐亮辉燕婷玲娟霞龄龚顾韦闫汤阎萧钱卫严聂齐薛锋铭颖静凯敏",
    "張劉陳楊趙黃吳鄭孫馬羅謝韓馮鄧許葉蘇盧蔣賈鍾陸鄒呂龍鳳蘭雲飛鵬傑濤寧偉華麗軍紅剛國東強"
    "豐榮慶愛寶貴進義禮樂亮輝燕婷玲娟霞齡龔顧韋閆湯閻蕭錢衛嚴聶齊薛鋒銘穎靜凱敏",
)


def risk_list_path() -> Path:
    """Where the demo's sample list is written (read from settings on each call)."""
    return Path(settings.DATA_DIR) / "demo" / "risk-list.csv"


@dataclass(frozen=True)
class _Person:
    """A resident as the registry knows them, with their numbers in clear."""

    pk: int
    name: str
    male: bool
    birth: date
    id_number: str
    phone: str
    address: str
    path: str


@dataclass
class RiskListPlan:
    """The rows of the sample list, and who each is (for the demo's own reviews and tests).

    ``truth[line]`` is the resident a row was drawn from (None: not a resident), ``namesakes``
    the lines of outsiders who share a resident's name and birth year, ``errors[line]`` what
    was garbled."""

    rows: list[tuple[str, ...]] = field(default_factory=list)
    truth: dict[int, int | None] = field(default_factory=dict)
    namesakes: set[int] = field(default_factory=set)
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def add(self, row: tuple[str, ...], resident: int | None, errors: tuple[str, ...]) -> int:
        self.rows.append(row)
        line = len(self.rows) + 1  # line 1 is the header
        self.truth[line] = resident
        self.errors[line] = errors
        return line


def plan_risk_list(*, seed: int, station: User, officer: User | None = None) -> RiskListPlan:
    """The sample list for this database (no writes): residents drawn in ``station``'s
    jurisdiction (some in ``officer``'s beat) and elsewhere, garbled, and outsiders."""
    rng = Random(f"{seed}:screening")  # noqa: S311  # demo data, not secrets
    scope = scope_for(station)
    beat = scope_for(officer) if officer is not None else Scope(prefixes=())
    in_beat, in_station, elsewhere = _resident_pools(scope, beat)
    drawn = (
        _sample(rng, in_beat, FROM_BEAT)
        + _sample(rng, in_station, FROM_STATION - min(FROM_BEAT, len(in_beat)))
        + _sample(rng, elsewhere, FROM_ELSEWHERE)
    )
    rng.shuffle(drawn)
    people = _people(drawn)
    plan = RiskListPlan()
    outsiders = _outsiders(rng, people, scope)
    # Outsiders are interleaved with residents, as a real list mixes them.
    slots = sorted(rng.sample(range(len(people) + len(outsiders)), len(outsiders)))
    queue_people, queue_outsiders = iter(people), iter(outsiders)
    for position in range(len(people) + len(outsiders)):
        if slots and slots[0] == position:
            slots.pop(0)
            row, namesake = next(queue_outsiders)
            line = plan.add(row, None, ("namesake",) if namesake else ())
            if namesake:
                plan.namesakes.add(line)
        else:
            person = next(queue_people)
            row, errors = _garble(rng, person)
            plan.add(row, person.pk, errors)
    # A row sent twice, and a phone typed short: the import reports both.
    repeat = rng.randrange(2, len(plan.rows) + 2)
    plan.add(plan.rows[repeat - 2], plan.truth[repeat], (*plan.errors[repeat], "repeated"))
    copied = rng.randrange(2, len(plan.rows) + 2)
    name, gender, birth, id_number, _phone, address, note = plan.rows[copied - 2]
    plan.add(
        (name, gender, birth, id_number, "1381234", address, note),
        plan.truth[copied],
        (*plan.errors[copied], "bad_phone"),
    )
    return plan


def write_risk_list(path: Path, plan: RiskListPlan) -> Path:
    """The plan as CSV in UTF-8 with a BOM (what Chinese Excel opens), readable only by the
    owner: it holds personal data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        out.writerows(plan.rows)
    path.chmod(0o600)
    return path


def _resident_pools(scope: Scope, beat: Scope) -> tuple[list[int], list[int], list[int]]:
    """Resident ids (in id order) in the officer's beat, elsewhere in the station's
    jurisdiction, and outside it. Only adults with an ID number and a phone, as the people
    on those lists were."""
    adults = Resident.objects.filter(
        birth_date__lt=BORN_BEFORE, id_index__isnull=False, phone_index__isnull=False
    ).order_by("pk")
    in_beat: list[int] = []
    in_station: list[int] = []
    elsewhere: list[int] = []
    for pk, path in adults.values_list("pk", "path").iterator(chunk_size=10_000):
        if beat.prefixes and beat.covers(path):
            in_beat.append(pk)
        elif scope.covers(path):
            in_station.append(pk)
        else:
            elsewhere.append(pk)
    return in_beat, in_station, elsewhere


def _sample(rng: Random, pool: Sequence[int], count: int) -> list[int]:
    return rng.sample(list(pool), min(count, len(pool)))


def _people(pks: list[int]) -> list[_Person]:
    addresses = dict(
        Residence.objects.filter(resident_id__in=pks, until__isnull=True).values_list(
            "resident_id", "dwelling__standard_address"
        )
    )
    found = {
        pk: _Person(
            pk=pk,
            name=name,
            male=gender == Gender.MALE,
            birth=birth,
            id_number=identity.decrypt(id_cipher, purpose="id") if id_cipher else "",
            phone=identity.decrypt(phone_cipher, purpose="phone") if phone_cipher else "",
            address=addresses.get(pk, ""),
            path=path,
        )
        for pk, name, gender, birth, id_cipher, phone_cipher, path in Resident.objects.filter(
            pk__in=pks
        ).values_list("pk", "name", "gender", "birth_date", "id_cipher", "phone_cipher", "path")
    }
    return [found[pk] for pk in pks]


# --- garbling ---------------------------------------------------------------------------------


def _garble(rng: Random, person: _Person) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The person as another agency typed them, and the errors made (``errors`` names them
    for the tests and the report). Most rows are whole, each field going wrong on its own;
    ``SPARSE_SHARE`` of them have no number at all (``_sparse``)."""
    errors: list[str] = []
    name = _misspelt(rng, person.name, errors)
    gender = ("男" if person.male else "女") if rng.random() < 0.85 else ""
    note = rng.choice(NOTES)
    if rng.random() < SPARSE_SHARE:
        name, birth, phone, address = _sparse(rng, person, name, errors)
        return (name, gender, birth, "", phone, address, note), tuple(errors)
    id_number = person.id_number
    roll = rng.random()
    if roll < 0.25:
        id_number = ""
        errors.append("id_missing")
    elif roll < 0.4:
        id_number = _id_typo(rng, id_number)
        errors.append("id_typo")
    phone = person.phone
    roll = rng.random()
    if roll < 0.25:
        phone = ""
        errors.append("phone_missing")
    elif roll < 0.4:
        phone = _phone_typo(rng, phone)
        errors.append("phone_typo")
    birth = person.birth.isoformat()
    roll = rng.random()
    if roll < 0.15 and person.birth.day <= 12 and person.birth.day != person.birth.month:
        birth = date(person.birth.year, person.birth.day, person.birth.month).isoformat()
        errors.append("day_month_swapped")
    elif roll < 0.3:
        birth = ""
        errors.append("birth_missing")
    elif roll < 0.4:
        birth = f"{person.birth.year}年{person.birth.month}月{person.birth.day}日"
    address = person.address
    roll = rng.random()
    if roll < 0.3:
        address = _short_address(address)
        errors.append("address_short")
    elif roll < 0.45:
        address = ""
        errors.append("address_missing")
    return (name, gender, birth, id_number, phone, address, note), tuple(errors)


def _misspelt(rng: Random, name: str, errors: list[str]) -> str:
    roll = rng.random()
    changed, error = name, ""
    if roll < 0.12:
        changed, error = _homophone(rng, name), "homophone"
    elif roll < 0.2:
        changed, error = name.translate(TRADITIONAL), "traditional"
    if changed != name:
        errors.append(error)
    return changed


def _sparse(
    rng: Random, person: _Person, name: str, errors: list[str]
) -> tuple[str, str, str, str]:
    """Name, birth date, phone and address of a row with no ID number and usually no phone:
    a name and one clue, as lists of people seen at a place were. These are the rows that
    reach only the probable and possible bands, for reviewers to decide."""
    errors.append("id_missing")
    birth, phone, address = "", "", ""
    clue = rng.randrange(5)
    if clue == 0:  # the date of birth
        birth = person.birth.isoformat()
    elif clue == 1:  # the right compound, the wrong flat
        address = _other_flat(person.address)
        errors.append("address_other_flat")
    elif clue == 2:  # a character of the name mistyped, the date of birth right
        name = _name_typo(rng, person.name)
        birth = person.birth.isoformat()
        errors.append("name_typo")
    elif clue == 3:  # a digit of the birth day or month wrong
        birth = _birth_typo(rng, person.birth)
        errors.append("birth_typo")
    else:  # only the phone, one digit off
        phone = _phone_typo(rng, person.phone)
        errors.append("phone_typo")
    for field_name, value in (("birth", birth), ("phone", phone), ("address", address)):
        if not value:
            errors.append(f"{field_name}_missing")
    return name, birth, phone, address


def _other_flat(address: str) -> str:
    """The flat next door: room 01 for 02 (402 → 401), house 6 for house 5 in a village."""
    match = re.search(r"(\d+)(号?)$", address)
    if match is None:
        return address
    number, suffix = match.group(1), match.group(2)
    if suffix or len(number) < 3:
        other = str(int(number) + 1)
    else:
        other = number[:-2] + ("02" if number.endswith("01") else "01")
    return address[: match.start()] + other + suffix


def _name_typo(rng: Random, name: str) -> str:
    """A given-name character replaced by another common one that sounds different (a
    slip of the keyboard or of the eye, not of the ear)."""
    head = len(names.surname(name))
    if head >= len(name):
        return name
    i = rng.randrange(head, len(name))
    reading = names.reading(name[i])
    others = [c for c in _given_characters() if names.reading(c) != reading]
    return name[:i] + rng.choice(others) + name[i + 1 :]


def _birth_typo(rng: Random, birth: date) -> str:
    """The date with one digit of its month or day wrong (still a possible date)."""
    text = birth.isoformat()
    for _attempt in range(50):
        i = rng.choice((5, 6, 8, 9))
        typed = text[:i] + str((int(text[i]) + rng.randint(1, 9)) % 10) + text[i + 1 :]
        try:
            date.fromisoformat(typed)
        except ValueError:
            continue
        return typed
    return text


@cache
def _given_characters() -> tuple[str, ...]:
    return tuple(sorted({c for given in Provider.first_names for c in given}))


@cache
def _homophones() -> dict[str, tuple[str, ...]]:
    """Given-name characters by reading: the characters a clerk typing by ear might pick."""
    by_reading: dict[str, set[str]] = defaultdict(set)
    for character in _given_characters():
        reading = names.reading(character)
        if reading:
            by_reading[reading].add(character)
    return {
        character: tuple(sorted(group - {character}))
        for group in by_reading.values()
        if len(group) > 1
        for character in group
    }


def _homophone(rng: Random, name: str) -> str:
    """``name`` with one given-name character replaced by another read the same (伟→玮);
    unchanged when no character of the given name has a homophone among common ones."""
    head = len(names.surname(name))
    table = _homophones()
    positions = [i for i in range(head, len(name)) if name[i] in table]
    if not positions:
        return name
    i = rng.choice(positions)
    return name[:i] + rng.choice(table[name[i]]) + name[i + 1 :]


def _id_typo(rng: Random, number: str) -> str:
    """One digit wrong or two neighbours swapped, so that the checksum fails (a typo that
    happens to pass it would be another person's number)."""
    for _attempt in range(50):
        if rng.random() < 0.7:
            i = rng.randrange(17)
            digit = str((int(number[i]) + rng.randint(1, 9)) % 10)
            typed = number[:i] + digit + number[i + 1 :]
        else:
            i = rng.randrange(16)
            if number[i] == number[i + 1]:
                continue
            typed = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
        try:
            identity.parse_id_number(typed)
        except identity.IdentityError:
            return typed
    return ""


def _phone_typo(rng: Random, phone: str) -> str:
    """One digit off (not the first three, which say which network: those are rarely
    wrong)."""
    i = rng.randrange(3, len(phone))
    return phone[:i] + str((int(phone[i]) + rng.randint(1, 9)) % 10) + phone[i + 1 :]


def _short_address(address: str) -> str:
    """The address as a local writes it: without 天津市 and the district."""
    rest = address.removeprefix(CITY_NAME)
    for name, _point in DISTRICT_SEEDS.values():
        if rest.startswith(name):
            return rest.removeprefix(name)
    return rest


def _outsiders(
    rng: Random, people: list[_Person], scope: Scope
) -> list[tuple[tuple[str, ...], bool]]:
    """People who do not live in the demo city's registry. The first ``NAMESAKES`` share the
    name of a resident of the station's jurisdiction: ``NEIGHBOURS`` of them live in the
    same compound and the list gives only their name, sex and address (a candidate the
    reviewer must turn down), the others share the resident's birth year but another date,
    number and city."""
    ids = IdNumbers("file")  # the other half of the sequence space: no resident's number
    regions = ("130102", "110105", "370102", "210102", "410105", "120104", "120105")
    twins = [p for p in people if scope.covers(p.path) and p.address]
    rows: list[tuple[tuple[str, ...], bool]] = []
    for n in range(OUTSIDERS):
        namesake = n < min(NAMESAKES, len(twins))
        if namesake and n < NEIGHBOURS:
            twin = twins[n]
            sex = "男" if twin.male else "女"
            row = (twin.name, sex, "", "", "", _other_flat(twin.address), rng.choice(NOTES))
            rows.append((row, True))
            continue
        if namesake:
            twin = twins[n]
            name, male = twin.name, twin.male
            birth = twin.birth.replace(month=1, day=1) + timedelta(days=rng.randrange(365))
            if birth == twin.birth:
                birth += timedelta(days=1 if birth.month < 12 else -1)
        else:
            male = rng.random() < 0.5
            surname, given = person_name(rng, male=male)
            name = surname + given
            birth = date(rng.randint(1950, 2004), 1, 1) + timedelta(days=rng.randrange(365))
        region = rng.choice(regions)
        id_number = (
            ids.issue_near(district_code=region, birth_date=birth, male=male)[0]
            if rng.random() < 0.8
            else ""
        )
        if id_number and not id_number.startswith(region):
            id_number = ""  # stdnum did not know the region for that year: leave it out
        phone = mobile(rng) if rng.random() < 0.85 else ""
        place = _outside_address(rng, region)
        row = (
            name,
            ("男" if male else "女") if rng.random() < 0.8 else "",
            birth.isoformat() if rng.random() < 0.8 else "",
            id_number,
            phone,
            place,
            rng.choice(NOTES),
        )
        rows.append((row, namesake))
    return rows


def _outside_address(rng: Random, region: str) -> str:
    towns = {
        "130102": "河北省石家庄市长安区",
        "110105": "北京市朝阳区",
        "370102": "山东省济南市历下区",
        "210102": "辽宁省沈阳市和平区",
        "410105": "河南省郑州市金水区",
    }
    head = towns.get(region, "")
    if not head:
        return ""  # Tianjin-born, living who knows where: the list does not say
    road = rng.choice(("建设路", "解放路", "人民路", "和平路", "中山路", "胜利街"))
    return f"{head}{road}{rng.randint(1, 300)}号"


# --- screening --------------------------------------------------------------------------------


def populate_screening(
    *, seed: int, today: date, progress: Progress | None = None
) -> dict[str, int]:
    """Write the sample list, import and screen it as the ``station`` login, review a few
    matches and run a deduplication. Needs the demo's residents and logins; raises
    ``LookupError`` naming what is missing. Returns the counts for the build's summary."""
    report = progress or no_progress
    logins = {u.username: u for u in User.objects.filter(username__in=("station", "officer"))}
    station, officer = logins.get("station"), logins.get("officer")
    if station is None:
        raise LookupError("the demo's screening needs the `station` login: build the demo city")
    report("screening", 0, 4)
    plan = plan_risk_list(seed=seed, station=station, officer=officer)
    path = write_risk_list(risk_list_path(), plan)
    imported = risk_list_import(
        actor=station,
        path=path,
        file_name=path.name,
        name=LIST_NAME,
        purpose=PURPOSE,
        today=today,
    )
    report("screening", 1, 4)
    run = run_enqueue(actor=station, risk_list=imported.risk_list, purpose=PURPOSE, inline=True)
    # The run builds the screening index on first use. Building it here first would be
    # wasted: for index_store.WATERMARK_MARGIN after residents are written, opening the
    # index re-reads every resident changed since, and with more than index_store.CHUNK of
    # them it rebuilds the index anyway.
    run_execute(run)
    report("screening", 2, 4)
    tasks = _review(run, plan, station, officer)
    report("screening", 3, 4)
    dedup = dedup_enqueue(actor=station, purpose=DEDUP_PURPOSE, inline=True)
    run_execute(dedup)
    report("screening", 4, 4)
    return {
        "risk_records": imported.risk_list.rows_kept,
        "screening_matches": Match.objects.filter(run=run).count(),
        "verification_tasks": tasks,
        "merge_candidates": Match.objects.filter(run=dedup).count(),
    }


def _review(run: ScreeningRun, plan: RiskListPlan, station: User, officer: User | None) -> int:
    """As the station leader: confirm ``CONFIRM`` certain matches that are right — half in
    the officer's beat, so that beat team has tasks, half elsewhere in the station — and
    reject a wrong candidate (a namesake's); as the officer, complete one task. Deterministic: matches
    are taken in line order. Returns the number of tasks made."""
    matches = list(
        Match.objects.filter(run=run, rank=1).select_related("record").order_by("record__line")
    )
    beat = scope_for(officer) if officer is not None else Scope(prefixes=())
    right = [
        m
        for m in matches
        if m.band == Band.CERTAIN
        and m.record is not None
        and plan.truth.get(m.record.line) == m.resident_id
    ]
    in_beat = [m for m in right if beat.covers(m.path)]
    chosen = in_beat[: CONFIRM // 2]
    chosen += [m for m in right if m not in chosen][: CONFIRM - len(chosen)]
    for match in chosen:
        match_review(
            actor=station,
            match=match,
            decision=Decision.CONFIRMED,
            note="身份证号、姓名一致，转社区民警上门核实。",
        )
    if officer is not None and in_beat:
        task_complete(
            actor=officer,
            task=VerificationTask.objects.get(match=chosen[0]),
            outcome="已上门核实：本人在家，已告知居家健康监测要求并登记。",
        )
    # A candidate who is not the person on the list: a namesake's first, else anyone's, in
    # line order. What a reviewer turns down after a look at the explanation.
    wrong = sorted(
        (m.record.line not in plan.namesakes, m.record.line, m.rank, m.pk)
        for m in Match.objects.filter(run=run, review__isnull=True).select_related("record")
        if m.record is not None and plan.truth.get(m.record.line) != m.resident_id
    )
    if wrong:
        match_review(
            actor=station,
            match=Match.objects.get(pk=wrong[0][-1]),
            decision=Decision.REJECTED,
            note="同名不同人：出生日期、住址与名单不符，排除。",
        )
    return len(chosen)
