"""ID card numbers and phone numbers as a risk list gives them: digits only, the ID's MOD 11-2
checksum, the IDs one typing error away that pass it, and a phone's one-edit variants.

Whole columns at a time (NumPy over the digits' bytes), because a risk list of 100,000 rows
is checked in the time a loop over it in Python would spend on one field; the one-number
functions (``id_valid``, ``id_repairs``) are the same code on a column of one."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ID_LENGTH = 18
_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], np.int64)
_INVERSE = np.array([pow(int(w), -1, 11) for w in _WEIGHTS], np.int64)
_CHECK = "10X98765432"
_CHECK_BYTES = np.frombuffer(_CHECK.encode(), np.uint8)
_CHECK_VALUE = np.zeros(256, np.int64)  # a check character's byte → its value 0..10
_CHECK_VALUE[_CHECK_BYTES] = np.arange(11)
_ZERO, _X = ord("0"), ord("X")
# Province-level codes (the first two digits of every region code).
_PROVINCES = np.array(
    [
        int(p)
        for p in "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 "
        "54 61 62 63 64 65 71 81 82".split()
    ]
)
# The birth date's digits (YYYYMMDD), where a repair need not look when the record's stated
# date of birth already agrees with them: substitutions at 6..13, swaps starting at 5..13.
_BIRTH_SUBSTITUTIONS = slice(6, 14)
_BIRTH_SWAPS = slice(5, 14)


def digits(column: pa.Array | pa.ChunkedArray, *, keep_x: bool) -> pa.Array:
    """Digits only ("" for null): full-width forms folded (NFKC), separators dropped; with
    ``keep_x`` the ID's check character X too (a lower-case x counts)."""
    folded = pc.utf8_normalize(pc.fill_null(column, ""), "NFKC")
    if keep_x:
        return pc.replace_substring_regex(pc.utf8_upper(folded), "[^0-9X]", "")
    return pc.replace_substring_regex(folded, "[^0-9]", "")


def as_matrix(strings: pa.Array | pa.ChunkedArray, width: int) -> np.ndarray:
    """Strings that all have ``width`` bytes as a (rows, width) array of their bytes."""
    array = strings.combine_chunks() if isinstance(strings, pa.ChunkedArray) else strings
    if len(array) == 0:
        return np.zeros((0, width), np.uint8)
    offsets = np.frombuffer(array.buffers()[1], np.int32)[array.offset : array.offset + 2]
    data = np.frombuffer(array.buffers()[2], np.uint8)
    return data[offsets[0] : offsets[0] + width * len(array)].reshape(len(array), width).copy()


def as_strings(matrix: np.ndarray) -> list[str]:
    """The rows of a byte matrix (ASCII) back as strings."""
    width = matrix.shape[1] if matrix.ndim == 2 else 0
    if not len(matrix):
        return []
    return np.ascontiguousarray(matrix).view(f"S{width}").ravel().astype(f"U{width}").tolist()


def _check_of(body: np.ndarray) -> np.ndarray:
    """The check character (as a byte) of 17-digit bodies (rows of digit values 0..9)."""
    return _CHECK_BYTES[(body @ _WEIGHTS) % 11]


def ids_valid(matrix: np.ndarray) -> np.ndarray:
    """Per row of 18 bytes: 17 digits and the right check character."""
    body = matrix[:, :17].astype(np.int64) - _ZERO
    digit = np.asarray(((body >= 0) & (body <= 9)).all(axis=1), bool)
    return np.asarray(digit & (_check_of(np.where(digit[:, None], body, 0)) == matrix[:, 17]))


def _plausible(matrix: np.ndarray) -> np.ndarray:
    """A province that exists and a calendar-shaped birth date: a repair that fails either
    cannot be anyone's ID, so its blind index is not worth computing."""
    value = matrix.astype(np.int64) - _ZERO
    province = value[:, 0] * 10 + value[:, 1]
    month = value[:, 10] * 10 + value[:, 11]
    day = value[:, 12] * 10 + value[:, 13]
    return np.isin(province, _PROVINCES) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)


def _swap(matrix: np.ndarray, i: int) -> np.ndarray:
    out = matrix.copy()
    out[:, [i, i + 1]] = matrix[:, [i + 1, i]]
    return out


