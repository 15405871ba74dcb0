"""The pumping guard: stop sending sign-in codes to a number range whose codes are not used.

SMS pumping: bots ask for codes to many valid, ordinary numbers in ranges where
someone in the delivery chain is paid per message. Each number is new, so the
per-number limits never bite; what gives it away is that the sign-ins never
finish. So, per number range (:func:`~sms_otp.core.phone_numbers.number_prefix`: the
area code in the North American plan, a block of ten million numbers elsewhere),
over a sliding window, the guard counts the sign-in codes sent and the sign-ins
completed (Post Authentication; at most one per code sent, so sign-ins by
password cannot make a range look healthy).

The rule, checked before each sign-in code: a range may be sent a code while
its window holds fewer than ``PumpingMinSends`` codes, or while its completions
are at least ``PumpingMinConversionPercent`` of its codes. A send that the rule
refuses stops the range for a cool-off (``PumpingCoolOffSeconds``), doubling,
up to a day, each time the range is stopped again within a window of the last
cool-off's end: while the pattern goes on, the range stays stopped longer.
``PumpingMinConversionPercent=0`` turns the guard off.

The window is the current ten-minute bucket and the five before it (50 to 60
minutes). Each bucket of a range is one item holding its sends and completions;
the range's stop is one more. Nothing here is written by every send of the
stack: only sends to the same range share an item, and only for ten minutes.

Why the bound is exact. A send adds one to its range's current bucket with a
conditional update: ``sent < cap``, where the cap comes from the window's earlier
buckets (which no longer grow) and the completions read just before (which only
grow, so a stale read gives a lower cap). DynamoDB applies the updates of one
item one after another, each on the item as the last one left it, so no two
sends can both take the last place: a range that completes nothing gets at most
``PumpingMinSends`` codes a window, however many invocations race. The one gap
is the turn of a bucket: an invocation whose clock is already in the next bucket
counts the closing one as done while an invocation a few milliseconds behind may
still add to it, so at each turn (every ten minutes) the range can get as many
extra codes as it had sends in flight at that instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sms_otp.core.settings import LimitPolicy

BUCKET_SECONDS = 600
WINDOW_BUCKETS = 6
WINDOW_SECONDS = BUCKET_SECONDS * WINDOW_BUCKETS
MAX_COOL_OFF_SECONDS = 86_400
KEY_PREFIX = "pumping#"


def bucket_of(now: int) -> int:
    """The ten-minute bucket ``now`` falls in."""
    return now // BUCKET_SECONDS


def bucket_key(prefix: str, bucket: int) -> str:
    """The item of one bucket of a range: its sends and completions."""
    return f"{KEY_PREFIX}{prefix}#{bucket}"


def stop_key(prefix: str) -> str:
    """The item of a range's stop: until when, and how many stops in a row."""
    return f"{KEY_PREFIX}{prefix}#stop"


def window_keys(prefix: str, now: int) -> list[str]:
    """The items the guard reads before a send to ``prefix``: the window's buckets, and the stop."""
    current = bucket_of(now)
    return [bucket_key(prefix, bucket) for bucket in range(current - WINDOW_BUCKETS + 1, current + 1)] + [stop_key(prefix)]


def _number(item: dict[str, Any] | None, name: str) -> int:
    return int((item or {}).get(name, {}).get("N", "0"))


@dataclass(frozen=True, slots=True)
class RangeWindow:
    """What the guard knows of one range at one moment."""

    prefix: str
    bucket: int
    sent_before: int = 0
    sent_now: int = 0
    completed: int = 0
    stopped_until: int = 0
    stops: int = 0

    @classmethod
    def from_items(cls, prefix: str, now: int, items: dict[str, dict[str, Any]]) -> RangeWindow:
        """The window of ``prefix`` at ``now`` from the items read (by key; a missing item counts as empty)."""
        current = bucket_of(now)
        buckets = range(current - WINDOW_BUCKETS + 1, current + 1)
        stop = items.get(stop_key(prefix))
        return cls(
            prefix=prefix,
            bucket=current,
            sent_before=sum(_number(items.get(bucket_key(prefix, bucket)), "sent") for bucket in buckets if bucket != current),
            sent_now=_number(items.get(bucket_key(prefix, current)), "sent"),
            completed=sum(_number(items.get(bucket_key(prefix, bucket)), "completed") for bucket in buckets),
            stopped_until=_number(stop, "stopped_until"),
            stops=_number(stop, "stops"),
        )


def send_cap(policy: LimitPolicy, window: RangeWindow) -> int | None:
    """How many sends the current bucket may hold so that one more is still allowed: allowed while ``sent_now < cap``.

    The rule allows a send while the window's sends ``S`` are fewer than the
    minimum or its completions ``C`` are at least the percentage ``P`` of them:
    ``S < M`` or ``100 C >= P S``, with ``S = sent_before + sent_now``. ``None``
    when the guard is off.
    """
    percent = policy.pumping_min_conversion_percent
    if percent == 0:
        return None
    by_volume = policy.pumping_min_sends - window.sent_before
    by_conversion = (100 * window.completed) // percent - window.sent_before + 1
    return max(by_volume, by_conversion)


def stopped_for(window: RangeWindow, now: int) -> int:
    """Seconds the range is still stopped for (0 when it is not)."""
    return max(window.stopped_until - now, 0)


def next_stop(policy: LimitPolicy, window: RangeWindow, now: int) -> tuple[int, int]:
    """``(stopped_until, stops)`` once the range is stopped now: the cool-off doubles while stops follow each other."""
    again = window.stops > 0 and now - window.stopped_until < WINDOW_SECONDS
    stops = window.stops + 1 if again else 1
    cool_off = min(policy.pumping_cool_off_seconds << min(stops - 1, 32), MAX_COOL_OFF_SECONDS)
    return now + cool_off, stops
