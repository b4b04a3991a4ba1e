"""One row of a resident file → a validated ``ParsedRow`` or a ``RowRejected`` naming each
problem's column. The header decides which columns are present; a missing required column
refuses the whole file (``ImportFileError``) before any row is read."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from safecommunity.people import identity
from safecommunity.people.imports import columns
from safecommunity.people.imports.batch import ParsedRow, RowRejected
from safecommunity.people.imports.sources import CellProblem, ImportFileError
from safecommunity.people.models import Relation
from safecommunity.people.names import name_keys
from safecommunity.people.services import protect_id_number, protect_phone, resident_input

# Fields whose values are personal data: the error file shows them masked.
_MASKED = {"id_number", "phone"}


def masked_value(field: str, value: str) -> str:
    """What the error file may show of a cell: ID and phone numbers masked, whatever their
    shape (a malformed number is still somebody's number)."""
    if field == "id_number":
        return identity.mask_id_number(identity.normalize_id_number(value))
    if field == "phone":
        digits = "".join(ch for ch in value if ch.isdigit())
        return "*" * max(len(digits) - 4, 0) + digits[-4:] if len(digits) > 4 else "*" * len(digits)
    return value[:100]


# Seven digits or more: a phone number (even without its area code), an ID number, a bank
# card. Dates and house numbers are shorter. ``\d`` is any decimal digit, full-width ones
# (０-９) included.
_DIGIT_RUN = re.compile(r"\d{7,}")


def masked_text(text: str) -> str:
    """``text`` with every run of seven or more digits masked but its last four, full-width
    digits included (``138１２３４5678`` → ``*******5678``; the rest of the text is left as
    it is, full-width punctuation of a Chinese message included). For what an issue shows
    besides the masked value: a reason may quote the number it refuses (normalised, so
    neither the raw cell nor its digits find it), a name or note cell may hold one."""
    if not text:
        return text
    return _DIGIT_RUN.sub(
        lambda run: "*" * (len(run[0]) - 4) + unicodedata.normalize("NFKC", run[0][-4:]), text
    )


class RowParser:
    def __init__(self, headers: list[str], *, today: date) -> None:
        self.today = today
        self.index: dict[str, int] = {}
        self.names: dict[str, str] = {}
        self.unknown_columns: list[str] = []
        duplicates: list[str] = []
        for i, header in enumerate(headers):
            if not header or not str(header).strip():
                continue
            field = columns.field_for_header(str(header))
            if field is None:
                self.unknown_columns.append(str(header).strip())
            elif field in self.index:
                duplicates.append(
                    _("the columns “%(a)s” and “%(b)s” both mean %(field)s")
                    % {"a": self.names[field], "b": str(header).strip(), "field": field}
                )
            else:
                self.index[field] = i
                self.names[field] = str(header).strip()
        missing = [str(columns.LABELS[f]) for f in ("name", "address") if f not in self.index]
        if "id_number" not in self.index:
            if "birth_date" not in self.index:
                missing.append(
                    _("%(a)s or %(b)s")
                    % {"a": columns.LABELS["id_number"], "b": columns.LABELS["birth_date"]}
                )
            if "gender" not in self.index:
                missing.append(
                    _("%(a)s or %(b)s")
                    % {"a": columns.LABELS["id_number"], "b": columns.LABELS["gender"]}
                )
        problems = []
        if missing:
            problems.append(
                _("missing column(s): %(columns)s (found: %(found)s)")
                % {
                    "columns": ", ".join(missing),
                    "found": ", ".join(str(h).strip() for h in headers if h) or "—",
                }
            )
        problems += duplicates
        if problems:
            raise ImportFileError(
                _("The header line cannot be used: %(problems)s.")
                % {"problems": "; ".join(problems)}
            )
        self.present = frozenset(self.index)
        # Where each field's cell is in a row, in ``columns.ALIASES`` order (-1: no column).
        self._positions = tuple(self.index.get(field, -1) for field in columns.ALIASES)

    def column_name(self, field: str) -> str:
        return self.names.get(field, field)

    def parse(
        self, line: int, cells: list[Any], row_problem: CellProblem | None = None
    ) -> ParsedRow | RowRejected:
        # Runs for every row of a file, a million times for a large one: plain locals and
        # calls only where a cell holds something (this body was half of a row's parse).
        if row_problem is not None:
            return RowRejected(line, [("", "", row_problem.reason)])
        width = len(cells)
        values = [cells[i] if 0 <= i < width else None for i in self._positions]
        problems: list[tuple[str, str, str]] = []
        if CellProblem in map(type, values):
            for field, value in zip(columns.ALIASES, values, strict=True):
                if value.__class__ is CellProblem:
                    problems.append((field, "", value.reason))
            values = [None if v.__class__ is CellProblem else v for v in values]
        (
            name,
            gender_cell,
            birth_cell,
            id_cell,
            phone,
            ethnicity,
            address_cell,
            relation_cell,
            registered_cell,
            since_cell,
            notes,
            grid,
        ) = values
        cell = _cell
        gender = cell("gender", gender_cell, columns.parse_gender, problems)
        birth_date = cell("birth_date", birth_cell, columns.parse_date, problems)
        since = cell("since", since_cell, columns.parse_date, problems)
        relation = cell("relation", relation_cell, columns.parse_relation, problems)
        registered = cell("registered", registered_cell, columns.parse_registered, problems)
        id_text = cell("id_number", id_cell, columns.parse_id_text, problems) or ""
        text = columns.text
        address = text(address_cell)
        if not address and not any(p[0] == "address" for p in problems):
            problems.append(("address", "", _("the address is missing")))
        try:
            data = resident_input(
                name=text(name),
                gender=gender,
                birth_date=birth_date,
                id_number=id_text,
                phone=text(phone),
                ethnicity=text(ethnicity),
                notes=text(notes),
                today=self.today,
            )
        except ValidationError as exc:
            already = {p[0] for p in problems}
            raw = dict(zip(columns.ALIASES, values, strict=True))
            for field, messages in exc.message_dict.items():
                if field in already:
                    continue  # the cell itself was unreadable; said once is enough
                value = text(raw.get(field))
                for message in messages:
                    problems.append((field, masked_value(field, value), message))
            data = None
        if since is not None:
            if since > self.today:
                problems.append(("since", text(since_cell), _("the move-in date is in the future")))
            elif data is not None and since < data.birth_date:
                problems.append(
                    ("since", text(since_cell), _("the move-in date is before the date of birth"))
                )
        if problems or data is None:
            return RowRejected(line, problems)
        # Everything per row that needs no database happens here, so that ``parse`` can run in
        # worker processes: the numbers are protected and the name keys computed once.
        person = f"{data.name}\x1f{data.birth_date.isoformat()}\x1f{address}".encode()
        if data.id_number:
            id_cipher, id_index, id_masked = protect_id_number(data.id_number)
        else:
            id_cipher, id_index, id_masked = None, None, ""
        if data.phone:
            phone_cipher, phone_index, phone_masked = protect_phone(data.phone)
        else:
            phone_cipher, phone_index, phone_masked = None, None, ""
        return ParsedRow(
            line,
            data.name,
            data.gender,
            data.birth_date,
            data.ethnicity,
            data.notes,
            id_cipher,
            id_index,
            id_masked,
            phone_cipher,
            phone_index,
            phone_masked,
            tuple(sorted(name_keys(data.name))),
            hashlib.blake2b(person, digest_size=16).digest(),
            address,
            text(grid),
            relation or Relation.OTHER,
            bool(registered),
            since or self.today,
        )


def _cell(field: str, value: Any, parse: Any, problems: list[tuple[str, str, str]]) -> Any:
    """``parse(value)`` for a cell that holds something (None otherwise); a value ``parse``
    refuses becomes a problem of ``field``."""
    if value is None or value == "":
        return None
    try:
        return parse(value)
    except columns.CellError as exc:
        problems.append((field, masked_value(field, columns.text(value)), str(exc)))
        return None


class FileDuplicates:
    """One person once per file: by ID number, or by name + date of birth + address. Rows
    are claimed in file order, so the later of two rows is the one reported."""

    def __init__(self) -> None:
        self._seen: dict[bytes, int] = {}

    def claim(self, row: ParsedRow) -> RowRejected | None:
        key = bytes.fromhex(row.id_index) if row.id_index else row.person_key
        first = self._seen.get(key)
        if first is not None:
            column, shown = ("id_number", row.id_masked) if row.id_index else ("name", row.name)
            return RowRejected(
                row.line,
                [
                    (
                        column,
                        shown,
                        _("the same person as on line %(line)d; the row is skipped")
                        % {"line": first},
                    )
                ],
            )
        self._seen[key] = row.line
        # Rows with an ID also claim their name + birth + address, so a later row without an
        # ID for the same person is a duplicate too.
        self._seen.setdefault(row.person_key, row.line)
        return None
