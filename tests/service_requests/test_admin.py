"""The admin lists services, keys and requests for full-scope administrators only; new keys
come from the command, which prints the key once and stores only its hash."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from safecommunity.service_requests.models import ApiKey
from safecommunity.service_requests.services import api_key_check, api_key_hash
from tests.conftest import World
from tests.service_requests.conftest import en_client_for, file_in_a


def test_administrators_see_services_keys_and_requests(world: World) -> None:
    file_in_a()
    admin = en_client_for(world.users["admin"])
    for url in (
        "/admin/service_requests/service/",
        "/admin/service_requests/service/1/change/",
        "/admin/service_requests/apikey/",
        "/admin/service_requests/servicerequest/",
    ):
        assert admin.get(url).status_code == 200, url
    assert admin.get("/admin/service_requests/apikey/add/").status_code == 403


def test_nobody_else_gets_the_admin(world: World) -> None:
    officer = en_client_for(world.users["officer"])
    assert officer.get("/admin/service_requests/service/").status_code in (302, 403)


def test_the_command_prints_a_new_key_once_and_stores_its_hash(world: World) -> None:
    out = StringIO()
    call_command("open311-key", "12345热线", stdout=out)
    name, key = out.getvalue().strip().split(": ")
    assert name == "12345热线"
    row = ApiKey.objects.get(name=name)
    assert row.key_hash == api_key_hash(key) and key not in row.key_hash
    assert api_key_check(key) == row
    row.active = False
    row.save(update_fields=["active"])
    assert api_key_check(key) is None
