"""The demo city's disputes: three years of intake, mediation, settlement or referral and
follow-up in every beat, so the dispute pages and statistics show real history.

Runs after places, teams and residents exist. Each beat draws from its own seeded generator
(one beat's disputes do not move when another changes). Every dispute walks the state machine
of ``disputes.workflow`` from its report, one step at a time with realistic delays — mostly
within each stage's deadline, sometimes late — and stops where the next step would fall after
the start of ``today``: its state, events, sessions and deadline are exactly what the services
would have written. Some recent disputes stall (open and overdue), high-risk ones are
escalated, and a dispute with the same dwelling or resident party as one in the last 90 days
is a repeat of it, as ``dispute_report`` would flag it.

Rows are written with ``bulk_create`` (explicit dispute ids, so children and repeats can point
at them without a round trip).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from random import Random

from django.db.models import Max
from django.utils import timezone

from safecommunity.accounts.models import Role, User
from safecommunity.demo.people import person_name
from safecommunity.demo.progress import Progress, no_progress
from safecommunity.demo.residents import reset_sequences
from safecommunity.disputes import workflow
from safecommunity.disputes.models import (
    Dispute,
    DisputeCategory,
    DisputeEvent,
    DisputeSource,
    DisputeState,
    MediationSession,
    Outcome,
    Party,
    PartyRole,
    ReferredTo,
    RiskLevel,
)
from safecommunity.people.models import Residence
from safecommunity.people.services import protect_phone
from safecommunity.places.models import Beat, Dwelling
from safecommunity.teams.models import Assignment, StaffKind

BATCH = 2000
YEARS = 3
# Disputes per beat per year: Tianjin's 860,000 in four years over 13.6 million residents is
# about one a year for every 60 residents; a demo beat holds about 270.
PER_BEAT_YEAR = (2, 8)
STALL_WINDOW = timedelta(days=120)  # recent disputes that may stall (open and overdue)
STALL_SHARE = 0.15

S = DisputeState
CATEGORY_WEIGHTS: dict[str, int] = {
    DisputeCategory.NEIGHBOURS: 30,
    DisputeCategory.FAMILY: 18,
    DisputeCategory.PROPERTY_MANAGEMENT: 15,
    DisputeCategory.TENANCY: 12,
    DisputeCategory.WAGES_OWED: 8,
    DisputeCategory.TRAFFIC: 7,
    DisputeCategory.OTHER: 10,
}
SOURCE_WEIGHTS: dict[str, int] = {
    DisputeSource.VISIT: 20,
    DisputeSource.WALK_IN: 25,
    DisputeSource.HOTLINE_110: 20,
    DisputeSource.HOTLINE_12345: 20,
    DisputeSource.GRID_REPORT: 12,
    DisputeSource.OTHER: 3,
}
RISK_WEIGHTS: dict[str, int] = {RiskLevel.LOW: 70, RiskLevel.MEDIUM: 22, RiskLevel.HIGH: 8}
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    DisputeCategory.NEIGHBOURS: (
        "楼上卫生间漏水，楼下住户要求赔偿维修费用。",
        "邻居深夜噪音扰民，多次沟通无果。",
        "楼道堆放杂物占用公共通道，双方发生口角。",
        "相邻住户因空调外机位置产生矛盾。",
    ),
    DisputeCategory.FAMILY: (
        "夫妻因家庭琐事争吵，一方要求民警介入。",
        "子女对赡养老人费用分摊存在分歧。",
        "兄弟姐妹因老房子继承问题发生争执。",
    ),
    DisputeCategory.PROPERTY_MANAGEMENT: (
        "业主对物业费上涨不满，拒绝缴费。",
        "小区停车位分配引发业主与物业矛盾。",
        "电梯长期故障，业主与物业公司发生纠纷。",
    ),
    DisputeCategory.TENANCY: (
        "租客提前退租，房东拒绝退还押金。",
        "房东要求涨租，租客不同意。",
        "群租房噪音问题，邻居与房东发生争执。",
    ),
    DisputeCategory.WAGES_OWED: (
        "装修工人被拖欠工资，要求雇主结清。",
        "餐馆员工离职后工资未结清。",
    ),
    DisputeCategory.TRAFFIC: (
        "小区内电动车与行人轻微碰撞，赔偿未谈妥。",
        "路口车辆剐蹭，双方对责任认定有分歧。",
    ),
    DisputeCategory.OTHER: (
        "网购商品退货引发买卖双方争执。",
        "宠物狗咬伤路人，医药费赔偿有争议。",
    ),
}
AGREEMENTS = (
    "双方达成一致：责任方一次性赔偿并于一周内完成修复。",
    "双方同意各让一步，按协商金额分期支付。",
    "双方签订书面调解协议，承诺今后互谅互让。",
)
REPEAT_NOTE = "重复纠纷：与此前纠纷的当事人或房屋相同。"
FAILURE_NOTES = ("双方分歧较大，调解未果。", "一方拒绝继续调解。")
REFERRAL_NOTES = ("涉及金额较大，引导当事人诉讼。", "移交人民调解委员会继续调解。")


@dataclass
class _Team:
    officer: str = ""
    workers: list[str] = field(default_factory=list)
    grid_workers: list[str] = field(default_factory=list)


@dataclass
class _Rows:
    disputes: list[Dispute] = field(default_factory=list)
    parties: list[Party] = field(default_factory=list)
    sessions: list[MediationSession] = field(default_factory=list)
    events: list[DisputeEvent] = field(default_factory=list)

    def flush(self) -> None:
        Dispute.objects.bulk_create(self.disputes, batch_size=BATCH)
        Party.objects.bulk_create(self.parties, batch_size=BATCH)
        MediationSession.objects.bulk_create(self.sessions, batch_size=BATCH)
        DisputeEvent.objects.bulk_create(self.events, batch_size=BATCH)
        self.disputes.clear()
        self.parties.clear()
        self.sessions.clear()
        self.events.clear()


def _pick(rng: Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _delay(rng: Random, usual: tuple[float, float], late: tuple[float, float]) -> timedelta:
    """Hours: mostly within ``usual``, one time in ten ``late`` (past the deadline)."""
    low, high = late if rng.random() < 0.1 else usual
    return timedelta(hours=rng.uniform(low, high))


def populate_disputes(
    *, seed: int, today: date, progress: Progress | None = None
) -> dict[str, int]:
    """Fill the last three years (up to the start of ``today``) with disputes in every beat.

    Deterministic by ``seed`` and ``today``. Returns the counts of what was written.
    """
    report = progress or no_progress
    tz = timezone.get_default_timezone()
    horizon = datetime.combine(today, time.min, tzinfo=tz)
    start = horizon - timedelta(days=365 * YEARS)
    beats = list(Beat.objects.order_by("path").values_list("pk", "path", "name"))
    dwellings: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for pk, path, address in Dwelling.objects.order_by("pk").values_list(
        "pk", "path", "standard_address"
    ):
        dwellings[path].append((pk, address))
    residents: dict[int, list[int]] = defaultdict(list)
    for dwelling_id, resident_id in (
        Residence.objects.filter(until__isnull=True)
        .order_by("dwelling_id", "resident_id")
        .values_list("dwelling_id", "resident_id")
    ):
        residents[dwelling_id].append(resident_id)
    teams: dict[int, _Team] = defaultdict(_Team)
    for beat_id, kind, name, responsible in Assignment.objects.order_by(
        "beat_id", "staff__name", "pk"
    ).values_list("beat_id", "kind", "staff__name", "responsible"):
        team = teams[beat_id]
        if kind == StaffKind.COMMUNITY_OFFICER and (responsible or not team.officer):
            team.officer = name
        elif kind == StaffKind.COMMUNITY_WORKER:
            team.workers.append(name)
        elif kind == StaffKind.GRID_WORKER:
            team.grid_workers.append(name)
    # The demo's officer login answers for their own beat's history.
    logins = {
        u.jurisdiction_beat_id: u
        for u in User.objects.filter(
            role=Role.COMMUNITY_OFFICER, jurisdiction_beat__isnull=False
        ).order_by("pk")
    }
    next_id = (Dispute.objects.aggregate(last=Max("id"))["last"] or 0) + 1
    rows = _Rows()
    counts: defaultdict[str, int] = defaultdict(int)
    for done, (beat_id, path, beat_name) in enumerate(beats):
        rng = Random(f"{seed}:{path}:disputes")
        walker = _Beat(
            rng=rng,
            beat_id=beat_id,
            path=path,
            beat_name=beat_name,
            dwellings=dwellings.get(path, []),
            residents=residents,
            team=teams[beat_id],
            login=logins.get(beat_id),
            horizon=horizon,
            rows=rows,
            counts=counts,
        )
        n = sum(rng.randint(*PER_BEAT_YEAR) for _ in range(YEARS))
        times = sorted(
            start + timedelta(seconds=rng.uniform(0, (horizon - start).total_seconds()))
            for _ in range(n)
        )
        for reported_at in times:
            # Office hours mostly; the report time keeps its day.
            day = timezone.localtime(reported_at, tz).date()
            at = datetime.combine(day, time(rng.randint(8, 20), rng.randint(0, 59)), tzinfo=tz)
            if at >= horizon:
                continue
            walker.dispute(next_id, at)
            next_id += 1
        if len(rows.events) >= BATCH:
            rows.flush()
        report("disputes", done + 1, len(beats))
    rows.flush()
    reset_sequences(Dispute)
    report("disputes", len(beats), len(beats))
    return dict(sorted(counts.items()))


class _Beat:
    """Writes one beat's disputes in time order, remembering recent dwellings and residents
    for the repeat flag."""

    def __init__(
        self,
        *,
        rng: Random,
        beat_id: int,
        path: str,
        beat_name: str,
        dwellings: list[tuple[int, str]],
        residents: dict[int, list[int]],
        team: _Team,
        login: User | None,
        horizon: datetime,
        rows: _Rows,
        counts: defaultdict[str, int],
    ) -> None:
        self.rng = rng
        self.beat_id = beat_id
        self.path = path
        self.beat_name = beat_name
        self.dwellings = dwellings
        self.occupied = [d for d in dwellings if residents.get(d[0])]
        self.residents = residents
        self.team = team
        self.login = login
        self.horizon = horizon
        self.rows = rows
        self.counts = counts
        self.last_at_dwelling: dict[int, tuple[datetime, int]] = {}
        self.last_with_resident: dict[int, tuple[datetime, int]] = {}
        # The dispute being walked, the time of its last event, whether it stalls.
        self.current = Dispute()
        self.at = horizon
        self.stalls = False

    # --- intake -------------------------------------------------------------------------

    def _parties(self, dispute_id: int, dwelling_id: int | None) -> list[int]:
        """Append the parties; return the ids of the registry residents among them."""
        rng = self.rng
        resident_ids: list[int] = []
        people = self.residents.get(dwelling_id, []) if dwelling_id is not None else []
        if people and rng.random() < 0.8:
            resident_ids.append(rng.choice(people))
            self.rows.parties.append(
                Party(dispute_id=dispute_id, resident_id=resident_ids[-1], role=PartyRole.APPLICANT)
            )
        else:
            self._named_party(dispute_id, PartyRole.APPLICANT)
        if self.occupied and rng.random() < 0.5:
            other = rng.choice(self.occupied)[0]
            candidate = rng.choice(self.residents[other])
            if candidate not in resident_ids:
                resident_ids.append(candidate)
                self.rows.parties.append(
                    Party(dispute_id=dispute_id, resident_id=candidate, role=PartyRole.RESPONDENT)
                )
                return resident_ids
        self._named_party(dispute_id, PartyRole.RESPONDENT)
        return resident_ids

    def _named_party(self, dispute_id: int, role: str) -> None:
        surname, given = person_name(self.rng)
        party = Party(dispute_id=dispute_id, name=surname + given, role=role)
        if self.rng.random() < 0.6:
            phone = f"1{self.rng.choice('3578')}{self.rng.randint(0, 999_999_999):09d}"
            protected = protect_phone(phone)
            party.phone_cipher = protected.cipher
            party.phone_index = protected.lookup
            party.phone_masked = protected.masked
        self.rows.parties.append(party)

    def _repeat_of(
        self, at: datetime, dwelling_id: int | None, resident_ids: list[int]
    ) -> int | None:
        """As ``services.dispute_find_repeat``: the latest earlier dispute with the same
        dwelling or a same resident within the window."""
        found: tuple[datetime, int] | None = None
        keys = [self.last_at_dwelling.get(dwelling_id)] if dwelling_id is not None else []
        keys += [self.last_with_resident.get(r) for r in resident_ids]
        for hit in keys:
            if hit is not None and at - hit[0] <= workflow.REPEAT_WINDOW:
                if found is None or hit > found:
                    found = hit
        return found[1] if found is not None else None

    def dispute(self, dispute_id: int, reported_at: datetime) -> None:
        rng = self.rng
        category = _pick(rng, CATEGORY_WEIGHTS)
        source = _pick(rng, SOURCE_WEIGHTS)
        risk = _pick(rng, RISK_WEIGHTS)
        violent = rng.random() < 0.04
        escalated = risk == RiskLevel.HIGH or violent
        dwelling: tuple[int, str] | None = None
        pool = self.occupied or self.dwellings
        if pool and category != DisputeCategory.TRAFFIC and rng.random() < 0.8:
            dwelling = rng.choice(pool)
        dwelling_id = dwelling[0] if dwelling is not None else None
        place = dwelling[1] if dwelling is not None else f"{self.beat_name}辖区内道路"
        resident_ids = self._parties(dispute_id, dwelling_id)
        repeat_of = self._repeat_of(reported_at, dwelling_id, resident_ids)
        if dwelling_id is not None:
            self.last_at_dwelling[dwelling_id] = (reported_at, dispute_id)
        for resident_id in resident_ids:
            self.last_with_resident[resident_id] = (reported_at, dispute_id)
        dispute = Dispute(
            id=dispute_id,
            beat_id=self.beat_id,
            path=self.path,
            dwelling_id=dwelling_id,
            place=place,
            source=source,
            category=category,
            risk=risk,
            may_turn_violent=violent,
            escalated=escalated,
            escalated_at=reported_at if escalated else None,
            description=rng.choice(DESCRIPTIONS[category]),
            state=S.REPORTED,
            repeat_of_id=repeat_of,
            reported_by=self.login if source != DisputeSource.GRID_REPORT else None,
            reported_at=reported_at,
        )
        reporter = (
            rng.choice(self.team.grid_workers)
            if source in (DisputeSource.GRID_REPORT, DisputeSource.VISIT) and self.team.grid_workers
            else self.team.officer
        )
        notes = []
        if escalated:
            notes.append("高风险或可能引发暴力，已升级处置。")
        if repeat_of is not None:
            # As the service writes it: no number, the earlier dispute may be out of scope.
            notes.append(REPEAT_NOTE)
        self._event(dispute, "", S.REPORTED, reported_at, reporter, " ".join(notes))
        self._walk(dispute, reported_at)
        self.rows.disputes.append(dispute)
        self.counts["disputes"] += 1
        self.counts["disputes_escalated"] += escalated
        self.counts["disputes_repeat"] += repeat_of is not None
        self.counts[f"disputes_{dispute.state}"] += 1
        if dispute.due_at is not None and dispute.due_at < self.horizon:
            self.counts["disputes_overdue"] += 1

    # --- the walk through the state machine -----------------------------------------------

    def _event(
        self, dispute: Dispute, frm: str, to: str, at: datetime, who: str, note: str = ""
    ) -> None:
        actor = self.login if self.login is not None and who == self.team.officer else None
        self.rows.events.append(
            DisputeEvent(
                dispute_id=dispute.pk,
                from_state=frm,
                to_state=to,
                actor=actor,
                actor_name=who,
                at=at,
                note=note,
            )
        )
        self.counts["dispute_events"] += 1

    def _mediator(self) -> str:
        if self.team.workers and self.rng.random() < 0.5:
            return self.rng.choice(self.team.workers)
        return self.team.officer

    def _walk(self, dispute: Dispute, reported_at: datetime) -> None:
        """Move ``dispute`` along the table until its next step would fall after the horizon
        (or it stalls); set its state, timestamps and the current stage's deadline."""
        self.current, self.at = dispute, reported_at
        self.stalls = self.horizon - reported_at <= STALL_WINDOW and self.rng.random() < STALL_SHARE
        self._run()
        deadline = workflow.STAGE_DEADLINES.get(dispute.state)
        dispute.due_at = self.at + deadline if deadline is not None else None

    def _step(self, to: str, delay: timedelta, who: str, note: str = "") -> bool:
        """Make the transition ``delay`` after the last one; False (and nothing) when that
        falls after the horizon or the dispute stalls here."""
        when = self.at + delay
        if when >= self.horizon or (self.stalls and self.rng.random() < 0.5):
            return False
        self._transition(self.current, self.current.state, to, when, who, note)
        self.at = when
        return True

    def _run(self) -> None:
        rng, officer = self.rng, self.team.officer
        if rng.random() < 0.03:
            # A station leader rejects it (no team member's name).
            self._step(S.CLOSED, _delay(rng, (2, 20), (25, 60)), "", "不属于矛盾纠纷，不予受理。")
            return
        if not self._step(S.ACCEPTED, _delay(rng, (1, 20), (25, 60)), officer):
            return
        if rng.random() < 0.08:
            note = rng.choice(REFERRAL_NOTES)
            if not self._step(S.REFERRED, _delay(rng, (2, 40), (50, 90)), officer, note):
                return
        elif not self._step(S.MEDIATING, _delay(rng, (2, 40), (50, 100)), self._mediator()):
            return
        elif not self._mediate():
            return
        if not self._step(
            S.FOLLOW_UP, _delay(rng, (72, 600), (750, 1000)), self._mediator(), "电话回访当事人。"
        ):
            return
        self._step(S.CLOSED, _delay(rng, (24, 120), (170, 300)), officer, "回访无异议，结案。")

    def _mediate(self) -> bool:
        """One to three sessions, then the outcome; the last session before a settlement
        holds the agreement (``dispute_transition`` requires one)."""
        rng, officer, dispute = self.rng, self.team.officer, self.current
        duration = _delay(rng, (24, 150), (170, 330))
        outcome = rng.choices([S.SETTLED, S.REFERRED, S.FAILED], weights=[78, 12, 10])[0]
        sessions = rng.randint(1, 3)
        mediator = self._mediator()
        others = [n for n in self.team.workers if n != mediator][:1]
        for i in range(sessions):
            held = self.at + duration * (i + 1) / (sessions + 1)
            if held >= self.horizon:
                break
            last = i == sessions - 1
            self.rows.sessions.append(
                MediationSession(
                    dispute_id=dispute.pk,
                    held_at=held,
                    mediators="、".join(n for n in [mediator, *others] if n),
                    participants="双方当事人",
                    notes="听取双方陈述，释法说理。" if i == 0 else "继续协商赔偿方案。",
                    agreement=rng.choice(AGREEMENTS) if last and outcome == S.SETTLED else "",
                )
            )
            self.counts["mediation_sessions"] += 1
        if outcome == S.SETTLED:
            return self._step(S.SETTLED, duration, mediator)
        if outcome == S.REFERRED:
            return self._step(S.REFERRED, duration, officer, rng.choice(REFERRAL_NOTES))
        if not self._step(S.FAILED, duration, officer, rng.choice(FAILURE_NOTES)):
            return False
        if rng.random() < 0.5:
            note = rng.choice(REFERRAL_NOTES)
            return self._step(S.REFERRED, _delay(rng, (24, 120), (750, 900)), officer, note)
        return True

    def _transition(
        self, dispute: Dispute, frm: str, to: str, at: datetime, who: str, note: str
    ) -> None:
        self._event(dispute, frm, to, at, who, note)
        dispute.state = to
        if to == S.SETTLED:
            dispute.settled_at = at
            dispute.outcome = Outcome.SETTLED
        elif to == S.REFERRED:
            dispute.outcome = Outcome.REFERRED
            dispute.referred_to = self.rng.choice(ReferredTo.values)
            dispute.referral_note = note
        elif to == S.FAILED:
            dispute.outcome = Outcome.FAILED
        elif to == S.CLOSED:
            dispute.closed_at = at
            if frm == S.REPORTED:
                dispute.outcome = Outcome.REJECTED
