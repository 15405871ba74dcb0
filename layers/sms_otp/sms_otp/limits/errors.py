"""The limits' refusals, and the sentences a person reads when one stops a code."""

from __future__ import annotations

import math

from sms_otp.core.errors import UserFacingError


def humanize_seconds(seconds: int) -> str:
    """``45 seconds``, ``3 minutes``, ``2 hours``: how long to wait, rounded up."""
    if seconds < 90:
        value, unit = max(seconds, 1), "second"
    elif seconds < 90 * 60:
        value, unit = math.ceil(seconds / 60), "minute"
    else:
        value, unit = math.ceil(seconds / 3600), "hour"
    return f"{value} {unit}{'s' if value != 1 else ''}"


class RefusalError(UserFacingError):
    """A refusal by the limits; ``reason`` names the limit in the ``SendRefusals`` metric."""

    reason = "limit"


class LimitExceededError(RefusalError):
    """A limit refuses this message or challenge; the message says when to try again."""

    def __init__(self, message: str, retry_after_seconds: int, reason: str = "limit") -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.reason = reason


class LockedOutError(LimitExceededError):
    """Too many sign-in rounds without success: new challenges are refused for a while."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, retry_after_seconds, "lockout")


class SendLimitError(LimitExceededError):
    """Too many messages to this phone number for now (``reason``: ``interval``, ``hour`` or ``day``)."""


class RangeStoppedError(LimitExceededError):
    """The pumping guard stopped sending to this number's range for now (see :mod:`sms_otp.limits.pumping`)."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"We cannot send codes to this number right now. Please try again in {humanize_seconds(retry_after_seconds)}.",
            retry_after_seconds,
            "pumping",
        )


class BudgetExhaustedError(RefusalError):
    """The stack's hourly message budget is spent."""

    reason = "budget"

    def __init__(self) -> None:
        super().__init__("We cannot send more codes right now. Please try again in an hour.")


class LimitStoreUnavailableError(RefusalError):
    """The limit store could not be read or written, so nothing is sent."""

    reason = "unavailable"
    retryable = True

    def __init__(self) -> None:
        super().__init__("We cannot send codes right now. Please try again later.")
