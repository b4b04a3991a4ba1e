"""Fixtures of the disputes tests: disputes put straight into any state, and the user of
each role in the shared world who may act on beat A."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from safecommunity.accounts.models import Role, User
from safecommunity.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeState,
    MediationSession,
    Outcome,
    ReferredTo,
)
from safecommunity.disputes.services import dispute_report
from safecommunity.places.models import Beat
from tests.conftest import World

# A user of each role whose jurisdiction covers beat A (the world's cast).
USER_OF_ROLE = {
    Role.COMMUNITY_OFFICER: "officer",
    Role.STATION_LEADER: "station",
    Role.COMMUNITY_WORKER: "worker",
    Role.GRID_WORKER: "grid",
    Role.DISTRICT_LEADER: "district",
    Role.CITY_ANALYST: "city",
    Role.ADMIN: "admin",
}


def report(world: World, beat: Beat | None = None, **kwargs: Any) -> Dispute:
    """A neighbours' dispute reported in ``beat`` (beat A) by the system."""
    fields: dict[str, Any] = {
        "actor": None,
        "beat": beat or world.beat_a,
        "source": "walk_in",
        "category": "neighbours",
        "description": "楼上漏水，楼下邻居要求赔偿。",
        **kwargs,
    }
    return dispute_report(**fields)


def put_in_state(dispute: Dispute, state: str) -> Dispute:
    """Move ``dispute`` straight into ``state`` with the fields that state needs, bypassing
    the state machine (for tests of the machine itself). A mediating dispute gets the event of
    its move into mediation; every dispute gets a session with an agreement held after it, so
    it may be settled."""
    now = timezone.now()
    fields: dict[str, Any] = {"state": state}
    if state in (DisputeState.SETTLED, DisputeState.FOLLOW_UP, DisputeState.CLOSED):
        fields.update(settled_at=now, outcome=Outcome.SETTLED)
    if state == DisputeState.REFERRED:
        fields.update(referred_to=ReferredTo.COURT, outcome=Outcome.REFERRED)
    if state == DisputeState.FAILED:
        fields.update(outcome=Outcome.FAILED)
    if state == DisputeState.CLOSED:
        fields.update(closed_at=now, due_at=None)
    Dispute.objects.filter(pk=dispute.pk).update(**fields)
    if state == DisputeState.MEDIATING:
        DisputeEvent.objects.create(
            dispute=dispute,
            from_state=DisputeState.ACCEPTED,
            to_state=DisputeState.MEDIATING,
            at=now - timedelta(minutes=10),
        )
    MediationSession.objects.create(
        dispute=dispute,
        held_at=now - timedelta(minutes=5),
        mediators="马燕",
        agreement="楼上修好管道，赔偿500元。",
    )
    dispute.refresh_from_db()
    return dispute


def user_of(world: World, role: str) -> User:
    return world.users[USER_OF_ROLE[role]]
