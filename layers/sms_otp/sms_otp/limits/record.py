"""What the table holds for one phone number, what one admission took, and their DynamoDB items."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sms_otp.core.time_budget import Deadline

DAY_SECONDS = 86_400
HOUR_SECONDS = 3_600


@dataclass(frozen=True, slots=True)
class SubjectState:
    """What the table holds for one phone number (or unknown user name)."""

    sent_at: tuple[int, ...] = ()
    failed_rounds: int = 0
    locked_until: int = 0
    version: int = 0
    # Sign-in codes sent since the last completed sign-in: a completion counts for the pumping guard only against one.
    awaiting_sign_in: int = 0

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> SubjectState:
        """The state a DynamoDB item holds (the empty state when there is none)."""
        if not item:
            return cls()
        return cls(
            sent_at=tuple(sorted(int(value["N"]) for value in item.get("sent_at", {}).get("L", []))),
            failed_rounds=int(item.get("failed_rounds", {}).get("N", "0")),
            locked_until=int(item.get("locked_until", {}).get("N", "0")),
            version=int(item.get("version", {}).get("N", "0")),
            awaiting_sign_in=int(item.get("awaiting_sign_in", {}).get("N", "0")),
        )

    def to_item(self, key: str, now: int) -> dict[str, Any]:
        """The DynamoDB item under ``key``, kept a day past its last message or the end of its lockout."""
        expires_at = max(now + DAY_SECONDS, self.locked_until + DAY_SECONDS)
        return {
            "pk": {"S": key},
            "sent_at": {"L": [{"N": str(sent)} for sent in self.sent_at]},
            "failed_rounds": {"N": str(self.failed_rounds)},
            "locked_until": {"N": str(self.locked_until)},
            "version": {"N": str(self.version)},
            "awaiting_sign_in": {"N": str(self.awaiting_sign_in)},
            "expires_at": {"N": str(expires_at)},
        }


class Alongside(Protocol):
    """A write that goes out with an admission's own (the code's destination, a message's exactly-once claim).

    :meth:`write` runs once, beside the admission's writes; :meth:`undo` runs when
    the message certainly does not go out (the admission refused it, or it was
    given back). ``write`` may raise to refuse the message; the admission then
    gives back everything else it took.
    """

    def write(self, deadline: Deadline) -> None: ...

    def undo(self, deadline: Deadline) -> None: ...


@dataclass(frozen=True, slots=True)
class Reservation:
    """What one admission took from the limits, so that it can be given back if the message is not sent."""

    subject_key: str
    at: int
    new_round: bool
    sent: bool
    locked_until_before: int = 0
    locked_until_after: int = 0
    budget_key: str | None = None
    range_key: str | None = None
    country_key: str | None = None
    account_key: str | None = None
    # Undone with the rest when the message is given back.
    alongside: Alongside | None = field(default=None, compare=False)

    @classmethod
    def of_change(cls, key: str, at: int, before: SubjectState, after: SubjectState, *, new_round: bool, sent: bool) -> Reservation:
        """What changing the number's item under ``key`` from ``before`` to ``after`` at ``at`` took (the counters come later)."""
        return cls(
            subject_key=key,
            at=at,
            new_round=new_round,
            sent=sent,
            locked_until_before=before.locked_until,
            locked_until_after=after.locked_until,
        )
