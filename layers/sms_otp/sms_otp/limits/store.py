"""The limits' store in DynamoDB: admit a round or a message, give an unsent one back, reset after a sign-in.

How the table is laid out and why the limits hold under concurrency: the package's docstring (:mod:`sms_otp.limits`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.core.errors import DeadlineExceededError, aws_error_code
from sms_otp.core.observability import count, count_for_alarm, count_refusal, logger
from sms_otp.core.phone_numbers import calling_code_of
from sms_otp.core.time_budget import Deadline
from sms_otp.limits.admission import BACKOFF as _BACKOFF
from sms_otp.limits.admission import BACKOFF_CAP_SECONDS as _BACKOFF_CAP_SECONDS
from sms_otp.limits.admission import Destination, MessageAdmission
from sms_otp.limits.errors import LimitStoreUnavailableError, RefusalError
from sms_otp.limits.keys import subject_key
from sms_otp.limits.policy import next_state, released_state
from sms_otp.limits.range_guard import RangeGuard
from sms_otp.limits.record import Alongside, Reservation, SubjectState
from sms_otp.limits.shares import Shares
from sms_otp.limits.sign_in_reset import SignInReset
from sms_otp.limits.table import WRITE_ATTEMPTS, LimitTable, LostRaceError, dynamodb_client

if TYPE_CHECKING:
    from sms_otp.core.settings import LimitPolicy, Settings


@dataclass
class DynamoDbLimitStore:
    """Reads and writes the limits' state in DynamoDB (implements :class:`~sms_otp.limits.protocol.LimitStore`)."""

    table_name: str
    policy: LimitPolicy
    client: Any = field(default=None)
    clock: Callable[[], float] | None = None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = dynamodb_client()

    @property
    def _table(self) -> LimitTable:
        # Built on each use, from the client the store holds now.
        return LimitTable(self.table_name, self.client)

    @property
    def _ranges(self) -> RangeGuard:
        return RangeGuard(self._table, self.policy)

    @property
    def _shares(self) -> Shares:
        return Shares(self._table, self.policy)

    @classmethod
    def from_settings(cls, settings: Settings) -> DynamoDbLimitStore:
        """The container's store: the table and limits the settings name, the shared DynamoDB client."""
        return cls(settings.require_limits_table_name(), settings.limits)

    def _now(self) -> int:
        return int((self.clock or time.time)())

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
        """Record a sign-in round and/or a message for ``subject`` if every limit allows it; raise otherwise.

        A message (``send``) to ``phone_number`` first reads, in one consistent
        request, the number's own item, the stack's budget, whether the number is
        known (or the caller vouches for it: ``verified``), the pumping guard of its
        ``number_range`` (:mod:`sms_otp.limits.pumping`), and the day's count of
        ``account``'s attribute-verification codes; it is refused before any write
        if any of them refuses it (the guard only a fresh number; the shares:
        :mod:`sms_otp.limits.shares`). Then, side by side, the number's own limits
        are recorded, a fresh number's code is counted in its range, one message of
        the budget is spent, and ``alongside`` is written
        (:mod:`sms_otp.limits.admission`). ``anonymous`` (a sign-in for a name
        with no account, which sends nothing) reads the same items, and is refused
        exactly when a real user would be, but writes only the name's own item:
        nobody can stop a range, spend the budget, or learn whether a number has
        an account, with sign-ins that send nothing.

        Returns what was taken, for :meth:`release`. Every call to DynamoDB
        answers by ``deadline`` or the admission fails with
        :class:`~sms_otp.core.errors.DeadlineExceededError`.
        """
        deadline = deadline or Deadline.unbounded()
        try:
            if not send:
                return self._reserve(subject_key(subject), new_round=new_round, send=False, deadline=deadline)
            calling_code = calling_code_of(phone_number) if phone_number is not None and number_range is not None else None
            admission = MessageAdmission(self._table, self.policy, self._ranges, self._shares, self._now, self.sleep, self._give_back)
            return admission.admit(
                subject_key(subject),
                Destination(number_range, phone_number, calling_code, verified=verified, account=account),
                new_round=new_round,
                anonymous=anonymous,
                deadline=deadline,
                alongside=alongside,
            )
        except (ClientError, BotoCoreError) as error:
            logger.error("The limit store failed; nothing is sent", extra={"error_code": aws_error_code(error)})
            count_for_alarm("LimitStoreFailures")
            count_refusal(LimitStoreUnavailableError.reason)
            raise LimitStoreUnavailableError() from None
        except RefusalError as refusal:
            count_refusal(refusal.reason)
            raise

    def _reserve(self, key: str, *, new_round: bool, send: bool, deadline: Deadline) -> Reservation:
        """The per-number limits and the lockout: read the item, decide, write it back if nobody changed it meanwhile."""
        for attempt in range(WRITE_ATTEMPTS):
            if attempt:
                self.sleep(_BACKOFF.uniform(0, min(0.005 * 2**attempt, _BACKOFF_CAP_SECONDS)))
            now = self._now()
            state = SubjectState.from_item(self._table.get(key, deadline))
            updated = next_state(state, self.policy, now, new_round=new_round, send=send)
            try:
                self._table.put_subject(key, state, updated, now, deadline)
            except LostRaceError:
                continue
            return Reservation.of_change(key, now, state, updated, new_round=new_round, sent=send)
        logger.error("The limit store stayed contended; nothing is sent")
        count_for_alarm("LimitStoreFailures")
        raise LimitStoreUnavailableError()

    def release(self, reservation: Reservation, deadline: Deadline | None = None) -> None:
        """Give back what ``reservation`` took, for a message that certainly was not sent, and undo what went with it.

        Best effort: if the table fails or the deadline passes, the failure is
        logged and counted and the allowance stays spent (the safe side).
        """
        deadline = deadline or Deadline.unbounded()
        if reservation.alongside is not None:
            reservation.alongside.undo(deadline)
        self._give_back(reservation, deadline, subject=True)

    def _give_back(self, reservation: Reservation, deadline: Deadline, *, subject: bool) -> None:
        """Give back the counters ``reservation`` took, and its number's item's round and message if ``subject``."""
        try:
            for _attempt in range(WRITE_ATTEMPTS if subject else 0):
                state = SubjectState.from_item(self._table.get(reservation.subject_key, deadline))
                if state.version == 0:
                    break  # nothing recorded (the item expired): nothing to give back
                try:
                    self._table.put_subject(reservation.subject_key, state, released_state(state, reservation), self._now(), deadline)
                except LostRaceError:
                    continue
                break
            for counter_key in (reservation.budget_key, reservation.country_key, reservation.range_key, reservation.account_key):
                if counter_key is not None:
                    self._table.take_one_back(counter_key, deadline)
        except (ClientError, BotoCoreError, DeadlineExceededError) as error:
            logger.error("Could not give back an unsent message's allowance", extra={"error_code": aws_error_code(error)})
            count_for_alarm("LimitStoreFailures")
            return
        count("AllowancesReleased")

    def reset_failures(self, subject: str, *, number_range: str | None = None, verified: bool = False) -> bool:
        """Forget the failed rounds and any lockout of ``subject`` after a successful sign-in; return whether it did.

        A sign-in that proved the number (a sign-in code was sent to ``subject``
        since its last completed sign-in, or the caller vouches for it:
        ``verified``) makes it known for :data:`~sms_otp.limits.shares.KNOWN_FOR_SECONDS`.
        With ``number_range``, the sign-in that first makes a fresh number known
        also counts as a completion in that range's pumping guard: the guard
        weighs fresh numbers' codes against fresh numbers that proved themselves,
        so completions never outnumber the numbers that were sent a code, and
        sign-ins by password, or by known users, cannot make a range look healthy.
        Two round trips (:mod:`sms_otp.limits.sign_in_reset`).

        Best effort: a failure is logged and counted, and does not fail the sign-in.
        """
        return SignInReset(self._table, self._ranges, self._now()).reset(subject, number_range=number_range, verified=verified)
