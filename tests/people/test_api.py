"""Registry API: search (masked, paginated, scoped), one resident (404 out of scope),
registering (400 per field, 409 with candidates, confirmation), unmasking (permission,
reason, audit row)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from safecommunity.accounts.models import AuditEntry, User
from safecommunity.people.models import Resident
from safecommunity.people.services import care_tag_add, residence_move_out
from tests.conftest import World, client_for
from tests.people.registry import register, valid_id

BASE = "/api/v1/people/residents"
ID_NUMBER = valid_id("120104", date(1980, 5, 17), 11)
PHONE = "13812345678"


def api(user: User) -> Client:
    client = client_for(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def zhang(world: World) -> Resident:
    return register("张三", world.dwelling_a, sequence=11, phone=PHONE)


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def test_it_searches_masked_and_paginated(world: World, zhang: Resident) -> None:
    response = api(world.users["officer"]).get(BASE, {"q": "zhangsan"})
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["page"], body["pages"], body["mode"]) == (1, 1, 1, "text")
    assert body["addresses_searched"] is False  # Latin letters: a name, never an address
    item = body["items"][0]
    assert item["name"] == "张三"
    assert item["id_number"] == ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
    assert item["phone"] == "138****5678"
    assert item["current"]["address"] == "学府花园1号楼1门101"
    assert item["current"]["beat"]["name"] == "学府一警务区"
    assert ID_NUMBER not in response.content.decode() and PHONE not in response.content.decode()


@pytest.mark.parametrize("q", [ID_NUMBER, PHONE, "138 1234 5678", "张三", "zs", "学府花园"])
def test_it_searches_by_every_key(world: World, zhang: Resident, q: str) -> None:
    assert [i["id"] for i in api(world.users["officer"]).get(BASE, {"q": q}).json()["items"]] == [
        zhang.pk
    ]


def test_a_neighbour_finds_nothing_and_gets_404(world: World, zhang: Resident) -> None:
    client = api(world.users["neighbour"])
    for q in (ID_NUMBER, PHONE, "张三", "zhangsan"):
        assert client.get(BASE, {"q": q}).json()["count"] == 0
    assert client.get(f"{BASE}/{zhang.pk}").status_code == 404
    assert client.get(f"{BASE}/{2**70}").status_code in (404, 422)


def test_it_shows_one_resident_with_history_masked(world: World, zhang: Resident) -> None:
    response = api(world.users["officer"]).get(f"{BASE}/{zhang.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["phone"] == "138****5678" and body["birth_date"] == "1980-05-17"
    assert [r["since"] for r in body["residences"]] == ["2020-01-01"]
    assert body["care_tags"] == []


def test_it_masks_names_and_hides_care_tags_for_a_city_analyst(
    world: World, zhang: Resident
) -> None:
    care_tag_add(resident=zhang, kind="elderly_alone", actor=None)
    body = api(world.users["city"]).get(f"{BASE}/{zhang.pk}").json()
    assert body["name"] == "张*" and body["birth_date"] is None and body["birth_year"] == 1980
    assert body["care_tags"] is None and body["notes"] is None
    listed = api(world.users["city"]).get(BASE).json()["items"][0]
    assert listed["name"] == "张*" and listed["care_tags"] is None
    district = api(world.users["district"]).get(f"{BASE}/{zhang.pk}").json()
    assert district["name"] == "张三" and district["care_tags"] is None
    team = api(world.users["worker"]).get(f"{BASE}/{zhang.pk}").json()
    assert [t["kind"] for t in team["care_tags"]] == ["elderly_alone"]


def test_the_search_costs_the_same_queries_however_many_results(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = api(world.users["officer"])
    register("王一", world.dwelling_a, sequence=31)
    client.get(BASE)

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(BASE, {"q": "wang"}).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(2, 12):
        register(f"王{i}", world.dwelling_a, sequence=31 + 2 * i)
    assert count() == few


@pytest.mark.parametrize(
    "params", [{"page": "0"}, {"page": "x"}, {"page": "9" * 30}, {"q": "x" * 500}, {"q": "\x00"}]
)
def test_it_answers_malformed_search_input_without_failing(
    world: World, params: dict[str, str]
) -> None:
    assert api(world.users["officer"]).get(BASE, params).status_code in (200, 422)


# Registering --------------------------------------------------------------------------------


def _new(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "刘备",
        "id_number": valid_id("120104", date(1990, 3, 7), 21),
        "phone": "13900001111",
        "dwelling_id": world.dwelling_a.pk,
        "since": "2024-01-01",
        "relation": "tenant",
        "registered": False,
    }
    body.update(overrides)
    return body


def test_it_registers_a_resident(world: World) -> None:
    response = post(api(world.users["officer"]), BASE, _new(world))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["birth_date"] == "1990-03-07" and body["gender"] == "male"
    assert body["phone"] == "139****1111"
    assert body["current"]["registered"] is False
    assert Resident.objects.get(pk=body["id"]).path == world.dwelling_a.path


def test_it_answers_400_with_a_message_per_field(world: World) -> None:
    response = post(
        api(world.users["officer"]), BASE, _new(world, birth_date="1990-03-08", phone="12345")
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "disagrees with the ID number" in errors["birth_date"][0]
    assert "phone" in errors


def test_it_refuses_a_dwelling_out_of_scope(world: World) -> None:
    response = post(api(world.users["officer"]), BASE, _new(world, dwelling_id=world.dwelling_b.pk))
    assert response.status_code == 400 and "dwelling_id" in response.json()["errors"]


def test_it_refuses_the_same_id_twice(world: World, zhang: Resident) -> None:
    for who, dwelling, message in (
        ("officer", world.dwelling_a, "already registered"),
        ("neighbour", world.dwelling_b, "registered at an address outside your jurisdiction"),
    ):
        response = post(
            api(world.users[who]), BASE, _new(world, id_number=ID_NUMBER, dwelling_id=dwelling.pk)
        )
        assert response.status_code == 400, who
        assert message in response.json()["errors"]["id_number"][0]
        assert "张三" not in response.content.decode()
    assert Resident.objects.count() == 1


def test_it_registers_a_person_who_moved_out_on_their_own_record(
    world: World, zhang: Resident
) -> None:
    residence_move_out(resident=zhang, until=date(2023, 12, 31), actor=None)
    body = _new(world, name="张三", id_number=ID_NUMBER, dwelling_id=world.dwelling_b.pk)
    response = post(api(world.users["neighbour"]), BASE, body)
    assert response.status_code == 201, response.content
    assert response.json()["id"] == zhang.pk
    assert response.json()["current"]["address"] == world.dwelling_b.standard_address
    assert Resident.objects.count() == 1


def test_it_answers_409_with_candidates_until_confirmed(world: World, zhang: Resident) -> None:
    client = api(world.users["officer"])
    body = _new(world, name="张三", id_number=None, birth_date="1980-05-17", gender="male")
    response = post(client, BASE, body)
    assert response.status_code == 409
    assert response.json()["candidates"] == [zhang.pk]
    assert post(client, BASE, {**body, "confirm_new_person": True}).status_code == 201
    # Same name and phone is a candidate as well.
    body = _new(world, name="张三", id_number=None, birth_date="1970-01-01", gender="male")
    assert post(client, BASE, {**body, "phone": PHONE}).status_code == 409


def test_a_candidate_out_of_scope_is_not_named(world: World, zhang: Resident) -> None:
    body = _new(
        world,
        name="张三",
        id_number=None,
        birth_date="1980-05-17",
        gender="male",
        dwelling_id=world.dwelling_b.pk,
    )
    assert post(api(world.users["neighbour"]), BASE, body).status_code == 201


def test_a_city_analyst_may_not_register(world: World) -> None:
    assert post(api(world.users["city"]), BASE, _new(world)).status_code == 403


@pytest.mark.parametrize(
    "overrides",
    [
        {"dwelling_id": 2**70},
        {"dwelling_id": "x"},
        {"since": "2024-02-30"},
        {"birth_date": "0001-01-01"},
        {"name": ""},
        {"relation": "boss"},
        {"gender": "x"},
        {"id_number": "\x00"},
    ],
)
def test_it_never_fails_on_malformed_create_input(world: World, overrides: dict[str, Any]) -> None:
    response = post(api(world.users["officer"]), BASE, _new(world, **overrides))
    assert response.status_code in (400, 422)
    assert not Resident.objects.exists()


# Unmasking ----------------------------------------------------------------------------------


def _granted(user: User) -> User:
    user.user_permissions.add(Permission.objects.get(codename="unmask_resident"))
    return User.objects.get(pk=user.pk)


def test_unmasking_needs_the_permission(world: World, zhang: Resident) -> None:
    response = post(
        api(world.users["officer"]),
        f"{BASE}/{zhang.pk}/unmask",
        {"field": "phone", "reason": "welfare call"},
    )
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="resident.unmask").exists()


def test_unmasking_needs_a_reason_and_is_audited(world: World, zhang: Resident) -> None:
    officer = _granted(world.users["officer"])
    client = api(officer)
    url = f"{BASE}/{zhang.pk}/unmask"
    assert post(client, url, {"field": "phone", "reason": ""}).status_code == 422
    assert post(client, url, {"field": "phone", "reason": "   "}).status_code == 400
    assert post(client, url, {"field": "notes", "reason": "x"}).status_code == 422
    response = post(client, url, {"field": "phone", "reason": "welfare call"})
    assert response.status_code == 200
    assert response.json() == {"field": "phone", "value": PHONE}
    entry = AuditEntry.objects.get(action="resident.unmask")
    assert (entry.actor_id, entry.reason, entry.detail) == (
        officer.pk,
        "welfare call",
        {"field": "phone"},
    )


def test_unmasking_out_of_scope_is_404(world: World, zhang: Resident) -> None:
    response = post(
        api(_granted(world.users["neighbour"])),
        f"{BASE}/{zhang.pk}/unmask",
        {"field": "id_number", "reason": "x"},
    )
    assert response.status_code == 404
