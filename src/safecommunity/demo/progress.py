"""A plain-text progress bar for the demo commands (stderr, no dependency).

On a terminal the bar redraws in place; elsewhere (CI logs, pipes) each phase prints one
line when it finishes, so logs stay readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO, cast

from django.core.management.base import OutputWrapper

WIDTH = 30

# The generator's progress hook: ``progress(phase, done, total)``.
Progress = Callable[[str, int, int], None]


def no_progress(phase: str, done: int, total: int) -> None:
    """The hook when nobody watches."""


class TextProgress:
    """Callable as ``progress(phase, done, total)``, the generator's progress hook."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.phase: str | None = None
        self.started = time.perf_counter()
        self.phase_started = self.started
        self.last_draw = 0.0
        self._done = self._total = 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.finish()
            self.phase = phase
            self.phase_started = time.perf_counter()
        now = time.perf_counter()
        if done >= total or (self.tty and now - self.last_draw > 0.1):
            self.last_draw = now
            if self.tty:
                self.stream.write("\r" + self._line(done, total))
                self.stream.flush()
            self._done, self._total = done, total

    def _line(self, done: int, total: int) -> str:
        share = done / total if total else 1.0
        filled = int(share * WIDTH)
        bar = "#" * filled + "-" * (WIDTH - filled)
        elapsed = time.perf_counter() - self.phase_started
        return f"{self.phase:<12} [{bar}] {share:4.0%} {done}/{total} {elapsed:5.1f}s"

    def finish(self) -> None:
        """End the current phase's line (call once more after the last phase)."""
        if self.phase is None:
            return
        self.stream.write(("\r" if self.tty else "") + self._line(self._done, self._total) + "\n")
        self.stream.flush()
        self.phase = None


def raw_stream(wrapper: OutputWrapper) -> TextIO:
    """The stream under a command's ``stderr``: the bar redraws with "\\r", and the wrapper
    would end every write with a newline."""
    return cast(TextIO, getattr(wrapper, "_out", wrapper))
