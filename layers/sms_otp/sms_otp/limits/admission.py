"""One message's admission in two round trips: one read, then every write side by side.

Wave 1 is one BatchGetItem, consistent, of every item the message is weighed
against: the number's own item, the budget's shares, the country's slice, the
range's window, whether the number is known, the account's day. The pure rules
decide from that read alone (a refusal writes nothing, but the stop of a range).
Wave 2 is every write, side by side, none depending on another: the number's
item (conditional on the version read), the range's bucket, the account's day,
the budget's share and the country's slice (each a counter capped in its
condition), and the caller's write that goes with them (:class:`~sms_otp.limits.record.Alongside`:
the exactly-once claim of a message). Wave 3, the publish, is the caller's.

Why the limits still hold when some writes of wave 2 fail:

- Each write holds its own limit on its own: the number's item is written only
  if nobody changed it since the read, and each counter only while it is under
  its cap (DynamoDB applies one item's writes one at a time). So no limit is ever
  exceeded by what succeeded, whatever failed beside it.
- A message is admitted only if every write succeeded. Otherwise what succeeded
  is given back (:meth:`~sms_otp.limits.store.DynamoDbLimitStore.release`): a
  counter that took the message while the number's item lost its race is taken
  back, the number's item that was written while a counter was full is restored,
  and the caller's write is undone. A write that failed took nothing, and is not
  in what is given back.
- A lost race on the number's item alone means another invocation just wrote
  it: the rest is given back, and the admission reads again and decides again
  (more round trips only under contention). A full counter or any other failure
  refuses the message (fail closed).
- A write still running at the deadline is not given back: it may still land,
  and then holds one message more than was sent, which errs on the safe side.
  A give-back that fails does the same (it is logged and counted).
- While a racer's writes are in flight, they may hold a place its give-back
  will free: another message may be refused meanwhile, never admitted beyond a cap.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from sms_otp.core.errors import DeadlineExceededError
from sms_otp.core.observability import count_for_alarm, logger
from sms_otp.core.time_budget import Deadline, Outcome, together
from sms_otp.limits import pumping
from sms_otp.limits.errors import LimitStoreUnavailableError
from sms_otp.limits.keys import known_key
from sms_otp.limits.policy import next_state
from sms_otp.limits.record import Alongside, Reservation, SubjectState
from sms_otp.limits.shares import Budget, Shares
from sms_otp.limits.table import WRITE_ATTEMPTS, LostRaceError

if TYPE_CHECKING:
    from sms_otp.core.settings import LimitPolicy
    from sms_otp.limits.range_guard import RangeGuard
    from sms_otp.limits.table import LimitTable

# Backing off with jitter spreads racers for one number's item out.
BACKOFF_CAP_SECONDS = 0.05
BACKOFF = random.Random()  # noqa: S311 - jitter, not security
_SUBJECT, _RANGE, _ACCOUNT, _BUDGET, _COUNTRY, _ALONGSIDE = "subject", "range", "account", "budget", "country", "alongside"


class GiveBack(Protocol):
    def __call__(self, reservation: Reservation, deadline: Deadline, *, subject: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a message goes, as the limits weigh it."""

    number_range: str | None
    phone_number: str | None
    calling_code: int | None
    verified: bool = False
    account: str | None = None


@dataclass(frozen=True, slots=True)
class Look:
    """What the read before a message found: the budget, a fresh number's range window, and whether the number is known."""

    destination: Destination
    budget: Budget
    window: pumping.RangeWindow | None
    known: bool


