"""Public (no login) API of the teams: find my officer."""

from ninja import Router

router = Router(tags=["find my officer"])
