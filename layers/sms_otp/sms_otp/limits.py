"""Abuse limits: send limits per phone number, lockout across sessions, and a budget for the stack.

State lives in one DynamoDB table, and no item of it is written by every send:

- Each phone number (for an unknown user, the name given at sign-in; for the
  Custom SMS Sender, the number and the trigger source) has one item holding the
  times of its recent messages, its count of sign-in rounds since the last
  successful sign-in, and the end of its lockout. A change is a conditional
  write on the item's version, so concurrent invocations can never exceed a
  limit: the loser of a race reads again and re-decides.
- The stack's hourly budget is split over :data:`BUDGET_SHARDS` counters, whose
  caps add up to the budget. A send adds one to a shard with room (the number's
  own first, by its hash) with a conditional update capped at that shard's
  share, so the budget holds exactly, and sends to different numbers rarely
  touch the same counter and never wait on each other: concurrent updates of one
  item are applied one after another, never refused as a transaction would be.
- The pumping guard counts sign-in codes per number range (:mod:`sms_otp.pumping`).

Counting rounds rather than wrong answers: Verify, which sees the answer,
carries no AWS SDK (it must start fast), so each challenge round counts as a
failed attempt when it is issued, and a successful sign-in (Post
Authentication) resets the count. An unanswered round therefore counts as a
wrong answer, which errs on the side of the account owner.

If the table cannot be reached, nothing is sent (fail closed).

A message is reserved before it is sent, and the reservation is given back
(:meth:`LimitStore.release`) when the message certainly did not go out.
Counting a message only once it was accepted would let concurrent invocations
all pass the check before any of them is counted, so a cap would hold only on
average; a reservation is a cap that concurrent sends can never exceed. Its
price: while a send that will fail is in flight, its reservation may refuse
another.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from sms_otp import pumping
from sms_otp.errors import DeadlineExceededError, SmsOtpError, UserFacingError, aws_error_code
from sms_otp.observability import count, count_for_alarm, count_range_stopped, count_refusal, logger
from sms_otp.settings import LimitPolicy, Settings
from sms_otp.time_budget import DYNAMODB_CONFIG, Deadline

# The Custom SMS Sender's messages are counted under keys of their own, one per trigger source (see sender_subject).
SENDER_SUBJECT_PREFIX = "custom-sms-sender:"
DAY_SECONDS = 86_400
HOUR_SECONDS = 3_600
BUDGET_SHARDS = 10
"""Counters the hourly budget is split over: each takes DynamoDB's 1,000 writes a second of one item."""
# A lost race means another invocation just made progress on the same item; the request is refused
# (fail closed) after this many, or when its deadline passes. Backing off with jitter spreads racers out.
_WRITE_ATTEMPTS = 64
_BACKOFF_CAP_SECONDS = 0.05
_BACKOFF = random.Random()  # noqa: S311 - jitter, not security


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
    """The pumping guard stopped sending to this number's range for now (see :mod:`sms_otp.pumping`)."""

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


class _LostRaceError(SmsOtpError):
    """Another invocation changed the item first."""


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
        if not item:
            return cls()
        return cls(
            sent_at=tuple(sorted(int(value["N"]) for value in item.get("sent_at", {}).get("L", []))),
            failed_rounds=int(item.get("failed_rounds", {}).get("N", "0")),
            locked_until=int(item.get("locked_until", {}).get("N", "0")),
            version=int(item.get("version", {}).get("N", "0")),
            awaiting_sign_in=int(item.get("awaiting_sign_in", {}).get("N", "0")),
        )


def humanize_seconds(seconds: int) -> str:
    """``45 seconds``, ``3 minutes``, ``2 hours``: how long to wait, rounded up."""
    if seconds < 90:
        value, unit = max(seconds, 1), "second"
    elif seconds < 90 * 60:
        value, unit = math.ceil(seconds / 60), "minute"
    else:
        value, unit = math.ceil(seconds / 3600), "hour"
    return f"{value} {unit}{'s' if value != 1 else ''}"


