"""The demo city's residents: built once for the module (about ten seconds), rolled back after.

Also the streaming CSV writer the benchmarks use, the ID numbers both of them make, and the
demo's risk screening (``demo.screening``), which needs those residents: the sample risk
list, its run and reviews. The build writes that list and the screening index under a data
folder of the module's own.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.test import override_settings

from safecommunity.accounts.models import AuditEntry, User
from safecommunity.accounts.scope import scope_for
from safecommunity.demo.generator import build_demo_city
from safecommunity.demo.identities import IdNumbers, region_for
from safecommunity.demo.residents_csv import HEADERS, district_code_of, write_residents_csv
from safecommunity.demo.screening import HEADER as SAMPLE_HEADER
from safecommunity.demo.screening import PURPOSE as SCREENING_PURPOSE
from safecommunity.demo.screening import plan_risk_list, risk_list_path, write_risk_list
from safecommunity.people import identity
from safecommunity.people.baseline import baseline_for
from safecommunity.people.models import (
    CareTag,
    DwellingVerification,
    NameKey,
    Relation,
    Residence,
    Resident,
)
from safecommunity.people.names import name_keys
from safecommunity.people.services import resident_create, resident_input
from safecommunity.places.geo import invalidate_locator
from safecommunity.places.models import Dwelling
from safecommunity.screening.models import (
    Band,
    Decision,
    Match,
    Review,
    RiskList,
    RunKind,
    RunStatus,
    ScreeningRun,
    TaskStatus,
    VerificationTask,
)

SEED = 2022
TODAY = date(2025, 1, 8)
EXPECTED = {
    "residents": 53980,
    "registered_residents": 37333,
    "floating_residents": 16647,
    "occupied_dwellings": 24415,
    "vacant_dwellings": 2721,
    "rented_dwellings": 6587,
    "care_tags": 1818,
    "dwelling_verifications": 18447,
}


@pytest.fixture(scope="module")
def demo(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("demo-data")
    with (
        override_settings(DATA_DIR=data_dir),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        summary = build_demo_city(scale="small", seed=SEED, today=TODAY)
        yield summary
        transaction.set_rollback(True)
    invalidate_locator()


@pytest.fixture
def built(demo: dict[str, Any], db: None) -> dict[str, Any]:
    return demo


def _district_code(path: str) -> str:
    return "".join(path.split(".")[:3])


def test_it_fills_the_small_city_with_the_same_population_every_time(
    built: dict[str, Any],
) -> None:
    assert {key: built[key] for key in EXPECTED} == EXPECTED
    assert Resident.objects.count() == EXPECTED["residents"]
    assert Residence.objects.filter(until__isnull=True).count() == EXPECTED["residents"]
    assert Residence.objects.filter(registered=True).count() == EXPECTED["registered_residents"]
    assert CareTag.objects.count() == EXPECTED["care_tags"]
    assert DwellingVerification.objects.count() == EXPECTED["dwelling_verifications"]
    current = Residence.objects.filter(dwelling=OuterRef("pk"), until__isnull=True)
    vacant = Dwelling.objects.filter(~Exists(current)).count()
    assert vacant == EXPECTED["vacant_dwellings"]


def test_the_mix_is_plausible(built: dict[str, Any]) -> None:
    residents = built["residents"]
    assert 45_000 <= residents <= 60_000
    dwellings = built["dwellings"]
    assert 0.08 <= built["vacant_dwellings"] / dwellings <= 0.12
    assert 0.2 <= built["floating_residents"] / residents <= 0.4
    assert 0.01 <= built["care_tags"] / residents <= 0.06
    relations = Counter(Residence.objects.values_list("relation", flat=True))
    assert relations[Relation.OWNER] and relations[Relation.OWNER_FAMILY]
    assert relations[Relation.TENANT] > 0.15 * residents
    # Families: an owner with family members in one dwelling.
    families = (
        Residence.objects.values("dwelling")
        .annotate(
            owners=Count("id", filter=Q(relation=Relation.OWNER)),
            family=Count("id", filter=Q(relation=Relation.OWNER_FAMILY)),
        )
        .filter(owners=1, family__gte=2)
    )
    assert families.count() > 1000
    kinds = set(CareTag.objects.values_list("kind", flat=True))
    assert {"elderly_alone", "disability"} <= kinds


def test_every_id_number_is_valid_and_matches_birth_date_gender_and_district(
    built: dict[str, Any],
) -> None:
    rows = Resident.objects.order_by("pk").values_list(
        "id_cipher", "id_index", "id_masked", "birth_date", "gender", "path"
    )
    checked = 0
    for cipher, index, masked, birth, gender, path in rows[::37]:
        number = identity.decrypt(cipher, purpose="id")
        parsed = identity.parse_id_number(number, today=TODAY)
        assert parsed.birth_date == birth
        assert parsed.gender == gender
        assert parsed.region == _district_code(path)
        assert index == identity.blind_index(number, purpose="id")
        assert masked == identity.mask_id_number(number)
        checked += 1
    assert checked > 1000
    assert Resident.objects.filter(id_index__isnull=True).count() == 0
    assert Resident.objects.values("id_index").distinct().count() == built["residents"]


def test_phone_numbers_are_stored_protected(built: dict[str, Any]) -> None:
    with_phone = Resident.objects.exclude(phone_index=None)
    assert with_phone.count() > built["residents"] // 2
    for cipher, index, masked in with_phone.values_list(
        "phone_cipher", "phone_index", "phone_masked"
    )[:200]:
        phone = identity.decrypt(cipher, purpose="phone")
        assert identity.normalize_phone(phone) == phone
        assert index == identity.blind_index(phone, purpose="phone")
        assert masked == identity.mask_phone(phone)


def test_every_resident_lives_in_their_dwellings_grid(built: dict[str, Any]) -> None:
    current = Residence.objects.filter(until__isnull=True)
    assert not current.exclude(path=F("dwelling__grid__path")).exists()
    assert not current.exclude(resident__path=F("path")).exists()
    assert not Resident.objects.filter(path="").exists()


def test_names_have_their_search_keys(built: dict[str, Any]) -> None:
    for resident in Resident.objects.order_by("pk")[:300]:
        keys = set(NameKey.objects.filter(resident=resident).values_list("key", flat=True))
        assert keys == set(name_keys(resident.name))


def test_verified_stamps_lie_in_the_past(built: dict[str, Any]) -> None:
    stamps = DwellingVerification.objects.all()
    latest = max(stamps.values_list("verified_at", flat=True))
    assert latest.date() < TODAY
    assert not stamps.exclude(path=F("dwelling__path")).exists()


def test_the_registry_services_work_after_the_bulk_load(built: dict[str, Any]) -> None:
    """The bulk load wrote its own ids: the next resident must still get a fresh one."""
    dwelling = Dwelling.objects.order_by("pk").first()
    assert dwelling is not None
    resident = resident_create(
        data=resident_input(name="新居民", gender="male", birth_date=date(1990, 1, 1)),
        actor=None,
        dwelling=dwelling,
    )
    assert resident.pk > built["residents"]


def test_the_baseline_counts_match_what_was_built(built: dict[str, Any]) -> None:
    table = baseline_for(user=User.objects.get(username="city"))
    assert table.totals.residents == built["residents"]
    assert table.totals.floating == built["floating_residents"]
    assert table.totals.vacant == built["vacant_dwellings"]
    assert table.totals.rented == built["rented_dwellings"]
    assert len(table.rows) == 2


# --- the sample risk list and its screening ------------------------------------------------


def _sample_rows() -> list[list[str]]:
    with risk_list_path().open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        assert tuple(next(reader)) == SAMPLE_HEADER
        return list(reader)


def _logins() -> tuple[User, User]:
    return User.objects.get(username="station"), User.objects.get(username="officer")


def test_it_writes_a_sample_risk_list_of_residents_with_errors_and_outsiders(
    built: dict[str, Any],
) -> None:
    rows = _sample_rows()
    assert 290 <= len(rows) <= 310
    station, officer = _logins()
    plan = plan_risk_list(seed=SEED, station=station, officer=officer)
    assert [tuple(row) for row in rows] == plan.rows
    residents = [line for line, pk in plan.truth.items() if pk is not None]
    assert 235 <= len(residents) <= 245
    assert len(plan.namesakes) == 20
    errors = Counter(error for found in plan.errors.values() for error in found)
    for error in (
        "homophone",
        "traditional",
        "id_missing",
        "id_typo",
        "phone_missing",
        "phone_typo",
        "day_month_swapped",
        "address_short",
        "address_other_flat",
        "name_typo",
        "birth_typo",
        "namesake",
        "repeated",
        "bad_phone",
    ):
        assert errors[error] > 0, error
    # A row drawn from a resident carries their real numbers unless garbled, and a
    # garbled ID number fails its checksum (so the import keeps it for repair).
    drawn = dict(
        Resident.objects.filter(pk__in=[plan.truth[line] for line in residents]).values_list(
            "pk", "id_cipher"
        )
    )
    for line in residents:
        number = rows[line - 2][3]
        truth = identity.decrypt(drawn[plan.truth[line]], purpose="id")
        if "id_typo" in plan.errors[line]:
            assert number != truth
            with pytest.raises(identity.IdentityError):
                identity.parse_id_number(number, today=TODAY)
        elif "id_missing" not in plan.errors[line]:
            assert number == truth
    # Outsiders' numbers are nobody's in the registry.
    outsiders = [rows[line - 2][3] for line, pk in plan.truth.items() if pk is None]
    keys = [identity.blind_index(n, purpose="id") for n in outsiders if len(n) == 18]
    assert keys and not Resident.objects.filter(id_index__in=keys).exists()


def test_the_same_seed_writes_the_same_list(built: dict[str, Any], tmp_path: Path) -> None:
    station, officer = _logins()
    again = write_risk_list(
        tmp_path / "again.csv", plan_risk_list(seed=SEED, station=station, officer=officer)
    )
    assert again.read_bytes() == risk_list_path().read_bytes()
    other = plan_risk_list(seed=SEED + 1, station=station, officer=officer)
    assert other.rows != [tuple(row) for row in _sample_rows()]


def test_the_station_screened_the_list_with_matches_in_every_band(
    built: dict[str, Any],
) -> None:
    station, officer = _logins()
    risk_list = RiskList.objects.get()
    assert risk_list.created_by == station
    assert risk_list.purpose == SCREENING_PURPOSE
    assert risk_list.rows_duplicate == 1
    assert risk_list.issues_file  # the garbled IDs, the short phone, the repeated row
    assert built["risk_records"] == risk_list.rows_kept == len(_sample_rows()) - 1
    run = ScreeningRun.objects.get(kind=RunKind.SCREENING)
    assert run.status == RunStatus.DONE
    assert run.records == risk_list.rows_kept
    assert run.certain > 150
    assert run.probable > 0
    assert run.possible > 0
    assert built["screening_matches"] == Match.objects.filter(run=run).count()
    # Only residents in the station's jurisdiction are matched, and a certain best match of
    # a row drawn from a resident is that resident.
    scope = scope_for(station)
    plan = plan_risk_list(seed=SEED, station=station, officer=officer)
    best = Match.objects.filter(run=run, rank=1).select_related("record")
    assert all(scope.covers(match.path) for match in best)
    certain = [m for m in best if m.band == Band.CERTAIN]
    assert certain
    for match in certain:
        assert plan.truth[match.record.line] == match.resident_id  # type: ignore[union-attr]
    for line in plan.namesakes:
        assert not best.filter(record__line=line, band=Band.CERTAIN).exists()
    assert ScreeningRun.objects.get(kind=RunKind.DEDUPLICATION).status == RunStatus.DONE


def test_confirmed_matches_became_tasks_for_the_beat_teams(built: dict[str, Any]) -> None:
    station, officer = _logins()
    reviews = Review.objects.select_related("match")
    confirmed = reviews.filter(decision=Decision.CONFIRMED)
    assert confirmed.count() == built["verification_tasks"] > 0
    assert all(review.reviewed_by == station for review in reviews)
    assert all(review.match.band == Band.CERTAIN for review in confirmed)
    rejected = reviews.get(decision=Decision.REJECTED)
    plan = plan_risk_list(seed=SEED, station=station, officer=officer)
    assert rejected.match.record is not None
    assert rejected.match.record.line in plan.namesakes
    tasks = VerificationTask.objects.all()
    assert tasks.count() == confirmed.count()
    beat = scope_for(officer)
    assert any(beat.covers(task.path) for task in tasks)
    done = tasks.get(status=TaskStatus.DONE)
    assert done.done_by == officer and beat.covers(done.path)
    actions = set(
        AuditEntry.objects.filter(action__startswith="screening.").values_list("action", flat=True)
    )
    assert {
        "screening.list_import",
        "screening.run_queue",
        "screening.run_finish",
        "screening.review",
        "screening.task_done",
    } <= actions


# --- ID numbers and the CSV writer (no database) ---------------------------------------------


def test_a_district_uses_the_county_code_it_replaced_for_older_residents() -> None:
    assert region_for("120104", 1950) == "120104"
    assert region_for("120116", 2015) == "120116"
    assert region_for("120116", 1980) == "120107"
    assert region_for("120117", 1990) == "120221"
    # stdnum knows no code for 宁河 before 1982: the fallback is a code valid every year.
    assert region_for("120117", 1970) == "120104"


def test_id_numbers_are_unique_until_a_birth_date_is_used_up() -> None:
    ids = IdNumbers("demo")
    birth = date(1980, 3, 4)
    numbers = set()
    while (number := ids.issue(district_code="120104", birth_date=birth, male=True)) is not None:
        numbers.add(number)
        assert identity.parse_id_number(number, today=TODAY).gender == "male"
    assert len(numbers) == 250
    number, day = ids.issue_near(district_code="120104", birth_date=birth, male=True)
    assert day == date(1980, 3, 3)
    assert identity.parse_id_number(number, today=TODAY).birth_date == day
    # Files use the other half of the sequences: never a demo resident's number.
    assert not numbers & {
        IdNumbers("file").issue(district_code="120104", birth_date=birth, male=True)
    }


def test_the_csv_writer_streams_valid_unique_residents(tmp_path: Path) -> None:
    addresses = [
        f"天津市{district}万兴街道南京路{n}号学府花园1号楼1门{n}01"
        for district in ("南开区", "滨海新区", "蓟州区")
        for n in range(1, 200)
    ]
    target = tmp_path / "residents.csv"
    assert write_residents_csv(target, rows=3000, seed=7, addresses=addresses) == 3000
    with target.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        assert tuple(next(reader)) == HEADERS
        rows = list(reader)
    assert len(rows) == 3000
    numbers = [row[3] for row in rows]
    assert len(set(numbers)) == 3000
    for name, gender, birth, number, phone, _eth, address, relation, registered, since in rows:
        parsed = identity.parse_id_number(number, today=TODAY)
        assert parsed.birth_date.isoformat() == birth
        assert parsed.gender == ("male" if gender == "男" else "female")
        assert parsed.region == region_for(district_code_of(address), parsed.birth_date.year)
        assert name and address in addresses
        assert relation in {"业主", "业主家属", "租户"}
        assert registered in {"是", "否"}
        assert since >= birth
        if phone:
            identity.normalize_phone(phone)
    again = tmp_path / "again.csv"
    write_residents_csv(again, rows=3000, seed=7, addresses=addresses)
    assert again.read_bytes() == target.read_bytes()


def test_the_csv_writer_refuses_no_addresses(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="address"):
        write_residents_csv(tmp_path / "x.csv", rows=1, seed=1, addresses=[])
