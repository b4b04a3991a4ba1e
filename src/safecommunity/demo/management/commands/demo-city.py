"""``safecommunity demo-city --scale small|district|city [--seed N] [--residents|--no-residents]``:
build the demo city.

The small (≈ 50,000 residents) and district (≈ 500,000) scales fill the dwellings with
residents by default; the city scale builds the structure and teams only unless given
``--residents``.

Builds only into an empty database (no places, none of the demo usernames): the demo never
mixes with real data, and a half-built city cannot happen (one transaction).
"""

from __future__ import annotations

from argparse import ArgumentParser, BooleanOptionalAction
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from safecommunity.demo.generator import DEFAULT_SEED, DemoCityError, build_demo_city
from safecommunity.demo.progress import TextProgress, raw_stream
from safecommunity.demo.scales import SCALES


class Command(BaseCommand):
    help = "Build the deterministic demo city (Tianjin-shaped) into an empty database."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--scale", choices=list(SCALES), default="small")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument(
            "--residents",
            action=BooleanOptionalAction,
            default=None,
            help="fill the dwellings with residents (default: yes, except at city scale)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        progress = TextProgress(raw_stream(self.stderr))
        try:
            summary = build_demo_city(
                scale=options["scale"],
                seed=options["seed"],
                progress=progress,
                residents=options["residents"],
            )
        except DemoCityError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            progress.finish()
        print_summary(self.stdout.write, summary)


def print_summary(write: Any, summary: dict[str, Any]) -> None:
    """The counts of a build, one per line, then the broken beats and the time taken."""
    write(f"Demo city built: scale {summary['scale']}, seed {summary['seed']}.")
    skip = {"scale", "seed", "broken_beats", "logins", "seconds", "plan_seconds"}
    for key, value in summary.items():
        if key not in skip:
            write(f"  {key.replace('_', ' '):<20} {value:>9,}")
    write(f"  beats breaking 1+2+N {len(summary['broken_beats']):>9,}")
    for code, why in summary["broken_beats"].items():
        write(f"    {code}  {why.replace('_', ' ')}")
    write(f"Elapsed: {summary['seconds']:.1f} s (planning {summary['plan_seconds']:.1f} s).")
