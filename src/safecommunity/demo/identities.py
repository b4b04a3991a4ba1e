"""Plausible, valid and unique identities for demo residents: ID numbers, phones, ethnicity.

An ID number (GB 11643) is the six-digit region code, the birth date, a three-digit sequence
whose parity is the gender (odd = male) and a check digit. The numbers made here pass
``people.identity.parse_id_number`` (python-stdnum): the region is the resident's district
code when stdnum knows it for the birth year, else the county it replaced (宁河区 120117 was
宁河县 120221 until 2015), else — for rural counties born before 1982, which stdnum's table
does not cover — 南开区's code.

Uniqueness without remembering every number: each (region, birth date, gender) has its own
counter in a fixed-size array (a few MB for a century of birth dates), so a file of 14 million
rows costs no more memory than one of a thousand. The sequence space is split in two halves:
the demo database draws 001–500 and generated files 501–999, so a benchmark file imported
into a demo database never collides with a demo resident by accident.
"""

from __future__ import annotations

import functools
from array import array
from datetime import date, timedelta
from random import Random

from stdnum import numdb

# Districts that replaced counties (or older districts), with the code they replaced.
PREDECESSORS: dict[str, tuple[str, ...]] = {
    "120114": ("120222",),  # 武清县 → 武清区 (2000)
    "120115": ("120224",),  # 宝坻县 → 宝坻区 (2001)
    "120116": ("120107", "120108", "120109"),  # 塘沽、汉沽、大港 → 滨海新区 (2009)
    "120117": ("120221",),  # 宁河县 → 宁河区 (2015)
    "120118": ("120223",),  # 静海县 → 静海区 (2015)
    "120119": ("120225",),  # 蓟县 → 蓟州区 (2016)
}
FALLBACK_REGION = "120104"
EPOCH = date(1900, 1, 1)
DAYS = 200 * 366  # birth dates from 1900 to 2099
HALVES = ("demo", "file")
SLOTS_PER_HALF = 250  # sequences per (region, date, gender) in each half

ETHNICITIES = ("汉族",) * 96 + ("回族", "回族", "满族", "蒙古族")


@functools.cache
def _valid_years(code: str) -> tuple[tuple[int, int], ...]:
    """The ranges of birth years for which stdnum accepts ``code`` (empty: never)."""
    info = {k: v for _, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    county = info.get("county")
    if not county:
        return ()
    ranges = []
    for name in county.split(","):
        if not name.startswith("["):
            return ((0, 9999),)
        start, end = name[1:].split("]")[0].split("-")
        ranges.append((int(start) if start else 0, int(end) if end else 9999))
    return tuple(ranges)


@functools.cache
def region_for(district_code: str, birth_year: int) -> str:
    """The region code an ID of someone born in ``birth_year`` in this district carries."""
    for code in (district_code, *PREDECESSORS.get(district_code, ())):
        if any(a <= birth_year <= b for a, b in _valid_years(code)):
            return code
    return FALLBACK_REGION


def check_digit(first17: str) -> str:
    """The GB 11643 check digit (stdnum's ``calc_check_digit``, which expects 18 chars)."""
    checksum = (1 - 2 * int(first17, 13)) % 11
    return "X" if checksum == 10 else str(checksum)


class IdNumbers:
    """Hands out unique ID numbers; ``half`` is "demo" (the database) or "file" (CSV)."""

    def __init__(self, half: str = "demo") -> None:
        if half not in HALVES:
            raise ValueError(half)
        self._base = 0 if half == "demo" else 500
        self._regions: dict[str, int] = {}
        self._counters: dict[int, array[int]] = {}

    def _counter(self, region: str) -> array[int]:
        index = self._regions.setdefault(region, len(self._regions))
        counters = self._counters.get(index)
        if counters is None:
            counters = self._counters[index] = array("H", bytes(2 * DAYS * 2))
        return counters

    def issue(self, *, district_code: str, birth_date: date, male: bool) -> str | None:
        """A fresh ID number, or None when this birth date is used up (draw another)."""
        region = region_for(district_code, birth_date.year)
        counters = self._counter(region)
        slot = (birth_date - EPOCH).days * 2 + (0 if male else 1)
        used = counters[slot]
        if used >= SLOTS_PER_HALF - (0 if male else 1):
            return None
        counters[slot] = used + 1
        sequence = self._base + 2 * used + (1 if male else 2)
        first17 = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
        return first17 + check_digit(first17)

    def issue_near(self, *, district_code: str, birth_date: date, male: bool) -> tuple[str, date]:
        """An ID number for this birth date or the nearest free day before it
        (earlier, so never in the future)."""
        day = birth_date
        while True:
            number = self.issue(district_code=district_code, birth_date=day, male=male)
            if number is not None:
                return number, day
            day -= timedelta(days=1)


def mobile(rng: Random) -> str:
    """A mainland mobile number (13x–19x)."""
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def ethnicity(rng: Random) -> str:
    return rng.choice(ETHNICITIES)
