"""``safecommunity demo [--addr HOST:PORT] [--scale small]``: the demo, one command.

Migrates the SQLite database under ./var (``cli.py`` points settings there and writes the
demo's keys), builds the demo city when the database has no places yet, prints one login
per role and the sample risk list to screen, and serves the site with waitress, a
production WSGI server, rather than ``runserver``. Static files come from WhiteNoise
(settings), so no collectstatic is needed.

While serving, ``safecommunity worker`` runs in a daemon thread of the same process
(``start_worker``), so a list uploaded in the demo is imported and screened without a
second command; Ctrl+C stops both.
"""

from __future__ import annotations

import logging
import threading
import time
from argparse import ArgumentParser
from typing import Any, TextIO

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import connections

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
from safecommunity.demo.screening import risk_list_path
from safecommunity.places.models import Division

logger = logging.getLogger(__name__)

DEFAULT_ADDR = "127.0.0.1:8000"
# After the worker's loop stopped on an error (the database locked for too long, say), wait
# this long before starting it again.
WORKER_RESTART_SECONDS = 5.0


def start_worker(
    stdout: TextIO | OutputWrapper, stderr: TextIO | OutputWrapper
) -> threading.Thread:
    """Run ``safecommunity worker`` (its own loop, through ``call_command``) in a daemon
    thread: background jobs run beside the web server, and the thread never keeps the
    process alive once the server stops. An error ends the loop; it is logged and the loop
    started again, as a supervisor would restart a worker process."""

    def work() -> None:
        while True:
            try:
                call_command("worker", stdout=stdout, stderr=stderr)
            except Exception:
                logger.exception("the demo's background worker stopped; restarting it")
            finally:
                connections.close_all()
            time.sleep(WORKER_RESTART_SECONDS)

    thread = threading.Thread(target=work, name="safecommunity-worker", daemon=True)
    thread.start()
    return thread


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
        sample = risk_list_path()
        if sample.exists():
            # The list the demo screened as `station`: upload it again at …/lists/new/.
            self.stdout.write(f"  screening: {url}screening/ (sample risk list: {sample})")
        if options["no_serve"]:
            return
        import waitress

        from safecommunity.wsgi import application

        start_worker(self.stdout, self.stderr)
        self.stdout.write(
            "Serving with waitress; background jobs (imports, screening) run in this "
            "process (Ctrl+C to stop)."
        )
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
