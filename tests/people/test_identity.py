"""ID and phone numbers: validation with python-stdnum, masking, encryption and the blind
index — with property tests for the round trips."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import date

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from safecommunity.people import identity

KNOWN_GOOD = "11010519491231002X"  # the standard's own example: Beijing, 1949-12-31, female


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def make_id(region: str, born: date, sequence: int) -> str:
    """A valid ID number (the check digit computed the standard's way)."""
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit


ids = st.builds(
    make_id,
    st.sampled_from(["120104", "120105", "110105", "310104"]),
    st.dates(min_value=date(1920, 1, 1), max_value=date(2020, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


class TestIdNumbers:
    def test_it_reads_birth_date_gender_and_region(self) -> None:
        parsed = identity.parse_id_number(KNOWN_GOOD)
        assert (parsed.birth_date, parsed.gender, parsed.region) == (
            date(1949, 12, 31),
            "female",
            "110105",
        )

    def test_it_accepts_full_width_digits_and_a_lower_case_x(self) -> None:
        full_width = "１１０１０５１９４９１２３１００２ｘ"
        assert identity.parse_id_number(full_width).number == KNOWN_GOOD

    @pytest.mark.parametrize(
        ("raw", "why"),
        [
            ("", "empty"),
            ("11010519491231002", "18 characters, this one has 17"),
            ("11010519491231002Y", "17 digits and a digit or X"),
            ("110105194912310021", "check digit is wrong"),
            (make_id("120104", date(2099, 1, 1), 1), "in the future"),
        ],
    )
    def test_it_says_what_is_wrong(self, raw: str, why: str) -> None:
        with pytest.raises(identity.IdentityError, match=why):
            identity.parse_id_number(raw, today=date(2026, 11, 29))

    def test_it_refuses_an_impossible_birth_date(self) -> None:
        body = "12010419990231001"  # 31 February
        with pytest.raises(identity.IdentityError, match="impossible|not valid"):
            identity.parse_id_number(body + ric.calc_check_digit(body + "0"))

    @given(ids)
    def test_every_valid_number_parses_to_what_it_encodes(self, number: str) -> None:
        parsed = identity.parse_id_number(number, today=date(2026, 11, 29))
        assert parsed.number == number
        assert parsed.birth_date.strftime("%Y%m%d") == number[6:14]
        assert parsed.gender == ("male" if int(number[16]) % 2 else "female")

    @given(ids)
    def test_the_mask_keeps_only_region_and_last_four(self, number: str) -> None:
        masked = identity.mask_id_number(number)
        assert masked == number[:6] + "********" + number[-4:]
        assert number[6:14] not in masked  # the birth date never shows


class TestPhones:
    @pytest.mark.parametrize(
        ("raw", "normal"),
        [
            ("138 1234 5678", "13812345678"),
            ("+86 138-1234-5678", "13812345678"),
            ("１３８１２３４５６７８", "13812345678"),
            ("022-23500001", "02223500001"),
            ("0311-8765432", "03118765432"),
        ],
    )
    def test_it_normalises_mainland_numbers(self, raw: str, normal: str) -> None:
        assert identity.normalize_phone(raw) == normal

    @pytest.mark.parametrize(
        ("raw", "why"),
        [("", "empty"), ("1381234567", "mobile"), ("12812345678", "mobile"), ("abc", "digits")],
    )
    def test_it_says_what_is_wrong(self, raw: str, why: str) -> None:
        with pytest.raises(identity.IdentityError, match=why):
            identity.normalize_phone(raw)

    def test_it_masks_mobiles_and_landlines(self) -> None:
        assert identity.mask_phone("13812345678") == "138****5678"
        assert identity.mask_phone("02223500001") == "022****0001"
        assert identity.mask_phone("03118765432") == "0311***5432"

    @given(mobiles)
    def test_a_masked_mobile_shows_seven_digits_at_most(self, phone: str) -> None:
        masked = identity.mask_phone(phone)
        assert len(masked) == 11 and masked.count("*") == 4


class TestEncryption:
    @given(st.text(min_size=0, max_size=40))
    def test_it_round_trips(self, text: str) -> None:
        assert identity.decrypt(identity.encrypt(text, purpose="id"), purpose="id") == text

    def test_it_never_encrypts_the_same_value_the_same_way(self) -> None:
        a = identity.encrypt(KNOWN_GOOD, purpose="id")
        b = identity.encrypt(KNOWN_GOOD, purpose="id")
        assert a != b
        assert KNOWN_GOOD.encode() not in a

    def test_a_ciphertext_cannot_be_moved_to_another_field(self) -> None:
        from cryptography.exceptions import InvalidTag

        blob = identity.encrypt("13812345678", purpose="phone")
        with pytest.raises(InvalidTag):
            identity.decrypt(blob, purpose="id")

    def test_an_old_key_still_decrypts_during_a_rotation(self) -> None:
        from django.conf import settings

        old = settings.DATA_ENCRYPTION_KEY
        blob = identity.encrypt("secret", purpose="id")
        new = identity.new_key()
        with override_settings(DATA_ENCRYPTION_KEY=f"{new},{old}"):
            assert identity.decrypt(blob, purpose="id") == "secret"
            assert not identity.is_current_key(blob)
            assert identity.is_current_key(identity.encrypt("x", purpose="id"))
        with (
            override_settings(DATA_ENCRYPTION_KEY=new),
            pytest.raises(ImproperlyConfigured, match="no longer"),
        ):
            identity.decrypt(blob, purpose="id")

    def test_it_refuses_to_work_without_a_key(self) -> None:
        with (
            override_settings(DATA_ENCRYPTION_KEY=""),
            pytest.raises(ImproperlyConfigured, match="DATA_ENCRYPTION_KEY"),
        ):
            identity.encrypt("x", purpose="id")

    def test_it_refuses_a_key_of_the_wrong_size(self) -> None:
        with (
            override_settings(DATA_ENCRYPTION_KEY="c2hvcnQ="),
            pytest.raises(ImproperlyConfigured, match="32 bytes"),
        ):
            identity.encrypt("x", purpose="id")


class TestBlindIndex:
    @given(ids)
    def test_it_is_stable_and_separates_purposes(self, number: str) -> None:
        first = identity.blind_index(number, purpose="id")
        assert first == identity.blind_index(number, purpose="id")
        assert first != identity.blind_index(number, purpose="phone")
        assert len(first) == 32 and number not in first

    @given(ids, st.sampled_from(["id", "phone"]))
    def test_it_is_the_standard_hmac_sha256_of_purpose_and_value(
        self, number: str, purpose: str
    ) -> None:
        key = identity._index_keys()[0]
        standard = hmac.new(key, f"{purpose}:{number}".encode(), hashlib.sha256).digest()
        assert identity.blind_index(number, purpose=purpose) == standard[:16].hex()

    @pytest.mark.parametrize("length", [16, 32, 64, 65, 100])
    def test_its_halves_agree_with_hmac_for_any_key_length(self, length: int) -> None:
        key = bytes(range(length))
        inner, outer = identity.hmac_halves(key, b"id:")
        inner.update(b"110101199003078515")
        outer.update(inner.digest())
        expected = hmac.new(key, b"id:110101199003078515", hashlib.sha256).digest()
        assert outer.digest() == expected

    def test_it_depends_on_the_key(self) -> None:
        before = identity.blind_index(KNOWN_GOOD, purpose="id")
        with override_settings(BLIND_INDEX_KEY=identity.new_key()):
            assert identity.blind_index(KNOWN_GOOD, purpose="id") != before
