"""``places.services.beat_at`` lookups per second over the 4,643 city-scale beats.

Target (issue 2): at least 50,000 lookups/s. Builds the city-scale demo into an SQLite file
once (``var/bench/beat_at-city-<seed>.sqlite3``, reused on later runs; ``--rebuild`` to
start over), then times 200,000 lookups of random points across the city's extent, and
200,000 of points known to lie in a beat (dwelling locations). A sample of the random points
is checked against a brute-force shapely test over every grid polygon.

    .venv/bin/python bench/beat_at.py
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from benchsetup import configure, prepare_database

TARGET_PER_SECOND = 50_000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--check", type=int, default=20_000, help="points checked by brute force")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    db = Path("var/bench").resolve() / f"beat_at-city-{args.seed}.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    prepare_database(f"sqlite:///{db}", reuse=not args.rebuild)
    configure(database_url=f"sqlite:///{db}")

    import django

    django.setup()
    import numpy as np
    import shapely
    from django.core.management import call_command

    from safecommunity.demo.generator import build_demo_city
    from safecommunity.demo.progress import TextProgress
    from safecommunity.places.geo import get_locator, parse_boundary
    from safecommunity.places.models import Beat, Division, Dwelling
    from safecommunity.places.services import beat_at

    call_command("migrate", verbosity=0)
    if not Division.objects.exists():
        print(f"building the city-scale demo into {db} …")
        progress = TextProgress(sys.stderr)
        build_demo_city(scale="city", seed=args.seed, progress=progress)
        progress.finish()

    started = time.perf_counter()
    locator = get_locator(force_check=True)
    print(f"beats indexed: {len(locator):,} (index built in {time.perf_counter() - started:.2f} s)")

    rng = random.Random(args.seed)
    city = parse_boundary(Division.objects.get(kind="city").boundary)
    minx, miny, maxx, maxy = city.bounds
    extent = [(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(args.points)]
    homes = list(Dwelling.objects.values_list("lng", "lat"))
    inside = [rng.choice(homes) for _ in range(args.points)]

    def run(points: list[tuple[float, float]]) -> tuple[float, int]:
        hits = 0
        t0 = time.perf_counter()
        for lng, lat in points:
            if beat_at(lat=lat, lng=lng) is not None:
                hits += 1
        return len(points) / (time.perf_counter() - t0), hits

    for label, points in (
        ("random points in the city's extent", extent),
        ("points inside beats (dwellings)", inside),
    ):
        rate, hits = run(points)
        verdict = "OK" if rate >= TARGET_PER_SECOND else "TOO SLOW"
        print(
            f"{label:<36} {rate:>10,.0f} lookups/s   target >= {TARGET_PER_SECOND:,}   {verdict}"
            f"   ({hits / len(points):.1%} in a beat)"
        )

    # Brute force: every grid polygon against every sampled point (boundaries count as in,
    # as they do for the locator, which picks the first beat in code order on a shared edge).
    sample = extent[: args.check // 2] + inside[: args.check // 2]
    xs = np.array([p[0] for p in sample])
    ys = np.array([p[1] for p in sample])
    found: list[set[int]] = [set() for _ in sample]
    for beat_id, boundary in Beat.objects.values_list("id", "grid__boundary"):
        for i in np.flatnonzero(shapely.intersects_xy(parse_boundary(boundary), xs, ys)):
            found[i].add(beat_id)
    agree = 0
    for (lng, lat), truth in zip(sample, found, strict=True):
        hit = beat_at(lat=lat, lng=lng)
        if (hit is None and not truth) or (hit is not None and hit.beat_id in truth):
            agree += 1
    overlaps = sum(1 for t in found if len(t) > 1)
    print(
        f"agreement with brute-force shapely on {len(sample):,} points: {agree / len(sample):.2%}"
        f"   (points on more than one beat: {overlaps})"
    )


if __name__ == "__main__":
    main()
