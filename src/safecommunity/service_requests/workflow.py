"""The one workflow of a request, as a table: which status may follow which, and who may
move it.

    new ──assign──▶ assigned ──start──▶ in_progress ──finish──▶ done ──close──▶ closed
     │                 │                     ▲                    │
     └──── close ──────┴──▶ closed           └────── reopen ──────┘

* ``new → assigned``: a leader or the beat's officer accepts the request for a team member
  (``services.request_assign``; routing already proposed the beat's responsible officer).
* ``assigned → in_progress`` and ``in_progress → done``: anyone on the team works it.
* ``done → closed``: the officer or a leader closes it after checking the work;
  ``done → in_progress`` reopens it when it was not finished after all.
* ``new → closed`` and ``assigned → closed``: a leader or the officer closes a duplicate or a
  request that is not the team's to answer; the note (shown to the resident) is required.
* ``closed`` is final. Open311 shows ``done`` and ``closed`` as "closed", the rest as "open".

Illegal structures (services that need a re-inspection) reach ``done`` only through a
re-inspection that found the structure rectified (``services.request_reinspect``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from safecommunity.accounts.models import Role
from safecommunity.service_requests.models import Status

LEADERS = frozenset({Role.ADMIN, Role.DISTRICT_LEADER, Role.STATION_LEADER})
OFFICERS = LEADERS | {Role.COMMUNITY_OFFICER}
TEAM = OFFICERS | {Role.COMMUNITY_WORKER, Role.GRID_WORKER}


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    action: str | Promise  # the button's words
    roles: frozenset[str]
    note_required: bool = False


TRANSITIONS: dict[tuple[str, str], Transition] = {
    (t.source, t.target): t
    for t in (
        Transition(Status.NEW, Status.ASSIGNED, _("Accept and assign"), OFFICERS),
        Transition(Status.ASSIGNED, Status.IN_PROGRESS, _("Start work"), TEAM),
        Transition(Status.IN_PROGRESS, Status.DONE, _("Mark done"), TEAM),
        Transition(Status.DONE, Status.CLOSED, _("Close"), OFFICERS),
        Transition(Status.DONE, Status.IN_PROGRESS, _("Reopen"), OFFICERS, note_required=True),
        Transition(
            Status.NEW, Status.CLOSED, _("Close without action"), OFFICERS, note_required=True
        ),
        Transition(
            Status.ASSIGNED, Status.CLOSED, _("Close without action"), OFFICERS, note_required=True
        ),
    )
}


def transition_for(source: str, target: str) -> Transition | None:
    return TRANSITIONS.get((source, target))


def transitions_from(source: str, role: str) -> list[Transition]:
    """The moves a user of ``role`` may make from ``source``, in table order."""
    return [t for (s, _t), t in TRANSITIONS.items() if s == source and role in t.roles]
