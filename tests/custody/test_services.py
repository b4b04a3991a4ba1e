"""Custody services: intake, return, hand-over, disposal and checks, with their refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from safecommunity.accounts.models import AuditEntry
from safecommunity.custody import services
from safecommunity.custody.models import CustodyItem, CustodyMovement, ItemKind, ItemState
from safecommunity.people import identity
from tests.custody.conftest import Custody


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


def test_it_takes_an_item_in_with_its_trail_and_an_audit_entry(custody: Custody) -> None:
    item = custody.item_a
    assert item.state == ItemState.HELD
    assert item.office == custody.world.office
    assert item.path == custody.world.beat_a.path
    assert item.owner == custody.resident
    assert item.owner_name == "张桂兰"
    # The officer login has no staff record in the fixture: no staff, the login recorded.
    movement = CustodyMovement.objects.get(item=item)
    assert movement.action == "received"
    assert movement.actor == custody.world.users["officer"]
    assert movement.path == item.path
    entry = AuditEntry.objects.filter(action="custody.receive", object_id=str(item.pk)).get()
    assert entry.actor == custody.world.users["officer"]
    assert "张桂兰" not in str(entry.detail)


def test_it_stores_a_non_registry_owners_phone_only_protected(custody: Custody) -> None:
    item = CustodyItem.objects.get(pk=custody.item_b.pk)
    assert item.owner is None
    assert item.owner_phone_masked == "138****1111"
    assert item.owner_phone_index == identity.blind_index("13800001111", purpose="phone")
    assert item.owner_phone_cipher is not None
    assert b"13800001111" not in bytes(item.owner_phone_cipher)
    assert identity.decrypt(item.owner_phone_cipher, purpose="phone") == "13800001111"


def test_it_names_every_wrong_field_at_intake(custody: Custody) -> None:
    with pytest.raises(ValidationError) as exc:
        services.custody_receive(
            actor=custody.world.users["officer"],
            beat=custody.world.beat_a,
            kind="bicycle",
            description=" ",
            tag="x" * 21,
            owner_name="",
            owner_phone="12345",
            received_at=timezone.now() + timedelta(days=1),
        )
    errors = _errors(exc)
    assert set(errors) == {"kind", "description", "tag", "owner_name", "owner_phone", "received_at"}
    assert "bicycle" in errors["kind"][0]
    assert "20" in errors["tag"][0]
    assert "future" in errors["received_at"][0]


def test_a_tag_is_unique_among_the_items_an_office_holds(custody: Custody) -> None:
    # Beat B shares beat A's office: K-001 is taken there.
    with pytest.raises(ValidationError) as exc:
        services.custody_receive(
            actor=custody.world.users["station"],
            beat=custody.world.beat_b,
            kind=ItemKind.KEY,
            description="钥匙",
            tag="K-001",
            owner_name="王五",
        )
    assert "K-001" in _errors(exc)["tag"][0]


def test_a_returned_items_tag_can_hang_on_a_new_item(custody: Custody) -> None:
    actor = custody.world.users["officer"]
    services.custody_return(
        actor=actor, item=custody.item_a, returned_to="张桂兰", identity_check="本人身份证"
    )
    again = services.custody_receive(
        actor=actor,
        beat=custody.world.beat_a,
        kind=ItemKind.KEY,
        description="另一把钥匙",
        tag="K-001",
        owner_name="王五",
    )
    assert again.tag == "K-001"


def test_the_database_refuses_two_held_items_with_one_tag(custody: Custody) -> None:
    item = CustodyItem.objects.get(pk=custody.item_b.pk)
    item.pk = None
    item.tag = "K-001"
    with pytest.raises(IntegrityError), transaction.atomic():
        item.save()


def test_the_database_refuses_a_return_before_the_intake(custody: Custody) -> None:
    item = custody.item_a
    with pytest.raises(IntegrityError), transaction.atomic():
        CustodyItem.objects.filter(pk=item.pk).update(
            state=ItemState.RETURNED, returned_at=item.received_at - timedelta(hours=1)
        )


def test_it_refuses_a_return_dated_before_the_intake(custody: Custody) -> None:
    item = custody.item_a
    with pytest.raises(ValidationError) as exc:
        services.custody_return(
            actor=custody.world.users["officer"],
            item=item,
            returned_to="张桂兰",
            identity_check="本人",
            at=item.received_at - timedelta(days=1),
        )
    assert "before the item was received" in _errors(exc)["at"][0]
    assert CustodyItem.objects.get(pk=item.pk).state == ItemState.HELD


def test_a_return_needs_who_collected_it_and_how_they_were_checked(custody: Custody) -> None:
    with pytest.raises(ValidationError) as exc:
        services.custody_return(
            actor=custody.world.users["officer"],
            item=custody.item_a,
            returned_to="",
            identity_check="",
        )
    assert set(_errors(exc)) == {"returned_to", "identity_check"}


def test_it_returns_an_item_recording_who_collected_it(custody: Custody) -> None:
    item = services.custody_return(
        actor=custody.world.users["officer"],
        item=custody.item_a,
        returned_to="张明（儿子）",
        identity_check="身份证及户口簿，核对无误",
    )
    assert item.state == ItemState.RETURNED
    assert item.returned_at is not None and item.returned_at >= item.received_at
    assert item.returned_to == "张明（儿子）"
    assert AuditEntry.objects.filter(action="custody.return", object_id=str(item.pk)).exists()
    actions = list(item.movements.values_list("action", flat=True))
    assert actions == ["received", "returned"]


def test_it_hands_an_item_over_to_another_beats_office(custody: Custody) -> None:
    world = custody.world
    item = services.custody_transfer(
        actor=world.users["admin"], item=custody.item_a, beat=world.beat_c, note="住户搬迁"
    )
    assert item.office == custody.office_c
    assert item.beat == world.beat_c
    assert item.path == world.beat_c.path
    last = item.movements.order_by("-at", "-pk").first()
    assert last is not None and last.action == "handed_over"
    assert last.from_office == world.office
    assert last.path == world.beat_c.path


def test_a_hand_over_needs_a_free_tag_at_the_receiving_office(custody: Custody) -> None:
    world = custody.world
    services.custody_receive(
        actor=world.users["admin"],
        beat=world.beat_c,
        kind=ItemKind.OTHER,
        description="雨伞",
        tag="K-001",
        owner_name="赵六",
    )
    with pytest.raises(ValidationError) as exc:
        services.custody_transfer(
            actor=world.users["admin"], item=custody.item_a, beat=world.beat_c
        )
    assert "K-001" in _errors(exc)["tag"][0]
    moved = services.custody_transfer(
        actor=world.users["admin"], item=custody.item_a, beat=world.beat_c, tag="K-777"
    )
    assert moved.tag == "K-777"


def test_a_hand_over_to_the_same_beat_is_refused(custody: Custody) -> None:
    with pytest.raises(ValidationError) as exc:
        services.custody_transfer(
            actor=custody.world.users["officer"], item=custody.item_a, beat=custody.world.beat_a
        )
    assert "already" in _errors(exc)["beat"][0]


def test_an_actor_cannot_hand_over_into_a_beat_out_of_scope(custody: Custody) -> None:
    with pytest.raises(ValidationError) as exc:
        services.custody_transfer(
            actor=custody.world.users["officer"], item=custody.item_a, beat=custody.world.beat_c
        )
    assert _errors(exc)["beat"] == ["Unknown beat."]


def test_an_actor_cannot_take_items_in_for_a_beat_out_of_scope(custody: Custody) -> None:
    with pytest.raises(ValidationError) as exc:
        services.custody_receive(
            actor=custody.world.users["officer"],
            beat=custody.world.beat_b,
            kind=ItemKind.KEY,
            description="钥匙",
            tag="K-900",
            owner_name="王五",
        )
    assert _errors(exc)["beat"] == ["Unknown beat."]


def test_an_actor_cannot_move_an_item_out_of_scope(custody: Custody) -> None:
    with pytest.raises(ValidationError, match="Unknown item"):
        services.custody_check(actor=custody.world.users["officer"], item=custody.item_b)


def test_a_beat_without_an_office_keeps_nothing(custody: Custody) -> None:
    world = custody.world
    world.beat_c.office = None
    world.beat_c.save(update_fields=["office"])
    with pytest.raises(ValidationError) as exc:
        services.custody_receive(
            actor=world.users["admin"],
            beat=world.beat_c,
            kind=ItemKind.KEY,
            description="钥匙",
            tag="K-1",
            owner_name="王五",
        )
    assert "no police office" in _errors(exc)["beat"][0]


def test_it_disposes_of_an_item_with_a_reason(custody: Custody) -> None:
    item = services.custody_dispose(
        actor=custody.world.users["neighbour"], item=custody.item_b, reason="超过一年无人认领"
    )
    assert item.state == ItemState.DISPOSED
    assert item.disposed_at is not None
    entry = AuditEntry.objects.get(action="custody.dispose", object_id=str(item.pk))
    assert entry.reason == "超过一年无人认领"
    with pytest.raises(ValidationError) as exc:
        services.custody_dispose(actor=None, item=custody.item_a, reason=" ")
    assert "reason" in _errors(exc)


def test_a_check_leaves_the_item_held_and_adds_to_its_trail(custody: Custody) -> None:
    movement = services.custody_check(
        actor=custody.world.users["officer"], item=custody.item_a, note="月度盘点"
    )
    assert movement.action == "checked"
    assert CustodyItem.objects.get(pk=custody.item_a.pk).state == ItemState.HELD


@pytest.mark.parametrize("move", ["return", "transfer", "dispose", "check"])
def test_scope_is_checked_again_on_the_locked_row(custody: Custody, move: str) -> None:
    """The officer read the item while it was kept for their beat; before their move landed,
    the station handed it over to beat B. The move is refused as for an unknown item."""
    world = custody.world
    stale = CustodyItem.objects.get(pk=custody.item_a.pk)  # as the officer fetched it
    services.custody_transfer(actor=world.users["station"], item=custody.item_a, beat=world.beat_b)
    officer = world.users["officer"]
    with pytest.raises(ValidationError, match="Unknown item") as exc:
        if move == "return":
            services.custody_return(
                actor=officer, item=stale, returned_to="张桂兰", identity_check="身份证"
            )
        elif move == "transfer":
            # Back to the officer's own beat: the stale copy says it is there already.
            services.custody_transfer(actor=officer, item=stale, beat=world.beat_a, tag="K-5")
        elif move == "dispose":
            services.custody_dispose(actor=officer, item=stale, reason="无人认领")
        else:
            services.custody_check(actor=officer, item=stale)
    assert exc.value.code == "unknown"
    row = CustodyItem.objects.get(pk=custody.item_a.pk)
    assert (row.state, row.beat_id, row.tag) == (ItemState.HELD, world.beat_b.pk, "K-001")
    assert list(row.movements.values_list("action", flat=True)) == ["received", "handed_over"]


def test_a_stale_copy_of_a_returned_item_is_refused_by_its_locked_state(custody: Custody) -> None:
    stale = CustodyItem.objects.get(pk=custody.item_a.pk)
    actor = custody.world.users["officer"]
    services.custody_return(
        actor=actor, item=custody.item_a, returned_to="张桂兰", identity_check="身份证"
    )
    with pytest.raises(ValidationError, match="already returned") as exc:
        services.custody_return(actor=actor, item=stale, returned_to="张明", identity_check="x")
    assert exc.value.code == "transition"
    with pytest.raises(ValidationError) as moved:
        services.custody_transfer(
            actor=custody.world.users["station"], item=stale, beat=custody.world.beat_b
        )
    assert moved.value.code == "transition"


@pytest.mark.parametrize(
    "received_at",
    [
        datetime(1, 1, 1, tzinfo=dt_timezone(timedelta(hours=8))),
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_it_refuses_a_receipt_time_before_2000(custody: Custody, received_at: datetime) -> None:
    with pytest.raises(ValidationError) as exc:
        services.custody_receive(
            actor=custody.world.users["officer"],
            beat=custody.world.beat_a,
            kind=ItemKind.KEY,
            description="钥匙",
            tag="K-904",
            owner_name="王五",
            received_at=received_at,
        )
    assert "not before 2000" in _errors(exc)["received_at"][0]


def test_it_refuses_a_nul_in_text_naming_the_field(custody: Custody) -> None:
    with pytest.raises(ValidationError) as exc:
        services.custody_receive(
            actor=custody.world.users["officer"],
            beat=custody.world.beat_a,
            kind=ItemKind.KEY,
            description="钥\x00匙",
            tag="K\x00905",
            owner_name="王\x00五",
            note="\x00",
        )
    errors = _errors(exc)
    assert set(errors) == {"description", "tag", "owner_name", "note"}
    assert "NUL" in errors["tag"][0]


def test_a_registry_owner_without_a_name_is_refused_by_field(custody: Custody) -> None:
    resident = custody.resident
    type(resident).objects.filter(pk=resident.pk).update(name=" ")
    resident.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        services.custody_receive(
            actor=custody.world.users["officer"],
            beat=custody.world.beat_a,
            kind=ItemKind.KEY,
            description="钥匙",
            tag="K-906",
            owner=resident,
        )
    assert set(_errors(exc)) == {"owner_name"}
