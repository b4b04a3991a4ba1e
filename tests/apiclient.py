"""Calling the JSON API in tests: a logged-in client that asks for English, and list bodies."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.conftest import World, client_for


def api_client(world: World, who: str) -> Client:
    client = client_for(world.users[who])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def items(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["items"])
    return body["items"]  # type: ignore[no-any-return]
