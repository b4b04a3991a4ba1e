"""Writes for residents' requests: submission (Open311, public page, field work, staff),
assignment, workflow, notes. Every caller comes here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safecommunity.accounts.models import User
    from safecommunity.places.models import Beat, Dwelling


def request_submit(
    *,
    service_code: str,
    description: str,
    beat: Beat | None = None,
    dwelling: Dwelling | None = None,
    lat: float | None = None,
    lng: float | None = None,
    address_string: str | None = None,
    actor: User | None = None,
    source: str = "open311",
    attributes: dict[str, str] | None = None,
    contact: dict[str, str] | None = None,
) -> Any:
    """File a request (state ``new``), routed to a beat by ``beat``, ``dwelling``, the point or
    the address. Contract for field work; the service_requests app implements it."""
    raise NotImplementedError
