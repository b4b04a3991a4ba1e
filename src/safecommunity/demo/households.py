"""Who lives in one demo dwelling: a household drawn from a seeded generator.

Shared by the demo database (``demo.residents``) and the benchmark CSV files
(``demo.residents_csv``), so both look alike. The mix, per occupied dwelling:

* an owner's family (≈ 68%): the owner, often a spouse, children, sometimes a parent of the
  owner; mostly registered here (户籍), a few family members floating;
* renters (≈ 27%): one to three tenants, mostly floating (流动), now and then a minor left at
  home without a guardian (a care tag);
* an elderly owner living alone (≈ 5%, a care tag), and a few residents with a disability.

Vacant dwellings are decided by the caller (``VACANT_SHARE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

from safecommunity.demo.identities import ethnicity, mobile
from safecommunity.demo.people import person_name
from safecommunity.people.models import CareTagKind, Relation

VACANT_SHARE = 0.10
DISABILITY_SHARE = 0.01


@dataclass
class Person:
    name: str
    male: bool
    birth_date: date
    relation: str
    registered: bool
    since: date
    phone: str | None
    ethnicity: str
    care_tags: list[str] = field(default_factory=list)


def _birth(rng: Random, today: date, age_low: int, age_high: int) -> date:
    age_days = rng.randint(age_low * 365 + 1, age_high * 365 + 364)
    return today - timedelta(days=age_days)


def _person(
    rng: Random,
    today: date,
    *,
    surname: str | None,
    male: bool,
    ages: tuple[int, int],
    relation: str,
    registered: bool,
    since: date,
) -> Person:
    drawn_surname, given = person_name(rng, male=male)
    birth = _birth(rng, today, *ages)
    adult = (today - birth).days >= 18 * 365
    return Person(
        name=(surname or drawn_surname) + given,
        male=male,
        birth_date=birth,
        relation=relation,
        registered=registered,
        since=max(since, birth),
        phone=mobile(rng) if adult and rng.random() < 0.85 else None,
        ethnicity=ethnicity(rng),
    )


def household(rng: Random, today: date) -> list[Person]:
    """The residents of one occupied dwelling (at least one)."""
    roll = rng.random()
    if roll < 0.05:
        people = [_elderly_alone(rng, today)]
    elif roll < 0.32:
        people = _renters(rng, today)
    else:
        people = _owner_family(rng, today)
    for person in people:
        if rng.random() < DISABILITY_SHARE:
            person.care_tags.append(CareTagKind.DISABILITY)
    return people


def _since(rng: Random, today: date, years: int) -> date:
    return today - timedelta(days=rng.randint(1, years * 365))


def _elderly_alone(rng: Random, today: date) -> Person:
    person = _person(
        rng,
        today,
        surname=None,
        male=rng.random() < 0.4,
        ages=(70, 92),
        relation=Relation.OWNER,
        registered=True,
        since=_since(rng, today, 30),
    )
    person.care_tags.append(CareTagKind.ELDERLY_ALONE)
    return person


def _renters(rng: Random, today: date) -> list[Person]:
    since = _since(rng, today, 3)
    size = rng.choices((1, 2, 3), weights=(45, 35, 20))[0]
    first_male = rng.random() < 0.55
    head = _person(
        rng,
        today,
        surname=None,
        male=first_male,
        ages=(20, 45),
        relation=Relation.TENANT,
        registered=rng.random() < 0.05,
        since=since,
    )
    people = [head]
    surname = head.name[0]
    for n in range(1, size):
        child = n == 2
        person = _person(
            rng,
            today,
            surname=surname if child else None,
            male=rng.random() < 0.5 if child else not first_male,
            ages=(3, 15) if child else (20, 45),
            relation=Relation.TENANT,
            registered=head.registered,
            since=since,
        )
        if child and rng.random() < 0.08:
            person.care_tags.append(CareTagKind.MINOR_UNSUPERVISED)
        people.append(person)
    return people


def _owner_family(rng: Random, today: date) -> list[Person]:
    since = _since(rng, today, 25)
    owner_male = rng.random() < 0.6
    owner = _person(
        rng,
        today,
        surname=None,
        male=owner_male,
        ages=(28, 72),
        relation=Relation.OWNER,
        registered=rng.random() < 0.9,
        since=since,
    )
    owner_age = (today - owner.birth_date).days // 365
    family_surname = owner.name[0] if owner_male else None
    people = [owner]

    def member(*, surname: str | None, male: bool, ages: tuple[int, int]) -> Person:
        return _person(
            rng,
            today,
            surname=surname,
            male=male,
            ages=ages,
            relation=Relation.OWNER_FAMILY,
            registered=owner.registered and rng.random() < 0.93,
            since=since,
        )

    if rng.random() < 0.75:
        low = max(20, owner_age - 6)
        people.append(member(surname=None, male=not owner_male, ages=(low, owner_age + 4)))
    children = rng.choices((0, 1, 2), weights=(40, 45, 15))[0] if owner_age < 65 else 0
    for _ in range(children):
        oldest = max(0, min(owner_age - 22, 30))
        people.append(member(surname=family_surname, male=rng.random() < 0.5, ages=(0, oldest)))
    if owner_age < 60 and rng.random() < 0.15:
        people.append(
            member(surname=family_surname, male=rng.random() < 0.4, ages=(owner_age + 22, 95))
        )
    return people
