"""Parsing a large file's rows in worker processes while this one writes.

Parsing a row — reading its cells, validating it with python-stdnum, encrypting and indexing
its ID and phone numbers, computing its name keys — is most of an import's work and needs no
database, so a large file is parsed by forked workers, a chunk of rows at a time, while the
importing process reads the file ahead, claims rows against the file's duplicates and writes
batches. Chunks come back in file order, so line numbers, duplicate reports and the result
are exactly those of parsing in-process, which small files (and platforms without ``fork``)
still do.

The workers inherit the parser (and the active language, for the messages) through
``fork``; they never touch the database. At most a few chunks are in flight, so memory stays
flat however long the file is.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from datetime import date
from multiprocessing.pool import AsyncResult
from typing import Any

from safecommunity.people.imports.batch import ParsedRow, RowRejected
from safecommunity.people.imports.rows import RowParser
from safecommunity.people.imports.sources import CellProblem, Source

# Rows a worker parses at a time. At most ``2 * workers + 1`` chunks are in flight, and that
# must hold more than a batch (``BATCH_ROWS``), or the workers sit idle while this process
# writes one: with chunks of 1,000 rows a million-row import took 51 s, with 5,000 45 s.
CHUNK_ROWS = 5000
# Below this many rows starting workers costs more than it saves.
PARALLEL_FROM_ROWS = 20_000

Parsed = ParsedRow | RowRejected
Chunk = list[tuple[int, list[Any], CellProblem | None]]

# The parser a forked worker uses: set in the parent just before the pool forks.
_worker_parser: RowParser | None = None


def default_workers() -> int:
    """One worker per core: the importing process mostly waits on the database meanwhile."""
    return max(1, min(os.cpu_count() or 1, 8))


def parsed_chunks(
    source: Source, parser: RowParser, *, workers: int
) -> Iterator[tuple[list[Parsed], int]]:
    """Each chunk of rows parsed, in file order, with the source position after it."""
    chunks = _chunks(source)
    if workers <= 1 or source.rows_estimate < PARALLEL_FROM_ROWS or not _can_fork():
        for chunk, position in chunks:
            yield _parse(parser, chunk), position
        return
    global _worker_parser  # noqa: PLW0603  # handed to the forked workers, see above
    _worker_parser = parser
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pending: deque[tuple[AsyncResult[list[Packed]], int]] = deque()
            for chunk, position in chunks:
                pending.append((pool.apply_async(_parse_in_worker, (chunk,)), position))
                if len(pending) > 2 * workers:
                    done, at = pending.popleft()
                    yield _unpacked(done.get()), at
            while pending:
                done, at = pending.popleft()
                yield _unpacked(done.get()), at
    finally:
        _worker_parser = None


def _chunks(source: Source) -> Iterator[tuple[Chunk, int]]:
    chunk: Chunk = []
    for line, cells in source.rows():
        chunk.append((line, cells, source.row_problem))
        if len(chunk) >= CHUNK_ROWS:
            yield chunk, source.position()
            chunk = []
    if chunk:
        yield chunk, source.position()


def _parse(parser: RowParser, chunk: Chunk) -> list[Parsed]:
    return [parser.parse(line, cells, problem) for line, cells, problem in chunk]


def _parse_in_worker(chunk: Chunk) -> list[Packed]:
    if _worker_parser is None:  # pragma: no cover - only a pool started elsewhere
        raise RuntimeError("the import worker was not forked from an import")
    return [_packed(row) for row in _parse(_worker_parser, chunk)]


# A parsed row as it crosses back from a worker: a plain tuple, its dates as day numbers.
# Pickling a named tuple calls back into Python for each row, and a date costs as much as
# the rest of the row: sent as they are, the rows took a sixth of the workers' time.
Packed = tuple[Any, ...] | RowRejected
_BIRTH = ParsedRow._fields.index("birth_date")
_SINCE = ParsedRow._fields.index("since")


def _packed(row: Parsed) -> Packed:
    if isinstance(row, RowRejected):
        return row
    plain = list(row)
    plain[_BIRTH] = row.birth_date.toordinal()
    plain[_SINCE] = row.since.toordinal()
    return tuple(plain)


def _unpacked(rows: list[Packed]) -> list[Parsed]:
    day = date.fromordinal
    unpacked: list[Parsed] = []
    for row in rows:
        if isinstance(row, RowRejected):
            unpacked.append(row)
        else:
            plain = list(row)
            plain[_BIRTH] = day(plain[_BIRTH])
            plain[_SINCE] = day(plain[_SINCE])
            unpacked.append(ParsedRow._make(plain))
    return unpacked


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()
