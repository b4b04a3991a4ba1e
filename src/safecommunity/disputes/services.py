"""Writes for disputes: intake, transitions, mediation sessions. Pages, API, CLI, field work
and the demo all come here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safecommunity.accounts.models import User
    from safecommunity.places.models import Beat, Dwelling


def dispute_report(
    *,
    actor: User | None,
    beat: Beat,
    source: str,
    category: str,
    description: str,
    dwelling: Dwelling | None = None,
    risk: str = "low",
    parties: Sequence[dict[str, Any]] = (),
) -> Any:
    """Take in a dispute (state ``reported``). Contract for field work; the disputes app
    implements it. ``parties``: dicts with ``resident`` (a people.Resident) or ``name`` (a
    person not in the registry), optional ``phone`` and ``role``."""
    raise NotImplementedError