def id_repairs_many(
    matrix: np.ndarray,
    birth_known: np.ndarray | None = None,
    regions: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """IDs one substituted character or one adjacent swap away from each row's (18 bytes,
    failing its checksum) that pass the checksum: (row they repair, the repaired IDs as an
    (n, 18) byte matrix), each row's repairs in a fixed order.

    Solved rather than searched: the weighted sum changes by (new − old) × weight at the
    substituted position, so each position has at most one digit that fixes the checksum.
    ``birth_known`` (per row): the birth-date digits agree with the record's date, so the
    error is elsewhere. ``regions``: region codes (as numbers) someone in the registry has;
    repairs elsewhere are dropped."""
    rows = len(matrix)
    known = np.zeros(rows, bool) if birth_known is None else np.asarray(birth_known, bool)
    value = matrix.astype(np.int64) - _ZERO
    is_digit = (value >= 0) & (value <= 9)
    found: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, their candidate) per kind

    # The check X typed one place early, swapped with the last digit.
    early_x = (matrix[:, 16] == _X) & is_digit[:, :16].all(axis=1) & is_digit[:, 17]
    if early_x.any():
        swapped = _swap(matrix[early_x], 16)
        good = ids_valid(swapped)
        found.append((np.flatnonzero(early_x)[good], swapped[good]))

    usable = is_digit[:, :17].all(axis=1) & np.isin(matrix[:, 17], _CHECK_BYTES) & ~early_x
    where = np.flatnonzero(usable)
    sub = matrix[where]
    body = value[where, :17]
    total = (body @ _WEIGHTS) % 11
    target = _CHECK_VALUE[sub[:, 17]]
    # The check character itself was wrong.
    fixed = sub.copy()
    fixed[:, 17] = _CHECK_BYTES[total]
    found.append((where, fixed))
    step = target - total
    for i in range(17):
        # (new − d) × w ≡ target − total (mod 11); 11 is prime, so w has an inverse.
        new = (body[:, i] + step * _INVERSE[i]) % 11
        ok = (new < 10) & (new != body[:, i])
        if _BIRTH_SUBSTITUTIONS.start <= i < _BIRTH_SUBSTITUTIONS.stop:
            ok &= ~known[where]
        candidate = sub[ok].copy()
        candidate[:, i] = new[ok] + _ZERO
        found.append((where[ok], candidate))
    for i in range(16):
        a, b = body[:, i], body[:, i + 1]
        weight_change = int(_WEIGHTS[i] - _WEIGHTS[i + 1])
        ok = (a != b) & ((total + (b - a) * weight_change) % 11 == target)
        if _BIRTH_SWAPS.start <= i < _BIRTH_SWAPS.stop:
            ok &= ~known[where]
        found.append((where[ok], _swap(sub[ok], i)))
    # The last digit and the check character swapped.
    last_digit = is_digit[where, 17]
    swapped = _swap(sub[last_digit], 16)
    good = ids_valid(swapped)
    found.append((where[last_digit][good], swapped[good]))

    owner = np.concatenate([f[0] for f in found])
    candidates = np.concatenate([f[1] for f in found])
    keep = _plausible(candidates) & (candidates != matrix[owner]).any(axis=1)
    if regions is not None and len(regions):
        region = (candidates[:, :6].astype(np.int64) - _ZERO) @ (10 ** np.arange(5, -1, -1))
        keep &= np.isin(region, regions)
    owner, candidates = owner[keep], candidates[keep]
    order = np.argsort(owner, kind="stable")  # each row's repairs together, in kind order
    return owner[order], candidates[order]


def check_digit(body: str) -> str:
    """The check character of a 17-digit body."""
    value = np.frombuffer(body.encode(), np.uint8).astype(np.int64) - _ZERO
    return chr(_check_of(value.reshape(1, 17))[0])


def id_valid(number: str) -> bool:
    """One ID number: 17 digits and the right check character."""
    if len(number) != ID_LENGTH or not number.isascii():
        return False
    return bool(ids_valid(np.frombuffer(number.encode(), np.uint8).reshape(1, ID_LENGTH))[0])


def id_repairs(
    number: str, *, birth_known: bool = False, regions: frozenset[str] = frozenset()
) -> list[str]:
    """One ID number's repairs (see ``id_repairs_many``)."""
    if len(number) != ID_LENGTH or not number.isascii():
        return []
    matrix = np.frombuffer(number.encode(), np.uint8).reshape(1, ID_LENGTH)
    codes = region_codes(regions) if regions else None
    _, repaired = id_repairs_many(matrix, np.array([birth_known]), codes)
    return as_strings(repaired)


def region_codes(regions: frozenset[str] | set[str]) -> np.ndarray:
    """Six-digit region codes as numbers (anything else dropped)."""
    return np.array(sorted(int(r) for r in regions if len(r) == 6 and r.isdigit()), np.int64)


def one_edit_variants(number: str) -> list[str]:
    """Every string one digit substitution or one adjacent swap away."""
    out = []
    for i in range(len(number)):
        for d in "0123456789":
            if d != number[i]:
                out.append(number[:i] + d + number[i + 1 :])
    for i in range(len(number) - 1):
        if number[i] != number[i + 1]:
            out.append(number[:i] + number[i + 1] + number[i] + number[i + 2 :])
    return out


def phone_variants(phone: str, head: str, tail: str) -> list[str]:
    """The risk phone's one-digit-off and adjacent-swap variants that show ``head`` and
    ``tail`` (a resident's masked phone): only those can be that resident's number."""
    return [v for v in one_edit_variants(phone) if v[:3] == head and v[-4:] == tail]
