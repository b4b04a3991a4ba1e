"""Jurisdiction scope: the one mechanism that decides which place-bound rows a user sees.

Every place-bound row carries the path of its grid (``places.models``). A user's scope is a
set of path prefixes derived from the jurisdiction; ``scope_filter`` narrows any queryset to
rows whose path lies under one of them. Selectors call it for every list and detail, so an
object out of scope is simply not found (404), never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.db import connection
from django.db.models import Model, Q, QuerySet

from safecommunity.accounts.models import Role

if TYPE_CHECKING:
    from safecommunity.accounts.models import User

M = TypeVar("M", bound=Model)

# Cached on the user object for the life of one request.
_CACHE_ATTR = "_safecommunity_scope"


class NoJurisdiction(Exception):
    """Raised for a non-administrator without a jurisdiction: they must see nothing."""


@dataclass(frozen=True)
class Scope:
    """``prefixes is None`` means everything (an administrator without jurisdiction)."""

    prefixes: tuple[str, ...] | None

    @property
    def is_everything(self) -> bool:
        return self.prefixes is None

    def covers(self, path: str) -> bool:
        if self.prefixes is None:
            return True
        return any(path == p or path.startswith(p + ".") for p in self.prefixes)

    def touches(self, path: str) -> bool:
        """True when ``path`` lies inside this scope or contains part of it.

        A place above the jurisdiction that holds some of it — the community of a beat user,
        say — touches the scope without being covered by it: a beat officer may see the posts
        of their own community's committees, not those of a community next door.
        """
        if self.prefixes is None:
            return True
        return self.covers(path) or any(p.startswith(path + ".") for p in self.prefixes)

    def q(self, field: str = "path") -> Q:
        """A Q object selecting rows whose ``field`` (a path) lies inside this scope."""
        if self.prefixes is None:
            return Q()
        if not self.prefixes:
            return Q(pk__in=[])
        # SQLite cannot answer LIKE 'prefix%' from an index (its LIKE ignores case), so there
        # the prefix is a range: paths are digits and dots, and '/' sorts right after '.', so
        # [prefix + ".", prefix + "/") holds exactly the paths that start with prefix + ".".
        # PostgreSQL keeps LIKE: its pattern index answers it, and under a collation other
        # than C a range of strings need not be a range of bytes.
        as_range = connection.vendor == "sqlite"
        q = Q()
        for prefix in self.prefixes:
            if as_range:
                below = Q(**{f"{field}__gte": prefix + ".", f"{field}__lt": prefix + "/"})
            else:
                below = Q(**{f"{field}__startswith": prefix + "."})
            q |= Q(**{field: prefix}) | below
        return q


def scope_for(user: User) -> Scope:
    """The scope of ``user``. Anonymous or inactive users see nothing."""
    cached: Scope | None = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    scope = _compute(user)
    setattr(user, _CACHE_ATTR, scope)
    return scope


def _compute(user: User) -> Scope:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope(prefixes=())
    if user.jurisdiction_division_id is not None:
        assert user.jurisdiction_division is not None  # noqa: S101  # FK id set ⇒ row exists
        return Scope(prefixes=(user.jurisdiction_division.path,))
    if user.jurisdiction_beat_id is not None:
        assert user.jurisdiction_beat is not None  # noqa: S101
        return Scope(prefixes=(user.jurisdiction_beat.path,))
    if user.jurisdiction_station_id is not None:
        from safecommunity.places.models import Beat

        paths = Beat.objects.filter(station_id=user.jurisdiction_station_id).values_list(
            "path", flat=True
        )
        return Scope(prefixes=tuple(sorted(paths)))
    if user.role == Role.ADMIN:
        return Scope(prefixes=None)
    # The database forbids this; a row changed behind its back still sees nothing.
    return Scope(prefixes=())


def scope_filter(
    queryset: QuerySet[M], user: User, *, via: str = "path", distinct: bool = False
) -> QuerySet[M]:
    """Narrow ``queryset`` to ``user``'s scope.

    ``via`` names the path field to test, possibly across a relation (``"beat__path"``).
    Pass ``distinct=True`` when ``via`` crosses a to-many relation (``"beats__path"``).
    """
    scope = scope_for(user)
    if scope.is_everything:
        return queryset
    filtered = queryset.filter(scope.q(via))
    return filtered.distinct() if distinct else filtered
