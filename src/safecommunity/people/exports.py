"""Exporting a resident list to CSV or XLSX, streamed.

The caller passes the list as the user sees it (filtered and scoped by
``people.selectors``); the scope is applied once more here, so a file never holds a row the
user could not open. ID and phone numbers are masked unless the user holds
``people.unmask_resident`` *and* states a reason; names are masked for users who may not see
names (``accounts.privacy``). Every export writes one audit entry — who, how many rows,
which format, and, when unmasked, why — before the first byte leaves.

The columns are the import's (Chinese headers in Chinese, English ones otherwise), so an
unmasked export can be edited and imported again.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _

from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import shown_name
from safecommunity.accounts.scope import scope_filter
from safecommunity.accounts.services import audit_record
from safecommunity.people import identity
from safecommunity.people.imports.columns import FILE_COLUMNS, chinese_header
from safecommunity.people.models import Relation, Residence, Resident

__all__ = ["CONTENT_TYPES", "ExportFormat", "export_filename", "export_residents"]

ExportFormat = Literal["csv", "xlsx"]
CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK_ROWS = 2000

_CHINESE_VALUES = {
    "male": "男",
    "female": "女",
    Relation.OWNER: "户主",
    Relation.OWNER_FAMILY: "家属",
    Relation.TENANT: "租户",
    Relation.OTHER: "其他",
}


def export_filename(fmt: ExportFormat) -> str:
    return f"residents.{fmt}"


def export_residents(
    *,
    user: User,
    queryset: QuerySet[Resident],
    fmt: ExportFormat,
    reason: str | None = None,
    request: HttpRequest | None = None,
) -> Iterator[bytes]:
    """The residents of ``queryset`` (in its order) as CSV (UTF-8 with BOM, for Excel) or
    XLSX bytes, streamed in chunks: wrap it in a ``StreamingHttpResponse``.

    Unmasked only for a holder of ``people.unmask_resident`` who gives a ``reason``; a
    reason from anyone else raises ``PermissionDenied``. An unknown format raises
    ``ValidationError``. The audit entry is written when this is called, not when the
    iterator is drained.
    """
    if fmt not in CONTENT_TYPES:
        raise ValidationError(_("Unknown export format “%(f)s”.") % {"f": fmt})
    reason = (reason or "").strip()
    unmask = bool(reason)
    if unmask and not user.has_perm("people.unmask_resident"):
        raise PermissionDenied(_("You may not export unmasked personal data."))
    queryset = scope_filter(queryset, user)
    rows = queryset.count()
    audit_record(
        actor=user,
        action="resident.export_unmasked" if unmask else "resident.export",
        reason=reason,
        request=request,
        detail={"rows": rows, "format": fmt, "unmasked": unmask},
    )
    chinese = (translation.get_language() or "").startswith("zh")
    records = _records(user, queryset, unmask=unmask, chinese=chinese)
    header = chinese_header() if chinese else FILE_COLUMNS
    return _csv(header, records) if fmt == "csv" else _xlsx(header, records)


def _records(
    user: User, queryset: QuerySet[Resident], *, unmask: bool, chinese: bool
) -> Iterator[list[str]]:
    current = Prefetch(
        "residences",
        queryset=Residence.objects.filter(until__isnull=True).select_related("dwelling"),
        to_attr="current_residences",
    )
    values = _CHINESE_VALUES if chinese else {}
    yes, no = ("户籍", "流动") if chinese else ("yes", "no")
    for resident in queryset.prefetch_related(current).iterator(chunk_size=CHUNK_ROWS):
        stays: list[Residence] = getattr(resident, "current_residences", [])
        stay = stays[0] if stays else None
        if unmask:
            id_number = (
                identity.decrypt(resident.id_cipher, purpose="id") if resident.id_cipher else ""
            )
            phone = (
                identity.decrypt(resident.phone_cipher, purpose="phone")
                if resident.phone_cipher
                else ""
            )
        else:
            id_number, phone = resident.id_masked, resident.phone_masked
        yield [
            shown_name(user, resident.name),
            values.get(resident.gender, resident.gender),
            resident.birth_date.isoformat(),
            id_number,
            phone,
            resident.ethnicity,
            stay.dwelling.standard_address if stay else "",
            values.get(stay.relation, stay.relation) if stay else "",
            (yes if stay.registered else no) if stay else "",
            stay.since.isoformat() if stay else "",
            resident.notes,
        ]


def _csv(header: tuple[str, ...], records: Iterator[list[str]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    for n, record in enumerate(records, start=1):
        writer.writerow(record)
        if n % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _xlsx(header: tuple[str, ...], records: Iterator[list[str]]) -> Iterator[bytes]:
    """openpyxl's write-only mode keeps rows on disk, not in memory; the finished file is
    then streamed from a temporary file that disappears when it is closed."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(_("Residents"))
    sheet.append(list(header))
    for record in records:
        # ID numbers and phones stay text: Excel would round an 18-digit number.
        sheet.append(record)
    with tempfile.TemporaryFile() as handle:
        book.save(handle)
        handle.seek(0)
        while chunk := handle.read(1 << 16):
            yield chunk
