"""A one-line progress display for long runs: rows, rows per second, share done and ETA.

Drawn on stderr at most twice a second, only when asked (a terminal and no --quiet).
Shows counts only, never any note text.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Progress:
    def __init__(self, enabled: bool, stream: TextIO | None = None, every: float = 0.5) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.every = every
        self.t0 = time.perf_counter()
        self._last = 0.0
        self._start: tuple[float, int, float | None] | None = None  # when labelling began (after resumed chunks)
        self._drawn = False

    def update(self, rows: int, fraction: float | None, labelled_now: bool = True) -> None:
        """``rows`` read so far; ``fraction`` of the input read (None: unknown, no ETA)."""
        now = time.perf_counter()
        if labelled_now and self._start is None:
            self._start = (now, rows, fraction)
        if not self.enabled or now - self._last < self.every:
            return
        self._last = now
        line = f"{rows:,} rows"
        if self._start is not None and now > self._start[0]:
            t, r, f0 = self._start
            rate = (rows - r) / (now - t)
            line += f" | {rate:,.0f} rows/s"
            if fraction is not None and f0 is not None and fraction > f0:
                eta = (now - t) * (1 - fraction) / (fraction - f0)
                line += f" | {fraction:.0%} | ETA {_clock(eta)}"
        print(f"\r{line}\033[K", end="", file=self.stream, flush=True)
        self._drawn = True

    def close(self) -> float:
        """End the line; return the seconds since start."""
        if self._drawn:
            print(file=self.stream, flush=True)
        return time.perf_counter() - self.t0
