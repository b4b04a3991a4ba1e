"""Reads for the population registry, every one already narrowed to the user's scope.

A resident's scope path is the path of their current dwelling's grid (``Resident.path``);
a resident without a current residence has the empty path and is seen only by users whose
scope is everything. A ``get`` out of scope raises ``Http404``: for that user the resident
does not exist.

Who sees what beyond scope:

- names: ``accounts.privacy`` (a city analyst sees them masked unless granted);
- care tags: only the beat team (``may_see_care_tags``);
- ID and phone numbers: always masked here; the plain value only through
  ``people.services.resident_unmask`` (permission, reason, audit row).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property

from safecommunity.accounts.models import Role, User
from safecommunity.accounts.privacy import may_see_names
from safecommunity.accounts.scope import scope_filter, scope_for
from safecommunity.people import identity
from safecommunity.people.models import (
    CareTag,
    DwellingVerification,
    NameKey,
    Residence,
    Resident,
)
from safecommunity.people.names import query_key
from safecommunity.places.models import Dwelling

if TYPE_CHECKING:
    from safecommunity.people.services import ResidentInput

RESIDENTS_PER_PAGE = 50
# Searches count their results up to here ("1,000+"): counting the 20,000 people whose
# initials are "lj" costs more than the whole rest of the page.
COUNT_CAP = 1000
# Longest search text taken; longer input is cut, never an error.
MAX_QUERY_LENGTH = 100
# Every key sorts below this, so ``key < prefix + KEY_END`` closes the prefix range.
KEY_END = "\uffff"
# Ids are 64-bit; a larger one makes SQLite's driver overflow (a 500), so it is a 404.
MAX_ID = 2**63 - 1

# The beat team (1+2+N and the station above it): the people who check on tagged residents.
CARE_TEAM_ROLES = frozenset(
    {Role.COMMUNITY_OFFICER, Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.STATION_LEADER}
)

_CJK_OR_DIGIT = re.compile(r"[\d\u3400-\u9fff\uf900-\ufaff]")
# An address fragment shorter than this (花园, 3门) matches thousands of dwellings and cannot
# use PostgreSQL's trigram index: such text is searched as a name only.
ADDRESS_MIN_CHARS = 3


def may_see_care_tags(user: User) -> bool:
    """Care tags are for the beat team — community officers, community and grid workers and
    station leaders — not for district leaders, city analysts or administrators (DESIGN.md:
    a care tag is never a stigma label, so it does not travel up the hierarchy)."""
    return user.is_active and user.role in CARE_TEAM_ROLES


def may_edit_residents(user: User) -> bool:
    """Everyone who works a jurisdiction may register and move residents in it; a city
    analyst reads aggregates and writes nothing."""
    return user.is_active and user.role != Role.CITY_ANALYST


def may_unmask(user: User) -> bool:
    return user.has_perm("people.unmask_resident")


# --- lists and details -------------------------------------------------------------------------


def _current_residences() -> Prefetch[Any, Any, Any]:
    """The current residence (at most one, by constraint) with its dwelling and beat, as
    ``resident.current`` (a list of zero or one)."""
    return Prefetch(
        "residences",
        queryset=Residence.objects.filter(until__isnull=True).select_related(
            "dwelling", "dwelling__grid__beat"
        ),
        to_attr="current",
    )


def resident_list(*, user: User) -> QuerySet[Resident]:
    """Every resident in ``user``'s scope (those without a current residence only for users
    who see everything)."""
    return scope_filter(Resident.objects.all(), user)


def resident_get(*, user: User, pk: int) -> Resident:
    """One resident in scope with ``current`` prefetched; ``Http404`` otherwise."""
    if not 0 < pk <= MAX_ID:
        raise Http404
    return get_object_or_404(
        resident_list(user=user).prefetch_related(_current_residences()), pk=pk
    )


def residents_visible(*, user: User, residents: Iterable[Resident]) -> list[Resident]:
    """Those of ``residents`` that ``user`` may see (e.g. possible duplicates, which the
    service finds unscoped)."""
    scope = scope_for(user)
    return [r for r in residents if scope.covers(r.path)]


def resident_history(*, resident: Resident) -> QuerySet[Residence]:
    """All residences of a resident already fetched through a scoped selector, newest first.

    Past residences may lie outside the user's scope; their dwelling's address is part of the
    person's record, which the user may see."""
    return resident.residences.select_related("dwelling", "dwelling__grid__beat").order_by(
        "-since", "-pk"
    )


