"""Merging two records of one person: everything that pointed at the dropped record now
points at the kept one, its missing numbers are filled, the dropped record is gone — and
only someone whose scope covers both records may do it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from safecommunity.accounts.models import AuditEntry
from safecommunity.custody.models import ItemKind
from safecommunity.custody.services import custody_receive
from safecommunity.disputes.models import Party
from safecommunity.disputes.services import dispute_report
from safecommunity.people.models import CareTag, NameKey, Residence, Resident
from safecommunity.people.services import care_tag_add, resident_merge
from safecommunity.screening import selectors
from safecommunity.screening.models import Decision, Match, VerificationTask
from safecommunity.screening.services import ScreeningError, match_review, pair_merge
from tests.screening.conftest import (
    Duplicates,
    deduplicated,
    imported,
    list_rows,
    screened,
    write_csv,
)


def test_a_merge_moves_everything_to_the_kept_record(duplicates: Duplicates) -> None:
    population = duplicates.population
    world = population.world
    keep, drop = duplicates.zhang_again, population.zhang  # keep the record without an ID
    officer = world.users["officer"]
    care_tag_add(resident=drop, kind="elderly_alone", actor=None)
    care_tag_add(resident=drop, kind="disability", actor=None)
    care_tag_add(resident=keep, kind="elderly_alone", actor=None)
    item = custody_receive(
        actor=officer,
        beat=world.beat_a,
        kind=ItemKind.KEY,
        description="钥匙",
        tag="K-9",
        owner=drop,
    )
    dispute = dispute_report(
        actor=officer,
        beat=world.beat_a,
        source="walk_in",
        category="neighbours",
        description="噪音",
        parties=[{"resident": drop}],
    )
    dropped_id, dropped_pk = drop.id_index, drop.pk

    kept = resident_merge(keep=keep, drop=drop, actor=world.users["district"])

    assert not Resident.objects.filter(pk=dropped_pk).exists()
    kept.refresh_from_db()
    assert kept.id_index == dropped_id and kept.id_masked  # filled from the dropped record
    # Both lived somewhere: the kept record's home stays current, the other is history.
    residences = {r.dwelling_id: r for r in Residence.objects.filter(resident=kept)}
    assert len(residences) == 2
    assert residences[world.dwelling_b.pk].until is None
    assert residences[world.dwelling_a.pk].until is not None
    assert kept.path == world.beat_b.path
    assert sorted(CareTag.objects.filter(resident=kept).values_list("kind", flat=True)) == [
        "disability",
        "elderly_alone",
    ]
    assert NameKey.objects.filter(resident=kept, key="zhangwei").count() == 1
    item.refresh_from_db()
    assert item.owner_id == kept.pk
    assert Party.objects.get(dispute=dispute).resident_id == kept.pk
    entry = AuditEntry.objects.get(action="resident.merge")
    assert entry.object_id == str(kept.pk) and entry.detail["dropped"] == dropped_pk
    assert entry.detail["filled"] == ["id_number"]


def test_a_merge_moves_screening_matches_and_tasks(duplicates: Duplicates, tmp_path: Path) -> None:
    population = duplicates.population
    station = population.station
    run = screened(station, imported(station, write_csv(tmp_path / "l.csv", list_rows())))
    match = Match.objects.get(run=run, record__line=2, resident=population.zhang)
    match_review(actor=station, match=match, decision=Decision.CONFIRMED)
    kept = resident_merge(keep=duplicates.zhang_again, drop=population.zhang, actor=station)
    assert Match.objects.get(pk=match.pk).resident_id == kept.pk
    assert VerificationTask.objects.get(match=match).resident_id == kept.pk
    # A record matched to both sides keeps one match: no duplicate (run, record, resident).
    rows = list(Match.objects.filter(run=run).values_list("record_id", "resident_id"))
    assert len(rows) == len(set(rows))


def test_a_merge_is_refused_when_the_scope_covers_one_side(duplicates: Duplicates) -> None:
    population = duplicates.population
    users = population.world.users
    with pytest.raises(ValidationError, match="covers both"):
        resident_merge(keep=duplicates.wang_again, drop=population.wang, actor=users["district"])
    with pytest.raises(ValidationError, match="with itself"):
        resident_merge(keep=population.wang, drop=population.wang, actor=None)
    assert Resident.objects.filter(pk=population.wang.pk).exists()
    assert not AuditEntry.objects.filter(action="resident.merge").exists()


def test_pair_merge_merges_a_pair_the_scope_covers(duplicates: Duplicates) -> None:
    population = duplicates.population
    district = population.world.users["district"]
    run = deduplicated(district)
    pair = Match.objects.get(run=run, resident__name="张伟")
    kept = pair_merge(actor=district, match=pair, keep_id=population.zhang.pk)
    assert kept.pk == population.zhang.pk
    assert not Resident.objects.filter(pk=duplicates.zhang_again.pk).exists()
    assert not Match.objects.filter(pk=pair.pk).exists()  # a pair of one record is no pair
    assert AuditEntry.objects.filter(action="screening.merge").count() == 1
    assert (
        not selectors.merge_candidates(user=district, run=run)
        .filter(resident__name="张伟")
        .exists()
    )


def test_pair_merge_is_refused_when_the_scope_covers_one_side(duplicates: Duplicates) -> None:
    population = duplicates.population
    users = population.world.users
    run = deduplicated(users["admin"])
    pair = Match.objects.get(run=run, resident__name="王芳")  # beat C and beat A
    for name in ("district", "station", "officer", "other_district"):
        with pytest.raises(ScreeningError, match="covers both"):
            pair_merge(actor=users[name], match=pair, keep_id=pair.resident_id)
    assert (
        Resident.objects.filter(pk__in=[population.wang.pk, duplicates.wang_again.pk]).count() == 2
    )
    with pytest.raises(ScreeningError, match="one of the two"):
        pair_merge(actor=users["admin"], match=pair, keep_id=population.zhang.pk)
    kept = pair_merge(actor=users["admin"], match=pair, keep_id=duplicates.wang_again.pk)
    kept.refresh_from_db()
    assert kept.id_index is not None and kept.path == population.world.beat_a.path
    assert not Resident.objects.filter(pk=population.wang.pk).exists()


def test_pair_merge_needs_a_pair(duplicates: Duplicates, tmp_path: Path) -> None:
    admin = duplicates.population.world.users["admin"]
    run = screened(admin, imported(admin, write_csv(tmp_path / "l.csv", list_rows())))
    match = Match.objects.filter(run=run).first()
    assert match is not None
    with pytest.raises(ScreeningError, match="pair"):
        pair_merge(actor=admin, match=match, keep_id=match.resident_id)
