"""Reads for the custody register, every one narrowed to the user's scope by the item's beat
path: an item kept for a beat out of scope is not found (404), even in an office the user
shares with that beat."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from safecommunity.accounts.models import Role, User
from safecommunity.accounts.privacy import may_see_names
from safecommunity.accounts.scope import scope_filter
from safecommunity.custody.models import CustodyItem, CustodyMovement, ItemState
from safecommunity.people import selectors as people
from safecommunity.people.models import Resident
from safecommunity.places.models import Beat
from safecommunity.places.selectors import beat_list

MAX_ID = 2**63 - 1
MAX_QUERY_LENGTH = 100

# The people who work at the office: the beat team and the station above it, and
# administrators. District leaders and city analysts read the register, they do not keep it.
KEEPER_ROLES = frozenset(
    {
        Role.COMMUNITY_OFFICER,
        Role.COMMUNITY_WORKER,
        Role.GRID_WORKER,
        Role.STATION_LEADER,
        Role.ADMIN,
    }
)


def may_keep_custody(user: User) -> bool:
    """Whether ``user`` may take items in, return, hand over, check or dispose of them."""
    return user.is_active and user.role in KEEPER_ROLES


def item_list(*, user: User) -> QuerySet[CustodyItem]:
    return scope_filter(CustodyItem.objects.all(), user)


def item_filter(
    *,
    user: User,
    state: str | None = None,
    kind: str | None = None,
    beat_id: int | None = None,
    q: str = "",
) -> QuerySet[CustodyItem]:
    """Items in scope, newest first, narrowed by state, kind, beat and a search text that
    matches the tag exactly or the owner's name or the description in part. A user who may
    not see names (``accounts.privacy``) searches tags and descriptions only: finding an
    item by a full name would tell them whose keys the office holds."""
    items = item_list(user=user)
    if state:
        items = items.filter(state=state)
    if kind:
        items = items.filter(kind=kind)
    if beat_id is not None:
        items = items.filter(beat_id=beat_id)
    q = q.replace("\x00", "").strip()[:MAX_QUERY_LENGTH]
    if q:
        match = Q(tag=q) | Q(description__contains=q)
        if may_see_names(user):
            match |= Q(owner_name__contains=q)
        items = items.filter(match)
    return items.select_related("office", "beat").order_by("-received_at", "-pk")


def owner_items(*, user: User, resident: Resident) -> QuerySet[CustodyItem]:
    """The items in scope that belong to a registry resident, newest first (for the
    resident's page: "the office keeps a spare key of hers")."""
    return item_filter(user=user).filter(owner=resident)


def item_get(*, user: User, pk: int) -> CustodyItem:
    """One item in scope with its office, beat, owner and staff; ``Http404`` otherwise."""
    if not 0 < pk <= MAX_ID:
        raise Http404
    return get_object_or_404(
        item_list(user=user).select_related(
            "office", "office__station", "beat", "owner", "received_by", "returned_by"
        ),
        pk=pk,
    )


def item_movements(*, item: CustodyItem) -> QuerySet[CustodyMovement]:
    """The trail of an item already fetched through scope, oldest first.

    A hand-over changes the item's path; the trail is the item's, all of it."""
    return item.movements.select_related("staff", "actor", "from_office").order_by("at", "pk")


def state_counts(*, user: User) -> dict[str, int]:
    """How many items in scope are in each state (every state present, zero or more)."""
    counts = dict.fromkeys(ItemState.values, 0)
    rows = item_list(user=user).values_list("state").annotate(n=Count("id")).order_by()
    for state, n in rows:
        counts[state] = n
    return counts


def custody_beats(*, user: User) -> QuerySet[Beat]:
    """Beats in scope whose office can keep items: what the intake and hand-over forms offer."""
    return beat_list(user=user).filter(office__isnull=False).select_related("office")


def owner_choices(*, user: User, q: str, limit: int = 20) -> list[Resident]:
    """Registry residents in scope matching ``q`` (name, pinyin, ID, phone or address), to
    choose an item's owner from; nothing for an empty ``q``."""
    q = q.replace("\x00", "").strip()[:MAX_QUERY_LENGTH]
    if not q:
        return []
    return list(people.resident_filter(user=user, q=q).order_by("name", "pk")[:limit])


def owner_find(*, user: User, pk: int) -> Resident | None:
    """The resident ``pk`` if ``user`` may see them, else ``None``."""
    if not 0 < pk <= MAX_ID:
        return None
    return people.resident_list(user=user).filter(pk=pk).first()