def check_send(state: SubjectState, policy: LimitPolicy, now: int) -> None:
    """Raise :class:`SendLimitError` if one more message now would break a per-number limit."""
    recent_day = [sent for sent in state.sent_at if sent > now - DAY_SECONDS]
    recent_hour = [sent for sent in recent_day if sent > now - HOUR_SECONDS]
    waits: list[tuple[int, str]] = []
    if recent_day and now - recent_day[-1] < policy.min_seconds_between_messages:
        waits.append((recent_day[-1] + policy.min_seconds_between_messages - now, "interval"))
    if len(recent_hour) >= policy.max_messages_per_hour:
        waits.append((recent_hour[-policy.max_messages_per_hour] + HOUR_SECONDS - now, "hour"))
    if len(recent_day) >= policy.max_messages_per_day:
        waits.append((recent_day[-policy.max_messages_per_day] + DAY_SECONDS - now, "day"))
    if waits:
        # The longest wait is the one the person must sit out; its limit is the reason.
        wait, reason = max(waits)
        raise SendLimitError(f"Too many codes were sent to this number. Please try again in {humanize_seconds(wait)}.", wait, reason)


def check_lockout(state: SubjectState, now: int) -> None:
    """Raise :class:`LockedOutError` while the subject is locked out."""
    if now < state.locked_until:
        wait = state.locked_until - now
        raise LockedOutError(f"Too many sign-in attempts failed. Please try again in {humanize_seconds(wait)}.", wait)


def next_state(state: SubjectState, policy: LimitPolicy, now: int, *, new_round: bool, send: bool) -> SubjectState:
    """Check the limits and return the state after this round and/or message; raises when refused."""
    if new_round:
        check_lockout(state, now)
    if send:
        check_send(state, policy, now)
    sent_at = tuple(sent for sent in state.sent_at if sent > now - DAY_SECONDS) + ((now,) if send else ())
    failed_rounds = state.failed_rounds + 1 if new_round else state.failed_rounds
    locked_until = now + policy.lockout_seconds(failed_rounds) if new_round else state.locked_until
    return SubjectState(
        sent_at=sent_at,
        failed_rounds=failed_rounds,
        locked_until=locked_until,
        version=state.version + 1,
        # A round with a message is a sign-in code; the sender's messages (no round) are not.
        awaiting_sign_in=state.awaiting_sign_in + (1 if new_round and send else 0),
    )


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


def released_state(state: SubjectState, reservation: Reservation) -> SubjectState:
    """The state once ``reservation``'s message (and round) is given back; other changes since are kept."""
    sent_at = list(state.sent_at)
    if reservation.sent and reservation.at in sent_at:
        sent_at.remove(reservation.at)
    failed_rounds, locked_until, awaiting = state.failed_rounds, state.locked_until, state.awaiting_sign_in
    if reservation.new_round:
        failed_rounds = max(failed_rounds - 1, 0)
        if locked_until == reservation.locked_until_after:
            # No round since ours moved the lock: it goes back to where it was before ours.
            locked_until = reservation.locked_until_before
        if reservation.sent:
            awaiting = max(awaiting - 1, 0)
    return SubjectState(
        sent_at=tuple(sent_at), failed_rounds=failed_rounds, locked_until=locked_until, version=state.version + 1, awaiting_sign_in=awaiting
    )


def sender_subject(trigger_source: str, phone_number: str) -> str:
    """What the Custom SMS Sender's messages of ``trigger_source`` to ``phone_number`` are counted under.

    Apart from sign-in codes: Cognito sends these only for accounts that exist, so
    a shared count would let a "forgot password" followed by a sign-in tell who has
    an account. And apart from each other: each trigger source has its own
    allowance (interval, hour and day), so a sign-up code does not hold up the MFA
    code that follows it, and "forgot password" asked ten times by someone else
    leaves the owner's MFA and verification codes alone.
    """
    return f"{SENDER_SUBJECT_PREFIX}{trigger_source}:{phone_number}"


def subject_key(phone_number_or_name: str) -> str:
    """The table key of a phone number or name: its SHA-256, so the table holds no number in clear."""
    return "subject#" + hashlib.sha256(phone_number_or_name.encode("utf-8")).hexdigest()


def budget_key(now: int, shard: int) -> str:
    """One of the counters of the clock hour ``now`` falls in."""
    return f"budget#{now // HOUR_SECONDS}#{shard}"


def budget_keys(now: int) -> list[str]:
    """Every counter of the hour, in shard order."""
    return [budget_key(now, shard) for shard in range(BUDGET_SHARDS)]


def shard_caps(budget: int) -> list[int]:
    """Each shard's share of the hourly budget: as even as can be, adding up to it exactly."""
    share, extra = divmod(budget, BUDGET_SHARDS)
    return [share + (1 if shard < extra else 0) for shard in range(BUDGET_SHARDS)]


def shards_to_try(subject_key: str, spent: list[int], caps: list[int]) -> list[int]:
    """The shards with room, the subject's own first (by its hash), then on in order."""
    first = int(subject_key[-8:], 16) % BUDGET_SHARDS
    order = [(first + step) % BUDGET_SHARDS for step in range(BUDGET_SHARDS)]
    return [shard for shard in order if spent[shard] < caps[shard]]


