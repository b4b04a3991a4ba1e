"""Writing a batch of validated rows in one transaction, with a handful of queries per batch
rather than per row.

The same rules as ``people.services`` hold — the values come from ``resident_input``, ID and
phone numbers are stored through ``protect_id_number``/``protect_phone``, name keys from
``names.name_keys``, a resident's ``path`` is their current dwelling's grid path, a move
closes the current residence and opens a new one — but rows are written with
``bulk_create``/``bulk_update`` and plain multi-row inserts, so a million rows take minutes,
not hours. The audit entry is written once per run by the caller.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Field, Model
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.scope import Scope
from safecommunity.people.baseline import baseline_refresh
from safecommunity.people.models import NameKey, Residence, Resident
from safecommunity.people.services import dwelling_use_refresh, residents_moved
from safecommunity.places.models import Building, Compound, Dwelling, Entrance, Grid

# Addresses remembered between batches; cleared when it grows past this (a city has
# millions of dwellings, a file usually a few thousand compounds' worth).
PLACE_CACHE_LIMIT = 500_000

# 学府花园1号楼1门101, …3栋2单元1203室; villages: 王庄村3排5号.
_BUILDING_ADDRESS = re.compile(
    r"(?P<compound>.+?)(?P<building>[0-9A-Za-z]+)(?:号楼|栋|幢|号)"
    r"(?P<entrance>[0-9A-Za-z]+)(?:门|单元)(?P<room>[0-9A-Za-z]+)(?:室|号)?"
)
_VILLAGE_ADDRESS = re.compile(r"(?P<compound>.+?)(?P<building>\d+排)(?P<room>\d+号)")


class ParsedRow(NamedTuple):
    """A valid row, ready to write: the values ``resident_input`` validated, the ID and phone
    numbers only as ciphertext, blind index and mask (``protect_id_number``/``protect_phone``),
    and the name keys. A flat tuple, because rows cross from the parsing workers in bulk."""

    line: int
    name: str
    gender: str
    birth_date: date
    ethnicity: str
    notes: str
    id_cipher: bytes | None
    id_index: str | None
    id_masked: str
    phone_cipher: bytes | None
    phone_index: str | None
    phone_masked: str
    name_keys: tuple[str, ...]
    person_key: bytes  # name + date of birth + address, for duplicates within the file
    address: str
    grid: str
    relation: str
    registered: bool
    since: date


@dataclass
class RowRejected:
    """A row that is skipped, with (field, shown value, reason) for each problem."""

    line: int
    problems: list[tuple[str, str, str]]


@dataclass
class BatchOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dwellings_created: int = 0
    rejected: list[RowRejected] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Place:
    dwelling_id: int
    path: str


# The stored residents a batch's rows are: by ID blind index; by name, date of birth and
# dwelling (with their current residence); the current residence of those found by ID.
_Found = tuple[
    dict[str, Resident],
    dict[tuple[str, date, int], tuple[Resident, Residence]],
    dict[int, Residence],
]


class BatchWriter:
    def __init__(
        self,
        *,
        scope: Scope,
        create_missing_addresses: bool,
        present: frozenset[str],
        today: date,
        derive_later: bool = False,
    ) -> None:
        self.scope = scope
        # True: leave the baseline counts of the grids written to (``pending_baseline``) and
        # the use of the dwellings (``pending_uses``) for the caller to derive once — a first
        # load, whose one transaction holds every batch and whose indexes come at the end.
        self.derive_later = derive_later
        self.pending_baseline: set[str] = set()
        self.pending_uses: set[int] = set()
        # True: the registry held nobody when this import began and nobody else writes until
        # it ends (a first load, its tables locked). Every resident is then one of this file's
        # rows, and the file's duplicates are refused before they get here (``FileDuplicates``:
        # the same ID number twice, or the same name, birth date and address twice without
        # one), so nothing needs to be read back but a resident an earlier batch created
        # without an ID number, matched by a later row with one: ``_without_id`` remembers
        # those (name + date of birth + address → id).
        self.into_empty = False
        self._without_id: dict[bytes, int] = {}
        self.create_missing = create_missing_addresses
        self.present = present
        self.today = today
        # address → place, or a reason it has none (missing: "", ambiguous: the reason).
        self._places: dict[str, _Place | str] = {}
        self._grids: dict[str, Grid | None] = {}
        self.dwellings_created = 0

    def write(self, rows: list[ParsedRow]) -> BatchOutcome:
        """Write ``rows`` in one transaction. Should another writer insert the same ID number
        between this batch's read and its write, the batch is rolled back and read again."""
        if not rows:
            return BatchOutcome()
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    _relax_commit()
                    return self._write(rows)
            except IntegrityError:
                # Places created inside the rolled-back transaction are gone again.
                self._places.clear()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # --- places ---------------------------------------------------------------------------

    def _dwellings(self) -> Any:
        queryset = Dwelling.objects.all()
        return queryset if self.scope.is_everything else queryset.filter(self.scope.q())

    def _resolve_places(self, rows: list[ParsedRow]) -> None:
        if len(self._places) > PLACE_CACHE_LIMIT:
            self._places.clear()
        wanted = sorted({row.address for row in rows} - self._places.keys())
        if not wanted:
            return
        found: dict[str, list[_Place]] = {}
        for address, pk, path in (
            self._dwellings()
            .filter(_among(Dwelling, "standard_address", wanted))
            .values_list("standard_address", "pk", "path")
        ):
            found.setdefault(address, []).append(_Place(pk, path))
        for address in wanted:
            places = found.get(address, [])
            if len(places) == 1:
                self._places[address] = places[0]
            elif places:
                self._places[address] = _(
                    "%(n)d dwellings have this address; correct the duplicates first"
                ) % {"n": len(places)}
            else:
                self._places[address] = ""

    def _place_for(self, row: ParsedRow) -> _Place | str:
        place = self._places[row.address]
        if place != "" or not self.create_missing:
            return place or _("no dwelling with this address")
        created = self._create_dwelling(row)
        if isinstance(created, _Place):
            self._places[row.address] = created
        return created

    def _grid(self, code: str) -> Grid | None:
        if code not in self._grids:
            grids = Grid.objects.filter(code=code)
            if not self.scope.is_everything:
                grids = grids.filter(self.scope.q())
            self._grids[code] = grids.first()
        return self._grids[code]

    def _create_dwelling(self, row: ParsedRow) -> _Place | str:
        """A new dwelling for an address no dwelling has, placed in the row's grid.

        Only addresses that split unambiguously into compound, building, entrance and room
        (``…1号楼2门301``, ``…3栋2单元1203室``, villages ``…3排5号``) are created, and only
        in a grid in the importer's scope; the new dwelling sits at the compound's point
        (or the grid's centre for a new compound).
        """
        missing = _("no dwelling with this address")
        if not row.grid:
            return _("%(missing)s; to create it, fill in the grid code column (网格编码/grid)") % {
                "missing": missing
            }
        grid = self._grid(row.grid)
        if grid is None:
            return _("%(missing)s, and there is no grid with the code “%(code)s”") % {
                "missing": missing,
                "code": row.grid,
            }
        match = _BUILDING_ADDRESS.fullmatch(row.address)
        if match is not None:
            entrance_number = match["entrance"]
        else:
            match = _VILLAGE_ADDRESS.fullmatch(row.address)
            entrance_number = "1"
        if match is None:
            return _(
                "%(missing)s, and it cannot be split into compound, building, entrance and room "
                "(such as 学府花园1号楼1门101), so it is not created"
            ) % {"missing": missing}
        compound_text = match["compound"].strip()
        compound = next(
            (
                c
                for c in Compound.objects.filter(grid=grid)
                if compound_text in {c.name, f"{c.address}{c.name}"}
            ),
            None,
        )
        if compound is None:
            point = _grid_point(grid)
            if point is None:
                return _(
                    "%(missing)s, and the grid “%(code)s” has no boundary to place a new "
                    "compound in"
                ) % {"missing": missing, "code": grid.code}
            compound = Compound.objects.create(
                grid=grid,
                name=compound_text[:100],
                address=compound_text[:200],
                path=grid.path,
                lng=point[0],
                lat=point[1],
            )
        building, _created = Building.objects.get_or_create(
            compound=compound, number=match["building"], defaults={"path": grid.path}
        )
        entrance, _created = Entrance.objects.get_or_create(
            building=building, number=entrance_number, defaults={"path": grid.path}
        )
        room = match["room"]
        digits = re.match(r"\d+", room)
        floor = int(digits[0]) // 100 if digits and len(digits[0]) >= 3 else None
        dwelling, created = Dwelling.objects.get_or_create(
            entrance=entrance,
            number=room,
            defaults={
                "grid": grid,
                "floor": floor or (1 if _VILLAGE_ADDRESS.fullmatch(row.address) else None),
                "standard_address": row.address,
                "path": grid.path,
                "lat": compound.lat,
                "lng": compound.lng,
            },
        )
        if not created and dwelling.standard_address != row.address:
            return _(
                "%(missing)s; the dwelling %(room)s of this entrance exists with the address "
                "“%(other)s”"
            ) % {"missing": missing, "room": room, "other": dwelling.standard_address}
        self.dwellings_created += int(created)
        return _Place(dwelling.pk, dwelling.path)

    # --- residents ------------------------------------------------------------------------

    def _write(self, rows: list[ParsedRow]) -> BatchOutcome:
        outcome = BatchOutcome()
        created_before = self.dwellings_created
        self._resolve_places(rows)
        placed: list[tuple[ParsedRow, _Place]] = []
        for row in rows:
            place = self._place_for(row)
            if isinstance(place, str):
                outcome.rejected.append(RowRejected(row.line, [("address", row.address, place)]))
            else:
                placed.append((row, place))
        placed, absorbed = _one_row_per_person(placed)

        by_index, by_person, current = (
            self._written_before(placed) if self.into_empty else self._stored(placed)
        )

        now = timezone.now()
        # With nobody to match (a load into an empty registry, usually) every row is new.
        anyone = bool(by_index or by_person)
        new_residents: list[tuple[ParsedRow, _Place]] = [] if anyone else placed
        changed_residents: dict[int, Resident] = {}
        resident_fields: set[str] = set()
        renamed: list[tuple[int, tuple[str, ...]]] = []
        closed: list[Residence] = []
        corrected: list[Residence] = []
        corrected_fields: set[str] = set()
        opened: list[tuple[int, ParsedRow, _Place]] = []
        moved: list[int] = []  # residents already in the registry who moved
        touched: set[int] = set()

        for row, place in placed if anyone else ():
            resident = by_index.get(row.id_index) if row.id_index else None
            residence: Residence | None = None
            if resident is not None:
                residence = current.get(resident.pk)
            else:
                hit = by_person.get((row.name, row.birth_date, place.dwelling_id))
                if hit is not None and (row.id_index is None or hit[0].id_index is None):
                    resident, residence = hit
            if resident is None:
                new_residents.append((row, place))
                continue
            if resident.pk in touched:
                outcome.rejected.append(
                    RowRejected(
                        row.line,
                        [("name", row.name, _("the same person as an earlier row; skipped"))],
                    )
                )
                continue
            if (
                resident.path
                and not self.scope.covers(resident.path)
                and place.dwelling_id != (residence.dwelling_id if residence else None)
            ):
                outcome.rejected.append(
                    RowRejected(
                        row.line,
                        [
                            (
                                "id_number",
                                resident.id_masked,
                                _(
                                    "this person is registered at an address outside your "
                                    "jurisdiction; they must be moved out there first"
                                ),
                            )
                        ],
                    )
                )
                continue
            move_problem = None
            if (
                residence is not None
                and residence.dwelling_id != place.dwelling_id
                and row.since < residence.since
            ):
                move_problem = _(
                    "the move-in date %(since)s is before the current residence began (%(began)s)"
                ) % {"since": row.since.isoformat(), "began": residence.since.isoformat()}
                outcome.rejected.append(
                    RowRejected(row.line, [("since", row.since.isoformat(), move_problem)])
                )
                continue
            touched.add(resident.pk)
            fields = self._changes(resident, row)
            if "name" in fields:
                renamed.append((resident.pk, row.name_keys))
            changed = bool(fields)
            if residence is None or residence.dwelling_id != place.dwelling_id:
                if residence is not None:
                    residence.until = row.since
                    closed.append(residence)
                opened.append((resident.pk, row, place))
                moved.append(resident.pk)
                # Written even within one grid, so that ``updated_at`` follows: the screening
                # index learns of moves from it (``screening.index_store``).
                resident.path = place.path
                fields.add("path")
                changed = True
            else:
                residence_fields = self._residence_changes(residence, row)
                if residence_fields:
                    corrected.append(residence)
                    corrected_fields |= residence_fields
                    changed = True
            if fields:
                resident.updated_at = now
                fields.add("updated_at")
                resident_fields |= fields
                changed_residents[resident.pk] = resident
            if changed:
                outcome.updated += 1
            else:
                outcome.unchanged += 1

        if new_residents:
            ids = _insert_residents(new_residents, now)
            outcome.created = len(new_residents)
            for pk, (row, place) in zip(ids, new_residents, strict=True):
                renamed.append((pk, row.name_keys))
                opened.append((pk, row, place))
                if self.into_empty and not row.id_index:
                    self._without_id[row.person_key] = pk
        if absorbed:
            _count_absorbed(absorbed, {row.line for row, _place in new_residents}, outcome)
        if changed_residents:
            Resident.objects.bulk_update(
                list(changed_residents.values()), sorted(resident_fields), batch_size=500
            )
        residents_moved(moved)  # their paths are saved: what follows them follows
        if closed:
            Residence.objects.bulk_update(closed, ["until"], batch_size=500)
        if corrected:
            Residence.objects.bulk_update(corrected, sorted(corrected_fields), batch_size=500)
        _write_name_keys(renamed, replace={pk for pk, _keys in renamed if pk in changed_residents})
        _insert_residences(opened)
        outcome.dwellings_created = self.dwellings_created - created_before
        # The baseline counts of every grid this batch touched: new and old homes.
        touched_paths = {place.path for _r, _row, place in opened}
        touched_paths |= {r.path for r in closed} | {r.path for r in corrected}
        if outcome.dwellings_created:
            touched_paths |= {place.path for _row, place in placed}
        # The use of every dwelling someone moved into or out of, or whose stay changed.
        touched_dwellings = {place.dwelling_id for _r, _row, place in opened}
        touched_dwellings |= {r.dwelling_id for r in closed} | {r.dwelling_id for r in corrected}
        if self.derive_later:
            self.pending_baseline |= touched_paths
            self.pending_uses |= touched_dwellings
        else:
            if touched_paths:
                baseline_refresh(paths=touched_paths)
            dwelling_use_refresh(dwelling_ids=touched_dwellings)
        return outcome

    def _stored(self, placed: list[tuple[ParsedRow, _Place]]) -> _Found:
        """The stored residents the rows are: by ID number (with their current residence),
        else by name and date of birth living in the row's dwelling."""
        by_index: dict[str, Resident] = {}
        indexes = [row.id_index for row, _place in placed if row.id_index]
        if indexes:
            by_index = {
                r.id_index: r
                for r in Resident.objects.filter(_among(Resident, "id_index", indexes))
                if r.id_index
            }
        # Rows not found by ID: the same name and date of birth living in the same dwelling.
        # A row with an ID takes such a resident only if they have no ID number yet.
        unmatched = [(row, place) for row, place in placed if row.id_index not in by_index]
        by_person: dict[tuple[str, date, int], tuple[Resident, Residence]] = {}
        for has_id in (True, False):
            rows_here = [(r, p) for r, p in unmatched if bool(r.id_index) is has_id]
            if not rows_here:
                continue
            # Residents of the same name and date of birth (the ``resident_name_birth``
            # index), then their current residences: starting from the dwellings instead
            # reads everyone living there, a million rows a batch in a crowded registry.
            people = Resident.objects.filter(
                _pairs_among(
                    Resident,
                    ("name", "birth_date"),
                    {(row.name, row.birth_date) for row, _place in rows_here},
                )
            )
            if has_id:
                people = people.filter(id_index__isnull=True)
            by_person.update(
                _living_in(
                    {person.pk: person for person in people},
                    {place.dwelling_id for _row, place in rows_here},
                )
            )
        current: dict[int, Residence] = {}
        if by_index:
            current = {
                r.resident_id: r
                for r in Residence.objects.filter(
                    _among(Residence, "resident", [r.pk for r in by_index.values()]),
                    until__isnull=True,
                )
            }
        return by_index, by_person, current

    def _written_before(self, placed: list[tuple[ParsedRow, _Place]]) -> _Found:
        """``_stored`` for a load into an empty registry (``into_empty``): only the residents
        earlier batches created without an ID number can be a row with one."""
        pks = {
            self._without_id[row.person_key]
            for row, _place in placed
            if row.id_index and row.person_key in self._without_id
        }
        if not pks:
            return {}, {}, {}
        found = {p.pk: p for p in Resident.objects.filter(pk__in=pks, id_index__isnull=True)}
        return {}, _living_in(found, {place.dwelling_id for _row, place in placed}), {}

    def _changes(self, resident: Resident, row: ParsedRow) -> set[str]:
        fields = set()
        for name in ("name", "gender", "birth_date"):
            if getattr(resident, name) != getattr(row, name):
                setattr(resident, name, getattr(row, name))
                fields.add(name)
        for name in ("ethnicity", "notes"):
            if name in self.present and getattr(resident, name) != getattr(row, name):
                setattr(resident, name, getattr(row, name))
                fields.add(name)
        if row.phone_index and resident.phone_index != row.phone_index:
            resident.phone_cipher = row.phone_cipher
            resident.phone_index = row.phone_index
            resident.phone_masked = row.phone_masked
            fields |= {"phone_cipher", "phone_index", "phone_masked"}
        if row.id_index and resident.id_index != row.id_index:
            resident.id_cipher = row.id_cipher
            resident.id_index = row.id_index
            resident.id_masked = row.id_masked
            fields |= {"id_cipher", "id_index", "id_masked"}
        return fields

    def _residence_changes(self, residence: Residence, row: ParsedRow) -> set[str]:
        """Same dwelling: the file corrects relation, registration and move-in date in place
        (the stay is the same stay); a different dwelling is a move, handled by the caller."""
        fields = set()
        if "relation" in self.present and residence.relation != row.relation:
            residence.relation = row.relation
            fields.add("relation")
        if "registered" in self.present and residence.registered != row.registered:
            residence.registered = row.registered
            fields.add("registered")
        if "since" in self.present and residence.since != row.since:
            residence.since = row.since
            fields.add("since")
        return fields