@dataclass(frozen=True, slots=True)
class MessageAdmission:
    """Admits one message (see the module's docstring); the store's clock, sleep and release are passed in."""

    table: LimitTable
    policy: LimitPolicy
    ranges: RangeGuard
    shares: Shares
    now: Callable[[], int]
    sleep: Callable[[float], None]
    # Gives back what a reservation took (its number's item too, if ``subject``), best effort.
    give_back: GiveBack

    def admit(
        self, key: str, destination: Destination, *, new_round: bool, anonymous: bool, deadline: Deadline, alongside: Alongside | None
    ) -> Reservation:
        """Read, decide, write; return what was taken. ``anonymous`` reads and decides alike, and writes the number's item alone."""
        alongside_written = False
        try:
            for attempt in range(WRITE_ATTEMPTS):
                if attempt:
                    self.sleep(BACKOFF.uniform(0, min(0.005 * 2**attempt, BACKOFF_CAP_SECONDS)))
                now = self.now()
                number = destination.phone_number
                known_keys = [known_key(number)] if number is not None else []
                guarded = self.ranges.guarded(destination.number_range)
                range_keys = pumping.window_keys(guarded, now) if guarded is not None else []
                keys = [key, *Shares.keys(now, destination.calling_code, destination.account), *known_keys, *range_keys]
                items = self.table.read_items(keys, deadline, consistent=True)
                look = self._look(destination, items, now, may_stop=not anonymous, deadline=deadline)
                state = SubjectState.from_item(items.get(key))
                updated = next_state(state, self.policy, now, new_round=new_round, send=True)
                reservation = Reservation.of_change(key, now, state, updated, new_round=new_round, sent=True)
                if anonymous:
                    try:
                        self.table.put_subject(key, state, updated, now, deadline)
                    except LostRaceError:
                        continue
                    return reservation
                tasks = self._writes(key, (state, updated), look, now, deadline.inline())
                if alongside is not None and not alongside_written:
                    tasks[_ALONGSIDE] = lambda: alongside.write(deadline.inline())
                outcomes = dict(zip(tasks, together(list(tasks.values()), deadline), strict=True))
                alongside_written = alongside_written or (_ALONGSIDE in outcomes and outcomes[_ALONGSIDE].succeeded)
                taken = _taken(reservation, outcomes)
                unfinished = [outcome for outcome in outcomes.values() if not outcome.finished]
                failures = [outcome.error for outcome in outcomes.values() if outcome.error is not None]
                if not unfinished and not failures:
                    return replace(taken, alongside=alongside)
                self.give_back(taken, deadline.with_grace(), subject=outcomes[_SUBJECT].succeeded)
                if unfinished:
                    raise DeadlineExceededError(abandoned=any(outcome.abandoned for outcome in unfinished))
                refusals = [error for error in failures if not isinstance(error, LostRaceError)]
                if refusals:
                    # The caller's own refusal first (a message sent already), then the limits' in the order of the writes.
                    alongside_error = outcomes[_ALONGSIDE].error if _ALONGSIDE in outcomes else None
                    raise alongside_error or refusals[0]
                # Only the number's item lost its race: read again and decide again.
            logger.error("The limit store stayed contended; nothing is sent")
            count_for_alarm("LimitStoreFailures")
            raise LimitStoreUnavailableError()
        except BaseException:
            if alongside is not None and alongside_written:
                alongside.undo(deadline.with_grace())
            raise

    def _look(self, destination: Destination, items: dict[str, dict[str, Any]], now: int, *, may_stop: bool, deadline: Deadline) -> Look:
        """Refuse what the read refuses (the same for a real user and an unknown one), before any write."""
        guarded = self.ranges.guarded(destination.number_range)
        number = destination.phone_number
        known = destination.verified or (number is not None and Shares.known_until(items.get(known_key(number))) > now)
        window = pumping.RangeWindow.from_items(guarded, now, items) if guarded is not None else None
        if window is not None and not known:
            self.ranges.check(window, now, may_stop=may_stop, deadline=deadline)
        if destination.account is not None:
            self.shares.check_account(items, destination.account, now)
        budget = Shares.read(items, now, destination.calling_code)
        self.shares.check(budget, known=known)
        return Look(destination, budget, window if not known else None, known)

    def _writes(
        self, key: str, states: tuple[SubjectState, SubjectState], look: Look, now: int, deadline: Deadline
    ) -> dict[str, Callable[[], Any]]:
        """Wave 2: the writes that do not depend on each other, by what they take (``states``: the number's item read, and to write)."""
        state, updated = states
        account, calling_code = look.destination.account, look.destination.calling_code
        window = look.window
        tasks: dict[str, Callable[[], Any]] = {_SUBJECT: lambda: self.table.put_subject(key, state, updated, now, deadline)}
        if window is not None:
            tasks[_RANGE] = lambda: self.ranges.count_send(window, now, deadline)
        if account is not None:
            tasks[_ACCOUNT] = lambda: self.shares.count_account(account, now, deadline)
        if look.known:
            tasks[_BUDGET] = lambda: self.shares.take_known(key, look.budget, now, deadline)
        else:
            tasks[_BUDGET] = lambda: self.shares.take_fresh(key, look.budget, now, deadline)
            if calling_code is not None:
                tasks[_COUNTRY] = lambda: self.shares.take_country(key, look.budget, calling_code, now, deadline)
        return tasks


def _taken(reservation: Reservation, outcomes: dict[str, Outcome[Any]]) -> Reservation:
    """The reservation with the key of each counter that took the message."""

    def key_of(name: str) -> str | None:
        outcome = outcomes.get(name)
        return outcome.value if outcome is not None and outcome.succeeded else None

    return replace(
        reservation, range_key=key_of(_RANGE), account_key=key_of(_ACCOUNT), budget_key=key_of(_BUDGET), country_key=key_of(_COUNTRY)
    )
