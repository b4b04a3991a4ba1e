"""Realistic Chinese person names for demo staff and logins.

Faker ``zh_CN`` supplies the surnames (weighted by how common they are) and given names;
the draw uses the generator's own ``random.Random`` so names follow the seed exactly and
cost a list lookup each (tens of thousands of staff at city scale).
"""

from __future__ import annotations

from itertools import accumulate
from random import Random

from faker.providers.person.zh_CN import Provider

_SURNAMES: tuple[str, ...] = tuple(Provider.last_names)
_SURNAME_WEIGHTS: tuple[float, ...] = tuple(accumulate(Provider.last_names.values()))
_GIVEN: tuple[str, ...] = tuple(Provider.first_names)
_GIVEN_MALE: tuple[str, ...] = tuple(Provider.first_names_male)
_GIVEN_FEMALE: tuple[str, ...] = tuple(Provider.first_names_female)


def person_name(rng: Random, *, male: bool | None = None) -> tuple[str, str]:
    """A (surname, given name) pair; given names have one or two characters. With ``male``
    the given name is one people of that sex are given (a 建国 is rarely a woman)."""
    pool = _GIVEN if male is None else (_GIVEN_MALE if male else _GIVEN_FEMALE)
    surname = rng.choices(_SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]
    given = rng.choice(pool)
    if len(given) == 1 and rng.random() < 0.5:
        given += rng.choice(pool)[0]
    return surname, given
