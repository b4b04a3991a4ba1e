"""The custody admin: read only, masked phones, scoped like every admin list."""

from __future__ import annotations

from tests.conftest import client_for
from tests.custody.conftest import Custody


def test_it_lists_and_shows_items_read_only(custody: Custody) -> None:
    client = client_for(custody.world.users["admin"])
    assert client.get("/admin/custody/custodyitem/").status_code == 200
    page = client.get(f"/admin/custody/custodyitem/{custody.item_b.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "138****1111" in body and "13800001111" not in body
    assert client.get("/admin/custody/custodyitem/add/").status_code == 403
    assert client.get("/admin/custody/custodymovement/").status_code == 200
