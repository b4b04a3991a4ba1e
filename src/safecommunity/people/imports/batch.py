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

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.scope import Scope
from safecommunity.people import identity
from safecommunity.people.baseline import baseline_refresh
from safecommunity.people.models import NameKey, Residence, Resident
from safecommunity.people.names import name_keys
from safecommunity.people.services import (
    ResidentInput,
    protect_id_number,
    protect_phone,
    resident_fill,
)
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


@dataclass(slots=True)
class ParsedRow:
    line: int
    data: ResidentInput
    id_index: str | None
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


class BatchWriter:
    def __init__(
        self, *, scope: Scope, create_missing_addresses: bool, present: frozenset[str], today: date
    ) -> None:
        self.scope = scope
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
            .filter(standard_address__in=wanted)
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

        by_index: dict[str, Resident] = {}
        indexes = [row.id_index for row, _place in placed if row.id_index]
        if indexes:
            by_index = {
                r.id_index: r for r in Resident.objects.filter(id_index__in=indexes) if r.id_index
            }
        # Rows not found by ID: the same name and date of birth living in the same dwelling.
        # A row with an ID takes such a resident only if they have no ID number yet.
        unmatched = [(row, place) for row, place in placed if row.id_index not in by_index]
        by_person: dict[tuple[str, date, int], tuple[Resident, Residence]] = {}
        if unmatched:
            for stay in Residence.objects.filter(
                until__isnull=True,
                dwelling_id__in={place.dwelling_id for _row, place in unmatched},
                resident__name__in={row.data.name for row, _place in unmatched},
            ).select_related("resident"):
                person = stay.resident
                by_person[(person.name, person.birth_date, stay.dwelling_id)] = (person, stay)
        current: dict[int, Residence] = {}
        if by_index:
            current = {
                r.resident_id: r
                for r in Residence.objects.filter(
                    until__isnull=True, resident_id__in=[r.pk for r in by_index.values()]
                )
            }

        now = timezone.now()
        new_residents: list[tuple[Resident, ParsedRow, _Place]] = []
        changed_residents: dict[int, Resident] = {}
        resident_fields: set[str] = set()
        renamed: list[Resident] = []
        closed: list[Residence] = []
        corrected: list[Residence] = []
        corrected_fields: set[str] = set()
        opened: list[tuple[Resident, ParsedRow, _Place]] = []
        touched: set[int] = set()

        for row, place in placed:
            resident = by_index.get(row.id_index) if row.id_index else None
            residence: Residence | None = None
            if resident is not None:
                residence = current.get(resident.pk)
            else:
                hit = by_person.get((row.data.name, row.data.birth_date, place.dwelling_id))
                if hit is not None and (row.id_index is None or hit[0].id_index is None):
                    resident, residence = hit
            if resident is None:
                new_residents.append((_new_resident(row.data, place, now), row, place))
                continue
            if resident.pk in touched:
                outcome.rejected.append(
                    RowRejected(
                        row.line,
                        [("name", row.data.name, _("the same person as an earlier row; skipped"))],
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
                renamed.append(resident)
            changed = bool(fields)
            if residence is None or residence.dwelling_id != place.dwelling_id:
                if residence is not None:
                    residence.until = row.since
                    closed.append(residence)
                opened.append((resident, row, place))
                if resident.path != place.path:
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
            _insert_residents([r for r, _row, _place in new_residents])
            outcome.created = len(new_residents)
            renamed += [r for r, _row, _place in new_residents]
            opened += new_residents
        if changed_residents:
            Resident.objects.bulk_update(
                list(changed_residents.values()), sorted(resident_fields), batch_size=500
            )
        if closed:
            Residence.objects.bulk_update(closed, ["until"], batch_size=500)
        if corrected:
            Residence.objects.bulk_update(corrected, sorted(corrected_fields), batch_size=500)
        _write_name_keys(renamed, replace={r.pk for r in renamed if r.pk in changed_residents})
        _insert_residences(opened)
        outcome.dwellings_created = self.dwellings_created - created_before
        # The baseline counts of every grid this batch touched: new and old homes.
        touched_paths = {place.path for _r, _row, place in opened}
        touched_paths |= {r.path for r in closed} | {r.path for r in corrected}
        if outcome.dwellings_created:
            touched_paths |= {place.path for _row, place in placed}
        if touched_paths:
            baseline_refresh(paths=touched_paths)
        return outcome

    def _changes(self, resident: Resident, row: ParsedRow) -> set[str]:
        data, fields = row.data, set()
        for name in ("name", "gender", "birth_date"):
            if getattr(resident, name) != getattr(data, name):
                setattr(resident, name, getattr(data, name))
                fields.add(name)
        for name in ("ethnicity", "notes"):
            if name in self.present and getattr(resident, name) != getattr(data, name):
                setattr(resident, name, getattr(data, name))
                fields.add(name)
        if data.phone and resident.phone_index != identity.blind_index(data.phone, purpose="phone"):
            protected = protect_phone(data.phone)
            resident.phone_cipher = protected.cipher
            resident.phone_index = protected.index
            resident.phone_masked = protected.masked
            fields |= {"phone_cipher", "phone_index", "phone_masked"}
        if data.id_number and resident.id_index != row.id_index:
            protected = protect_id_number(data.id_number)
            resident.id_cipher = protected.cipher
            resident.id_index = protected.index
            resident.id_masked = protected.masked
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


def _new_resident(data: ResidentInput, place: _Place, now: Any) -> Resident:
    resident = Resident(path=place.path, created_at=now, updated_at=now)
    resident_fill(resident, data)
    return resident


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


def _insert_residents(residents: list[Resident]) -> None:
    if connection.vendor not in {"postgresql", "sqlite"}:
        Resident.objects.bulk_create(residents)
        return
    adapt_date = connection.ops.adapt_datefield_value
    adapt_time = connection.ops.adapt_datetimefield_value
    for resident, pk in zip(residents, _reserve_ids(len(residents)), strict=True):
        resident.pk = pk
    params = [
        (
            r.pk,
            r.name,
            r.gender,
            adapt_date(r.birth_date),
            r.id_cipher,
            r.id_index,
            r.id_masked,
            r.phone_cipher,
            r.phone_index,
            r.phone_masked,
            r.ethnicity,
            r.notes,
            r.path,
            adapt_time(r.created_at),
            adapt_time(r.updated_at),
        )
        for r in residents
    ]
    _insert(table=Resident._meta.db_table, columns=RESIDENT_COLUMNS, params=params)
    for resident in residents:
        resident._state.adding = False


def _write_name_keys(residents: list[Resident], *, replace: set[int]) -> None:
    if replace:
        NameKey.objects.filter(resident_id__in=replace).delete()
    params = [(r.pk, key) for r in residents for key in sorted(name_keys(r.name))]
    if params:
        _insert(table=NameKey._meta.db_table, columns=("resident_id", "key"), params=params)


def _insert_residences(opened: list[tuple[Resident, ParsedRow, _Place]]) -> None:
    adapt = connection.ops.adapt_datefield_value
    params = [
        (
            resident.pk,
            place.dwelling_id,
            adapt(row.since),
            None,
            row.relation,
            row.registered,
            place.path,
        )
        for resident, row, place in opened
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

    SQLite's ``executemany`` loops in C. On PostgreSQL the rows are streamed with COPY:
    multi-row ``VALUES`` statements spent most of their time in psycopg's parsing of tens of
    thousands of placeholders (a profile of a 30,000-row import: 8 s of 25).
    """
    qn = connection.ops.quote_name
    names = ", ".join(qn(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {qn(table)} ({names}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
            return
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        # Table and column names come from the models, quoted; values are parameters.
        cursor.executemany(f"INSERT INTO {qn(table)} ({names}) VALUES {one}", params)  # noqa: S608


def _grid_point(grid: Grid) -> tuple[float, float] | None:
    if not grid.boundary:
        return None
    from safecommunity.places.geo import GeometryError, parse_boundary

    try:
        point = parse_boundary(grid.boundary).representative_point()
    except GeometryError:
        return None
    return (float(point.x), float(point.y))
