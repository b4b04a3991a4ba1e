"""Reading a resident file row by row, whatever it is: CSV (UTF-8 with or without BOM, or
GBK/GB18030, detected) or XLSX (streamed with openpyxl's read-only mode).

A file that cannot be read at all raises ``ImportFileError`` with one clear message; a
problem with one cell is left to the caller (``CellProblem`` values in the row). Nothing
here touches the database.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.utils.translation import gettext as _

CHUNK = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls format


class ImportFileError(Exception):
    """The whole file is refused; the message says why. Nothing was imported."""


@dataclass(frozen=True)
class CellProblem:
    """A cell that has no usable value (a formula without a computed value, a merged cell)."""

    reason: str


class Source(Protocol):
    """Rows of a file: the header row, then ``(line, cells)`` with the file's own line/row
    numbers. ``row_problem`` is set, while a row is being handled, when the whole row is
    unusable (merged cells). ``position``/``total`` measure progress in the source's unit."""

    headers: list[str]
    total: int
    rows_estimate: int  # about how many rows: decides whether parsing is worth parallelising

    row_problem: CellProblem | None

    def rows(self) -> Iterator[tuple[int, list[Any]]]: ...

    def position(self) -> int: ...

    def close(self) -> None: ...


def open_source(path: Path) -> Source:
    """Open ``path`` as CSV or XLSX, decided by its content, not its name."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise ImportFileError(
            _("The file cannot be read: %(reason)s") % {"reason": exc.strerror}
        ) from exc
    if size == 0:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(ZIP_MAGIC):
        return XlsxSource(path)
    if head.startswith(OLE2_MAGIC):
        raise ImportFileError(
            _("This is an old Excel .xls file; save it as .xlsx or CSV and import that.")
        )
    return CsvSource(path, size)


# --- CSV -----------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` or ``gb18030``: UTF-8 is tried strictly over the whole file first (GBK
    text almost never decodes as UTF-8), then GB18030, a superset of GBK. Binary data (a NUL
    byte, or bytes neither encoding accepts) is refused with the byte offset."""
    utf8_error: int | None = None
    with path.open("rb") as handle:
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        while chunk := handle.read(CHUNK):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                raise ImportFileError(
                    _(
                        "This is not a CSV or XLSX file: it holds binary data "
                        "(a NUL byte at byte %(offset)d)."
                    )
                    % {"offset": offset + nul}
                )
            if utf8_error is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    utf8_error = offset + exc.start
            offset += len(chunk)
        if utf8_error is None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8_error = offset
    if utf8_error is None:
        return "utf-8-sig"
    with path.open("rb") as handle:
        gb_decoder = codecs.getincrementaldecoder("gb18030")()
        offset = 0
        try:
            while chunk := handle.read(CHUNK):
                gb_decoder.decode(chunk)
                offset += len(chunk)
            gb_decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                _(
                    "The file is neither UTF-8 nor GBK/GB18030 text (undecodable bytes at "
                    "byte %(offset)d); save it as CSV UTF-8 or as XLSX."
                )
                % {"offset": offset + exc.start}
            ) from exc
    return "gb18030"


