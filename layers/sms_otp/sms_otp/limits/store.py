"""The limits' store in DynamoDB: admit a round or a message, give an unsent one back, reset after a sign-in.

How the table is laid out and why the limits hold under concurrency: the package's docstring (:mod:`sms_otp.limits`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.core.errors import DeadlineExceededError, aws_error_code
from sms_otp.core.observability import count, count_for_alarm, count_refusal, logger
from sms_otp.core.phone_numbers import calling_code_of
from sms_otp.core.time_budget import Deadline
from sms_otp.limits import pumping
from sms_otp.limits.errors import LimitStoreUnavailableError, RefusalError
from sms_otp.limits.keys import known_key, subject_key
from sms_otp.limits.policy import next_state, released_state
from sms_otp.limits.range_guard import RangeGuard
from sms_otp.limits.record import Reservation, SubjectState
from sms_otp.limits.shares import KNOWN_FOR_SECONDS, Budget, Shares
from sms_otp.limits.table import WRITE_ATTEMPTS, LimitTable, LostRaceError, dynamodb_client

if TYPE_CHECKING:
    from sms_otp.core.settings import LimitPolicy, Settings

# Backing off with jitter spreads racers for one number's item out.
_BACKOFF_CAP_SECONDS = 0.05
_BACKOFF = random.Random()  # noqa: S311 - jitter, not security


@dataclass(frozen=True, slots=True)
class _Destination:
    """Where a message goes, as the limits weigh it."""

    number_range: str | None
    phone_number: str | None
    calling_code: int | None
    verified: bool = False
    account: str | None = None


@dataclass(frozen=True, slots=True)
class _Look:
    """What the read before a message found: the budget, a fresh number's range window, and whether the number is known."""

    destination: _Destination
    budget: Budget
    window: pumping.RangeWindow | None
    known: bool


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
    ) -> Reservation:
        """Record a sign-in round and/or a message for ``subject`` if every limit allows it; raise otherwise.

        A message (``send``) to ``phone_number`` first reads, in one request, the
        stack's budget, whether the number is known (or the caller vouches for it:
        ``verified``), the pumping guard of its ``number_range``
        (:mod:`sms_otp.limits.pumping`), and the day's count of ``account``'s
        attribute-verification codes; it is refused before any write if any of
        them refuses it (the guard only a fresh number; the shares:
        :mod:`sms_otp.limits.shares`). Then the number's own limits are checked
        and recorded, a fresh number's code is counted in its range, and one
        message of the budget is spent. ``anonymous`` (a sign-in for a name with
        no account, which sends nothing) reads the same items, and is refused
        exactly when a real user would be, but never writes to them: nobody can
        stop a range, spend the budget, or learn whether a number has an
        account, with sign-ins that send nothing.

        Returns what was taken, for :meth:`release`. Every call to DynamoDB
        answers by ``deadline`` or the admission fails with
        :class:`~sms_otp.core.errors.DeadlineExceededError`.
        """
        deadline = deadline or Deadline.unbounded()
        now = self._now()
        try:
            if not send:
                return self._reserve(subject_key(subject), new_round=new_round, send=False, deadline=deadline)
            calling_code = calling_code_of(phone_number) if phone_number is not None and number_range is not None else None
            look = self._look_before_sending(
                _Destination(number_range, phone_number, calling_code, verified=verified, account=account),
                now,
                may_stop=not anonymous,
                deadline=deadline,
            )
            reservation = self._reserve(subject_key(subject), new_round=new_round, send=True, deadline=deadline)
            if anonymous:
                return reservation
            reservation = self._count(reservation, look, now, deadline)
        except (ClientError, BotoCoreError) as error:
            logger.error("The limit store failed; nothing is sent", extra={"error_code": aws_error_code(error)})
            count_for_alarm("LimitStoreFailures")
            count_refusal(LimitStoreUnavailableError.reason)
            raise LimitStoreUnavailableError() from None
        except RefusalError as refusal:
            count_refusal(refusal.reason)
            raise
        return reservation

    def _look_before_sending(self, destination: _Destination, now: int, *, may_stop: bool, deadline: Deadline) -> _Look:
        """Read the budget's counters, whether the number is known and its range's guard in one request; refuse what they refuse.

        The same read, and the same refusals, for a real user and an unknown one.
        """
        guarded_range = self._ranges.guarded(destination.number_range)
        range_keys = pumping.window_keys(guarded_range, now) if guarded_range is not None else []
        number = destination.phone_number
        known_keys = [known_key(number)] if number is not None else []
        items = self._table.read_items(Shares.keys(now, destination.calling_code, destination.account) + known_keys + range_keys, deadline)
        known = destination.verified or (number is not None and Shares.known_until(items.get(known_key(number))) > now)
        window = pumping.RangeWindow.from_items(guarded_range, now, items) if guarded_range is not None else None
        if window is not None and not known:
            self._ranges.check(window, now, may_stop=may_stop, deadline=deadline)
        if destination.account is not None:
            self._shares.check_account(items, destination.account, now)
        budget = Shares.read(items, now, destination.calling_code)
        self._shares.check(budget, known=known)
        return _Look(destination, budget, window if not known else None, known)

    def _count(self, reservation: Reservation, look: _Look, now: int, deadline: Deadline) -> Reservation:
        """Count the message in a fresh number's range, the account's day and the budget's shares; keep each key for a release."""
        account, calling_code = look.destination.account, look.destination.calling_code
        try:
            if look.window is not None:
                reservation = replace(reservation, range_key=self._ranges.count_send(look.window, now, deadline))
            if account is not None:
                reservation = replace(reservation, account_key=self._shares.count_account(account, now, deadline))
            taken = self._shares.spend(reservation.subject_key, look.budget, now, deadline, known=look.known, calling_code=calling_code)
        except (RefusalError, DeadlineExceededError, ClientError, BotoCoreError):
            # Nothing will be sent: give back what was surely taken (a count whose update failed, or was left
            # running at the deadline, is not in the reservation), with the grace a refusal may still use.
            self.release(reservation, deadline.with_grace())
            raise
        return replace(reservation, budget_key=taken[-1], country_key=taken[0] if len(taken) > 1 else None)

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
            return Reservation(
                subject_key=key,
                at=now,
                new_round=new_round,
                sent=send,
                locked_until_before=state.locked_until,
                locked_until_after=updated.locked_until,
            )
        logger.error("The limit store stayed contended; nothing is sent")
        count_for_alarm("LimitStoreFailures")
        raise LimitStoreUnavailableError()

    def release(self, reservation: Reservation, deadline: Deadline | None = None) -> None:
        """Give back what ``reservation`` took, for a message that certainly was not sent.

        Best effort: if the table fails or the deadline passes, the failure is
        logged and counted and the allowance stays spent (the safe side).
        """
        deadline = deadline or Deadline.unbounded()
        try:
            for _attempt in range(WRITE_ATTEMPTS):
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

        Best effort: a failure is logged and counted, and does not fail the sign-in.
        """
        reset = True
        try:
            try:
                response = self.client.update_item(
                    TableName=self.table_name,
                    Key={"pk": {"S": subject_key(subject)}},
                    UpdateExpression="SET failed_rounds = :zero, locked_until = :zero, awaiting_sign_in = :zero ADD version :one",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
                    ReturnValues="UPDATED_OLD",
                )
            except ClientError as error:
                if aws_error_code(error) != "ConditionalCheckFailedException":
                    raise
                response, reset = {}, False  # nothing recorded for this subject: nothing to reset
            awaited = int(response.get("Attributes", {}).get("awaiting_sign_in", {}).get("N", "0"))
            if (awaited > 0 or verified) and not self._mark_known(subject) and number_range is not None:
                self._ranges.count_completion(number_range, self._now())
        except (ClientError, BotoCoreError) as error:
            logger.error("Could not reset the failed sign-in rounds", extra={"error_code": aws_error_code(error)})
            count_for_alarm("LimitStoreFailures")
            return False
        return reset

    def _mark_known(self, phone_number: str) -> bool:
        """Record the number as known from now on; return whether it was known already."""
        now = self._now()
        response = self.client.update_item(
            TableName=self.table_name,
            Key={"pk": {"S": known_key(phone_number)}},
            UpdateExpression="SET known_until = :until, expires_at = :until",
            ExpressionAttributeValues={":until": {"N": str(now + KNOWN_FOR_SECONDS)}},
            ReturnValues="UPDATED_OLD",
        )
        return int(response.get("Attributes", {}).get("known_until", {}).get("N", "0")) > now
