"""What may happen to a custody item in each state: one table, read by the services and
tested over every pair of state and action.

Receiving creates an item (it has no "from" state). While held, an item may be checked
(an inventory check), handed over to another office, returned to its owner or disposed of;
a returned or disposed-of item is closed and nothing more happens to it.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from safecommunity.custody.models import ItemState, MovementAction

# (state, action) → the state after it. A pair missing here is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    (ItemState.HELD, MovementAction.CHECKED): ItemState.HELD,
    (ItemState.HELD, MovementAction.HANDED_OVER): ItemState.HELD,
    (ItemState.HELD, MovementAction.RETURNED): ItemState.RETURNED,
    (ItemState.HELD, MovementAction.DISPOSED): ItemState.DISPOSED,
}

CLOSED_STATES = frozenset({ItemState.RETURNED, ItemState.DISPOSED})


class TransitionRefused(Exception):
    """An action the item's state does not allow, with a message that says why."""


def next_state(state: str, action: str) -> str:
    """The state after ``action``, or ``TransitionRefused`` naming the state and the action."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise TransitionRefused(refusal(state, action)) from None


def refusal(state: str, action: str) -> str:
    state_label = ItemState(state).label if state in ItemState.values else state
    action_label = MovementAction(action).label if action in MovementAction.values else action
    if action == MovementAction.RECEIVED:
        return _("An item is received only once, when it is taken in.")
    if state == ItemState.RETURNED and action == MovementAction.RETURNED:
        return _("This item was already returned; it cannot be returned again.")
    return _("A %(state)s item cannot be %(action)s.") % {
        "state": str(state_label).lower(),
        "action": str(action_label).lower(),
    }


def allowed_actions(state: str) -> list[str]:
    """The actions an item in ``state`` allows, in the table's order (for the page's forms)."""
    return [action for (from_state, action) in TRANSITIONS if from_state == state]
