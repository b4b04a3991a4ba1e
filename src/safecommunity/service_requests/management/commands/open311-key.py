"""``safecommunity open311-key NAME``: a new Open311 api_key for the client NAME.

The key is printed once; only its SHA-256 is stored. Switch a key off in the admin.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from safecommunity.service_requests.services import api_key_create


class Command(BaseCommand):
    help = "Make an Open311 api_key for a client and print it (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="who the key is for, e.g. 12345 hotline")

    def handle(self, *args: Any, **options: Any) -> None:
        row, key = api_key_create(name=options["name"][:100])
        self.stdout.write(f"{row.name}: {key}")