def _living_in(
    found: dict[int, Resident], dwellings: set[int]
) -> dict[tuple[str, date, int], tuple[Resident, Residence]]:
    """Those of ``found`` whose current residence is in ``dwellings``, by (name, date of
    birth, dwelling), with that residence."""
    by_person: dict[tuple[str, date, int], tuple[Resident, Residence]] = {}
    if not found:
        return by_person
    for stay in Residence.objects.filter(
        _among(Residence, "resident", list(found)), until__isnull=True
    ):
        if stay.dwelling_id in dwellings:
            person = found[stay.resident_id]
            by_person[(person.name, person.birth_date, stay.dwelling_id)] = (person, stay)
    return by_person


def _one_row_per_person(
    placed: list[tuple[ParsedRow, _Place]],
) -> tuple[list[tuple[ParsedRow, _Place]], dict[int, ParsedRow]]:
    """A row without an ID number, then a row with one for the same name, date of birth and
    address, are one person: across batches the second finds the resident the first created
    and gives them the ID number. Within a batch the rows are matched before either is
    written, so the row with the ID number takes the other's place here. Returns the rows
    left and, by line, the row each absorbed (counted by ``_count_absorbed``)."""
    kept: list[tuple[ParsedRow, _Place]] = []
    absorbed: dict[int, ParsedRow] = {}
    without_id: dict[bytes, int] = {}  # person key → position in ``kept``
    for row, place in placed:
        if not row.id_index:
            without_id[row.person_key] = len(kept)
        elif (earlier := without_id.pop(row.person_key, None)) is not None:
            absorbed[row.line] = kept[earlier][0]
            kept[earlier] = (row, place)
            continue
        kept.append((row, place))
    return kept, absorbed


