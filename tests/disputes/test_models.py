"""What the database itself refuses: a state that disagrees with the outcome, an escalation
without its time, a phone number on a registry resident's party."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, transaction
from django.utils import timezone

from safecommunity.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeState,
    Outcome,
    Party,
    ReferredTo,
)
from safecommunity.people.services import protect_phone
from tests.conftest import World
from tests.disputes.conftest import report
from tests.people.registry import register

NOW = timezone.now()


def _refused(dispute: Dispute, **fields: Any) -> bool:
    try:
        with transaction.atomic():
            Dispute.objects.filter(pk=dispute.pk).update(**fields)
    except IntegrityError:
        return True
    return False


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        ({"state": DisputeState.SETTLED, "settled_at": NOW}, True),
        ({"state": DisputeState.SETTLED, "settled_at": NOW, "outcome": Outcome.FAILED}, True),
        ({"state": DisputeState.SETTLED, "settled_at": NOW, "outcome": Outcome.SETTLED}, False),
        ({"state": DisputeState.FAILED}, True),
        ({"state": DisputeState.FAILED, "outcome": Outcome.SETTLED, "settled_at": NOW}, True),
        ({"state": DisputeState.FAILED, "outcome": Outcome.FAILED}, False),
        ({"state": DisputeState.REFERRED, "referred_to": ReferredTo.COURT}, True),
        (
            {
                "state": DisputeState.REFERRED,
                "referred_to": ReferredTo.COURT,
                "outcome": Outcome.REFERRED,
            },
            False,
        ),
        ({"state": DisputeState.FOLLOW_UP}, True),
        ({"state": DisputeState.FOLLOW_UP, "outcome": Outcome.REJECTED}, True),
        ({"state": DisputeState.FOLLOW_UP, "outcome": Outcome.FAILED}, False),
        ({"state": DisputeState.CLOSED, "closed_at": NOW}, True),
        ({"state": DisputeState.CLOSED, "closed_at": NOW, "outcome": Outcome.REJECTED}, False),
        ({"state": DisputeState.MEDIATING, "outcome": Outcome.FAILED}, True),
        ({"state": DisputeState.ACCEPTED, "outcome": Outcome.REJECTED}, True),
        ({"state": DisputeState.ACCEPTED}, False),
        # A settled outcome always has its time.
        ({"state": DisputeState.FOLLOW_UP, "outcome": Outcome.SETTLED}, True),
    ],
)
def test_the_state_agrees_with_the_outcome(
    world: World, fields: dict[str, Any], refused: bool
) -> None:
    assert _refused(report(world), **fields) is refused


def test_an_escalation_has_its_time_and_only_an_escalation_has_one(world: World) -> None:
    assert _refused(report(world), escalated=True)
    assert _refused(report(world), escalated_at=NOW)
    assert not _refused(report(world), escalated=True, escalated_at=NOW)


def _party_refused(party: Party) -> bool:
    try:
        with transaction.atomic():
            party.save()
    except IntegrityError:
        return True
    return False


def test_only_a_party_outside_the_registry_has_a_phone_and_it_is_whole(world: World) -> None:
    dispute = report(world)
    protected = protect_phone("13800138000")
    whole = {
        "phone_cipher": protected.cipher,
        "phone_index": protected.lookup,
        "phone_masked": protected.masked,
    }
    resident = register("张伟", world.dwelling_a)
    assert _party_refused(Party(dispute=dispute, resident=resident, **whole))
    assert _party_refused(Party(dispute=dispute, name="李四", phone_masked=protected.masked))
    assert _party_refused(
        Party(dispute=dispute, name="李四", phone_cipher=protected.cipher, phone_masked="")
    )
    assert not _party_refused(Party(dispute=dispute, name="李四", **whole))
    assert not _party_refused(Party(dispute=dispute, resident=resident))


def test_the_data_migration_takes_the_earlier_disputes_number_out_of_intake_notes(
    world: World,
) -> None:
    scrub = import_module("safecommunity.disputes.migrations.0004_scrub_repeat_ids_from_notes")
    dispute = report(world)
    intake = DisputeEvent.objects.get(dispute=dispute)
    intake.note = "Escalated: high risk or may escalate to violence. Repeat of dispute #12."
    intake.save(update_fields=["note"])
    demo = DisputeEvent.objects.create(
        dispute=dispute, from_state="", to_state="reported", at=NOW, note="重复纠纷，前案 #7。"
    )
    other = DisputeEvent.objects.create(
        dispute=dispute, from_state="reported", to_state="accepted", at=NOW, note="见 #3 号文件"
    )
    scrub.scrub(django_apps, None)
    events = DisputeEvent.objects.filter(pk__in=[intake.pk, demo.pk, other.pk]).order_by("pk")
    notes = [e.note for e in events]
    assert notes == [
        "Escalated: high risk or may escalate to violence. "
        "Repeat dispute: the same parties or dwelling as an earlier one.",
        "重复纠纷：与此前纠纷的当事人或房屋相同。",
        "见 #3 号文件",  # not an intake note: left alone
    ]