def resident_care_tags(*, user: User, resident: Resident) -> list[CareTag] | None:
    """The resident's care tags, or ``None`` when ``user`` may not see care tags at all."""
    if not may_see_care_tags(user):
        return None
    return list(resident.care_tags.order_by("kind"))


def dwelling_choices(*, user: User, q: str = "", limit: int = 20) -> QuerySet[Dwelling]:
    """Dwellings in scope whose standard address contains ``q``, for a search-as-you-type
    select (a city has millions: never list them all)."""
    dwellings = scope_filter(Dwelling.objects.all(), user)
    q = q.replace("\x00", "").strip()[:MAX_QUERY_LENGTH]
    if q:
        dwellings = dwellings.filter(standard_address__contains=q)
    return dwellings.order_by("standard_address", "pk")[:limit]


def dwelling_find(*, user: User, pk: int) -> Dwelling | None:
    """The dwelling ``pk`` with its grid and beat if it lies in ``user``'s scope, else
    ``None``."""
    if not 0 < pk <= MAX_ID:
        return None
    return scope_filter(Dwelling.objects.filter(pk=pk), user).select_related("grid__beat").first()


def candidate_with_id(data: ResidentInput, candidates: list[Resident]) -> Resident | None:
    """Among possible duplicates, the one with the entered ID number: the same person, not a
    possible one."""
    if not data.id_number:
        return None
    index = identity.blind_index(data.id_number, purpose="id")
    return next((c for c in candidates if c.id_index == index), None)


def dwelling_get(*, user: User, pk: int) -> Dwelling:
    """``dwelling_find``, or ``Http404``: for that user the dwelling does not exist."""
    dwelling = dwelling_find(user=user, pk=pk)
    if dwelling is None:
        raise Http404
    return dwelling


def dwelling_residents(*, dwelling: Dwelling) -> QuerySet[Residence]:
    """Who lives in ``dwelling`` now, oldest stay first (its scope was checked with it)."""
    return (
        Residence.objects.filter(dwelling=dwelling, until__isnull=True)
        .select_related("resident")
        .order_by("since", "pk")
    )


def dwelling_verifications(*, dwelling: Dwelling, limit: int = 10) -> list[DwellingVerification]:
    """The latest verified stamps, newest first; the first is the dwelling's stamp."""
    return list(
        DwellingVerification.objects.filter(dwelling=dwelling)
        .select_related("verified_by")
        .order_by("-verified_at", "-pk")[:limit]
    )


# --- search ------------------------------------------------------------------------------------


class SearchMode(StrEnum):
    ALL = "all"  # no search text: the whole (filtered) list
    ID = "id"  # exact, through the ID blind index
    PHONE = "phone"  # exact, through the phone blind index
    TEXT = "text"  # name prefix (characters, pinyin, initials) and address fragment


def search_mode(q: str) -> tuple[SearchMode, str]:
    """What the search box's text is, and the normalised value to look up.

    An 18-character ID shape (full-width digits folded, spaces and dashes dropped) is an ID
    number — the checksum is not checked: a mistyped ID simply finds nobody. Text that
    ``identity.normalize_phone`` accepts is a phone number. Anything else is a name or an
    address fragment.
    """
    # PostgreSQL refuses NUL in text; nothing stored contains one.
    q = q.replace("\x00", "").strip()[:MAX_QUERY_LENGTH]
    if not q:
        return SearchMode.ALL, ""
    number = identity.normalize_id_number(q)
    if identity.ID_SHAPE.fullmatch(number):
        return SearchMode.ID, number
    try:
        return SearchMode.PHONE, identity.normalize_phone(q)
    except identity.IdentityError:
        pass
    return SearchMode.TEXT, q


