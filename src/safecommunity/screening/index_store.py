"""The screening index of the registry, between Django and the engine.

The engine (``screening.engine``) keeps the registry in the form it matches against: built
once, kept current, so a run pays only for its risk list. This module feeds it from the
database and keeps it current:

- ``registry_rows`` streams residents as Arrow tables with the engine's ``REGISTRY_COLUMNS``:
  what the registry stores outside its ciphertexts (blind indexes, masked numbers), the name,
  birth date, gender, path and the standard address of the current dwelling. Nothing here
  decrypts an ID or phone number, so the index never holds one in clear;
- ``index_build`` builds the index under ``DATA_DIR/screening/index`` (a folder; the engine
  replaces it whole only once the new one is complete);
- ``index_refresh`` brings it up to date: residents changed since the watermark kept in the
  index's meta (``Resident.updated_at``, which every write path bumps — moving house too, see
  ``people.services._open_residence``) are upserted; when the index and the registry then
  disagree on the number of residents (a resident deleted or merged away, or rows of a
  long transaction committed behind the watermark) the two sets of ids are compared and
  reconciled;
- ``index_open`` gives a current index, building it on first use.

Writers and runs take ``index_lock`` (a lock file beside the index; ``index_session``), so a
worker and the command line never write the index at once, nor change it under a run. A
nightly ``safecommunity screening-index --rebuild`` repairs anything a refresh could miss.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from django.conf import settings
from django.db import connection
from django.db.models import FilteredRelation, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.people.models import Residence, Resident
from safecommunity.places.models import Dwelling
from safecommunity.screening.engine import REGISTRY_SCHEMA, ScreeningIndex

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

CHUNK = 50_000
# Residents changed this long before the last refresh began are read again: a transaction
# that began before the refresh may commit a change stamped before the watermark.
WATERMARK_MARGIN = timedelta(minutes=10)
# A refresh that would upsert more than this share of the index rebuilds it instead.
REBUILD_SHARE = 0.2
# A refresh reading more changed residents than this first updates the planner's statistics.
STATISTICS_AFTER = 5_000
# The delta is folded into the base when it grows past this share of the base.
COMPACT_SHARE = 0.1
LOCK_TIMEOUT = 300.0  # below the worker's STALE_AFTER: a run waiting for the lock is alive

META_WATERMARK = "watermark"
META_DATABASE = "database"

SCHEMA = REGISTRY_SCHEMA


class IndexBusy(RuntimeError):
    """Another process has been writing the index for longer than ``LOCK_TIMEOUT``."""


@dataclass
class RefreshResult:
    upserted: int = 0
    deleted: int = 0
    rebuilt: bool = False
    compacted: bool = False
    size: int = 0


def index_folder() -> Path:
    """Read from settings on each call: tests point ``DATA_DIR`` at a folder of their own."""
    return Path(settings.DATA_DIR) / "screening" / "index"


def _database_identity() -> str:
    """Which database an index was built from: an index of another database (a restored
    backup, a second installation sharing the folder) is rebuilt, not trusted."""
    name = str(connection.settings_dict.get("NAME") or "")
    return f"{connection.vendor}:{name}"


@contextmanager
def index_lock(timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the index's write lock (waiting up to ``timeout`` seconds for another writer)."""
    folder = index_folder().parent
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "index.lock").open("a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexBusy(
                        _("The screening index is in use by another process; try again later.")
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- registry rows ----------------------------------------------------------------------------


def _registry_queryset() -> QuerySet[Resident, Any]:
    return Resident.objects.annotate(
        current=FilteredRelation("residences", condition=Q(residences__until__isnull=True))
    )


_VALUES = (
    "pk",
    "name",
    "birth_date",
    "gender",
    "id_index",
    "id_masked",
    "phone_index",
    "phone_masked",
    "current__dwelling__standard_address",
    "path",
)


def _table(rows: list[tuple[Any, ...]]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(_VALUES)
    rid, name, birth, gender, id_key, id_masked, phone_key, phone_masked, address, path = columns

    def blank_is_null(values: tuple[Any, ...]) -> list[Any]:
        return [v or None for v in values]

    return pa.table(
        [
            pa.array(rid, pa.int64()),
            pa.array(name, pa.string()),
            pa.nulls(len(rows), pa.string()),  # the engine reads the pinyin itself
            pa.array(birth, pa.date32()),
            pa.array(blank_is_null(gender), pa.string()),
            pa.array(id_key, pa.string()),
            pa.array(blank_is_null(id_masked), pa.string()),
            pa.array(phone_key, pa.string()),
            pa.array(blank_is_null(phone_masked), pa.string()),
            pa.array(address, pa.string()),
            pa.array(path, pa.string()),
        ],
        schema=SCHEMA,
    )


def registry_rows(
    chunk: int = CHUNK, *, where: Q | None = None, pks: np.ndarray | None = None
) -> Iterator[pa.Table]:
    """Residents (all, those matching ``where``, or those whose id is in ``pks``) as Arrow
    tables of at most ``chunk`` rows with ``REGISTRY_COLUMNS``, in id order. Each chunk is
    one query, after the last id of the one before (no OFFSET, no cursor held open)."""
    if pks is not None:
        for start in range(0, len(pks), chunk):
            part = [int(p) for p in pks[start : start + chunk]]
            rows = list(
                _registry_queryset().filter(pk__in=part).order_by("pk").values_list(*_VALUES)
            )
            if rows:
                yield _table(rows)
        return
    queryset = _registry_queryset()
    if where is not None:
        queryset = queryset.filter(where)
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk").values_list(*_VALUES)[:chunk])
        if not rows:
            return
        yield _table(rows)
        last = rows[-1][0]


# --- building and keeping current ----------------------------------------------------------------


def index_build(progress: Progress | None = None) -> ScreeningIndex:
    """Build the index from the whole registry (replacing any index there was)."""
    with index_lock():
        return _build(progress)


def _fresh_statistics() -> None:
    """On PostgreSQL, statistics for the tables the registry rows are read from. Right after a
    bulk load (the demo city, a first import, inside one transaction) the planner thinks them
    empty and joins residents to residences by nested loops over sequential scans: minutes for
    fifty thousand residents, where the same query with statistics takes a second."""
    if connection.vendor != "postgresql":
        return
    tables = [m._meta.db_table for m in (Resident, Residence, Dwelling)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


def _build(progress: Progress | None) -> ScreeningIndex:
    started = timezone.now()
    total = Resident.objects.count()
    _fresh_statistics()

    def reported(stage: str, done: int, _total: int) -> None:
        if progress is not None:
            progress(stage, done, total if stage == "index" else _total)

    index = ScreeningIndex.build(registry_rows(), path=index_folder(), progress=reported)
    index.meta_set(META_WATERMARK, started.isoformat())
    index.meta_set(META_DATABASE, _database_identity())
    logger.info("screening index built: %d residents", len(index))
    return index


def index_refresh(progress: Progress | None = None) -> RefreshResult:
    """Bring the index up to date (building it when there is none). Returns what it did."""
    with index_lock():
        index, result = _open_current(progress)
        index.close()
        return result


def index_open(progress: Progress | None = None) -> ScreeningIndex:
    """The current index: built on first use, refreshed otherwise."""
    with index_lock():
        index, _result = _open_current(progress)
        return index


@contextmanager
def index_session(progress: Progress | None = None) -> Iterator[ScreeningIndex]:
    """The current index, held under the lock until the block ends: what a run uses, so
    that the index does not change under it and the model the engine trains on each run
    (saved in the index) is written by one run at a time. Runs take seconds, so waiting
    for one is short."""
    with index_lock():
        index, _result = _open_current(progress)
        try:
            yield index
        finally:
            index.close()


def _open_current(progress: Progress | None) -> tuple[ScreeningIndex, RefreshResult]:
    folder = index_folder()
    try:
        index = ScreeningIndex.open(folder)
    except FileNotFoundError:
        index = None
    if index is None or index.meta_get(META_DATABASE) != _database_identity():
        index = _build(progress)
        return index, RefreshResult(rebuilt=True, size=len(index))
    return _refresh(index, progress)


def _refresh(
    index: ScreeningIndex, progress: Progress | None
) -> tuple[ScreeningIndex, RefreshResult]:
    started = timezone.now()
    result = RefreshResult()
    watermark = index.meta_get(META_WATERMARK)
    since = (
        datetime.fromisoformat(watermark) - WATERMARK_MARGIN
        if watermark
        else datetime(1970, 1, 1, tzinfo=UTC)
    )
    changed = Resident.objects.filter(updated_at__gte=since)
    size = len(index)
    count = changed.count()
    if count > max(CHUNK, int(size * REBUILD_SHARE)):
        index = _build(progress)
        return index, RefreshResult(rebuilt=True, size=len(index))
    if count > STATISTICS_AFTER:
        _fresh_statistics()  # many rows written since: perhaps a load the planner has not seen
    for table in registry_rows(where=Q(updated_at__gte=since)):
        index.upsert(table)
        result.upserted += table.num_rows
        if progress is not None:
            progress("index", result.upserted, 0)
    if len(index) != Resident.objects.count():
        upserted, deleted = _reconcile(index)
        result.upserted += upserted
        result.deleted += deleted
    if index.delta.num_rows > max(CHUNK, int(index.base.num_rows * COMPACT_SHARE)):
        index.compact()
        result.compacted = True
    index.meta_set(META_WATERMARK, started.isoformat())
    result.size = len(index)
    return index, result


def _reconcile(index: ScreeningIndex) -> tuple[int, int]:
    """Make the index hold exactly the registry's residents: upsert those it lacks, delete
    those the registry no longer has. Compares the two sets of ids (8 bytes a resident)."""
    in_index = np.union1d(
        index.live_base().column("rid").to_numpy(), index.delta.column("rid").to_numpy()
    )
    in_registry = np.fromiter(
        Resident.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=CHUNK),
        np.int64,
    )
    missing = np.setdiff1d(in_registry, in_index, assume_unique=True)
    gone = np.setdiff1d(in_index, in_registry, assume_unique=True)
    for table in registry_rows(pks=missing):
        index.upsert(table)
    if len(gone):
        index.delete(int(rid) for rid in gone)
    if len(missing) or len(gone):
        logger.info("screening index reconciled: %d added, %d removed", len(missing), len(gone))
    return len(missing), len(gone)
