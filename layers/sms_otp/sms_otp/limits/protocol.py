"""What the triggers need of the limits: the interface the DynamoDB store and the tests' fakes both implement."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sms_otp.core.time_budget import Deadline
    from sms_otp.limits.record import Alongside, Reservation


class LimitStore(Protocol):
    """Admits sign-in rounds and messages, gives back unsent ones, and resets a number after a sign-in."""

    def admit(
        self,
        subject: str,
        *,
        new_round: bool,
        send: bool,
        number_range: str | None = None,
        anonymous: bool = False,
        deadline: Deadline | None = None,
        phone_number: str | None = None,
        verified: bool = False,
        account: str | None = None,
        alongside: Alongside | None = None,
    ) -> Reservation:
        """Record a round and/or a message for ``subject`` if every limit allows it; raise a refusal otherwise.

        A message goes to ``phone_number`` in ``number_range``: known numbers (or ``verified``, when the caller
        vouches for the number) skip the range's guard and spend their own share of the budget; ``account``
        counts an attribute-verification code against that account's daily cap; ``alongside`` is written with
        the admission's own writes, and undone if the message is refused or given back.
        """
        ...

    def release(self, reservation: Reservation, deadline: Deadline | None = None) -> None:
        """Give back what ``reservation`` took, and undo its ``alongside``, for a message that certainly was not sent (best effort)."""
        ...

    def reset_failures(self, subject: str, *, number_range: str | None = None, verified: bool = False) -> bool:
        """Forget ``subject``'s failed rounds and lockout after a successful sign-in, and record a proven number as known."""
        ...
