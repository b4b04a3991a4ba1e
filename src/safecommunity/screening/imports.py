"""Reading a risk list: a CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX file whose
columns are any of name, ID number, phone, date of birth, gender, address and note, named in
Chinese or English.

The file is read row by row through the registry import's ``sources`` (the same encoding
detection, the same XLSX streaming) and written in batches of ``BATCH_ROWS``
``RiskRecord``s, so a list of any length never sits in memory whole; only an 8-byte digest
per distinct row is kept, to find duplicate rows.

A risk list is not the registry: its people may be anyone, typed by anyone. So a row is
kept whenever it still has something to match on (a name, an ID number or a phone), and
each unusable value is reported and dropped rather than the row refused:

- an ID number of the right shape whose check digit or date is wrong is kept
  (``id_valid=False``, a warning): the engine tries to repair one wrong or two swapped
  digits. An ID number of the wrong shape is dropped;
- a malformed phone number, date of birth or gender is dropped, and so is a date of birth
  before 1900 and a name holding digits (a phone or ID number typed into the name column
  must never be stored as a name);
- a row with no name, no ID number and no phone is rejected;
- a row with the same content as an earlier row is stored once (``rows_duplicate``).

Names are kept as typed, traditional characters included: the engine compares by pinyin.
Every issue goes to an ``IssueSink`` (line, column, value — ID and phone numbers masked —
level and reason); every run of seven or more digits in an issue's column, value or reason
is masked on the way (``people.imports.rows.masked_text``): a reason may quote the number
it refuses, a name cell may hold a phone number. Nothing here decides who may import or
writes the audit entry: that is ``services.risk_list_import``.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.people import identity
from safecommunity.people.imports import columns
from safecommunity.people.imports.rows import masked_text, masked_value
from safecommunity.people.imports.sources import CellProblem, ImportFileError, open_source
from safecommunity.people.services import protect_id_number, protect_phone
from safecommunity.screening.models import RiskList, RiskRecord

BATCH_ROWS = 5_000
# How many issues the result keeps for a page to show; the issues file has them all.
ISSUES_KEPT = 100
NAME_MAX = 50
ADDRESS_MAX = 200
# The earliest date of birth taken: an earlier one is a typing error (and the registry's
# dates of birth start there too).
BIRTH_MIN = date(1900, 1, 1)
NOTE_MAX = 2_000

# Called after each batch: ("import", done, total), in the file's unit (bytes for CSV, rows
# for XLSX), like the engine's progress hook.
Progress = Callable[[str, int, int], None]

# Field → header names, compared after ``columns.normalize_header``. The registry import's
# names first (one vocabulary for both files), then the ones risk lists are seen with.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": (*columns.ALIASES["name"], "人员姓名", "姓名(中文)", "person"),
    "id_number": (
        *columns.ALIASES["id_number"],
        "证件号",
        "身份号码",
        "身份证件号码",
        "公民身份证号码",
        "id_card",
        "idcard",
        "id_card_number",
        "identity_number",
    ),
    "phone": (*columns.ALIASES["phone"], "手机号码1", "phone_number", "mobile_phone", "cell"),
    "birth_date": (*columns.ALIASES["birth_date"], "出生年月日期", "birthday"),
    "gender": columns.ALIASES["gender"],
    "address": (
        *columns.ALIASES["address"],
        "现住址",
        "现居住地址",
        "现住地址",
        "户籍地址",
        "住所",
        "居住地",
    ),
    "note": (*columns.ALIASES["notes"], "说明", "备注信息", "remark", "comment", "comments"),
}
_HEADER_FIELD = {
    columns.normalize_header(alias): field
    for field, aliases in ALIASES.items()
    for alias in aliases
}
MATCHABLE = ("name", "id_number", "phone")


class RiskListFileError(Exception):
    """The whole file is refused (empty, not CSV/XLSX, no known column, no rows); the
    message says why. Nothing was stored."""


class Level:
    """How bad an issue is: the row is kept (possibly without the value named), stored once
    as a duplicate, or not kept at all."""

    WARNING = "warning"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class RiskRowIssue:
    """One problem: ``line`` 1 is the header; ``value`` is masked for ID and phone numbers."""

    line: int
    column: str
    value: str
    reason: str
    level: str = Level.WARNING


class IssueSink(Protocol):
    def write(self, issue: RiskRowIssue) -> None: ...


class CsvIssueFile:
    """The issues of one list: CSV in UTF-8 with a BOM (Excel opens it) with the columns
    line, column, value, level, reason — the registry import's error file plus the level."""

    HEADER = ("line", "column", "value", "level", "reason")

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        path.chmod(0o600)
        self._writer = csv.writer(self._handle)
        self._writer.writerow(self.HEADER)

    def write(self, issue: RiskRowIssue) -> None:
        self._writer.writerow((issue.line, issue.column, issue.value, issue.level, issue.reason))

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> CsvIssueFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class ReadCounts:
    """What reading a list did. ``read`` counts non-blank rows below the header."""

    read: int = 0
    kept: int = 0
    rejected: int = 0
    duplicate: int = 0
    invalid_ids: int = 0
    batches: int = 0
    issues: int = 0
    first_issues: list[RiskRowIssue] = field(default_factory=list)


