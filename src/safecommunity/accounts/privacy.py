"""Whose names a user may see.

DESIGN.md: "A city analyst sees aggregates, not names, unless granted." Scope decides *which*
rows a user sees; this module decides whether the people in them are shown by name. Every
page and API answer that shows a staff member's name, police number or phone asks here.
"""

from __future__ import annotations

from safecommunity.accounts.models import Role, User

VIEW_NAMES_PERMISSION = "accounts.view_names"


def may_see_names(user: User) -> bool:
    """False for a city analyst who has not been granted ``accounts.view_names``; True for
    every other role (their jurisdiction is what they work in, people included)."""
    if user.role == Role.CITY_ANALYST:
        return user.has_perm(VIEW_NAMES_PERMISSION)
    return True


def mask_name(name: str) -> str:
    """The first character and one ``*`` for each of the rest: 马燕 → 马*, 欧阳明 → 欧**."""
    return name[:1] + "*" * max(len(name) - 1, 0)


def shown_name(user: User, name: str) -> str:
    """``name`` as ``user`` may see it: whole, or masked when they may not see names."""
    return name if may_see_names(user) else mask_name(name)
