"""Registry pages: search list, a resident's page with its forms, registering a resident.
Masked everywhere, scoped everywhere (404 next door), no 500 on malformed input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pytest_django import DjangoAssertNumQueries

from safecommunity.accounts.models import AuditEntry, User
from safecommunity.people.models import CareTag, Residence, Resident
from safecommunity.people.services import care_tag_add, residence_move_out
from tests.conftest import World, client_for
from tests.people.registry import register, valid_id

ID_NUMBER = valid_id("120104", date(1980, 5, 17), 11)
PHONE = "13812345678"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def en(user: User) -> Client:
    """Pages speak Chinese unless the language switch chose English (a cookie)."""
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def zhang(world: World) -> Resident:
    return register("张三", world.dwelling_a, sequence=11, phone=PHONE)


def grant_unmask(user: User) -> User:
    user.user_permissions.add(Permission.objects.get(codename="unmask_resident"))
    return User.objects.get(pk=user.pk)  # a fresh object: permissions are cached


# The list -----------------------------------------------------------------------------------


def test_it_lists_residents_masked(world: World, zhang: Resident) -> None:
    response = en(world.users["officer"]).get(reverse("people:list"), {"q": "zs"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "张三" in body and "学府花园1号楼1门101" in body and "学府一警务区" in body
    assert "120104********" + ID_NUMBER[-4:] in body and "138****5678" in body
    assert ID_NUMBER not in body and PHONE not in body


def test_it_masks_names_for_a_city_analyst(world: World, zhang: Resident) -> None:
    body = en(world.users["city"]).get(reverse("people:list"), {"q": "zhangsan"}).content.decode()
    assert "张*" in body and "张三" not in body
    detail = en(world.users["city"]).get(reverse("people:detail", args=[zhang.pk]))
    assert "张三" not in detail.content.decode() and "1980-05-17" not in detail.content.decode()


def test_a_neighbour_finds_nothing_of_beat_a_on_the_page(world: World, zhang: Resident) -> None:
    client = en(world.users["neighbour"])
    for q in (ID_NUMBER, PHONE, "张三", "zhangsan"):
        response = client.get(reverse("people:list"), {"q": q})
        assert response.status_code == 200
        assert response.context["page"].paginator.count == 0
        assert "学府花园" not in response.content.decode()
    assert client.get(reverse("people:detail", args=[zhang.pk])).status_code == 404


def test_it_shows_care_tags_and_their_filter_only_to_the_beat_team(
    world: World, zhang: Resident
) -> None:
    care_tag_add(resident=zhang, kind="elderly_alone", actor=None)
    team = en(world.users["officer"]).get(reverse("people:list"), {"care_tag": "elderly_alone"})
    assert "Elderly living alone" in team.content.decode()
    assert "care_tag" in team.context["form"].fields
    for who in ("district", "city"):
        response = en(world.users[who]).get(reverse("people:list"))
        assert "Elderly living alone" not in response.content.decode(), who
        assert "care_tag" not in response.context["form"].fields
        detail = en(world.users[who]).get(reverse("people:detail", args=[zhang.pk]))
        assert "Elderly living alone" not in detail.content.decode()
        assert detail.context["care_tags"] is None


def test_the_list_page_costs_the_same_queries_however_long(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = en(world.users["officer"])
    register("王一", world.dwelling_a, sequence=31)
    client.get(reverse("people:list"))  # warm the session and the user

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("people:list"), {"q": "wang"}).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(2, 12):
        register(f"王{i}", world.dwelling_a, sequence=31 + 2 * i)
    assert count() == few
    # session, user, count, page, residences, care tags, the two permission lookups, …
    assert few <= 10


@pytest.mark.parametrize(
    "params",
    [
        {"page": "x"},
        {"page": "99999999999999999999999"},
        {"registered": "maybe"},
        {"care_tag": "nope"},
        {"q": "x" * 500},
        {"q": "\x00"},
        {"q": "%_\\"},
    ],
)
def test_it_never_fails_on_malformed_list_input(world: World, params: dict[str, str]) -> None:
    response = en(world.users["officer"]).get(reverse("people:list"), params)
    assert response.status_code in (200, 400)


# A resident's page ----------------------------------------------------------------------------


def test_it_shows_a_resident_with_residence_history_masked(world: World, zhang: Resident) -> None:
    client = en(world.users["officer"])
    response = client.post(
        reverse("people:move_in", args=[zhang.pk]),
        {"in-dwelling": world.dwelling_a.pk, "in-since": "2024-03-01", "in-relation": "owner"},
    )
    assert response.status_code == 302
    response = client.get(reverse("people:detail", args=[zhang.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert len(response.context["history"]) == 2
    assert "2020-01-01" in body and "2024-03-01" in body
    assert "138****5678" in body and PHONE not in body and ID_NUMBER not in body
    assert response.context["unmask_form"] is None  # no permission


def test_unmasking_needs_the_permission(world: World, zhang: Resident) -> None:
    response = en(world.users["officer"]).post(
        reverse("people:unmask", args=[zhang.pk]), {"field": "phone", "reason": "call"}
    )
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="resident.unmask").exists()


def test_unmasking_needs_a_reason_and_writes_the_audit_log(world: World, zhang: Resident) -> None:
    officer = grant_unmask(world.users["officer"])
    client = en(officer)
    url = reverse("people:unmask", args=[zhang.pk])
    response = client.post(url, {"field": "id_number", "reason": "  "})
    assert response.status_code == 400 and ID_NUMBER not in response.content.decode()
    assert not AuditEntry.objects.filter(action="resident.unmask").exists()
    response = client.post(url, {"field": "id_number", "reason": "household visit check"})
    assert response.status_code == 200 and ID_NUMBER in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action="resident.unmask")
    assert entry.actor_id == officer.pk and entry.object_id == str(zhang.pk)
    assert entry.reason == "household visit check" and entry.detail == {"field": "id_number"}
    # Shown once: the page reloaded is masked again.
    assert ID_NUMBER not in client.get(reverse("people:detail", args=[zhang.pk])).content.decode()


def test_unmasking_out_of_scope_is_404_even_with_the_permission(
    world: World, zhang: Resident
) -> None:
    neighbour = grant_unmask(world.users["neighbour"])
    response = en(neighbour).post(
        reverse("people:unmask", args=[zhang.pk]), {"field": "phone", "reason": "x"}
    )
    assert response.status_code == 404


def test_it_moves_a_resident_out_and_keeps_the_history(world: World, zhang: Resident) -> None:
    client = en(world.users["station"])
    response = client.post(reverse("people:move_out", args=[zhang.pk]), {"out-until": "2025-01-01"})
    assert response.status_code == 302
    residence = Residence.objects.get(resident=zhang)
    assert residence.until == date(2025, 1, 1)
    # Without a current dwelling the resident is out of the station's scope now.
    assert response["Location"] == reverse("people:list")


def test_it_refuses_a_move_in_to_a_dwelling_out_of_scope(world: World, zhang: Resident) -> None:
    response = en(world.users["officer"]).post(
        reverse("people:move_in", args=[zhang.pk]),
        {"in-dwelling": world.dwelling_b.pk, "in-since": "2024-03-01", "in-relation": "owner"},
    )
    assert response.status_code == 400
    assert "Choose a dwelling of your jurisdiction" in response.content.decode()
    assert Residence.objects.filter(resident=zhang).count() == 1


def test_it_reports_a_move_in_before_the_current_residence(world: World, zhang: Resident) -> None:
    response = en(world.users["officer"]).post(
        reverse("people:move_in", args=[zhang.pk]),
        {"in-dwelling": world.dwelling_a.pk, "in-since": "2019-01-01", "in-relation": "owner"},
    )
    assert response.status_code == 400
    assert "before the current residence began" in response.content.decode()


def test_the_beat_team_adds_and_removes_care_tags(world: World, zhang: Resident) -> None:
    client = en(world.users["grid"])
    url = reverse("people:care_tag_add", args=[zhang.pk])
    assert (
        client.post(url, {"tag-kind": "disability", "tag-notes": "wheelchair"}).status_code == 302
    )
    assert CareTag.objects.get(resident=zhang).notes == "wheelchair"
    assert client.post(url, {"tag-kind": "bogus"}).status_code == 400
    remove = reverse("people:care_tag_remove", args=[zhang.pk])
    assert client.post(remove, {"kind": "disability"}).status_code == 302
    assert not CareTag.objects.filter(resident=zhang).exists()


def test_district_users_may_not_touch_care_tags(world: World, zhang: Resident) -> None:
    response = en(world.users["district"]).post(
        reverse("people:care_tag_add", args=[zhang.pk]), {"tag-kind": "disability"}
    )
    assert response.status_code == 403


# Registering a resident -----------------------------------------------------------------------


def _new(world: World, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "刘备",
        "id_number": valid_id("120104", date(1990, 3, 7), 21),
        "gender": "",
        "birth_date": "",
        "phone": "13900001111",
        "dwelling": world.dwelling_a.pk,
        "since": "2024-01-01",
        "relation": "tenant",
    }
    data.update(overrides)
    return data


def test_it_registers_a_resident_reading_birth_date_and_gender_from_the_id(world: World) -> None:
    response = en(world.users["officer"]).post(reverse("people:create"), _new(world))
    assert response.status_code == 302
    resident = Resident.objects.get(name="刘备")
    assert resident.birth_date == date(1990, 3, 7) and resident.gender == "male"
    assert resident.path == world.dwelling_a.path
    assert response["Location"] == reverse("people:detail", args=[resident.pk])


def test_it_says_which_field_disagrees_with_the_id(world: World) -> None:
    response = en(world.users["officer"]).post(
        reverse("people:create"), _new(world, birth_date="1990-03-08", gender="female")
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "disagrees with the ID number" in errors["birth_date"][0]
    assert "gender" in errors
    assert not Resident.objects.filter(name="刘备").exists()


def test_it_refuses_a_second_record_with_the_same_id(world: World, zhang: Resident) -> None:
    response = en(world.users["officer"]).post(
        reverse("people:create"), _new(world, name="张叁", id_number=ID_NUMBER, phone="")
    )
    assert response.status_code == 400
    assert "already registered" in response.context["form"].errors["id_number"][0]
    assert response.context["candidates"] == [zhang]
    assert Resident.objects.count() == 1


def test_it_refuses_the_same_id_registered_out_of_scope_too(world: World, zhang: Resident) -> None:
    data = _new(world, name="张叁", id_number=ID_NUMBER, dwelling=world.dwelling_b.pk, phone="")
    response = en(world.users["neighbour"]).post(reverse("people:create"), data)
    assert response.status_code == 400
    error = response.context["form"].errors["id_number"][0]
    assert "registered at an address outside your jurisdiction" in error
    # The neighbour is not shown who holds that number.
    assert response.context["candidates"] == []
    assert "张三" not in response.content.decode()


def test_a_person_who_moved_out_is_registered_again_on_their_record(
    world: World, zhang: Resident
) -> None:
    residence_move_out(resident=zhang, until=date(2024, 6, 1), actor=None)
    data = _new(
        world,
        name="张三",
        id_number=ID_NUMBER,
        dwelling=world.dwelling_b.pk,
        phone="13700001111",
        since="2024-07-01",
    )
    # Beat B's officer cannot see the record (it has no address) and needs no confirmation.
    response = en(world.users["neighbour"]).post(reverse("people:create"), data, follow=True)
    assert response.redirect_chain, response.context["form"].errors
    assert response.redirect_chain[-1][0] == reverse("people:detail", args=[zhang.pk])
    assert "now registered at this dwelling" in response.content.decode()
    assert Resident.objects.count() == 1
    zhang.refresh_from_db()
    assert zhang.path == world.dwelling_b.path and zhang.phone_masked == "137****1111"
    stays = list(Residence.objects.filter(resident=zhang).order_by("since"))
    assert [(s.dwelling_id, s.until) for s in stays] == [
        (world.dwelling_a.pk, date(2024, 6, 1)),
        (world.dwelling_b.pk, None),
    ]
    entry = AuditEntry.objects.filter(action="resident.reregister").get()
    assert entry.actor == world.users["neighbour"]


def test_a_move_in_before_the_move_out_is_refused_on_registering_again(
    world: World, zhang: Resident
) -> None:
    residence_move_out(resident=zhang, until=date(2024, 6, 1), actor=None)
    data = _new(world, name="张三", id_number=ID_NUMBER, dwelling=world.dwelling_b.pk, phone="")
    data["since"] = "2024-05-01"
    response = en(world.users["neighbour"]).post(reverse("people:create"), data)
    assert response.status_code == 400
    assert "moved out on 2024-06-01" in response.context["form"].errors["since"][0]
    assert Residence.objects.filter(resident=zhang, until__isnull=True).count() == 0


def test_it_shows_possible_duplicates_and_needs_confirmation(world: World, zhang: Resident) -> None:
    client = en(world.users["officer"])
    data = _new(world, name="张三", id_number="", birth_date="1980-05-17", gender="male", phone="")
    response = client.post(reverse("people:create"), data)
    assert response.status_code == 409
    assert response.context["candidates"] == [zhang] and response.context["confirm_needed"]
    assert Resident.objects.count() == 1
    response = client.post(reverse("people:create"), {**data, "confirm_new_person": "on"})
    assert response.status_code == 302
    assert Resident.objects.filter(name="张三").count() == 2


def test_it_offers_only_dwellings_in_scope(world: World) -> None:
    client = en(world.users["officer"])
    response = client.get(reverse("people:create"))
    assert response.context["dwelling_choices"] == [world.dwelling_a]
    options = client.get(reverse("people:dwelling_options"), {"q": "南开小区"})
    assert "南开小区" not in options.content.decode()
    options = client.get(reverse("people:dwelling_options"), {"q": "学府"})
    assert "学府花园1号楼1门101" in options.content.decode()
    response = client.post(reverse("people:create"), _new(world, dwelling=world.dwelling_b.pk))
    assert response.status_code == 400 and "dwelling" in response.context["form"].errors


def test_a_city_analyst_may_not_register_residents(world: World) -> None:
    assert en(world.users["city"]).get(reverse("people:create")).status_code == 403


@pytest.mark.parametrize(
    "overrides",
    [
        {"dwelling": "99999999999999999999999"},
        {"dwelling": "x"},
        {"since": "2024-02-30"},
        {"since": "9999-01-01"},
        {"birth_date": "0001-01-01"},
        {"id_number": "１２０１０４"},
        {"id_number": "\x00"},
        {"phone": "+86 abc"},
        {"name": ""},
        {"relation": "boss"},
    ],
)
def test_it_never_fails_on_malformed_create_input(world: World, overrides: dict[str, str]) -> None:
    response = en(world.users["officer"]).post(reverse("people:create"), _new(world, **overrides))
    assert response.status_code == 400
    assert not Resident.objects.exists()


def test_the_navigation_links_the_residents(world: World) -> None:
    body = en(world.users["officer"]).get(reverse("home")).content.decode()
    assert reverse("people:list") in body


# Export -------------------------------------------------------------------------------------


def test_it_exports_the_filtered_list_masked_within_scope(world: World, zhang: Resident) -> None:
    register("李四", world.dwelling_a, sequence=13)
    register("王五", world.dwelling_b, sequence=15)
    response = en(world.users["officer"]).get(
        reverse("people:export"), {"q": "zhangsan", "format": "csv"}
    )
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[arg-type]
    assert "张三" in text and "李四" not in text and "王五" not in text
    assert ID_NUMBER not in text and PHONE not in text
    assert AuditEntry.objects.filter(action="resident.export").exists()


def test_an_unmasked_export_needs_the_permission(world: World, zhang: Resident) -> None:
    data = {"format": "csv", "reason": "handover"}
    response = en(world.users["officer"]).post(reverse("people:export"), data)
    assert response.status_code == 403
    response = en(grant_unmask(world.users["officer"])).post(reverse("people:export"), data)
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[arg-type]
    assert ID_NUMBER in text
    assert AuditEntry.objects.get(action="resident.export_unmasked").reason == "handover"


def test_it_refuses_a_malformed_export(world: World) -> None:
    response = en(world.users["officer"]).get(reverse("people:export"), {"format": "pdf"})
    assert response.status_code == 400


# Admin --------------------------------------------------------------------------------------


def test_the_admin_lists_and_searches_residents_masked(world: World, zhang: Resident) -> None:
    admin = world.users["admin"]
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    client = en(admin)
    for q in ("张三", "zhangsan", "zs"):
        response = client.get(reverse("admin:people_resident_changelist"), {"q": q})
        assert response.status_code == 200
        assert "138****5678" in response.content.decode(), q
    response = client.get(reverse("admin:people_resident_change", args=[zhang.pk]))
    body = response.content.decode()
    assert response.status_code == 200 and PHONE not in body and ID_NUMBER not in body
    assert "id_cipher" not in body and "phone_index" not in body
    for model in ("residence", "caretag", "dwellingverification"):
        assert client.get(reverse(f"admin:people_{model}_changelist")).status_code == 200


def test_the_admin_is_closed_to_scoped_users(world: World, zhang: Resident) -> None:
    officer = world.users["officer"]
    officer.is_staff = True
    officer.save(update_fields=["is_staff"])
    response = en(officer).get(reverse("admin:people_resident_changelist"))
    assert response.status_code in (302, 403)
