"""Identity numbers and phone numbers: validation, normalisation, masking, encryption at rest
and the keyed blind index that finds them without decrypting.

The rules (DESIGN.md): ID and phone numbers are stored only as ciphertext (AES-256-GCM) plus
a blind index (HMAC-SHA256 under a separate key) for exact lookup, and shown masked
(``120104********1234``, ``138****5678``). Nothing here touches the database.

Keys come from settings: ``DATA_ENCRYPTION_KEY`` is a comma-separated list of url-safe
base64 32-byte keys, the first one current — older ones stay listed until
``safecommunity rotate-keys`` has re-encrypted everything. ``BLIND_INDEX_KEY`` likewise
(a list, first current). Each ciphertext starts with a 4-byte fingerprint of its key, so a
value encrypted under an old key still decrypts during a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import unicodedata
from datetime import date
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.dispatch import receiver
from django.test.signals import setting_changed
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import ric

NONCE_BYTES = 12
FINGERPRINT_BYTES = 4


class IdentityError(ValueError):
    """A malformed ID or phone number; the message says exactly what is wrong."""


# --- ID numbers (居民身份证号码, GB 11643) ---------------------------------------------------


class IdNumber(NamedTuple):
    """What an ID number encodes. A named tuple rather than a frozen dataclass: as immutable,
    and built for every row of an import at a fifth of the cost."""

    number: str
    birth_date: date
    gender: str  # "male" / "female", from the 17th digit (odd = male)
    region: str  # the six-digit administrative code of the place of birth registration


def _halfwidth(raw: str) -> str:
    # Full-width digits and letters (１２０１０４…Ｘ) are common in files typed on Chinese
    # input methods; NFKC folds them to ASCII (and leaves ASCII as it is: skipped for it).
    return (raw if raw.isascii() else unicodedata.normalize("NFKC", raw)).strip()


_ID_SEPARATORS = re.compile(r"[\s-]")
ID_SHAPE = re.compile(r"\d{17}[\dX]")


def normalize_id_number(raw: str) -> str:
    number = _halfwidth(raw)
    # Most numbers have no separators: the regular expression only for those that do.
    return (number if number.isalnum() else _ID_SEPARATORS.sub("", number)).upper()


def parse_id_number(raw: str, *, today: date | None = None) -> IdNumber:
    """Validate an 18-digit resident ID with python-stdnum and return what it encodes.

    Raises ``IdentityError`` naming the problem: length, characters, checksum, birth date
    (impossible or in the future) or region code.
    """
    number = normalize_id_number(raw)
    if not number:
        raise IdentityError(_("the ID number is empty"))
    if len(number) != 18:
        raise IdentityError(
            _("an ID number has 18 characters, this one has %(n)d") % {"n": len(number)}
        )
    if not ID_SHAPE.fullmatch(number):
        raise IdentityError(_("an ID number is 17 digits and a digit or X"))
    # python-stdnum checks each part; ``ric.validate`` would do the same in one call, but its
    # region lookup dominates an import of a million rows, so that part is memoised.
    if number[-1] != ric.calc_check_digit(number):
        raise IdentityError(_("the ID number's check digit is wrong"))
    birth = _birth_date(number[6:14], number)
    if birth is None:
        raise IdentityError(_("the birth date in the ID number is impossible"))
    if not _region_known(number[:6], birth.year, number):
        raise IdentityError(_("the ID number's region code is unknown"))
    if birth > (today or timezone.localdate()):
        raise IdentityError(_("the birth date in the ID number is in the future"))
    gender = "male" if int(number[16]) % 2 else "female"
    return IdNumber(number=number, birth_date=birth, gender=gender, region=number[:6])


_REGION_CACHE: dict[tuple[str, int], bool] = {}
_BIRTH_CACHE: dict[str, date | None] = {}


def _birth_date(digits: str, number: str) -> date | None:
    """The birth date stdnum reads from ``number`` (None if impossible), memoised by its
    eight digits: a million residents have a few tens of thousands of birth dates, and
    stdnum's own clean-up of the number is most of the cost of checking one."""
    if digits in _BIRTH_CACHE:
        return _BIRTH_CACHE[digits]
    known: date | None
    try:
        known = ric.get_birth_date(number)
    except stdnum_exceptions.ValidationError:
        known = None
    if len(_BIRTH_CACHE) < 200_000:
        _BIRTH_CACHE[digits] = known
    return known


def _region_known(region: str, year: int, number: str) -> bool:
    """Whether stdnum knows the region code for someone born in ``year`` (codes come and go:
    the answer depends on the year). Memoised by (region, year)."""
    key = (region, year)
    known = _REGION_CACHE.get(key)
    if known is None:
        try:
            ric.get_birth_place(number)
            known = True
        except stdnum_exceptions.ValidationError:
            known = False
        _REGION_CACHE[key] = known
    return known


