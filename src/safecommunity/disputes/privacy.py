"""How the people of a dispute are shown: names through ``accounts.privacy`` (masked for a
user who may not see names), phone numbers only ever masked — and not even masked to such a
user."""

from __future__ import annotations

import re
from dataclasses import dataclass

from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import may_see_names, shown_name
from safecommunity.disputes.models import Party

_NAME_SEPARATORS = re.compile(r"([、,，;；]\s*)")


@dataclass(frozen=True)
class ShownParty:
    name: str
    role: str
    role_label: str
    resident_id: int | None
    phone: str  # masked, or empty


def shown_party(user: User, party: Party) -> ShownParty:
    name = party.resident.name if party.resident is not None else party.name
    phone = party.resident.phone_masked if party.resident is not None else party.phone_masked
    return ShownParty(
        name=shown_name(user, name),
        role=party.role,
        role_label=str(party.get_role_display()),
        resident_id=party.resident_id,
        phone=phone if may_see_names(user) else "",
    )


def shown_names(user: User, text: str) -> str:
    """A list of names as typed (``马燕、王强``), each masked for a user who may not see
    names; the separators are kept."""
    if may_see_names(user):
        return text
    parts = _NAME_SEPARATORS.split(text)
    return "".join(p if _NAME_SEPARATORS.fullmatch(p) else shown_name(user, p) for p in parts)


def shown_text(user: User, text: str) -> str:
    """Free text a mediator wrote about people (a session's notes, an agreement): it names
    them in ways no mask can find, so a user who may not see names gets none of it."""
    return text if may_see_names(user) else ""
