"""A clock the tests set by hand: what the limits and the triggers read as the time."""

from __future__ import annotations

START = 1_800_000_000
"""A moment in 2027 that starts a clock hour and a ten-minute bucket of the pumping guard."""


class FakeClock:
    """Stands still at ``now`` until a test moves it (``clock.now += 60`` or :meth:`advance`)."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``."""
        self.now += seconds