def mask_id_number(number: str) -> str:
    """``120104********1234``: region code and last four, nothing of the birth date."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


# --- Phone numbers -------------------------------------------------------------------------

MOBILE = re.compile(r"1[3-9]\d{9}")
# Mainland landlines: a 3- or 4-digit area code starting with 0, then 7 or 8 digits.
LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")
_PHONE_SEPARATORS = re.compile(r"[\s()\-.]")


def normalize_phone(raw: str) -> str:
    """Digits only, without the +86 / 0086 country prefix. Raises ``IdentityError``."""
    text = _halfwidth(raw)
    if not text.isdigit():
        text = _PHONE_SEPARATORS.sub("", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    if not text:
        raise IdentityError(_("the phone number is empty"))
    if not text.isdigit():
        raise IdentityError(_("a phone number has only digits"))
    if MOBILE.fullmatch(text) or LANDLINE.fullmatch(text):
        return text
    if text.startswith("1"):
        raise IdentityError(
            _("a mobile number is 11 digits starting with 13–19, not “%(p)s”") % {"p": text}
        )
    raise IdentityError(
        _("a landline is an area code starting with 0 and 7 or 8 digits, not “%(p)s”") % {"p": text}
    )


def mask_phone(phone: str) -> str:
    """``138****5678`` for mobiles; area code, stars and the last four for landlines."""
    if MOBILE.fullmatch(phone):
        return phone[:3] + "****" + phone[-4:]
    # Beijing (010) and the 02x cities have three-digit area codes; the rest have four.
    head = 3 if phone.startswith(("010", "02")) else 4
    return phone[:head] + "*" * max(len(phone) - head - 4, 0) + phone[-4:]


# --- Encryption at rest and the blind index ------------------------------------------------


def _decode_key(text: str, setting: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{setting}: a key is not url-safe base64.") from exc
    if len(key) != 32:
        raise ImproperlyConfigured(f"{setting}: each key must be 32 bytes (base64 of 32 bytes).")
    return key


def _keys(setting: str) -> list[bytes]:
    raw = str(getattr(settings, setting, "") or "")
    keys = [_decode_key(part, setting) for part in raw.split(",") if part.strip()]
    if not keys:
        raise ImproperlyConfigured(
            f"Set {setting} (or {setting}_FILE): personal data cannot be stored without it."
        )
    return keys


def fingerprint(key: bytes) -> bytes:
    return hashlib.sha256(b"safecommunity-key-id" + key).digest()[:FINGERPRINT_BYTES]


# The decoded keys, built on first use. Reading them from settings on every call cost a
# tenth of an import's time; a change of the settings (tests, a rotation) forgets them.
_key_cache: dict[str, Any] = {}


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs: Any) -> None:
    if setting in {"DATA_ENCRYPTION_KEY", "BLIND_INDEX_KEY"}:
        _key_cache.clear()


def _current_vault() -> tuple[tuple[bytes, AESGCM], ...]:
    vault = _key_cache.get("vault")
    if vault is None:
        vault = tuple((fingerprint(k), AESGCM(k)) for k in _keys("DATA_ENCRYPTION_KEY"))
        _key_cache["vault"] = vault
    return vault


def encrypt(plaintext: str, *, purpose: str) -> bytes:
    """AES-256-GCM under the current key. ``purpose`` ("id", "phone") is bound as associated
    data, so a ciphertext cannot be moved from one field to another."""
    key_id, cipher = _current_vault()[0]
    nonce = os.urandom(NONCE_BYTES)
    return key_id + nonce + cipher.encrypt(nonce, plaintext.encode(), purpose.encode())


def decrypt(blob: bytes | memoryview, *, purpose: str) -> str:
    blob = bytes(blob)
    key_id, nonce, body = (
        blob[:FINGERPRINT_BYTES],
        blob[FINGERPRINT_BYTES : FINGERPRINT_BYTES + NONCE_BYTES],
        blob[FINGERPRINT_BYTES + NONCE_BYTES :],
    )
    for candidate_id, cipher in _current_vault():
        if hmac.compare_digest(candidate_id, key_id):
            return cipher.decrypt(nonce, body, purpose.encode()).decode()
    raise ImproperlyConfigured(
        "A value was encrypted under a key that is no longer in DATA_ENCRYPTION_KEY."
    )


def is_current_key(blob: bytes | memoryview) -> bool:
    return bytes(blob[:FINGERPRINT_BYTES]) == _current_vault()[0][0]


def _index_keys() -> tuple[bytes, ...]:
    keys = _key_cache.get("index")
    if keys is None:
        keys = _key_cache["index"] = tuple(_keys("BLIND_INDEX_KEY"))
    return keys


def hmac_halves(key: bytes, prefix: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256 (RFC 2104) as its two hashes: the inner one already fed the padded key
    and ``prefix``, the outer one fed its padded key. A value's MAC is then two copies and
    four calls in C; ``hmac.HMAC.copy`` spends as long again in Python, which a risk list of
    100,000 IDs and phones feels (a fifth of a second)."""
    if len(key) > hashlib.sha256().block_size:
        key = hashlib.sha256(key).digest()
    key = key.ljust(hashlib.sha256().block_size, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + prefix)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


def blind_index(value: str, *, purpose: str, key_number: int = 0) -> str:
    """The keyed HMAC-SHA256 of a normalised value (hex, 128 bits), for exact lookup.

    ``purpose`` separates the ID index from the phone index: equal strings in two fields do
    not produce equal index values.
    """
    # HMAC(key, "purpose:" + value), from hashes keyed and fed the prefix once: copying them
    # costs less than setting up the key again, on every row of an import.
    slot = f"hmac:{key_number}:{purpose}"
    prepared = _key_cache.get(slot)
    if prepared is None:
        key = _index_keys()[key_number]
        prepared = _key_cache[slot] = hmac_halves(key, f"{purpose}:".encode())
    inner, outer = prepared[0].copy(), prepared[1].copy()
    inner.update(value.encode())
    outer.update(inner.digest())
    return str(outer.digest()[:16].hex())


def new_key() -> str:
    """A fresh key in the format the settings expect."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()