def _is_address_fragment(value: str) -> bool:
    return len(value) >= ADDRESS_MIN_CHARS and _CJK_OR_DIGIT.search(value) is not None


def resident_filter(
    *,
    user: User,
    q: str = "",
    registered: bool | None = None,
    care_tag: str | None = None,
    addresses: bool = True,
) -> QuerySet[Resident]:
    """The residents in scope matching the search box and the filters, unordered.

    - ID or phone: one indexed equality on the blind index.
    - Text: residents with a name key in the prefix range ``[key, key + U+FFFF)`` — one
      B-tree range on ``NameKey(key, resident)`` on SQLite and PostgreSQL alike, so
      ``zhangsan``, ``zs`` and ``张三`` all find 张三 and each reading of 曾/单/解/区 finds its
      surname — or, when the text has a Chinese character or a digit, whose current dwelling's
      standard address contains it (a trigram index on PostgreSQL, a scan of the dwellings in
      scope on SQLite; skipped for pure Latin text, which no standard address holds, for
      text shorter than ``ADDRESS_MIN_CHARS``, and when ``addresses`` is false).
    - ``registered``: the current residence is registered (户籍) or not (流动).
    - ``care_tag``: residents with that tag; ignored for users who may not see care tags, so
      the filter cannot be used to learn who is tagged.

    Each condition is a semi-join on the resident (``pk IN (…)`` or a join on a unique row),
    so no resident appears twice and no ``DISTINCT`` is needed.
    """
    residents = resident_list(user=user)
    mode, value = search_mode(q)
    if mode == SearchMode.ID:
        residents = residents.filter(id_index=identity.blind_index(value, purpose="id"))
    elif mode == SearchMode.PHONE:
        residents = residents.filter(phone_index=identity.blind_index(value, purpose="phone"))
    elif mode == SearchMode.TEXT:
        key = query_key(value)
        keys = NameKey.objects.filter(key__gte=key, key__lt=key + KEY_END)
        if _drive_from_residents(user) and not (addresses and _is_address_fragment(value)):
            # A beat's few thousand residents, each probed for a matching key, cost less
            # than following "wj"'s twenty thousand keys across the city to each resident.
            return _with_filters(
                residents.filter(Exists(keys.filter(resident=OuterRef("pk")))),
                user=user,
                registered=registered,
                care_tag=care_tag,
            )
        by_name = keys.values_list("resident_id", flat=True)
        matches: QuerySet[Any, Any] = by_name
        if addresses and _is_address_fragment(value):
            # Dwellings first (narrowed by the scope's path prefix), then their current
            # residences through the (dwelling, until) index.
            dwellings = scope_filter(
                Dwelling.objects.filter(standard_address__contains=value), user
            ).values("pk")
            by_address = Residence.objects.filter(
                dwelling_id__in=dwellings, until__isnull=True
            ).values_list("resident_id", flat=True)
            # One ``IN (… UNION …)``: the planner joins the few ids to the primary key,
            # where ``IN (…) OR IN (…)`` makes PostgreSQL scan every resident.
            matches = by_name.union(by_address)
        residents = residents.filter(pk__in=matches)
    return _with_filters(residents, user=user, registered=registered, care_tag=care_tag)


def _with_filters(
    residents: QuerySet[Resident], *, user: User, registered: bool | None, care_tag: str | None
) -> QuerySet[Resident]:
    if registered is not None:
        residents = residents.filter(
            residences__until__isnull=True, residences__registered=registered
        )
    if care_tag and may_see_care_tags(user):
        residents = residents.filter(care_tags__kind=care_tag)
    return residents


# A path of this many parts is a grid's: a beat's jurisdiction.
GRID_PATH_PARTS = 6


