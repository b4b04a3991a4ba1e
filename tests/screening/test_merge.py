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
from safecommunity.screening.models import Decision, Match, Review, TaskStatus, VerificationTask
from safecommunity.screening.services import (
    ScreeningError,
    match_review,
    pair_merge,
    task_complete,
)
from tests.screening.conftest import (
    HEADER,
    ZHANG_ID,
    ZHANG_PHONE,
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


# --- reviews and tasks survive a merge ---------------------------------------------------------


def both_matched(duplicates: Duplicates, tmp_path: Path) -> tuple[Match, Match]:
    """Line 2 of a list (张伟 by his phone number, which both his records hold) matched
    both records of 张伟: (the match of the record with the ID, the match of the other)."""
    population = duplicates.population
    station = population.station
    rows = [HEADER, ["张伟", "", ZHANG_PHONE, "1985-03-12", "男", "", ""]]
    run = screened(station, imported(station, write_csv(tmp_path / "l.csv", rows)))
    with_id = Match.objects.get(run=run, record__line=2, resident=population.zhang)
    without = Match.objects.get(run=run, record__line=2, resident=duplicates.zhang_again)
    return with_id, without


def test_a_merge_keeps_the_review_and_the_done_task_of_the_dropped_record(
    duplicates: Duplicates, tmp_path: Path
) -> None:
    """The dropped record's match was confirmed and its task done; the kept record's match
    of the same line was not reviewed. The one match left carries both: nothing is lost."""
    population = duplicates.population
    world = population.world
    station = population.station
    dropped_match, kept_match = both_matched(duplicates, tmp_path)
    match_review(actor=station, match=dropped_match, decision=Decision.CONFIRMED, note="一致")
    task = VerificationTask.objects.get(match=dropped_match)
    task_complete(actor=world.users["officer"], task=task, outcome="已核实在家")
    # Another list, matched by the ID number only the dropped record has: no conflict.
    by_id = screened(
        station,
        imported(station, write_csv(tmp_path / "id.csv", [["身份证号"], [ZHANG_ID]])),
    )
    only_dropped = Match.objects.get(run=by_id, resident=population.zhang)

    kept = resident_merge(keep=duplicates.zhang_again, drop=population.zhang, actor=station)

    assert not Match.objects.filter(pk=dropped_match.pk).exists()
    survivor = Match.objects.select_related("review").get(pk=kept_match.pk)
    assert survivor.review.decision == Decision.CONFIRMED and survivor.review.note == "一致"
    # The record's best candidate is the one person left.
    assert (dropped_match.rank, kept_match.rank, survivor.rank) == (1, 2, 1)
    task.refresh_from_db()
    assert (task.match_id, task.resident_id) == (survivor.pk, kept.pk)
    assert task.status == TaskStatus.DONE and task.outcome == "已核实在家"
    # Every stored path is the kept record's now (it lives in beat B).
    only_dropped.refresh_from_db()
    assert only_dropped.resident_id == kept.pk
    assert survivor.path == only_dropped.path == task.path == world.beat_b.path
    entry = AuditEntry.objects.get(action="resident.merge")
    assert entry.detail["screening"]["reviews_moved"] == 1
    assert entry.detail["screening"]["tasks_moved"] == 1


def test_a_merge_records_the_outcome_it_cannot_keep(duplicates: Duplicates, tmp_path: Path) -> None:
    """Both matches of the line were confirmed: the kept record's review and task stay,
    and the dropped one's decision and done task's outcome are written in the merge's audit
    entry — a done task's outcome never goes silently."""
    population = duplicates.population
    world = population.world
    station = population.station
    dropped_match, kept_match = both_matched(duplicates, tmp_path)
    for match in (dropped_match, kept_match):
        match_review(actor=station, match=match, decision=Decision.CONFIRMED, note="核对")
    dropped_task = VerificationTask.objects.get(match=dropped_match)
    task_complete(actor=world.users["officer"], task=dropped_task, outcome="已核实在家")
    kept_task = VerificationTask.objects.get(match=kept_match)

    resident_merge(keep=duplicates.zhang_again, drop=population.zhang, actor=station)

    assert list(VerificationTask.objects.values_list("pk", flat=True)) == [kept_task.pk]
    assert Review.objects.get().match_id == kept_match.pk
    entry = AuditEntry.objects.get(action="resident.merge")
    (apart,) = entry.detail["screening"]["kept_apart"]
    assert (apart["match"], apart["kept_match"]) == (dropped_match.pk, kept_match.pk)
    assert apart["review"]["decision"] == "confirmed" and apart["review"]["note"] == "核对"
    assert apart["task"]["status"] == "done" and apart["task"]["outcome"] == "已核实在家"
    assert apart["task"]["done_by"] == world.users["officer"].pk


def test_pair_merge_says_when_the_pair_is_gone(duplicates: Duplicates) -> None:
    population = duplicates.population
    district = population.world.users["district"]
    run = deduplicated(district)
    pair = Match.objects.get(run=run, resident__name="张伟")
    pair_merge(actor=district, match=pair, keep_id=population.zhang.pk)
    with pytest.raises(ScreeningError, match="no longer there"):
        pair_merge(actor=district, match=pair, keep_id=population.zhang.pk)


def test_pair_merge_waits_for_the_run_to_be_done(duplicates: Duplicates) -> None:
    from safecommunity.screening import tasks
    from safecommunity.screening.services import dedup_enqueue

    population = duplicates.population
    district = population.world.users["district"]
    dedup_enqueue(actor=district, purpose="实有人口查重")
    run = tasks.run_claim_next()
    assert run is not None
    pair = Match.objects.create(
        run=run,
        resident=population.zhang,
        other=duplicates.zhang_again,
        path=population.zhang.path,
        other_path=duplicates.zhang_again.path,
        band="probable",
        weight=12.0,
        probability=0.99,
    )
    with pytest.raises(ScreeningError, match="not finished"):
        pair_merge(actor=district, match=pair, keep_id=population.zhang.pk)
    assert Resident.objects.filter(pk=duplicates.zhang_again.pk).exists()