def _count_absorbed(
    absorbed: dict[int, ParsedRow], created: set[int], outcome: BatchOutcome
) -> None:
    """Each absorbed row counts as it would have across batches: an update of the resident
    the row absorbing it created, else unchanged; rejected with it, saying so."""
    rejected = {r.line for r in outcome.rejected}
    for line, row in absorbed.items():
        if line in rejected:
            reason = _("the same person as line %(line)d, which was rejected") % {"line": line}
            outcome.rejected.append(RowRejected(row.line, [("name", row.name, reason)]))
        elif line in created:
            outcome.updated += 1
        else:
            outcome.unchanged += 1


# Rows in one SQLite insert statement: more gain nothing (measured on the name keys).
SQLITE_ROWS_PER_STATEMENT = 500

# The resident columns a multi-row insert writes (the demo generator's loader uses them too).
RESIDENT_COLUMNS = (
    "id",
    "name",
    "gender",
    "birth_date",
    "id_cipher",
    "id_index",
    "id_masked",
    "phone_cipher",
    "phone_index",
    "phone_masked",
    "ethnicity",
    "notes",
    "path",
    "created_at",
    "updated_at",
)


def _date_adapter() -> Callable[[date], Any]:
    """A date as the database driver takes it: what ``connection.ops.adapt_datefield_value``
    returns (the ISO text on SQLite, the date itself on PostgreSQL) without its call per row."""
    return date.isoformat if connection.vendor == "sqlite" else _as_is