class Header:
    """Which column holds which field. Refuses a header with no name, ID or phone column."""

    def __init__(self, headers: list[str]) -> None:
        self.index: dict[str, int] = {}
        self.names: dict[str, str] = {}
        self.notes: list[RiskRowIssue] = []
        for i, raw in enumerate(headers):
            label = str(raw or "").replace("\x00", "").strip()
            if not label:
                continue
            field_name = _HEADER_FIELD.get(columns.normalize_header(label))
            if field_name is None:
                self.notes.append(
                    RiskRowIssue(1, label[:100], "", _("unknown column, ignored"), Level.WARNING)
                )
            elif field_name in self.index:
                self.notes.append(
                    RiskRowIssue(
                        1,
                        label[:100],
                        "",
                        _("the column “%(first)s” already gives this; ignored")
                        % {"first": self.names[field_name]},
                        Level.WARNING,
                    )
                )
            else:
                self.index[field_name] = i
                self.names[field_name] = label[:100]
        if not any(f in self.index for f in MATCHABLE):
            found = ", ".join(str(h).strip() for h in headers if str(h or "").strip()) or "—"
            raise RiskListFileError(
                _(
                    "The header line has no column to match on: it needs a name (姓名), an ID "
                    "number (身份证号) or a phone (手机号) column. Found: %(found)s."
                )
                % {"found": masked_text(found[:300])}
            )

    def column(self, field_name: str) -> str:
        return self.names.get(field_name, field_name)


@dataclass
class RowValues:
    """A row's usable values (empty/None where absent or dropped)."""

    name: str = ""
    id_number: str = ""
    id_valid: bool = True
    phone: str = ""
    birth_date: date | None = None
    gender: str = ""
    address: str = ""
    note: str = ""

    def content_key(self) -> int:
        """Equal for rows with the same content once normalised (full-width digits folded,
        spaces trimmed): 64 bits of BLAKE2b, enough for lists of billions of rows."""
        text = "\x1f".join(
            (
                self.name,
                self.id_number,
                self.phone,
                self.birth_date.isoformat() if self.birth_date else "",
                self.gender,
                self.address,
                self.note,
            )
        )
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _masked(error: Exception, phone: str) -> str:
    """The identity module's message without the number it quotes (the issues file is
    masked: a malformed number is still somebody's number). The number as typed and its
    digits are masked here, however short; ``masked_text`` then masks any longer run of
    digits left (the number as the identity module normalised it: without +86, 0086 or
    full-width digits)."""
    reason = str(error)
    for shown in {phone, "".join(ch for ch in phone if ch.isdigit())}:
        if shown:
            reason = reason.replace(shown, masked_value("phone", shown))
    return reason


