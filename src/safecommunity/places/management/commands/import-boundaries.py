"""``safecommunity import-boundaries FILE``: divisions and grids from a GeoJSON file.

The file is one coherent map, so the import is all or nothing (``boundaries_import``): every
problem is printed with the feature's number and code, and the command fails without writing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safecommunity.places.services import boundaries_import


class Command(BaseCommand):
    help = "Import division and grid boundaries from a GeoJSON FeatureCollection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a GeoJSON FeatureCollection")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: cannot be read: {exc.strerror}") from exc
        result = boundaries_import(data=data)
        if result.errors:
            for error in result.errors:
                self.stderr.write(f"{path}: {error}")
            raise CommandError(f"{path}: {len(result.errors)} problem(s); nothing was imported.")
        self.stdout.write(f"{path}: created {result.created}, updated {result.updated}")