def _as_is(value: date) -> date:
    return value


def _reserve_ids(n: int) -> list[int]:
    """``n`` fresh resident ids, so new residents can be inserted with a plain multi-row
    insert and still be referred to by their name keys and residences.

    PostgreSQL hands them out from the column's sequence (safe under concurrency). SQLite
    writes one transaction at a time (``BEGIN IMMEDIATE``), so the ids above the largest
    ever handed out (the table's ``sqlite_sequence`` row, or its max id) are free.
    """
    table = Resident._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, n],
            )
            return [row[0] for row in cursor.fetchall()]
        quoted = connection.ops.quote_name(table)
        cursor.execute(
            f"SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM {quoted} UNION ALL "  # noqa: S608  # the model's own table name
            "SELECT seq FROM sqlite_sequence WHERE name = %s)",
            [table],
        )
        top = cursor.fetchone()[0] or 0
    return list(range(top + 1, top + 1 + n))


def _insert_residents(rows: list[tuple[ParsedRow, _Place]], now: datetime) -> list[int]:
    """Insert new residents with a plain multi-row insert; returns their ids in order.

    The values are the ones ``people.services.resident_fill`` would set — the same validated
    input, the numbers protected by the same functions — without building model instances,
    which cost more than the rows themselves here."""
    adapt_date = _date_adapter()
    stamp = connection.ops.adapt_datetimefield_value(now)
    ids = _reserve_ids(len(rows))
    params = []
    for pk, (row, place) in zip(ids, rows, strict=True):
        params.append(
            (
                pk,
                row.name,
                row.gender,
                adapt_date(row.birth_date),
                row.id_cipher,
                row.id_index,
                row.id_masked,
                row.phone_cipher,
                row.phone_index,
                row.phone_masked,
                row.ethnicity,
                row.notes,
                place.path,
                stamp,
                stamp,
            )
        )
    _insert(table=Resident._meta.db_table, columns=RESIDENT_COLUMNS, params=params)
    return ids


