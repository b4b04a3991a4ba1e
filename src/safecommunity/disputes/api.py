"""Disputes API."""

from ninja import Router

router = Router(tags=["disputes"])
