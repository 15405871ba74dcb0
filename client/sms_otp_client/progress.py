"""Readable progress: one line per step, with how long it took."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Prints numbered steps as they start and finish."""

    def __init__(self, total: int, stream: TextIO = sys.stdout) -> None:
        self._total = total
        self._number = 0
        self._stream = stream
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, title: str) -> Iterator[list[str]]:
        """Run a step; lines appended to the yielded list are printed under it when it succeeds."""
        self._number += 1
        prefix = f"[{self._number}/{self._total}]"
        self._print(f"{prefix} {title} ...")
        details: list[str] = []
        started = time.perf_counter()
        try:
            yield details
        except BaseException:
            self._print(f"{prefix} {title}: FAILED after {time.perf_counter() - started:.1f} s")
            raise
        elapsed = time.perf_counter() - started
        self.timings[title] = elapsed
        self._print(f"{prefix} {title}: done in {elapsed:.1f} s")
        for line in details:
            self._print(f"        {line}")

    def _print(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()