def _write_name_keys(residents: list[tuple[int, tuple[str, ...]]], *, replace: set[int]) -> None:
    if replace:
        NameKey.objects.filter(resident_id__in=replace).delete()
    params = [(pk, key) for pk, keys in residents for key in keys]
    if params:
        _insert(table=NameKey._meta.db_table, columns=("resident_id", "key"), params=params)


def _insert_residences(opened: list[tuple[int, ParsedRow, _Place]]) -> None:
    adapt = _date_adapter()
    params = [
        (
            resident_pk,
            place.dwelling_id,
            adapt(row.since),
            None,
            row.relation,
            row.registered,
            place.path,
        )
        for resident_pk, row, place in opened
    ]
    if params:
        _insert(
            table=Residence._meta.db_table,
            columns=(
                "resident_id",
                "dwelling_id",
                "since",
                "until",
                "relation",
                "registered",
                "path",
            ),
            params=params,
        )


def _insert(*, table: str, columns: tuple[str, ...], params: list[tuple[Any, ...]]) -> None:
    """A plain insert of many rows: model instances cost more than the rows themselves here.

    On SQLite, multi-row ``VALUES`` statements, as many rows each as its limit on parameters
    allows: ``executemany`` runs one statement per row, and each pays for itself (three
    times the cost of the row, measured on the name keys). On PostgreSQL the rows are
    streamed with a binary COPY: multi-row ``VALUES`` statements spent most of their time in
    psycopg's parsing of tens of thousands of placeholders (a profile of a 30,000-row import:
    8 s of 25), and binary rows cost both sides less than text (a million-row import: 50 s,
    not 56).
    """
    qn = connection.ops.quote_name
    names = ", ".join(qn(c) for c in columns)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            types = _column_types(cursor, table, columns)
            with cursor.cursor.copy(
                f"COPY {qn(table)} ({names}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(types)
                for row in params:
                    copy.write_row(row)
        return
    # Straight to the driver, with its own placeholders: Django's cursor rewrites each
    # ``%s`` of thousands with a regular expression, a tenth of the insert's time. The
    # statements come in three sizes only, so the driver keeps each prepared (a cache of one
    # statement for every remainder's size held hundreds of megabytes).
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    largest = max(1, min(SQLITE_ROWS_PER_STATEMENT, _sqlite_parameter_limit() // len(columns)))
    raw = connection.connection.cursor()
    try:
        start = 0
        for size in sorted({largest, min(largest, 16), 1}, reverse=True):
            # Table and column names come from the models, quoted; values are parameters.
            rows = ", ".join([one] * size)
            statement = f"INSERT INTO {qn(table)} ({names}) VALUES {rows}"  # noqa: S608
            while len(params) - start >= size:
                raw.execute(statement, list(chain.from_iterable(params[start : start + size])))
                start += size
    finally:
        raw.close()


_TYPES: dict[tuple[str, tuple[str, ...]], list[str]] = {}


def _column_types(cursor: Any, table: str, columns: tuple[str, ...]) -> list[str]:
    """PostgreSQL's type name of each of ``columns``, for a binary COPY (the server parses
    no text then). Read from the catalogue once per table."""
    key = (table, columns)
    if key not in _TYPES:
        cursor.execute(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0",
            [table],
        )
        found = dict(cursor.fetchall())
        _TYPES[key] = [found[column] for column in columns]
    return _TYPES[key]


def _sqlite_parameter_limit() -> int:
    """How many parameters one SQLite statement takes (32,766 since SQLite 3.32; Django
    assumes the old 999)."""
    return int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


def _relax_commit() -> None:
    """On PostgreSQL, let this batch's commit return before its WAL reaches the disk.

    A crash of the database server could then lose the last batches committed, never half
    of one, and never corrupt anything. An import can afford that: running the file again
    is idempotent and writes exactly what was lost. The commits get several times cheaper.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _among(model: type[Model], column: str, values: Collection[Any]) -> RawSQL:
    """``column IN values`` as one parameter however many values there are: a batch looks up
    ten thousand addresses or ID indexes, and Django's ``__in`` prepares each value on its own
    (a tenth of an import's time). PostgreSQL takes an array, SQLite a JSON list."""
    return _pairs_among(model, (column,), [(value,) for value in values])


def _pairs_among(
    model: type[Model], columns: tuple[str, ...], rows: Collection[tuple[Any, ...]]
) -> RawSQL:
    """``(a, b, …) IN rows`` as one parameter per column (PostgreSQL arrays) or one JSON
    list (SQLite), answered by an index on those columns on both."""
    # Table and column names come from the model, quoted; the values are parameters.
    qn = connection.ops.quote_name
    fields: list[Field[Any, Any]] = []
    for column in columns:
        found = model._meta.get_field(column)
        assert isinstance(found, Field)  # noqa: S101  # a concrete column, not a relation
        fields.append(found)
    targets = [f"{qn(model._meta.db_table)}.{qn(f.column or f.attname)}" for f in fields]
    target = targets[0] if len(targets) == 1 else "(" + ", ".join(targets) + ")"
    adapt = connection.ops.adapt_datefield_value
    params: list[Any]
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
        sql = f"{target} IN (SELECT * FROM unnest({arrays}))"  # noqa: S608
        params = [list(values) for values in zip(*rows, strict=True)] or [[] for _ in fields]
    else:
        picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(fields)))
        sql = f"{target} IN (SELECT {picks} FROM json_each(%s))"  # noqa: S608
        cells = [[adapt(v) if isinstance(v, date) else v for v in row] for row in rows]
        params = [json.dumps(cells, ensure_ascii=False)]
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611


def _grid_point(grid: Grid) -> tuple[float, float] | None:
    if not grid.boundary:
        return None
    from safecommunity.places.geo import GeometryError, parse_boundary

    try:
        point = parse_boundary(grid.boundary).representative_point()
    except GeometryError:
        return None
    return (float(point.x), float(point.y))
