"""The state table, over every pair of state and action, through the services themselves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from itertools import product

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from safecommunity.accounts.models import User
from safecommunity.custody import services
from safecommunity.custody.models import CustodyItem, CustodyMovement, ItemState, MovementAction
from safecommunity.custody.states import (
    TRANSITIONS,
    TransitionRefused,
    allowed_actions,
    next_state,
)
from tests.custody.conftest import Custody

# The table, written out once more by hand: a change to states.py must change this too.
EXPECTED = {
    (ItemState.HELD, MovementAction.CHECKED): ItemState.HELD,
    (ItemState.HELD, MovementAction.HANDED_OVER): ItemState.HELD,
    (ItemState.HELD, MovementAction.RETURNED): ItemState.RETURNED,
    (ItemState.HELD, MovementAction.DISPOSED): ItemState.DISPOSED,
}
PAIRS = list(product(ItemState.values, MovementAction.values))
# Receiving creates an item; every other action moves an existing one through a service.
MOVES = [action for action in MovementAction.values if action != MovementAction.RECEIVED]


def test_the_table_is_exactly_the_expected_one() -> None:
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("state", "action"), PAIRS)
def test_next_state_allows_exactly_the_pairs_of_the_table(state: str, action: str) -> None:
    if (state, action) in EXPECTED:
        assert next_state(state, action) == EXPECTED[(state, action)]
    else:
        with pytest.raises(TransitionRefused):
            next_state(state, action)


def test_a_closed_item_allows_nothing() -> None:
    assert allowed_actions(ItemState.RETURNED) == []
    assert allowed_actions(ItemState.DISPOSED) == []
    assert set(allowed_actions(ItemState.HELD)) == {
        MovementAction.CHECKED,
        MovementAction.HANDED_OVER,
        MovementAction.RETURNED,
        MovementAction.DISPOSED,
    }


def test_returning_twice_is_refused_in_words() -> None:
    with pytest.raises(TransitionRefused, match="already returned"):
        next_state(ItemState.RETURNED, MovementAction.RETURNED)


def _put_in(item: CustodyItem, state: str, actor: User) -> None:
    if state == ItemState.RETURNED:
        services.custody_return(actor=actor, item=item, returned_to="张明", identity_check="身份证")
    elif state == ItemState.DISPOSED:
        services.custody_dispose(actor=actor, item=item, reason="逾期无人认领")


def _act(custody: Custody, action: str) -> Callable[[CustodyItem, User], object]:
    world = custody.world

    def run(item: CustodyItem, actor: User) -> object:
        if action == MovementAction.CHECKED:
            return services.custody_check(actor=actor, item=item)
        if action == MovementAction.HANDED_OVER:
            return services.custody_transfer(actor=actor, item=item, beat=world.beat_b)
        if action == MovementAction.RETURNED:
            return services.custody_return(
                actor=actor, item=item, returned_to="张明", identity_check="身份证"
            )
        if action == MovementAction.DISPOSED:
            return services.custody_dispose(actor=actor, item=item, reason="逾期无人认领")
        raise AssertionError(action)

    return run


@pytest.mark.parametrize(("state", "action"), list(product(ItemState.values, MOVES)))
def test_the_services_follow_the_table_for_every_pair(
    custody: Custody, state: str, action: str
) -> None:
    """Each (state, action): allowed pairs move the item and add one movement; the others
    are refused with a message and change nothing."""
    actor = custody.world.users["station"]
    item = custody.item_a
    _put_in(item, state, actor)
    item.refresh_from_db()
    before = CustodyMovement.objects.filter(item=item).count()
    run = _act(custody, action)
    if (state, action) in EXPECTED:
        run(item, actor)
        item.refresh_from_db()
        assert item.state == EXPECTED[(state, action)]
        assert CustodyMovement.objects.filter(item=item).count() == before + 1
    else:
        with pytest.raises(ValidationError) as refused:
            run(item, actor)
        assert refused.value.code == "transition"
        assert refused.value.messages[0]
        item.refresh_from_db()
        assert item.state == state
        assert CustodyMovement.objects.filter(item=item).count() == before


def test_an_old_copy_of_a_returned_item_cannot_be_returned_again(custody: Custody) -> None:
    """Two officers open the same item; the second return reads the row again and loses."""
    actor = custody.world.users["officer"]
    first = CustodyItem.objects.get(pk=custody.item_a.pk)
    stale = CustodyItem.objects.get(pk=custody.item_a.pk)
    services.custody_return(actor=actor, item=first, returned_to="张明", identity_check="身份证")
    with pytest.raises(ValidationError, match="already returned"):
        services.custody_return(
            actor=actor,
            item=stale,
            returned_to="李四",
            identity_check="身份证",
            at=timezone.now() + timedelta(minutes=1),
        )
    assert CustodyItem.objects.get(pk=first.pk).returned_to == "张明"
