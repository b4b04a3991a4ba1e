"""A streaming CSV of demo residents for benchmarks: 1 million to 14 million rows, flat memory.

    write_residents_csv(path, rows=1_000_000, seed=2022, addresses=standard_addresses)

Columns are the import's Chinese headers (``HEADERS``), UTF-8 with a BOM (what Chinese Excel
writes):

======== ==================================================================
姓名     a Chinese name (Faker ``zh_CN`` surnames and given names)
性别     男 / 女
出生日期 ``YYYY-MM-DD``, the date the ID number encodes
身份证号 18 characters, valid for python-stdnum, unique in the file; the region is
         the district named in the address (or the county it replaced)
手机     a mainland mobile number, or empty (children, some adults)
民族     汉族 mostly, 回族, 满族, 蒙古族
地址     one of ``addresses`` (standard addresses of dwellings)
关系     业主 / 业主家属 / 租户 (``RELATION_LABELS``)
户籍     是 (registered here) / 否 (floating) (``REGISTERED_LABELS``)
入住日期 ``YYYY-MM-DD``, when the resident moved in
======== ==================================================================

Households fill the addresses in order (about one dwelling in ten left vacant) and wrap
around when the rows outnumber them. The same ``seed``, ``rows`` and ``addresses`` give the
same file. Memory does not grow with ``rows``: one household is in memory at a time, and ID
uniqueness is kept by fixed-size counters (``demo.identities``). File IDs come from the
other half of the sequence space than the demo database's, so importing a file into a demo
database creates new residents rather than matching demo ones.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from datetime import date
from random import Random

from safecommunity.demo.households import VACANT_SHARE, household
from safecommunity.demo.identities import FALLBACK_REGION, IdNumbers
from safecommunity.demo.scales import DISTRICT_SEEDS
from safecommunity.people.imports.columns import FILE_COLUMNS, chinese_header
from safecommunity.people.models import Relation

# The import's own columns, without notes: the file is what a station would upload.
HEADERS = chinese_header(tuple(f for f in FILE_COLUMNS if f != "notes"))
RELATION_LABELS: dict[str, str] = {
    Relation.OWNER: "业主",
    Relation.OWNER_FAMILY: "业主家属",
    Relation.TENANT: "租户",
    Relation.OTHER: "其他",
}
REGISTERED_LABELS = {True: "是", False: "否"}
# The reference date for ages in the files: fixed, so a file does not change with the day.
FILE_TODAY = date(2025, 1, 1)


def district_code_of(address: str) -> str:
    """The GB/T 2260 code of the Tianjin district an address names (天津市南开区… → 120104)."""
    head = address[:12]
    for code, (name, _) in DISTRICT_SEEDS.items():
        if name in head:
            return code
    return FALLBACK_REGION


def write_residents_csv(
    path: str | os.PathLike[str],
    *,
    rows: int,
    seed: int,
    addresses: Sequence[str],
    today: date = FILE_TODAY,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write ``rows`` residents to ``path`` and return the number written.

    ``progress(done, total)`` is called every 100,000 rows. Raises ``ValueError`` when
    ``addresses`` is empty.
    """
    if not addresses:
        raise ValueError("write_residents_csv needs at least one address")
    rng = Random(f"{seed}:residents-csv")
    ids = IdNumbers("file")
    codes: dict[str, str] = {}
    written = 0
    slot = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADERS)
        while written < rows:
            address = addresses[slot % len(addresses)]
            slot += 1
            if rng.random() < VACANT_SHARE:
                continue
            district = codes.get(address)
            if district is None:
                district = codes[address] = district_code_of(address)
            for person in household(rng, today):
                if written >= rows:
                    break
                number, birth = ids.issue_near(
                    district_code=district, birth_date=person.birth_date, male=person.male
                )
                out.writerow(
                    (
                        person.name,
                        "男" if person.male else "女",
                        birth.isoformat(),
                        number,
                        person.phone or "",
                        person.ethnicity,
                        address,
                        RELATION_LABELS[person.relation],
                        REGISTERED_LABELS[person.registered],
                        max(person.since, birth).isoformat(),
                    )
                )
                written += 1
                if progress is not None and written % 100_000 == 0:
                    progress(written, rows)
    if progress is not None:
        progress(written, rows)
    return written