@dataclass(frozen=True, slots=True)
class GuessingBound:
    """How many codes an online attacker can try against one account in a day, and the chance one is right."""

    rounds_by_lockout: int
    rounds_by_send_limits: int
    max_guesses_per_day: int
    probability: float


def online_guessing_bound(policy: LimitPolicy, *, otp_length: int, max_attempts: int, window_seconds: int = DAY_SECONDS) -> GuessingBound:
    """An upper bound on an online attacker's chance to guess one account's code within ``window_seconds``.

    Each answer is one round. The lockout lets ``lockout_threshold`` rounds through
    at once, then one round each time a lock (doubling from ``lockout_base_seconds``,
    capped at ``lockout_max_seconds``) runs out; but the owner's own sign-ins reset
    it, so it bounds the attacker only while the owner stays away
    (``rounds_by_lockout``). The bound that always holds is the send limits': every
    session needs a message, and a session allows at most ``max_attempts`` answers,
    so at most ``max_messages_per_day * max_attempts`` answers a day. Every answer
    is right with probability at most ``10**-otp_length`` (each session draws a new
    code; distinct answers within a session are exact), so the union bound gives
    ``guesses / 10**otp_length``.
    """
    rounds, elapsed = policy.lockout_threshold, 0
    while True:
        elapsed += policy.lockout_seconds(rounds)
        if elapsed >= window_seconds:
            break
        rounds += 1
    days = math.ceil(window_seconds / DAY_SECONDS)
    by_sends = policy.max_messages_per_day * days * max_attempts
    guesses = by_sends
    return GuessingBound(
        rounds_by_lockout=rounds,
        rounds_by_send_limits=by_sends,
        max_guesses_per_day=guesses,
        probability=guesses / 10**otp_length,
    )


@functools.cache
def dynamodb_client() -> Any:
    """The container's DynamoDB client, built on first use."""
    return boto3.client("dynamodb", config=DYNAMODB_CONFIG)


