"""Writes for places. Views, API, CLI and the demo generator all come through here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from safecommunity.accounts.models import User
from safecommunity.accounts.scope import Scope, scope_for
from safecommunity.accounts.services import audit_record
from safecommunity.places.geo import (
    BeatHit,
    GeometryError,
    get_locator,
    invalidate_locator,
    parse_boundary,
    to_geojson_text,
)
from safecommunity.places.models import (
    CODE_DIGITS,
    PARENT_KIND,
    Beat,
    Division,
    DivisionKind,
    Grid,
    PoliceOffice,
    PoliceStation,
)

GRID_CODE_DIGITS = 15


def path_for_code(kind: str, code: str) -> str:
    """The place path of a division or grid from its code (see ``places.models``)."""
    if kind == DivisionKind.CITY:
        return f"{code[0:2]}.{code[2:4]}"
    if kind == DivisionKind.DISTRICT:
        return f"{code[0:2]}.{code[2:4]}.{code[4:6]}"
    if kind == DivisionKind.SUBDISTRICT:
        return f"{path_for_code(DivisionKind.DISTRICT, code[:6])}.{code[6:9]}"
    if kind == DivisionKind.COMMUNITY:
        return f"{path_for_code(DivisionKind.SUBDISTRICT, code[:9])}.{code[9:12]}"
    if kind == "grid":
        return f"{path_for_code(DivisionKind.COMMUNITY, code[:12])}.{code[12:15]}"
    raise ValueError(kind)


def check_code(kind: str, code: str, parent_code: str | None) -> None:
    """Raise ``ValidationError`` unless ``code`` has the right shape for ``kind`` under
    ``parent_code`` (GB/T 2260 for city and district, then GB/T 10114-style extensions)."""
    digits = GRID_CODE_DIGITS if kind == "grid" else CODE_DIGITS[kind]
    if not re.fullmatch(rf"\d{{{digits}}}", code):
        raise ValidationError(
            _("Code “%(code)s” of a %(kind)s must be %(n)d digits.")
            % {"code": code, "kind": kind, "n": digits}
        )
    if kind == DivisionKind.CITY and code[4:6] != "00":
        raise ValidationError(
            _("City code “%(code)s” must end in 00 (GB/T 2260).") % {"code": code}
        )
    if kind == DivisionKind.DISTRICT and parent_code is not None and code[:4] != parent_code[:4]:
        raise ValidationError(
            _("District code “%(code)s” does not lie in city “%(parent)s” (GB/T 2260).")
            % {"code": code, "parent": parent_code}
        )
    if kind in {DivisionKind.SUBDISTRICT, DivisionKind.COMMUNITY, "grid"}:
        assert parent_code is not None  # noqa: S101  # callers pass the parent's code
        if not code.startswith(parent_code):
            raise ValidationError(
                _("Code “%(code)s” must extend its parent's code “%(parent)s”.")
                % {"code": code, "parent": parent_code}
            )


def check_name(name: str) -> None:
    """Raise ``ValidationError`` unless ``name`` fits a division's or grid's name column
    (PostgreSQL refuses a longer one with a database error rather than a message)."""
    limit = Division._meta.get_field("name").max_length
    assert limit is not None  # noqa: S101  # a CharField
    if len(name) > limit:
        raise ValidationError(
            _("Name “%(name)s…” is longer than %(limit)d characters.")
            % {"name": name[:20], "limit": limit}
        )


def division_create(
    *,
    kind: str,
    code: str,
    name: str,
    parent: Division | None,
    boundary: Any = None,
    actor: User | None = None,
) -> Division:
    """Create one division under ``parent`` with its path. Raises ``ValidationError``."""
    if kind not in DivisionKind.values:
        raise ValidationError(_("Unknown division kind “%(kind)s”.") % {"kind": kind})
    expected_parent = PARENT_KIND[kind]
    if expected_parent is None and parent is not None:
        raise ValidationError(_("A city is the root of the tree and has no parent."))
    if expected_parent is not None and (parent is None or parent.kind != expected_parent):
        raise ValidationError(
            _("A %(kind)s must sit under a %(parent)s.") % {"kind": kind, "parent": expected_parent}
        )
    check_code(kind, code, parent.code if parent else None)
    check_name(name)
    text = _boundary_text(boundary) if boundary is not None else ""
    with transaction.atomic():
        if Division.objects.filter(code=code).exists():
            raise ValidationError(_("Division code “%(code)s” already exists.") % {"code": code})
        division = Division.objects.create(
            kind=kind,
            code=code,
            name=name,
            parent=parent,
            path=path_for_code(kind, code),
            boundary=text,
        )
        if actor is not None:
            audit_record(actor=actor, action="division.create", obj=division)
    return division


def grid_create(
    *, community: Division, code: str, name: str, boundary: Any = None, actor: User | None = None
) -> Grid:
    if community.kind != DivisionKind.COMMUNITY:
        raise ValidationError(_("A grid must sit in a community."))
    check_code("grid", code, community.code)
    check_name(name)
    text = _boundary_text(boundary) if boundary is not None else ""
    with transaction.atomic():
        if Grid.objects.filter(code=code).exists():
            raise ValidationError(_("Grid code “%(code)s” already exists.") % {"code": code})
        grid = Grid.objects.create(
            community=community,
            code=code,
            name=name,
            path=path_for_code("grid", code),
            boundary=text,
        )
        if actor is not None:
            audit_record(actor=actor, action="grid.create", obj=grid)
    invalidate_locator()
    return grid


def beat_create(
    *,
    grid: Grid,
    station: PoliceStation,
    code: str,
    name: str,
    office: PoliceOffice | None = None,
    actor: User | None = None,
) -> Beat:
    """Make ``grid`` a beat. A grid is exactly one beat: a second claim is refused by name."""
    if office is not None and office.station_id != station.pk:
        raise ValidationError(
            _("Police office “%(office)s” belongs to another station than “%(station)s”.")
            % {"office": office, "station": station}
        )
    try:
        with transaction.atomic():
            beat = Beat.objects.create(
                grid=grid, station=station, office=office, code=code, name=name, path=grid.path
            )
            if actor is not None:
                audit_record(actor=actor, action="beat.create", obj=beat)
    except IntegrityError as exc:
        existing = Beat.objects.filter(grid=grid).first()
        if existing is not None:
            raise ValidationError(
                _("Grid “%(grid)s” is already beat “%(beat)s”: a grid is exactly one beat.")
                % {"grid": grid.code, "beat": existing.code}
            ) from exc
        raise ValidationError(_("Beat code “%(code)s” already exists.") % {"code": code}) from exc
    invalidate_locator()
    return beat


def beat_at(*, lat: float, lng: float) -> BeatHit | None:
    """The beat (with its grid, station and office ids) whose boundary contains the point."""
    return get_locator().locate(lng, lat)


def _boundary_text(value: Any) -> str:
    try:
        return to_geojson_text(parse_boundary(value))
    except GeometryError as exc:
        raise ValidationError(_("Boundary: %(why)s") % {"why": exc}) from exc


# --- GeoJSON import -------------------------------------------------------------------------

KIND_ORDER = {"city": 0, "district": 1, "subdistrict": 2, "community": 3, "grid": 4}


@dataclass
class BoundaryImportResult:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def boundaries_import(*, data: bytes | str, actor: User | None = None) -> BoundaryImportResult:
    """Import a GeoJSON FeatureCollection of divisions and grids.

    Each feature's properties carry ``code`` and, to create a new place, ``kind``
    (city/district/subdistrict/community/grid), ``name`` and ``parent`` (the parent's code).
    An existing code gets its boundary (and name, if given) replaced.

    The file is one coherent map, so it is all or nothing: every problem is reported with the
    feature's number and code, and if there is any, nothing is written.
    """
    result = BoundaryImportResult()
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        result.errors.append(_("The file is not valid JSON: %(why)s") % {"why": exc})
        return result
    except RecursionError:
        # json's decoder gives up past the interpreter's recursion limit (e.g. "[" × 100000).
        result.errors.append(
            _("The file is not valid JSON: arrays or objects are nested too deeply.")
        )
        return result
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        result.errors.append(_("The file must be a GeoJSON FeatureCollection."))
        return result
    features = document.get("features")
    if not isinstance(features, list):
        result.errors.append(_("The FeatureCollection has no “features” list."))
        return result

    planned: list[tuple[int, dict[str, Any], str]] = []
    seen: dict[str, int] = {}
    for number, feature in enumerate(features, start=1):
        where = _("feature %(n)d") % {"n": number}
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            result.errors.append(_("%(where)s: not a GeoJSON Feature.") % {"where": where})
            continue
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            result.errors.append(
                _("%(where)s: properties must be a JSON object.") % {"where": where}
            )
            continue
        code = str(props.get("code", "")).strip()
        if not code:
            result.errors.append(_("%(where)s: properties.code is missing.") % {"where": where})
            continue
        where = _("feature %(n)d (code %(code)s)") % {"n": number, "code": code}
        if code in seen:
            result.errors.append(
                _("%(where)s: the same code already appears in feature %(first)d.")
                % {"where": where, "first": seen[code]}
            )
            continue
        seen[code] = number
        try:
            text = to_geojson_text(parse_boundary(feature.get("geometry")))
        except GeometryError as exc:
            result.errors.append(_("%(where)s: geometry: %(why)s") % {"where": where, "why": exc})
            continue
        planned.append((number, props, text))
    # Go on even after errors: the features that parsed are still checked against the
    # database (in a transaction that is rolled back), so one run reports every problem.

    kinds = {str(p.get("kind", "")) for _, p, _ in planned}
    planned.sort(key=lambda item: KIND_ORDER.get(str(item[1].get("kind", "")), 9))
    # An actor may only redraw places inside their jurisdiction; the CLI (no actor) may all.
    scope = scope_for(actor) if actor is not None else Scope(prefixes=None)
    try:
        with transaction.atomic():
            for number, props, text in planned:
                _import_feature(number, props, text, result, scope)
            if result.errors:
                raise _Rollback
            if actor is not None:
                audit_record(
                    actor=actor,
                    action="places.boundaries_import",
                    detail={"created": result.created, "updated": result.updated},
                )
    except _Rollback:
        result.created = result.updated = 0
    if "grid" in kinds or not result.errors:
        invalidate_locator()
    return result


class _Rollback(Exception):
    pass


def _import_feature(
    number: int, props: dict[str, Any], text: str, result: BoundaryImportResult, scope: Scope
) -> None:
    code = str(props["code"]).strip()
    where = _("feature %(n)d (code %(code)s)") % {"n": number, "code": code}
    name = str(props.get("name", "")).strip()
    existing: Division | Grid | None = (
        Division.objects.filter(code=code).first() or Grid.objects.filter(code=code).first()
    )
    if existing is not None and not scope.covers(existing.path):
        # Out of scope reads exactly like unknown: the message must not confirm it exists.
        result.errors.append(_unknown_code(where))
        return
    if name:
        try:
            check_name(name)
        except ValidationError as exc:
            result.errors.append(
                _("%(where)s: %(why)s") % {"where": where, "why": "; ".join(exc.messages)}
            )
            return
    if existing is not None:
        existing.boundary = text
        fields = ["boundary"]
        if name:
            existing.name = name
            fields.append("name")
        if isinstance(existing, Grid):
            fields.append("updated_at")
        existing.save(update_fields=fields)
        result.updated += 1
        return
    kind = str(props.get("kind", "")).strip()
    if kind not in KIND_ORDER:
        result.errors.append(_unknown_code(where))
        return
    if not name:
        result.errors.append(_("%(where)s: properties.name is missing.") % {"where": where})
        return
    parent_code = str(props.get("parent", "")).strip()
    parent = Division.objects.filter(code=parent_code).first() if parent_code else None
    if parent is not None and not scope.covers(parent.path):
        parent = None
    if kind == DivisionKind.CITY and not scope.is_everything:
        result.errors.append(
            _("%(where)s: only an administrator without a jurisdiction may add a city.")
            % {"where": where}
        )
        return
    if kind != DivisionKind.CITY and parent is None:
        result.errors.append(
            _("%(where)s: unknown parent division code “%(parent)s”.")
            % {"where": where, "parent": parent_code}
        )
        return
    try:
        if kind == "grid":
            assert parent is not None  # noqa: S101  # checked above
            grid_create(community=parent, code=code, name=name, boundary=json.loads(text))
        else:
            division_create(
                kind=kind, code=code, name=name, parent=parent, boundary=json.loads(text)
            )
    except ValidationError as exc:
        result.errors.append(
            _("%(where)s: %(why)s") % {"where": where, "why": "; ".join(exc.messages)}
        )
        return
    result.created += 1


def _unknown_code(where: str) -> str:
    return _(
        "%(where)s: unknown division code; to create it, give properties.kind "
        "(city, district, subdistrict, community or grid), name and parent."
    ) % {"where": where}