def _drive_from_residents(user: User) -> bool:
    """Whether a name search should start from the residents in scope rather than from the
    name keys: on SQLite, for users whose scope is a few beats (each a grid path), whose
    residents its path-range index lists directly. PostgreSQL plans this well by itself."""
    if connection.vendor != "sqlite":
        return False
    prefixes = scope_for(user).prefixes
    if not prefixes:
        return False
    return all(p.count(".") + 1 >= GRID_PATH_PARTS for p in prefixes)


class CappedPaginator(Paginator):  # type: ignore[type-arg]  # generic in the stubs only
    """Counts at most ``COUNT_CAP`` rows (``SELECT COUNT(*) FROM (… LIMIT cap + 1)``), so a
    broad search costs the same as a narrow one; ``capped`` says the true count is larger."""

    capped = False

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, list):  # fetched whole already (see resident_search)
            n = len(self.object_list)
        else:
            rows: QuerySet[Resident] = self.object_list  # type: ignore[assignment]
            n = rows.order_by()[: COUNT_CAP + 1].count()  # no ORDER BY: any 1,001 will do
        self.capped = n > COUNT_CAP
        return min(n, COUNT_CAP)


@dataclass(frozen=True)
class ResidentSearch:
    """A page of results. Each resident carries ``current`` (zero or one current residence
    with its dwelling and beat) and, for the beat team, ``tags`` (their care tags)."""

    mode: SearchMode
    page: Page[Resident]
    names_shown: bool
    care_tags_shown: bool
    addresses_searched: bool = False

    @property
    def capped(self) -> bool:
        """More than ``COUNT_CAP`` matched: the count shown is a lower bound."""
        return bool(getattr(self.page.paginator, "capped", False))


def resident_search(
    *,
    user: User,
    q: str = "",
    page: int | str | None = 1,
    registered: bool | None = None,
    care_tag: str | None = None,
    addresses: bool = True,
    per_page: int = RESIDENTS_PER_PAGE,
) -> ResidentSearch:
    """One page of ``resident_filter``, newest record first, in a fixed number of queries
    (the capped count, the page, the current residences, the care tags when shown) whatever
    its length.

    Ordered by primary key, not by name: with ``ORDER BY name LIMIT 50`` PostgreSQL walks the
    name index probing every resident until it has 50 matches — seconds for "wj", whose
    matches all sit under 王 — while in key order the matches are spread evenly and the first
    50 come quickly, or the planner fetches the few matches and sorts them.

    A page number out of range or malformed gives the last or first page, never an error.
    """
    mode, value = search_mode(q)
    tags_shown = may_see_care_tags(user)
    residents = resident_filter(
        user=user, q=q, registered=registered, care_tag=care_tag, addresses=addresses
    )
    lookups: list[Prefetch[Any, Any, Any]] = [_current_residences()]
    if tags_shown:
        lookups.append(
            Prefetch("care_tags", queryset=CareTag.objects.order_by("kind"), to_attr="tags")
        )
    addresses_searched = mode == SearchMode.TEXT and addresses and _is_address_fragment(value)
    # With names and addresses together PostgreSQL misjudges how many residents match (a
    # hundred, for one), and for a short page walks the whole primary key backwards looking
    # for them: 300 ms. Ordering by an expression takes that walk away from it, so it finds
    # the few matches first and sorts them.
    order = (F("pk") + 0).desc() if addresses_searched else F("pk").desc()
    ordered = residents.order_by(order).prefetch_related(*lookups)
    # An ID number finds one resident, a phone number a household: fetched whole at once,
    # they need no query of their own to be counted (a millisecond of the 5 allowed).
    listed: QuerySet[Resident] | list[Resident] = (
        list(ordered[: COUNT_CAP + 1]) if mode in (SearchMode.ID, SearchMode.PHONE) else ordered
    )
    return ResidentSearch(
        mode=mode,
        page=CappedPaginator(listed, per_page).get_page(page),
        names_shown=may_see_names(user),
        care_tags_shown=tags_shown,
        addresses_searched=addresses_searched,
    )