@dataclass
class LimitStore:
    """Reads and writes the limits' state in DynamoDB."""

    table_name: str
    policy: LimitPolicy
    client: Any = field(default=None)
    clock: Callable[[], float] | None = None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = dynamodb_client()

    @classmethod
    def from_settings(cls, settings: Settings) -> LimitStore:
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
        code to a ``number_range``, that range's pumping guard, :mod:`sms_otp.pumping`)
        and is refused before any write if either refuses it; then the number's
        own limits are checked and recorded, the code is counted in its range,
        and one message of the budget is spent. ``anonymous`` (a sign-in for a
        name with no account, which sends nothing) reads the guard and the
        budget, and is refused exactly when a real user would be, but never
        writes to either: nobody can stop a range, spend the budget, or learn
        whether a number has an account, with sign-ins that send nothing.

        Returns what was taken, for :meth:`release`. Every call to DynamoDB
        answers by ``deadline`` or the admission fails with
        :class:`~sms_otp.errors.DeadlineExceededError`.
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
                    reservation = replace(reservation, range_key=self._count_in_range(window, now, deadline))
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
        guarded_range = number_range if self.policy.pumping_min_conversion_percent > 0 else None
        range_keys = pumping.window_keys(guarded_range, now) if guarded_range is not None else []
        budget_counters = budget_keys(now)
        items = self._read_items(budget_counters + range_keys, deadline)
        window = pumping.RangeWindow.from_items(guarded_range, now, items) if guarded_range is not None else None
        if window is not None:
            self._check_range(window, now, may_stop=may_stop, deadline=deadline)
        budget = [int(items.get(key, {}).get("sent", {}).get("N", "0")) for key in budget_counters]
        if sum(budget) >= self.policy.stack_messages_per_hour:
            raise self._budget_spent()
        return budget, window

    def _spend_budget(self, subject_key: str, spent: list[int], now: int, deadline: Deadline) -> str:
        """Add one message to a budget counter with room, under its cap; return its key (refuse when none has room)."""
        caps = shard_caps(self.policy.stack_messages_per_hour)
        for shard in shards_to_try(subject_key, spent, caps):
            key = budget_key(now, shard)
            if self._count_under_cap(key, caps[shard], (now // HOUR_SECONDS + 3) * HOUR_SECONDS, deadline):
                return key
            # filled since it was read: on to the next one with room
        raise self._budget_spent()

    def _count_under_cap(self, key: str, cap: int, expires_at: int, deadline: Deadline) -> bool:
        """Add one to the counter ``key`` if it is still below ``cap``; False when it is full.

        The cap holds against every concurrent send: DynamoDB applies one item's updates one at a time.
        """
        try:
            deadline.call(
                self.client.update_item,
                TableName=self.table_name,
                Key={"pk": {"S": key}},
                UpdateExpression="ADD sent :one SET expires_at = :expires_at",
                ConditionExpression="attribute_not_exists(sent) OR sent < :cap",
                ExpressionAttributeValues={":one": {"N": "1"}, ":cap": {"N": str(cap)}, ":expires_at": {"N": str(expires_at)}},
            )
        except ClientError as error:
            if aws_error_code(error) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def _budget_spent(self) -> BudgetExhaustedError:
        logger.warning("The stack's hourly message budget is spent")
        count_for_alarm("SmsBudgetExhausted")
        return BudgetExhaustedError()

    def _reserve(self, key: str, *, new_round: bool, send: bool, deadline: Deadline) -> Reservation:
        """The per-number limits and the lockout: read the item, decide, write it back if nobody changed it meanwhile."""
        for attempt in range(_WRITE_ATTEMPTS):
            if attempt:
                self.sleep(_BACKOFF.uniform(0, min(0.005 * 2**attempt, _BACKOFF_CAP_SECONDS)))
            now = self._now()
            state = SubjectState.from_item(self._get(key, deadline))
            updated = next_state(state, self.policy, now, new_round=new_round, send=send)
            try:
                self._put_subject(key, state, updated, now, deadline)
            except _LostRaceError:
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

    # ------------------------------------------------------------ the pumping guard ---

    def _check_range(self, window: pumping.RangeWindow, now: int, *, may_stop: bool, deadline: Deadline) -> None:
        """Refuse a send to a stopped range, or one the rule refuses (stopping the range, unless ``may_stop`` is false)."""
        wait = pumping.stopped_for(window, now)
        if wait:
            raise RangeStoppedError(wait)
        cap = pumping.send_cap(self.policy, window)
        if cap is not None and window.sent_now >= cap:
            if may_stop:
                raise RangeStoppedError(self._stop_range(window, now, deadline))
            # The wait a real user would be told at this moment, without stopping anything.
            raise RangeStoppedError(pumping.next_stop(self.policy, window, now)[0] - now)

    def _count_in_range(self, window: pumping.RangeWindow, now: int, deadline: Deadline) -> str:
        """Add this send to the range's current bucket, if the rule still allows it there; return the bucket's key."""
        key = pumping.bucket_key(window.prefix, window.bucket)
        cap = pumping.send_cap(self.policy, window)
        if cap is None:  # a range has a window only while the guard is on
            raise ValueError("the pumping guard is off: there is no range to count in")
        expires_at = (window.bucket + pumping.WINDOW_BUCKETS + 1) * pumping.BUCKET_SECONDS
        if not self._count_under_cap(key, cap, expires_at, deadline):
            raise RangeStoppedError(self._stop_range(window, now, deadline))
        return key

    def _stop_range(self, window: pumping.RangeWindow, now: int, deadline: Deadline) -> int:
        """Stop the range for its next cool-off (once, however many invocations trip at once); return the wait."""
        stopped_until, stops = pumping.next_stop(self.policy, window, now)
        try:
            deadline.call(
                self.client.update_item,
                TableName=self.table_name,
                Key={"pk": {"S": pumping.stop_key(window.prefix)}},
                UpdateExpression="SET stopped_until = :until, stops = :stops, expires_at = :expires_at",
                ConditionExpression="attribute_not_exists(stopped_until) OR stopped_until <= :now",
                ExpressionAttributeValues={
                    ":until": {"N": str(stopped_until)},
                    ":stops": {"N": str(stops)},
                    ":now": {"N": str(now)},
                    ":expires_at": {"N": str(stopped_until + DAY_SECONDS)},
                },
            )
        except ClientError as error:
            if aws_error_code(error) != "ConditionalCheckFailedException":
                raise
            return stopped_until - now  # another invocation stopped it a moment ago
        logger.warning(
            "The pumping guard stopped sending to a number range",
            extra={
                "number_range": window.prefix,
                "sent": window.sent_before + window.sent_now,
                "completed": window.completed,
                "cool_off_seconds": stopped_until - now,
                "stops_in_a_row": stops,
            },
        )
        count_range_stopped(window.prefix)
        return stopped_until - now

    def _read_items(self, keys: list[str], deadline: Deadline) -> dict[str, dict[str, Any]]:
        """The items of ``keys`` that exist, by key, in one BatchGetItem (keys DynamoDB leaves unread are asked again)."""
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {self.table_name: {"Keys": [{"pk": {"S": key}} for key in keys]}}
        for _attempt in range(_WRITE_ATTEMPTS):
            response = deadline.call(self.client.batch_get_item, RequestItems=request)
            for item in response.get("Responses", {}).get(self.table_name, []):
                found[item["pk"]["S"]] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
        logger.error("The limit store left keys unread; nothing is sent")
        count_for_alarm("LimitStoreFailures")
        raise LimitStoreUnavailableError()

    def release(self, reservation: Reservation, deadline: Deadline | None = None) -> None:
        """Give back what ``reservation`` took, for a message that certainly was not sent.

        Best effort: if the table fails or the deadline passes, the failure is
        logged and counted and the allowance stays spent (the safe side).
        """
        deadline = deadline or Deadline.unbounded()
        try:
            for _attempt in range(_WRITE_ATTEMPTS):
                state = SubjectState.from_item(self._get(reservation.subject_key, deadline))
                if state.version == 0:
                    break  # nothing recorded (the item expired): nothing to give back
                try:
                    self._put_subject(reservation.subject_key, state, released_state(state, reservation), self._now(), deadline)
                except _LostRaceError:
                    continue
                break
            for counter_key in (reservation.budget_key, reservation.range_key):
                if counter_key is not None:
                    self._take_one_back(counter_key, deadline)
        except (ClientError, BotoCoreError, DeadlineExceededError) as error:
            logger.error("Could not give back an unsent message's allowance", extra={"error_code": aws_error_code(error)})
            count_for_alarm("LimitStoreFailures")
            return
        count("AllowancesReleased")

    def _take_one_back(self, counter_key: str, deadline: Deadline) -> None:
        """One send less in a counter (the budget, a range's bucket), never below zero."""
        try:
            deadline.call(
                self.client.update_item,
                TableName=self.table_name,
                Key={"pk": {"S": counter_key}},
                UpdateExpression="ADD sent :minus_one",
                ConditionExpression="sent > :zero",
                ExpressionAttributeValues={":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
            )
        except ClientError as error:
            if aws_error_code(error) != "ConditionalCheckFailedException":
                raise

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
                self._count_completion(number_range)
        except (ClientError, BotoCoreError) as error:
            if aws_error_code(error) == "ConditionalCheckFailedException":
                return False  # nothing recorded for this subject: nothing to reset
            logger.error("Could not reset the failed sign-in rounds", extra={"error_code": aws_error_code(error)})
            count_for_alarm("LimitStoreFailures")
            return False
        return True

    def _count_completion(self, number_range: str) -> None:
        bucket = pumping.bucket_of(self._now())
        self.client.update_item(
            TableName=self.table_name,
            Key={"pk": {"S": pumping.bucket_key(number_range, bucket)}},
            UpdateExpression="ADD completed :one SET expires_at = :expires_at",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":expires_at": {"N": str((bucket + pumping.WINDOW_BUCKETS + 1) * pumping.BUCKET_SECONDS)},
            },
        )
        count("RangeCompletions")

    def _get(self, key: str, deadline: Deadline) -> dict[str, Any] | None:
        response = deadline.call(self.client.get_item, TableName=self.table_name, Key={"pk": {"S": key}}, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _put_subject(self, key: str, before: SubjectState, after: SubjectState, now: int, deadline: Deadline) -> None:
        try:
            deadline.call(self.client.put_item, **self._subject_put(key, before, after, now))
        except ClientError as error:
            if aws_error_code(error) == "ConditionalCheckFailedException":
                raise _LostRaceError() from None
            raise

    def _subject_put(self, key: str, before: SubjectState, after: SubjectState, now: int) -> dict[str, Any]:
        expires_at = max([now + DAY_SECONDS, after.locked_until + DAY_SECONDS])
        put: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": {
                "pk": {"S": key},
                "sent_at": {"L": [{"N": str(sent)} for sent in after.sent_at]},
                "failed_rounds": {"N": str(after.failed_rounds)},
                "locked_until": {"N": str(after.locked_until)},
                "version": {"N": str(after.version)},
                "awaiting_sign_in": {"N": str(after.awaiting_sign_in)},
                "expires_at": {"N": str(expires_at)},
            },
        }
        if before.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :version"
            put["ExpressionAttributeValues"] = {":version": {"N": str(before.version)}}
        return put
