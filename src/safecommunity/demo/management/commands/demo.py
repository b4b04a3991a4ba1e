"""``safecommunity demo [--addr HOST:PORT] [--scale small]``: the demo, one command.

Migrates the SQLite database under ./var (``cli.py`` points settings there and writes the
demo's keys), builds the demo city when the database has no places yet, prints one login
per role and serves the site with waitress, a production WSGI server, rather than
``runserver``. Static files come from WhiteNoise (settings), so no collectstatic is needed.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from safecommunity.accounts.models import User
from safecommunity.demo.generator import (
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEMO_USERNAMES,
    DemoCityError,
    build_demo_city,
)
from safecommunity.demo.progress import TextProgress, raw_stream
from safecommunity.demo.scales import SCALES
from safecommunity.places.models import Division

DEFAULT_ADDR = "127.0.0.1:8000"


def parse_addr(addr: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``PORT`` → (host, port). Raises ``CommandError`` naming the problem."""
    host, _, port = addr.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--addr {addr!r}: expected HOST:PORT, e.g. {DEFAULT_ADDR}.")
    return host, int(port)


class Command(BaseCommand):
    help = "Migrate, build the demo city if the database is empty, print the logins and serve."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--addr", default=DEFAULT_ADDR, help="HOST:PORT to serve on")
        parser.add_argument("--scale", choices=list(SCALES), default="small")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--no-serve", action="store_true", help="prepare the database and stop")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = parse_addr(options["addr"])
        self.stdout.write("Migrating the database…")
        call_command("migrate", interactive=False, verbosity=0)
        if not Division.objects.exists():
            self.stdout.write(f"Building the {options['scale']} demo city…")
            progress = TextProgress(raw_stream(self.stderr))
            try:
                summary = build_demo_city(
                    scale=options["scale"], seed=options["seed"], progress=progress
                )
            except DemoCityError as exc:
                raise CommandError(str(exc)) from exc
            finally:
                progress.finish()
            residents = f" and {summary['residents']:,} residents" if "residents" in summary else ""
            self.stdout.write(
                f"Built {summary['beats']:,} beats, {summary['dwellings']:,} dwellings"
                f"{residents} in {summary['seconds']:.1f} s."
            )
        self._print_logins()
        url = f"http://{'127.0.0.1' if host in {'0.0.0.0', '::'} else host}:{port}/"  # noqa: S104  # only compared, to print a reachable URL
        self.stdout.write(self.style.SUCCESS(f"Safe Community demo: {url}"))
        # What residents and Open311 clients use, without a login.
        self.stdout.write(
            f"  residents: {url}help/ (ask for help), {url}officer/ (find my officer)"
        )
        self.stdout.write(f"  Open311:   {url}open311/v2/discovery.json (api_key demo-key)")
        if options["no_serve"]:
            return
        import waitress

        from safecommunity.wsgi import application

        self.stdout.write("Serving with waitress (Ctrl+C to stop).")
        waitress.serve(application, host=host, port=port, threads=8)

    def _print_logins(self) -> None:
        users = {
            u.username: u
            for u in User.objects.filter(username__in=DEMO_USERNAMES).select_related(
                "jurisdiction_division", "jurisdiction_beat", "jurisdiction_station"
            )
        }
        if not users:
            self.stdout.write("No demo logins in this database (it was not built by the demo).")
            return
        self.stdout.write(f"Logins (password “{DEMO_PASSWORD}” unless changed since):")
        for username in DEMO_USERNAMES:
            user = users.get(username)
            if user is None:
                continue
            where = (
                user.jurisdiction_division
                or user.jurisdiction_beat
                or user.jurisdiction_station
                or "—"
            )
            self.stdout.write(
                f"  {username:<9} {DEMO_PASSWORD:<5} {user.get_role_display():<20} {where}"
            )
