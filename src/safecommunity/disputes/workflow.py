"""The dispute state machine: every allowed transition and who may make it, in one table, and
the deadline of every stage.

    reported → accepted → mediating → settled | referred | failed → follow_up → closed

Extras beyond the main line, each for a reason:

- ``reported → closed``: a report that is no dispute, or a duplicate, is rejected — by a
  station leader only, with the reason in the note.
- ``accepted → referred``: a matter that is not for mediation at all (a court case, another
  department's business) is referred straight away.
- ``failed → referred``: when mediation fails the dispute usually goes on to a people's
  mediation committee or a court.
- ``follow_up → mediating``: the follow-up finds the agreement did not hold; mediation
  resumes.

Intake (creating a ``reported`` dispute) is open to every role that works a jurisdiction
(``REPORT_ROLES``); a city analyst reads aggregates and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from safecommunity.accounts.models import Role
from safecommunity.disputes.models import DisputeState as S

# The people who lead a beat's dispute work: the community officer and the station leader.
LEADS = frozenset({Role.COMMUNITY_OFFICER, Role.STATION_LEADER})
# Who mediates: the leads and the community workers of the 1+2+N team.
MEDIATORS = LEADS | {Role.COMMUNITY_WORKER}
# Who may take in a dispute. Grid workers report what they find on their rounds.
REPORT_ROLES = frozenset(
    {
        Role.COMMUNITY_OFFICER,
        Role.COMMUNITY_WORKER,
        Role.GRID_WORKER,
        Role.STATION_LEADER,
        Role.DISTRICT_LEADER,
        Role.ADMIN,
    }
)


@dataclass(frozen=True)
class Transition:
    roles: frozenset[str]
    # The note is the reason, and a rejection or failure without one says nothing.
    note_required: bool = False


TRANSITIONS: dict[tuple[str, str], Transition] = {
    (S.REPORTED, S.ACCEPTED): Transition(LEADS),
    (S.REPORTED, S.CLOSED): Transition(frozenset({Role.STATION_LEADER}), note_required=True),
    (S.ACCEPTED, S.MEDIATING): Transition(MEDIATORS),
    (S.ACCEPTED, S.REFERRED): Transition(LEADS),
    (S.MEDIATING, S.SETTLED): Transition(MEDIATORS),
    (S.MEDIATING, S.REFERRED): Transition(LEADS),
    (S.MEDIATING, S.FAILED): Transition(LEADS, note_required=True),
    (S.FAILED, S.REFERRED): Transition(LEADS),
    (S.SETTLED, S.FOLLOW_UP): Transition(MEDIATORS),
    (S.REFERRED, S.FOLLOW_UP): Transition(MEDIATORS),
    (S.FAILED, S.FOLLOW_UP): Transition(MEDIATORS),
    (S.FOLLOW_UP, S.MEDIATING): Transition(LEADS, note_required=True),
    (S.FOLLOW_UP, S.CLOSED): Transition(LEADS),
}

# How long each stage may take, from entering it: accept within a day, start mediating within
# two, mediate within seven, follow up within thirty days of the outcome, close within seven.
STAGE_DEADLINES: dict[str, timedelta] = {
    S.REPORTED: timedelta(days=1),
    S.ACCEPTED: timedelta(days=2),
    S.MEDIATING: timedelta(days=7),
    S.SETTLED: timedelta(days=30),
    S.REFERRED: timedelta(days=30),
    S.FAILED: timedelta(days=30),
    S.FOLLOW_UP: timedelta(days=7),
}

# Same parties or the same dwelling within this many days: a repeat dispute.
REPEAT_WINDOW = timedelta(days=90)

# States still being worked (not closed).
OPEN_STATES = frozenset(s for s in S.values if s != S.CLOSED)


def next_states(state: str) -> list[str]:
    """The states a dispute in ``state`` may move to, in the table's order."""
    return [to for (frm, to) in TRANSITIONS if frm == state]


def allowed_for(role: str, state: str) -> list[str]:
    """The states ``role`` may move a dispute in ``state`` to."""
    return [to for (frm, to), t in TRANSITIONS.items() if frm == state and role in t.roles]
