"""The audit log is append-only: in the ORM, in the database, and in the admin."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from safecommunity.accounts.models import AuditEntry
from safecommunity.accounts.services import audit_record
from tests.conftest import World, client_for

TABLE = connection.ops.quote_name(AuditEntry._meta.db_table)


@pytest.fixture
def entry(world: World) -> AuditEntry:
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3")
    return audit_record(
        actor=world.users["officer"],
        action="resident.unmask",
        obj=world.beat_a,
        reason="家访核实",
        request=request,
        detail={"field": "id_number"},
    )


def test_it_records_who_did_what_to_which_object_and_why(world: World, entry: AuditEntry) -> None:
    stored = AuditEntry.objects.get(pk=entry.pk)

    assert stored.actor == world.users["officer"]
    assert stored.actor_username == "officer"
    assert stored.action == "resident.unmask"
    assert stored.object_type == "places.beat"
    assert stored.object_id == str(world.beat_a.pk)
    assert stored.object_repr == "学府一警务区"
    assert stored.reason == "家访核实"
    assert stored.client_address == "10.1.2.3"
    assert stored.detail == {"field": "id_number"}
    assert stored.at is not None


def test_it_records_an_action_without_actor_or_request(db: None) -> None:
    stored = audit_record(actor=None, action="system.start")

    assert stored.actor is None
    assert stored.actor_username == ""
    assert stored.client_address is None


def test_it_refuses_saving_an_entry_again(entry: AuditEntry) -> None:
    entry.reason = "changed"

    with pytest.raises(PermissionError):
        entry.save()

    assert AuditEntry.objects.get(pk=entry.pk).reason == "家访核实"


def test_it_refuses_deleting_an_entry(entry: AuditEntry) -> None:
    with pytest.raises(PermissionError):
        entry.delete()

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_it_refuses_a_queryset_update(entry: AuditEntry) -> None:
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="changed")

    assert AuditEntry.objects.get(pk=entry.pk).reason == "家访核实"


def test_it_refuses_a_queryset_delete(entry: AuditEntry) -> None:
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_database_refuses_a_raw_update(entry: AuditEntry) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET reason = %s WHERE id = %s", ["changed", entry.pk])  # noqa: S608  # table name from the model

    assert AuditEntry.objects.get(pk=entry.pk).reason == "家访核实"


def test_the_database_refuses_a_raw_delete(entry: AuditEntry) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [entry.pk])  # noqa: S608  # table name from the model

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_database_still_accepts_new_entries_after_a_refusal(entry: AuditEntry) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608  # table name from the model

    audit_record(actor=None, action="after.refusal")

    assert AuditEntry.objects.count() == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_can_flush_a_database_holding_audit_entries() -> None:
    """Transactional tests (and the browser tests' live server) end with ``flush``.

    On PostgreSQL ``flush`` truncates, which the row trigger does not see; on SQLite it
    deletes row by row, which the trigger must not turn into an error for this one command.
    """
    audit_record(actor=None, action="before.flush")

    call_command("flush", interactive=False, verbosity=0)

    assert AuditEntry.objects.count() == 0
    # The log is append-only again right after the flush.
    entry = audit_record(actor=None, action="after.flush")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [entry.pk])  # noqa: S608  # table name from the model


class TestAdmin:
    """The admin reads the log and offers no way to add, change or delete an entry."""

    def test_it_lists_entries_with_filters_and_search(
        self, world: World, entry: AuditEntry
    ) -> None:
        client = client_for(world.users["admin"])

        response = client.get("/admin/accounts/auditentry/", {"q": "unmask"})

        assert response.status_code == 200
        assert "resident.unmask" in response.content.decode()
        assert response.context["cl"].result_count == 1

    def test_it_filters_by_action(self, world: World, entry: AuditEntry) -> None:
        client = client_for(world.users["admin"])

        response = client.get("/admin/accounts/auditentry/", {"action": "user.create"})

        assert response.status_code == 200
        actions = {e.action for e in response.context["cl"].result_list}
        assert actions == {"user.create"}

    def test_it_shows_an_entry_read_only(self, world: World, entry: AuditEntry) -> None:
        client = client_for(world.users["admin"])

        response = client.get(f"/admin/accounts/auditentry/{entry.pk}/change/")

        assert response.status_code == 200
        assert 'name="_save"' not in response.content.decode()

    def test_it_refuses_adding_changing_and_deleting(self, world: World, entry: AuditEntry) -> None:
        client = client_for(world.users["admin"])
        url = f"/admin/accounts/auditentry/{entry.pk}"

        assert client.get("/admin/accounts/auditentry/add/").status_code == 403
        assert client.post(f"{url}/change/", {"reason": "changed"}).status_code == 403
        assert client.post(f"{url}/delete/", {"post": "yes"}).status_code == 403
        assert AuditEntry.objects.get(pk=entry.pk).reason == "家访核实"
