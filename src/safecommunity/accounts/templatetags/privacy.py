"""Template filters for ``accounts.privacy``: ``{% load privacy %}``.

``{{ staff.name|shown_name:user }}`` shows a name whole or masked; ``{% if user|may_see_names %}``
guards what has no masked form (police numbers, phones). Anything but a logged-in ``User``
sees names masked: the safe side when a page is rendered without one.
"""

from __future__ import annotations

from django import template

from safecommunity.accounts import privacy
from safecommunity.accounts.models import User

register = template.Library()


@register.filter
def may_see_names(user: object) -> bool:
    return isinstance(user, User) and user.is_authenticated and privacy.may_see_names(user)


@register.filter
def shown_name(name: object, user: object) -> str:
    text = "" if name is None else str(name)
    return text if may_see_names(user) else privacy.mask_name(text)
