"""Shapes of the accounts API (validation and output only)."""

from __future__ import annotations

from ninja import Schema


class JurisdictionOut(Schema):
    """Where a user's scope comes from. ``kind`` is a division kind (city … community),
    ``beat`` or ``station``; a station has no single path (its scope is its beats)."""

    kind: str
    id: int
    code: str
    name: str
    path: str | None


class MeOut(Schema):
    username: str
    name: str
    role: str
    role_label: str
    jurisdiction: JurisdictionOut | None
    # The path prefixes the user sees; ``null`` means everything (an administrator).
    scope: list[str] | None