class CsvSource:
    def __init__(self, path: Path, size: int) -> None:
        self.encoding = detect_encoding(path)
        self.total = size
        self.rows_estimate = size // 100  # a resident row is 100–200 bytes
        self._raw = path.open("rb")
        self._text = io.TextIOWrapper(self._raw, encoding=self.encoding, newline="")
        first = self._text.readline()
        # Excel in some locales writes semicolons or tabs; commas are the default.
        delimiter = max((",", "\t", ";"), key=first.count) if first.strip() else ","
        self._text.seek(0)  # back before the header (and the BOM, which is skipped again)
        self._reader = csv.reader(self._text, delimiter=delimiter, strict=False)
        try:
            header = next(self._reader)
        except StopIteration as exc:  # pragma: no cover - size > 0 means one line at least
            raise ImportFileError(_("The file is empty.")) from exc
        except csv.Error as exc:
            raise ImportFileError(
                _("The header line cannot be read: %(reason)s") % {"reason": exc}
            ) from exc
        self.headers = header
        self.delimiter = delimiter
        self.row_problem: CellProblem | None = None

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        line = self._reader.line_num + 1
        while True:
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFileError(
                    _("Line %(line)d cannot be read as CSV: %(reason)s")
                    % {"line": line, "reason": exc}
                ) from exc
            start, line = line, self._reader.line_num + 1
            if "".join(cells).strip():  # not a blank line, nor only empty cells
                yield start, cells

    def position(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._text.close()


# --- XLSX ----------------------------------------------------------------------------------

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _merged_ranges(archive: zipfile.ZipFile, member: str) -> list[tuple[str, int, int]]:
    """``(ref, first_row, last_row)`` of each merged range of a sheet. Read-only worksheets
    do not expose merged cells, so the sheet's XML is scanned (streamed) for them."""
    found: list[tuple[str, int, int]] = []
    tail = b""
    with archive.open(member) as handle:
        while chunk := handle.read(CHUNK):
            data = tail + chunk
            for match in _MERGE.finditer(data):
                c1, r1, c2, r2 = match.groups()
                ref = f"{c1.decode()}{r1.decode()}"
                if c2:
                    ref += f":{c2.decode()}{r2.decode()}"
                found.append((ref, int(r1), int(r2 or r1)))
            tail = data[-200:]
    # A match in the 200-byte overlap is seen twice.
    return sorted(set(found), key=lambda item: (item[1], item[0]))


class XlsxSource:
    """The first worksheet of a workbook, streamed. Formulas give their cached (computed)
    value; a formula Excel never computed, and every row that a merged range touches, give
    ``CellProblem`` cells, so the row is reported, not guessed at."""

    def __init__(self, path: Path) -> None:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            self._values = openpyxl.load_workbook(path, read_only=True, data_only=True)
            self._formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
        # InvalidFileException: openpyxl goes by the file's name, and a workbook may be
        # stored under another (an upload named .csv).
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, InvalidFileException) as exc:
            raise ImportFileError(
                _("The file looks like XLSX but cannot be opened: %(reason)s")
                % {"reason": exc or type(exc).__name__}
            ) from exc
        if not self._values.worksheets:
            raise ImportFileError(_("The workbook has no worksheet."))
        self._sheet = self._values.worksheets[0]
        self._formula_sheet = self._formulas.worksheets[0]
        self.total = int(self._sheet.max_row or 0)
        self.rows_estimate = self.total
        self._row = 0
        self._merged = _merged_ranges(self._values._archive, self._sheet._worksheet_path)
        self._value_rows = self._sheet.iter_rows(values_only=True)
        self._formula_rows = self._formula_sheet.iter_rows(values_only=True)
        try:
            header = next(self._value_rows)
            next(self._formula_rows)
        except StopIteration as exc:
            raise ImportFileError(_("The worksheet is empty.")) from exc
        self._row = 1
        self.row_problem: CellProblem | None = None
        self.headers = ["" if cell is None else str(cell) for cell in header]

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        merged: dict[int, str] = {}
        for ref, first, last in self._merged:
            for row in range(first, last + 1):
                merged.setdefault(row, ref)
        for values, formulas in zip(self._value_rows, self._formula_rows, strict=False):
            self._row += 1
            line = self._row
            cells: list[Any] = list(values)
            for i, (value, formula) in enumerate(zip(values, formulas, strict=False)):
                if value is None and isinstance(formula, str) and formula.startswith("="):
                    cells[i] = CellProblem(
                        _(
                            "the formula %(formula)s has no computed value; open the file in "
                            "Excel, let it calculate, save, and import again"
                        )
                        % {"formula": formula[:60]}
                    )
            merged_ref = merged.get(line)
            if merged_ref is not None:
                # A merge across rows leaves every row but the first empty; a merge across
                # columns hides which column the value belongs to: the row is reported whole.
                self.row_problem = CellProblem(
                    _("the cells %(ref)s are merged; unmerge them and fill in every cell")
                    % {"ref": merged_ref}
                )
            else:
                self.row_problem = None
            if any(c is not None and (not isinstance(c, str) or c.strip()) for c in cells):
                yield line, cells

    def position(self) -> int:
        return self._row

    def close(self) -> None:
        self._values.close()
        self._formulas.close()
