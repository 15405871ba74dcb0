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
from sms_otp.core.time_budget import Deadline
from sms_otp.limits import pumping
from sms_otp.limits.errors import BudgetExhaustedError, LimitStoreUnavailableError, RefusalError
from sms_otp.limits.keys import budget_key, budget_keys, shard_caps, shards_to_try, subject_key
from sms_otp.limits.policy import next_state, released_state
from sms_otp.limits.range_guard import RangeGuard
from sms_otp.limits.record import HOUR_SECONDS, Reservation, SubjectState
from sms_otp.limits.table import WRITE_ATTEMPTS, LimitTable, LostRaceError, dynamodb_client

if TYPE_CHECKING:
    from sms_otp.core.settings import LimitPolicy, Settings

# Backing off with jitter spreads racers for one number's item out.
_BACKOFF_CAP_SECONDS = 0.05
_BACKOFF = random.Random()  # noqa: S311 - jitter, not security


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
    ) -> Reservation:
        """Record a sign-in round and/or a message for ``subject`` if every limit allows it; raise otherwise.

        A message (``send``) first reads the stack's budget (and, for a sign-in
        code to a ``number_range``, that range's pumping guard, :mod:`sms_otp.limits.pumping`)
        and is refused before any write if either refuses it; then the number's
        own limits are checked and recorded, the code is counted in its range,
        and one message of the budget is spent. ``anonymous`` (a sign-in for a
        name with no account, which sends nothing) reads the guard and the
        budget, and is refused exactly when a real user would be, but never
        writes to either: nobody can stop a range, spend the budget, or learn
        whether a number has an account, with sign-ins that send nothing.

        Returns what was taken, for :meth:`release`. Every call to DynamoDB
        answers by ``deadline`` or the admission fails with
        :class:`~sms_otp.core.errors.DeadlineExceededError`.
        """
        deadline = deadline or Deadline.unbounded()
        now = self._now()
        try:
            if not send:
                return self._reserve(subject_key(subject), new_round=new_round, send=False, deadline=deadline)
            budget, window = self._look_before_sending(number_range, now, may_stop=not anonymous, deadline=deadline)
            reservation = self._reserve(subject_key(subject), new_round=new_round, send=True, deadline=deadline)
            if anonymous:
                return reservation
            try:
                if window is not None:
                    reservation = replace(reservation, range_key=self._ranges.count_send(window, now, deadline))
                reservation = replace(reservation, budget_key=self._spend_budget(reservation.subject_key, budget, now, deadline))
            except (RefusalError, DeadlineExceededError, ClientError, BotoCoreError):
                # Nothing will be sent: give back what was surely taken (a count whose update failed, or was left
                # running at the deadline, is not in the reservation), with the grace a refusal may still use.
                self.release(reservation, deadline.with_grace())
                raise
        except (ClientError, BotoCoreError) as error:
            logger.error("The limit store failed; nothing is sent", extra={"error_code": aws_error_code(error)})
            count_for_alarm("LimitStoreFailures")
            count_refusal(LimitStoreUnavailableError.reason)
            raise LimitStoreUnavailableError() from None
        except RefusalError as refusal:
            count_refusal(refusal.reason)
            raise
        return reservation

    def _look_before_sending(
        self, number_range: str | None, now: int, *, may_stop: bool, deadline: Deadline
    ) -> tuple[list[int], pumping.RangeWindow | None]:
        """Read the budget's counters and the range's guard in one request, and refuse what they refuse.

        Returns what each budget counter holds, and the range's window (``None``
        when there is no range, or the guard is off). The same read, and the same
        refusals, for a real user and an unknown one.
        """
        guarded_range = self._ranges.guarded(number_range)
        range_keys = pumping.window_keys(guarded_range, now) if guarded_range is not None else []
        budget_counters = budget_keys(now)
        items = self._table.read_items(budget_counters + range_keys, deadline)
        window = pumping.RangeWindow.from_items(guarded_range, now, items) if guarded_range is not None else None
        if window is not None:
            self._ranges.check(window, now, may_stop=may_stop, deadline=deadline)
        budget = [int(items.get(key, {}).get("sent", {}).get("N", "0")) for key in budget_counters]
        if sum(budget) >= self.policy.stack_messages_per_hour:
            raise self._budget_spent()
        return budget, window

    def _spend_budget(self, subject_key: str, spent: list[int], now: int, deadline: Deadline) -> str:
        """Add one message to a budget counter with room, under its cap; return its key (refuse when none has room)."""
        caps = shard_caps(self.policy.stack_messages_per_hour)
        for shard in shards_to_try(subject_key, spent, caps):
            key = budget_key(now, shard)
            if self._table.count_under_cap(key, caps[shard], (now // HOUR_SECONDS + 3) * HOUR_SECONDS, deadline):
                return key
            # filled since it was read: on to the next one with room
        raise self._budget_spent()

    def _budget_spent(self) -> BudgetExhaustedError:
        logger.warning("The stack's hourly message budget is spent")
        count_for_alarm("SmsBudgetExhausted")
        return BudgetExhaustedError()

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
            for counter_key in (reservation.budget_key, reservation.range_key):
                if counter_key is not None:
                    self._table.take_one_back(counter_key, deadline)
        except (ClientError, BotoCoreError, DeadlineExceededError) as error:
            logger.error("Could not give back an unsent message's allowance", extra={"error_code": aws_error_code(error)})
            count_for_alarm("LimitStoreFailures")
            return
        count("AllowancesReleased")

    def reset_failures(self, subject: str, *, number_range: str | None = None) -> bool:
        """Forget the failed rounds and any lockout of ``subject`` after a successful sign-in; return whether it did.

        With ``number_range``, the sign-in also counts as a completion in that
        range's pumping guard, if a sign-in code was sent to ``subject`` since its
        last completed sign-in (so completions never outnumber codes sent, and
        sign-ins by password cannot make a range look healthy).

        Best effort: a failure is logged and counted, and does not fail the sign-in.
        """
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": subject_key(subject)}},
                UpdateExpression="SET failed_rounds = :zero, locked_until = :zero, awaiting_sign_in = :zero ADD version :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
                ReturnValues="UPDATED_OLD",
            )
            awaited = int(response.get("Attributes", {}).get("awaiting_sign_in", {}).get("N", "0"))
            if number_range is not None and awaited > 0:
                self._ranges.count_completion(number_range, self._now())
        except (ClientError, BotoCoreError) as error:
            if aws_error_code(error) == "ConditionalCheckFailedException":
                return False  # nothing recorded for this subject: nothing to reset
            logger.error("Could not reset the failed sign-in rounds", extra={"error_code": aws_error_code(error)})
            count_for_alarm("LimitStoreFailures")
            return False
        return True
