"""Residents for the registry's read tests (search, pages, API): registered through the
services, so they are encrypted, indexed and keyed like real ones."""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric

from safecommunity.people.models import Resident
from safecommunity.people.services import resident_create, resident_input
from safecommunity.places.models import Dwelling


def valid_id(region: str, born: date, sequence: int) -> str:
    """A checksum-valid ID; an odd ``sequence`` is a man, an even one a woman."""
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def register(
    name: str,
    dwelling: Dwelling | None,
    *,
    born: date = date(1980, 5, 17),
    sequence: int = 1,
    phone: str | None = None,
    with_id: bool = True,
    registered: bool = True,
) -> Resident:
    data = resident_input(
        name=name,
        gender="male" if sequence % 2 else "female",
        birth_date=born,
        id_number=valid_id("120104", born, sequence) if with_id else None,
        phone=phone,
    )
    return resident_create(
        data=data,
        actor=None,
        dwelling=dwelling,
        since=date(2020, 1, 1),
        registered=registered,
    )
