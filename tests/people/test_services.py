"""Registry writes: validation against the ID, one record per ID, residence history, care
tags, verification stamps, unmasking with a reason, key rotation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import translation

from safecommunity.accounts.models import AuditEntry, User
from safecommunity.people import identity
from safecommunity.people.models import CareTag, NameKey, Residence, Resident
from safecommunity.people.services import (
    care_tag_add,
    care_tag_remove,
    dwelling_verify,
    residence_move_in,
    residence_move_out,
    resident_create,
    resident_input,
    resident_possible_duplicates,
    resident_register,
    resident_unmask,
    resident_update,
)
from tests.conftest import World

TODAY = date(2026, 11, 29)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def valid_id(region: str, born: date, sequence: int) -> str:
    from stdnum.cn import ric

    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def ma_yan(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "name": "马燕",
        "gender": "female",
        "birth_date": date(1980, 1, 1),
        "id_number": valid_id("120104", date(1980, 1, 1), 2),
        "phone": "138 1234 5678",
        "today": TODAY,
    }
    fields.update(overrides)
    return fields


class TestResidentInput:
    def test_it_takes_birth_date_and_gender_from_the_id_when_left_out(self) -> None:
        data = resident_input(**ma_yan(gender=None, birth_date=None))  # type: ignore[arg-type]
        assert (data.gender, data.birth_date) == ("female", date(1980, 1, 1))
        assert data.phone == "13812345678"

    def test_it_names_each_field_that_disagrees_with_the_id(self) -> None:
        with pytest.raises(ValidationError) as caught:
            resident_input(**ma_yan(gender="male", birth_date=date(1980, 1, 2)))  # type: ignore[arg-type]
        errors = caught.value.message_dict
        assert "disagrees with the ID number (1980-01-01)" in errors["birth_date"][0]
        assert "disagrees with the ID number" in errors["gender"][0]

    def test_it_reports_every_bad_field_at_once(self) -> None:
        with pytest.raises(ValidationError) as caught:
            resident_input(name="", gender="x", birth_date=None, id_number="123", phone="999")
        assert set(caught.value.message_dict) == {
            "name",
            "gender",
            "birth_date",
            "id_number",
            "phone",
        }

    def test_it_refuses_a_birth_date_in_the_future(self) -> None:
        with pytest.raises(ValidationError, match="in the future"):
            resident_input(name="未来", gender="male", birth_date=date(2030, 1, 1), today=TODAY)


class TestResidentCreate:
    def test_it_stores_only_ciphertext_index_and_mask(self, world: World) -> None:
        resident = resident_create(
            data=resident_input(**ma_yan()),  # type: ignore[arg-type]
            actor=world.users["officer"],
            dwelling=world.dwelling_a,
            since=date(2020, 5, 1),
            relation="owner",
            registered=True,
        )
        resident.refresh_from_db()
        number = str(ma_yan()["id_number"])
        assert resident.id_masked == number[:6] + "********" + number[-4:]
        assert resident.phone_masked == "138****5678"
        assert number.encode() not in bytes(resident.id_cipher)
        assert identity.decrypt(resident.id_cipher, purpose="id") == number
        assert resident.path == world.dwelling_a.path
        assert set(NameKey.objects.filter(resident=resident).values_list("key", flat=True)) == {
            "马燕",
            "mayan",
            "my",
        }
        assert AuditEntry.objects.filter(action="resident.create", object_id=str(resident.pk))

    def test_it_refuses_a_second_record_for_the_same_id(self, world: World) -> None:
        resident_create(data=resident_input(**ma_yan()), actor=None)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="already registered"):
            resident_create(data=resident_input(**ma_yan(name="马艳")), actor=None)  # type: ignore[arg-type]
        assert Resident.objects.count() == 1

    def test_the_database_refuses_a_duplicate_id_index_too(self, world: World) -> None:
        first = resident_create(data=resident_input(**ma_yan()), actor=None)  # type: ignore[arg-type]
        with pytest.raises(IntegrityError), transaction.atomic():
            Resident.objects.create(
                name="x",
                gender="male",
                birth_date=date(1990, 1, 1),
                id_cipher=first.id_cipher,
                id_index=first.id_index,
            )

    def test_it_finds_possible_duplicates_by_id_name_and_birth_or_name_and_phone(
        self, world: World
    ) -> None:
        existing = resident_create(data=resident_input(**ma_yan()), actor=None)  # type: ignore[arg-type]
        same_birth = resident_input(**ma_yan(id_number=None, phone=None))  # type: ignore[arg-type]
        same_phone = resident_input(**ma_yan(id_number=None, birth_date=date(1981, 1, 1)))  # type: ignore[arg-type]
        stranger = resident_input(
            name="王强", gender="male", birth_date=date(1975, 3, 3), today=TODAY
        )
        assert resident_possible_duplicates(same_birth) == [existing]
        assert resident_possible_duplicates(same_phone) == [existing]
        assert resident_possible_duplicates(stranger) == []

    def test_it_updates_name_keys_on_a_rename(self, world: World) -> None:
        resident = resident_create(data=resident_input(**ma_yan()), actor=None)  # type: ignore[arg-type]
        resident_update(resident=resident, data=resident_input(**ma_yan(name="曾燕")), actor=None)  # type: ignore[arg-type]
        keys = set(NameKey.objects.filter(resident=resident).values_list("key", flat=True))
        assert {"zengyan", "cengyan", "zy", "cy", "曾燕"} <= keys
        assert "mayan" not in keys


class TestResidence:
    def test_moving_keeps_the_history_and_moves_the_path(self, world: World) -> None:
        resident = resident_create(
            data=resident_input(**ma_yan()),  # type: ignore[arg-type]
            actor=None,
            dwelling=world.dwelling_a,
            since=date(2020, 1, 1),
            relation="tenant",
        )
        residence_move_in(
            resident=resident,
            dwelling=world.dwelling_b,
            since=date(2024, 6, 1),
            relation="owner",
            registered=True,
            actor=None,
        )
        history = list(Residence.objects.filter(resident=resident).order_by("since"))
        assert [(r.dwelling_id, r.since, r.until) for r in history] == [
            (world.dwelling_a.pk, date(2020, 1, 1), date(2024, 6, 1)),
            (world.dwelling_b.pk, date(2024, 6, 1), None),
        ]
        resident.refresh_from_db()
        assert resident.path == world.dwelling_b.path

        residence_move_out(resident=resident, until=date(2025, 1, 1), actor=None)
        resident.refresh_from_db()
        assert resident.path == ""
        assert not Residence.objects.filter(resident=resident, until__isnull=True).exists()

    def test_it_refuses_a_move_in_before_the_current_residence_began(self, world: World) -> None:
        resident = resident_create(
            data=resident_input(**ma_yan()),
            actor=None,
            dwelling=world.dwelling_a,  # type: ignore[arg-type]
            since=date(2020, 1, 1),
        )
        with pytest.raises(ValidationError, match="before the current residence began"):
            residence_move_in(
                resident=resident,
                dwelling=world.dwelling_b,
                since=date(2019, 1, 1),
                relation="owner",
                registered=False,
                actor=None,
            )

    def test_the_database_allows_one_current_residence_only(self, world: World) -> None:
        resident = resident_create(
            data=resident_input(**ma_yan()),
            actor=None,
            dwelling=world.dwelling_a,  # type: ignore[arg-type]
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            Residence.objects.create(
                resident=resident,
                dwelling=world.dwelling_b,
                since=date(2021, 1, 1),
                relation="other",
                registered=False,
                path=world.dwelling_b.path,
            )

    def test_moving_out_without_a_residence_says_so(self, world: World) -> None:
        resident = resident_create(data=resident_input(**ma_yan()), actor=None)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="no current residence"):
            residence_move_out(resident=resident, until=TODAY, actor=None)


class TestCareAndVerification:
    def test_care_tags_are_added_once_and_removed(self, world: World) -> None:
        resident = resident_create(data=resident_input(**ma_yan()), actor=None)  # type: ignore[arg-type]
        care_tag_add(resident=resident, kind="elderly_alone", actor=None)
        care_tag_add(resident=resident, kind="elderly_alone", notes="钥匙在警务室", actor=None)
        assert CareTag.objects.get(resident=resident).notes == "钥匙在警务室"
        care_tag_remove(resident=resident, kind="elderly_alone", actor=None)
        assert not CareTag.objects.filter(resident=resident).exists()
        with pytest.raises(ValidationError, match="Unknown care tag"):
            care_tag_add(resident=resident, kind="suspect", actor=None)

    def test_a_verification_stamps_the_dwelling_with_who_and_how(self, world: World) -> None:
        stamp = dwelling_verify(
            dwelling=world.dwelling_a, actor=world.users["grid"], method="visit"
        )
        assert (stamp.path, stamp.verified_by) == (world.dwelling_a.path, world.users["grid"])


class TestUnmask:
    def test_it_needs_the_permission_and_a_reason_and_is_audited(self, world: World) -> None:
        resident = resident_create(data=resident_input(**ma_yan()), actor=None)  # type: ignore[arg-type]
        officer: User = world.users["officer"]
        with pytest.raises(PermissionError):
            resident_unmask(resident=resident, field="id_number", reason="核实", actor=officer)

        officer.user_permissions.add(Permission.objects.get(codename="unmask_resident"))
        officer = User.objects.get(pk=officer.pk)  # fresh permission cache
        with pytest.raises(ValidationError, match="State why"):
            resident_unmask(resident=resident, field="id_number", reason=" ", actor=officer)
        value = resident_unmask(
            resident=resident, field="phone", reason="联系走失老人家属", actor=officer
        )
        assert value == "13812345678"
        entry = AuditEntry.objects.get(action="resident.unmask")
        assert (entry.actor_username, entry.reason, entry.detail) == (
            "officer",
            "联系走失老人家属",
            {"field": "phone"},
        )


class TestRotateKeys:
    def test_it_reencrypts_under_the_new_key_and_reindexes(
        self, world: World, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from django.conf import settings

        resident = resident_create(data=resident_input(**ma_yan()), actor=None)  # type: ignore[arg-type]
        old_data, old_index = settings.DATA_ENCRYPTION_KEY, settings.BLIND_INDEX_KEY
        new_data, new_index = identity.new_key(), identity.new_key()
        with override_settings(
            DATA_ENCRYPTION_KEY=f"{new_data},{old_data}",
            BLIND_INDEX_KEY=f"{new_index},{old_index}",
        ):
            call_command("rotate-keys", "--reindex")
            assert "values re-encrypted 2, indexes recomputed 2" in capsys.readouterr().out
            resident.refresh_from_db()
            assert identity.is_current_key(resident.id_cipher)
            number = str(ma_yan()["id_number"])
            assert resident.id_index == identity.blind_index(number, purpose="id")
        with override_settings(DATA_ENCRYPTION_KEY=new_data):
            assert identity.decrypt(resident.phone_cipher, purpose="phone") == "13812345678"

    def test_it_reencrypts_the_phones_every_other_app_keeps_too(
        self, world: World, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from django.conf import settings

        from safecommunity.custody.services import custody_receive
        from safecommunity.disputes.services import dispute_report
        from safecommunity.service_requests.services import request_submit

        dispute = dispute_report(
            actor=None,
            beat=world.beat_a,
            source="walk_in",
            category="neighbours",
            description="楼上噪音",
            parties=[{"name": "李小四", "phone": "13800138000"}],
        )
        party = dispute.parties.get()
        item = custody_receive(
            actor=None,
            beat=world.beat_a,
            kind="key",
            description="家门钥匙",
            tag="K-1",
            owner_name="王大五",
            owner_phone="13900139000",
        )
        request = request_submit(
            service_code="other",
            description="求助",
            beat=world.beat_a,
            source="staff",
            contact={"name": "赵六", "phone": "13700137000"},
        )
        old_data, old_index = settings.DATA_ENCRYPTION_KEY, settings.BLIND_INDEX_KEY
        new_data, new_index = identity.new_key(), identity.new_key()
        with override_settings(
            DATA_ENCRYPTION_KEY=f"{new_data},{old_data}",
            BLIND_INDEX_KEY=f"{new_index},{old_index}",
        ):
            call_command("rotate-keys", "--reindex")
            out = capsys.readouterr().out
            assert "dispute parties 1, custody items 1, requests 1" in out
            assert "values re-encrypted 3, indexes recomputed 2" in out
            party.refresh_from_db()
            item.refresh_from_db()
            request.refresh_from_db()
            assert party.phone_index == identity.blind_index("13800138000", purpose="phone")
            assert item.owner_phone_index == identity.blind_index("13900139000", purpose="phone")
        with override_settings(DATA_ENCRYPTION_KEY=new_data):
            assert identity.decrypt(party.phone_cipher, purpose="phone") == "13800138000"
            assert identity.decrypt(item.owner_phone_cipher, purpose="phone") == "13900139000"
            assert (
                identity.decrypt(request.contact_phone_cipher, purpose="request_phone")
                == "13700137000"
            )


# Registering a person whose ID number is already on record -------------------------------


def test_registering_again_adds_to_the_record_and_never_blanks_it(world: World) -> None:
    first = resident_create(
        data=resident_input(**ma_yan(ethnicity="回族", notes="钥匙寄存")),
        actor=None,
        dwelling=world.dwelling_a,
        since=date(2020, 1, 1),
    )
    residence_move_out(resident=first, until=date(2024, 1, 1), actor=None)
    again = resident_register(
        data=resident_input(**ma_yan(phone="13700001111")),
        actor=world.users["neighbour"],
        dwelling=world.dwelling_b,
        since=date(2024, 2, 1),
    )
    assert again.reregistered and again.resident.pk == first.pk
    first.refresh_from_db()
    assert (first.ethnicity, first.notes) == ("回族", "钥匙寄存")
    assert first.phone_masked == "137****1111"
    assert first.path == world.dwelling_b.path


def test_registering_again_needs_a_dwelling_and_a_free_record(world: World) -> None:
    first = resident_create(
        data=resident_input(**ma_yan()), actor=None, dwelling=world.dwelling_a, since=TODAY
    )
    # Still housed in beat A: beat B cannot take the record, the beat A officer is told plainly.
    with pytest.raises(ValidationError, match="outside your jurisdiction"):
        resident_register(
            data=resident_input(**ma_yan()),
            actor=world.users["neighbour"],
            dwelling=world.dwelling_b,
        )
    with pytest.raises(ValidationError, match="already registered"):
        resident_register(
            data=resident_input(**ma_yan()), actor=world.users["officer"], dwelling=world.dwelling_a
        )
    residence_move_out(resident=first, until=TODAY, actor=None)
    with pytest.raises(ValidationError, match="choose the dwelling"):
        resident_register(data=resident_input(**ma_yan()), actor=world.users["neighbour"])
    assert Resident.objects.count() == 1
