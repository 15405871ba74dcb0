"""The tests' stand-in for the limits: the ``LimitStore`` protocol the triggers use, recording every call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sms_otp.limits.protocol import LimitStore


@dataclass(frozen=True)
class Admission:
    """One call of ``admit``, every argument but the deadline."""

    subject: str
    new_round: bool
    send: bool
    number_range: str | None
    anonymous: bool
    phone_number: str | None
    verified: bool
    account: str | None


class FakeLimits(LimitStore):
    """Admits everything (or raises ``refusal``), and records what it was asked, given back and reset.

    It implements the protocol by name, with its signatures (a repository test holds
    every fake to them), so a change of the interface shows in the tests' fakes at once.
    The reservation it returns is ``(subject, new_round, send)``.
    """

    def __init__(self, refusal: Exception | None = None) -> None:
        self.refusal = refusal
        self.admissions: list[Admission] = []
        self.released: list[Any] = []
        self.reset: list[str] = []
        self.reset_ranges: list[str | None] = []
        self.reset_verified: list[bool] = []

    @property
    def admitted(self) -> list[tuple[str, bool, bool]]:
        """Each admission as (subject, new_round, send)."""
        return [(admission.subject, admission.new_round, admission.send) for admission in self.admissions]

    @property
    def ranges(self) -> list[tuple[str | None, bool]]:
        """Each admission's (number_range, anonymous)."""
        return [(admission.number_range, admission.anonymous) for admission in self.admissions]

    def admit(
        self,
        subject: str,
        *,
        new_round: bool,
        send: bool,
        number_range: str | None = None,
        anonymous: bool = False,
        deadline: Any = None,
        phone_number: str | None = None,
        verified: bool = False,
        account: str | None = None,
        alongside: Any = None,
    ) -> Any:
        if self.refusal is not None:
            raise self.refusal
        self.admissions.append(Admission(subject, new_round, send, number_range, anonymous, phone_number, verified, account))
        return (subject, new_round, send)

    def release(self, reservation: Any, deadline: Any = None) -> None:
        self.released.append(reservation)

    def reset_failures(self, subject: str, *, number_range: str | None = None, verified: bool = False) -> bool:
        self.reset.append(subject)
        self.reset_ranges.append(number_range)
        self.reset_verified.append(verified)
        return True