def _digits_hidden(text: str) -> str:
    """``text`` with every digit (full-width ones too) shown as ``*``: what an issue shows
    of a name refused for holding digits."""
    return "".join("*" if ch.isdecimal() else ch for ch in text)


def _clean(value: Any) -> str:
    # PostgreSQL cannot store NUL in text; nobody means one.
    return columns.text(value).replace("\x00", "")


class RowReader:
    """One row's cells → ``RowValues`` plus the issues found on the way."""

    def __init__(self, header: Header, *, today: date) -> None:
        self.header = header
        self.today = today
        self._positions = {f: i for f, i in header.index.items()}

    def read(
        self, line: int, cells: list[Any], report: Callable[[RiskRowIssue], None]
    ) -> RowValues:
        width = len(cells)
        raw = {f: (cells[i] if i < width else None) for f, i in self._positions.items()}
        values = RowValues()

        def problem(field_name: str, value: str, reason: str) -> None:
            report(
                RiskRowIssue(
                    line, self.header.column(field_name), masked_value(field_name, value), reason
                )
            )

        for field_name, cell in raw.items():
            if isinstance(cell, CellProblem):
                problem(field_name, "", cell.reason)
                raw[field_name] = None

        name = _clean(raw.get("name"))
        if any(ch.isdecimal() for ch in name):
            report(
                RiskRowIssue(
                    line,
                    self.header.column("name"),
                    _digits_hidden(name)[:100],
                    _("a name has no digits (a phone or ID number in the name column?); dropped"),
                )
            )
        elif len(name) > NAME_MAX:
            problem("name", name, _("the name is longer than 50 characters; dropped"))
        else:
            values.name = name
        self._id_number(raw.get("id_number"), values, problem)
        phone = _clean(raw.get("phone"))
        if phone:
            try:
                values.phone = identity.normalize_phone(phone)
            except identity.IdentityError as exc:
                problem("phone", phone, _("%(reason)s; dropped") % {"reason": _masked(exc, phone)})
        birth_cell = raw.get("birth_date")
        if birth_cell is not None and _clean(birth_cell):
            try:
                birth = columns.parse_date(birth_cell)
            except columns.CellError as exc:
                problem(
                    "birth_date", _clean(birth_cell), _("%(reason)s; dropped") % {"reason": exc}
                )
            else:
                if birth is not None and birth > self.today:
                    problem(
                        "birth_date",
                        _clean(birth_cell),
                        _("the date of birth is in the future; dropped"),
                    )
                elif birth is not None and birth < BIRTH_MIN:
                    problem(
                        "birth_date",
                        _clean(birth_cell),
                        _("the date of birth is before 1900, surely a typing error; dropped"),
                    )
                else:
                    values.birth_date = birth
        gender_cell = raw.get("gender")
        if gender_cell is not None and _clean(gender_cell):
            try:
                values.gender = columns.parse_gender(gender_cell) or ""
            except columns.CellError as exc:
                problem("gender", _clean(gender_cell), _("%(reason)s; dropped") % {"reason": exc})
        # Longer text is cut rather than the row refused: the start of an address is what
        # the engine compares.
        values.address = _clean(raw.get("address"))[:ADDRESS_MAX]
        values.note = _clean(raw.get("note"))[:NOTE_MAX]
        return values

    def _id_number(
        self, cell: Any, values: RowValues, problem: Callable[[str, str, str], None]
    ) -> None:
        if cell is None:
            return
        try:
            text = columns.parse_id_text(cell)
        except columns.CellError as exc:
            problem("id_number", "", _("%(reason)s; dropped") % {"reason": exc})
            return
        text = text.replace("\x00", "")
        number = identity.normalize_id_number(text) if text else ""
        if not number:
            return
        try:
            parsed = identity.parse_id_number(number, today=self.today)
        except identity.IdentityError as exc:
            if identity.ID_SHAPE.fullmatch(number):
                # The right shape with a wrong check digit or date: most often one digit
                # typed wrongly. Kept, for the engine to repair.
                values.id_number, values.id_valid = number, False
                problem(
                    "id_number",
                    number,
                    _("%(reason)s; kept as typed, it may still match") % {"reason": exc},
                )
            else:
                problem("id_number", number, _("%(reason)s; dropped") % {"reason": exc})
            return
        values.id_number = parsed.number
        # What a valid ID encodes fills what the row leaves out (the engine compares it).
        values.birth_date = values.birth_date or parsed.birth_date
        values.gender = values.gender or parsed.gender


