"""Find my officer: an address or a point → the beat → who looks after it and where to go.

Public by design (no login, no scope): "有困难，找马燕" only works if residents can find 马燕.
What a resident sees is what Tianjin's community-officer cards (社区民警公示牌) show, and no
more:

- the beat, its community and police station;
- the responsible community officer's **name** (public by design; no police number, no
  phone of their own; Staff has no photo, the page shows a placeholder);
- the police office: name, address, opening hours and its **public phone** — the office's,
  or the station's when the office has none; never a staff member's phone;
- the team: the community workers by full name (they sit on the residents' committee, whose
  members are posted publicly), and the grid workers by role with the name **masked**
  (张*): grid workers are often residents of the very grid they look after, so a full name
  with the grid points at a neighbour; the office phone reaches them.

Nothing here reads residents. Address matches show standard addresses (place data) only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _

from safecommunity.accounts.privacy import mask_name
from safecommunity.places.models import Beat, Compound, Dwelling
from safecommunity.places.selectors import normalize_address
from safecommunity.places.services import beat_at
from safecommunity.teams.models import Assignment, StaffKind

ADDRESS_MAX_CHARS = 100
# Shorter text matches compound names only: a two-character fragment of a standard address
# matches half a city and cannot use PostgreSQL's trigram index.
ADDRESS_MIN_CHARS = 2
DWELLING_MIN_CHARS = 3
# Candidates read per kind of match; ranked in Python, the best one per beat kept.
CANDIDATES = 50
MAX_ALTERNATIVES = 5
MAX_ID = 2**63 - 1
# "天津市" and "南开区" are how people start an address; standard addresses start at the street.
_REGION_PREFIX = re.compile(r"^(?:[\u4e00-\u9fff]{1,6}?市)?(?:[\u4e00-\u9fff]{1,6}?[区县])?")


class LookupRefused(ValueError):
    """Input that cannot be looked up, with a message for the resident (→ 400)."""


@dataclass(frozen=True)
class TeamMember:
    kind: str
    role: str
    name: str


@dataclass(frozen=True)
class OfficeCard:
    name: str
    service_centre: str
    address: str
    opening_hours: str
    phone: str
    lat: float | None
    lng: float | None


@dataclass(frozen=True)
class OfficerCard:
    """Everything the public page and API show for one beat."""

    beat_id: int
    beat_code: str
    beat_name: str
    community: str
    station: str
    station_address: str
    officer: str | None
    office: OfficeCard | None
    phone: str
    team: list[TeamMember] = field(default_factory=list)


@dataclass(frozen=True)
class Match:
    """An address that matched: what it is called and which beat it lies in."""

    label: str
    beat_id: int
    beat_name: str
    exact: bool


@dataclass(frozen=True)
class AddressResult:
    card: OfficerCard
    match: Match
    # Best matches in other beats: the resident may have meant one of them.
    alternatives: list[Match]

    @property
    def ambiguous(self) -> bool:
        return bool(self.alternatives) and not self.match.exact


def parse_point(lat: str | None, lng: str | None) -> tuple[float, float]:
    """Two query-string values as a point; ``LookupRefused`` says which one is wrong."""
    values: list[float] = []
    for name, raw, bound in (("lat", lat, 90.0), ("lng", lng, 180.0)):
        if raw is None or not raw.strip():
            raise LookupRefused(_("Give both lat and lng (%(name)s is missing).") % {"name": name})
        try:
            value = float(raw.strip()[:40])
        except ValueError:
            raise LookupRefused(
                _("%(name)s must be a number in degrees, not “%(raw)s”.")
                % {"name": name, "raw": raw[:40]}
            ) from None
        if not math.isfinite(value) or not -bound <= value <= bound:
            raise LookupRefused(
                _("%(name)s must lie between -%(bound)d and %(bound)d degrees.")
                % {"name": name, "bound": bound}
            )
        values.append(value)
    return values[0], values[1]


def parse_beat_id(raw: str) -> int | None:
    """A beat id from the query string, or ``None`` when it is not ASCII digits: "²" and "٣"
    pass ``str.isdigit()`` but ``int()`` refuses or misreads them. Overlong numbers are cut,
    as no beat has such an id (``card_for_beat`` answers ``None``)."""
    text = raw.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text[:20])


def card_for_beat(beat_id: int) -> OfficerCard | None:
    """The public card of one beat (two queries), or ``None`` for an unknown beat."""
    if not 0 < beat_id <= MAX_ID:
        return None
    beat = (
        Beat.objects.select_related("grid__community", "station", "office")
        .filter(pk=beat_id)
        .first()
    )
    if beat is None:
        return None
    members = (
        Assignment.objects.filter(beat=beat)
        .select_related("staff")
        .order_by("-responsible", "kind", "staff__name", "pk")
    )
    officer: str | None = None
    team: list[TeamMember] = []
    for member in members:
        if member.responsible:
            officer = member.staff.name
        elif member.kind == StaffKind.COMMUNITY_WORKER:
            team.append(
                TeamMember(member.kind, str(StaffKind(member.kind).label), member.staff.name)
            )
        elif member.kind == StaffKind.GRID_WORKER:
            team.append(
                TeamMember(
                    member.kind, str(StaffKind(member.kind).label), mask_name(member.staff.name)
                )
            )
        # Other officers helping in the beat are not its officer: the card names one person.
    office = beat.office
    station = beat.station
    return OfficerCard(
        beat_id=beat.pk,
        beat_code=beat.code,
        beat_name=beat.name,
        community=beat.grid.community.name,
        station=station.name,
        station_address=station.address,
        officer=officer,
        office=(
            OfficeCard(
                name=office.name,
                service_centre=office.service_centre,
                address=office.address,
                opening_hours=office.opening_hours,
                phone=office.phone,
                lat=office.lat,
                lng=office.lng,
            )
            if office is not None
            else None
        ),
        phone=(office.phone if office is not None and office.phone else "") or station.phone,
        team=team,
    )


def card_at_point(*, lat: float, lng: float) -> OfficerCard | None:
    """The card of the beat containing the point, or ``None`` outside every beat."""
    hit = beat_at(lat=lat, lng=lng)
    return card_for_beat(hit.beat_id) if hit is not None else None


def _candidates(text: str) -> list[tuple[int, str, int]]:
    """(rank, label, beat id) of compounds and dwellings matching ``text``; lower rank is
    better: an exact standard address, an exact compound name, a compound name or address
    containing it, a standard address starting with it, one containing it."""
    found: list[tuple[int, str, int]] = []
    exact = Dwelling.objects.filter(standard_address=text).values_list(
        "standard_address", "grid__beat"
    )
    found += [(0, label, beat) for label, beat in exact[:1] if beat is not None]
    compounds = (
        Compound.objects.filter(Q(name__contains=text) | Q(address__contains=text))
        .order_by("name", "pk")
        .values_list("name", "address", "grid__beat")[:CANDIDATES]
    )
    for name, address, beat in compounds:
        if beat is None:
            continue
        rank = 1 if name == text else 2 if text in name else 3
        found.append((rank, name if text in name else f"{name}（{address}）", beat))
    exact_found = bool(found) and found[0][0] == 0
    if not exact_found and len(text) >= DWELLING_MIN_CHARS:
        dwellings = (
            Dwelling.objects.filter(standard_address__contains=text)
            .order_by()
            .values_list("standard_address", "grid__beat")[:CANDIDATES]
        )
        for label, beat in dwellings:
            if beat is not None:
                found.append((4 if label.startswith(text) else 5, label, beat))
    found.sort(key=lambda row: (row[0], len(row[1]), row[1]))
    return found


def find_by_address(raw: str) -> AddressResult | None:
    """The best match for an address or a fragment of one (a standard address, a compound's
    name or street address), its beat's card and the best matches in other beats.

    ``LookupRefused`` for text too short or too long; ``None`` when nothing matches.
    """
    text = normalize_address(raw)
    if len(text) < ADDRESS_MIN_CHARS:
        raise LookupRefused(
            _("Type at least %(n)d characters of the address.") % {"n": ADDRESS_MIN_CHARS}
        )
    if len(text) > ADDRESS_MAX_CHARS:
        raise LookupRefused(
            _("An address has at most %(n)d characters.") % {"n": ADDRESS_MAX_CHARS}
        )
    found = _candidates(text)
    if not found:
        shorter = _REGION_PREFIX.sub("", text, count=1)
        if shorter != text and len(shorter) >= ADDRESS_MIN_CHARS:
            found = _candidates(shorter)
    if not found:
        return None
    best_per_beat: dict[int, tuple[int, str]] = {}
    for rank, label, beat in found:
        best_per_beat.setdefault(beat, (rank, label))
    names = dict(Beat.objects.filter(pk__in=best_per_beat).values_list("pk", "name"))
    matches = [
        Match(label=label, beat_id=beat, beat_name=names.get(beat, ""), exact=rank == 0)
        for beat, (rank, label) in best_per_beat.items()
    ]
    best = matches[0]
    card = card_for_beat(best.beat_id)
    if card is None:  # the beat went away between the two reads
        return None
    return AddressResult(card=card, match=best, alternatives=matches[1 : 1 + MAX_ALTERNATIVES])
