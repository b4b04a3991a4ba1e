"""Field work API."""

from ninja import Router

router = Router(tags=["fieldwork"])