def read_risk_list(
    *,
    risk_list: RiskList,
    path: Path,
    issues: IssueSink | None = None,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
    today: date | None = None,
) -> ReadCounts:
    """Read ``path`` into ``risk_list``'s records, ``batch_rows`` at a time.

    Each batch is written in a transaction of its own. Raises ``RiskListFileError`` when the
    file cannot be read at all, its header names no column to match on, or it has no row
    below the header; the records written by then are the caller's to delete
    (``services.risk_list_import`` does).
    """
    today = today or timezone.localdate()
    counts = ReadCounts()

    def report(issue: RiskRowIssue) -> None:
        issue = RiskRowIssue(
            issue.line,
            masked_text(issue.column),
            masked_text(issue.value),
            masked_text(issue.reason),
            issue.level,
        )
        counts.issues += 1
        if len(counts.first_issues) < ISSUES_KEPT:
            counts.first_issues.append(issue)
        if issues is not None:
            issues.write(issue)

    try:
        source = open_source(path)
    except ImportFileError as exc:
        raise RiskListFileError(str(exc)) from exc
    try:
        header = Header(source.headers)
        for note in header.notes:
            report(note)
        reader = RowReader(header, today=today)
        seen: dict[int, int] = {}  # content digest → first line
        batch: list[RiskRecord] = []

        def flush() -> None:
            if batch:
                with transaction.atomic():
                    RiskRecord.objects.bulk_create(batch)
                counts.batches += 1
                batch.clear()
            if progress is not None:
                progress("import", source.position(), source.total)

        try:
            for line, cells in source.rows():
                counts.read += 1
                if source.row_problem is not None:
                    counts.rejected += 1
                    report(RiskRowIssue(line, "", "", source.row_problem.reason, Level.REJECTED))
                    continue
                row_issues: list[RiskRowIssue] = []
                values = reader.read(line, cells, row_issues.append)
                if not (values.name or values.id_number or values.phone):
                    counts.rejected += 1
                    for issue in row_issues:
                        report(issue)
                    report(
                        RiskRowIssue(
                            line,
                            "",
                            "",
                            _("nothing to match on: the row has no name, ID number or phone"),
                            Level.REJECTED,
                        )
                    )
                    continue
                key = values.content_key()
                first = seen.get(key)
                if first is not None:
                    counts.duplicate += 1
                    report(
                        RiskRowIssue(
                            line,
                            "",
                            "",
                            _("the same as line %(line)d; stored once") % {"line": first},
                            Level.DUPLICATE,
                        )
                    )
                    continue
                seen[key] = line
                for issue in row_issues:
                    report(issue)
                counts.kept += 1
                counts.invalid_ids += not values.id_valid
                batch.append(_record(risk_list, line, values))
                if len(batch) >= batch_rows:
                    flush()
        except ImportFileError as exc:  # a line the CSV reader cannot parse
            raise RiskListFileError(str(exc)) from exc
        flush()
    finally:
        source.close()
    if counts.read == 0:
        raise RiskListFileError(_("The file has a header line but no rows below it."))
    return counts


def _record(risk_list: RiskList, line: int, values: RowValues) -> RiskRecord:
    record = RiskRecord(
        risk_list=risk_list,
        line=line,
        name=values.name,
        gender=values.gender,
        birth_date=values.birth_date,
        id_valid=values.id_valid,
        address=values.address,
        note=values.note,
    )
    if values.id_number:
        record.id_cipher, record.id_index, record.id_masked = protect_id_number(values.id_number)
    if values.phone:
        record.phone_cipher, record.phone_index, record.phone_masked = protect_phone(values.phone)
    return record
