"""One row of a resident file → a validated ``ParsedRow`` or a ``RowRejected`` naming each
problem's column. The header decides which columns are present; a missing required column
refuses the whole file (``ImportFileError``) before any row is read."""

from __future__ import annotations

import hashlib
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
        self._columns = tuple(self.index.items())

    def column_name(self, field: str) -> str:
        return self.names.get(field, field)

    def parse(
        self, line: int, cells: list[Any], row_problem: CellProblem | None = None
    ) -> ParsedRow | RowRejected:
        if row_problem is not None:
            return RowRejected(line, [("", "", row_problem.reason)])
        problems: list[tuple[str, str, str]] = []
        raw: dict[str, Any] = {}
        width = len(cells)
        for field, i in self._columns:
            value = cells[i] if i < width else None
            if value.__class__ is CellProblem:
                problems.append((field, "", value.reason))
                value = None
            raw[field] = value

        def parsed(field: str, parse: Any) -> Any:
            value = raw.get(field)
            if value is None or value == "":
                return None
            try:
                return parse(value)
            except columns.CellError as exc:
                problems.append((field, masked_value(field, columns.text(value)), str(exc)))
                return None

        gender = parsed("gender", columns.parse_gender)
        birth_date = parsed("birth_date", columns.parse_date)
        since = parsed("since", columns.parse_date)
        relation = parsed("relation", columns.parse_relation)
        registered = parsed("registered", columns.parse_registered)
        id_text = parsed("id_number", columns.parse_id_text) or ""
        address = columns.text(raw.get("address"))
        if not address and not any(p[0] == "address" for p in problems):
            problems.append(("address", "", _("the address is missing")))
        try:
            data = resident_input(
                name=columns.text(raw.get("name")),
                gender=gender,
                birth_date=birth_date,
                id_number=id_text,
                phone=columns.text(raw.get("phone")),
                ethnicity=columns.text(raw.get("ethnicity")),
                notes=columns.text(raw.get("notes")),
                today=self.today,
            )
        except ValidationError as exc:
            already = {p[0] for p in problems}
            for field, messages in exc.message_dict.items():
                if field in already:
                    continue  # the cell itself was unreadable; said once is enough
                value = columns.text(raw.get(field))
                for message in messages:
                    problems.append((field, masked_value(field, value), message))
            data = None
        if since is not None:
            if since > self.today:
                problems.append(
                    (
                        "since",
                        columns.text(raw.get("since")),
                        _("the move-in date is in the future"),
                    )
                )
            elif data is not None and since < data.birth_date:
                problems.append(
                    (
                        "since",
                        columns.text(raw.get("since")),
                        _("the move-in date is before the date of birth"),
                    )
                )
        if problems or data is None:
            return RowRejected(line, problems)
        # Everything per row that needs no database happens here, so that ``parse`` can run in
        # worker processes: the numbers are protected and the name keys computed once.
        person = f"{data.name}\x1f{data.birth_date.isoformat()}\x1f{address}".encode()
        id_value = protect_id_number(data.id_number) if data.id_number else None
        phone = protect_phone(data.phone) if data.phone else None
        return ParsedRow(
            line,
            data.name,
            data.gender,
            data.birth_date,
            data.ethnicity,
            data.notes,
            id_value.cipher if id_value else None,
            id_value.index if id_value else None,
            id_value.masked if id_value else "",
            phone.cipher if phone else None,
            phone.index if phone else None,
            phone.masked if phone else "",
            tuple(sorted(name_keys(data.name))),
            hashlib.blake2b(person, digest_size=16).digest(),
            address,
            columns.text(raw.get("grid")),
            relation or Relation.OTHER,
            bool(registered),
            since or self.today,
        )


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
