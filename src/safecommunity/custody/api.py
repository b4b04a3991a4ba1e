"""Custody register API."""

from ninja import Router

router = Router(tags=["custody"])
