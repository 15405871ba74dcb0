"""Trust an attacker cannot buy: known and fresh numbers, and the shares of the stack's hourly budget.

A number is *known* once it has proven itself: it completed a sign-in by code
through this stack (Post Authentication records it under
:func:`~sms_otp.limits.keys.known_key` for :data:`KNOWN_FOR_SECONDS` after each
such sign-in), or, on a pool the stack creates, its user's ``phone_number_verified``
is ``"true"`` (there only a code that reached the phone sets it: Pre sign-up
never verifies a phone). Every other number is *fresh*. An attacker who pumps
codes to numbers he does not hold can never make one known: that takes the code.

- Known numbers are never stopped by the pumping guard, and their codes are not
  counted in their range (the guard weighs fresh numbers' codes against fresh
  numbers' first completed sign-ins). They spend their own share of the budget
  (``KnownNumbersSharePercent``), which fresh numbers can never spend, and, once it
  is spent, what is left of the fresh share.
- Fresh numbers meet the guard, spend the rest of the budget (the fresh share),
  and the fresh numbers of one calling code at most ``FreshCountrySharePercent``
  of it (never less than an even split of the allowed countries): an attack
  through one country's numbers leaves the other countries' new users the rest.

Every counter is read in the admission's one BatchGetItem, beside the range's window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sms_otp.core.observability import count_for_alarm, logger
from sms_otp.limits.errors import BudgetExhaustedError, SendLimitError, humanize_seconds
from sms_otp.limits.keys import FRESH_SHARE, KNOWN_SHARE, account_key, budget_key, budget_keys, country_share, shard_caps, shards_to_try
from sms_otp.limits.record import DAY_SECONDS, HOUR_SECONDS

if TYPE_CHECKING:
    from sms_otp.core.settings import LimitPolicy
    from sms_otp.core.time_budget import Deadline
    from sms_otp.limits.table import LimitTable

KNOWN_FOR_SECONDS = 400 * DAY_SECONDS
"""A number stays known this long after its last completed sign-in by code (a yearly user stays known)."""


def _number(item: dict[str, Any] | None, name: str) -> int:
    return int((item or {}).get(name, {}).get("N", "0"))


@dataclass(frozen=True, slots=True)
class Budget:
    """The hour's counters one message may draw on, as read."""

    known: list[int]
    fresh: list[int]
    country: list[int]


@dataclass(frozen=True, slots=True)
class Shares:
    """The shares' reads and writes for one stack's policy."""

    table: LimitTable
    policy: LimitPolicy

    @staticmethod
    def keys(now: int, calling_code: int | None, account: str | None) -> list[str]:
        """The items to read before a message: both shares' counters, the country's, and the account's."""
        keys = budget_keys(now, KNOWN_SHARE) + budget_keys(now, FRESH_SHARE)
        if calling_code is not None:
            keys += budget_keys(now, country_share(calling_code))
        if account is not None:
            keys.append(account_key(account, now))
        return keys

    @staticmethod
    def read(items: dict[str, dict[str, Any]], now: int, calling_code: int | None) -> Budget:
        """What the counters hold (a missing item is an empty counter)."""
        return Budget(
            known=[_number(items.get(key), "sent") for key in budget_keys(now, KNOWN_SHARE)],
            fresh=[_number(items.get(key), "sent") for key in budget_keys(now, FRESH_SHARE)],
            country=[_number(items.get(key), "sent") for key in budget_keys(now, country_share(calling_code))]
            if calling_code is not None
            else [],
        )

    @staticmethod
    def known_until(item: dict[str, Any] | None) -> int:
        """Until when the known-number item read says the number is known (0: it is fresh)."""
        return _number(item, "known_until")

    def check(self, budget: Budget, *, known: bool) -> None:
        """Refuse, before any write, a message no share has room for."""
        fresh_room = sum(budget.fresh) < self.policy.fresh_share()
        if known:
            if sum(budget.known) < self.policy.known_share() or fresh_room:
                return
            raise self.spent("known")
        if not fresh_room:
            raise self.spent("fresh")
        if sum(budget.country) >= self.policy.country_share():
            raise self.spent("country")

    def check_account(self, items: dict[str, dict[str, Any]], account: str, now: int) -> None:
        """Refuse a code to verify a phone number once the account has had its day's codes."""
        if _number(items.get(account_key(account, now)), "sent") >= self.policy.max_attribute_codes_per_account_per_day:
            raise self.account_spent(now)

    def count_account(self, account: str, now: int, deadline: Deadline) -> str:
        """Count one attribute-verification code for the account, under its daily cap; return the counter's key."""
        key = account_key(account, now)
        day_end = (now // DAY_SECONDS + 1) * DAY_SECONDS
        if not self.table.count_under_cap(key, self.policy.max_attribute_codes_per_account_per_day, day_end + DAY_SECONDS, deadline):
            raise self.account_spent(now)
        return key

    def take_known(self, subject_key: str, budget: Budget, now: int, deadline: Deadline) -> str:
        """Take a known number's message from its own share, else from the fresh share; return the counter's key."""
        key = self._take(subject_key, KNOWN_SHARE, budget.known, self.policy.known_share(), now=now, deadline=deadline)
        if key is None:
            key = self._take(subject_key, FRESH_SHARE, budget.fresh, self.policy.fresh_share(), now=now, deadline=deadline)
        if key is None:
            raise self.spent("known")
        return key

    def take_fresh(self, subject_key: str, budget: Budget, now: int, deadline: Deadline) -> str:
        """Take a fresh number's message from the fresh share; return the counter's key."""
        key = self._take(subject_key, FRESH_SHARE, budget.fresh, self.policy.fresh_share(), now=now, deadline=deadline)
        if key is None:
            raise self.spent("fresh")
        return key

    def take_country(self, subject_key: str, budget: Budget, calling_code: int, now: int, deadline: Deadline) -> str:
        """Take a fresh number's message from its calling code's slice of the fresh share; return the counter's key."""
        key = self._take(subject_key, country_share(calling_code), budget.country, self.policy.country_share(), now=now, deadline=deadline)
        if key is None:
            raise self.spent("country")
        return key

    def _take(self, subject_key: str, share: str, spent: list[int], cap: int, *, now: int, deadline: Deadline) -> str | None:
        caps = shard_caps(cap)
        for shard in shards_to_try(subject_key, spent, caps):
            key = budget_key(now, shard, share)
            if self.table.count_under_cap(key, caps[shard], (now // HOUR_SECONDS + 3) * HOUR_SECONDS, deadline):
                return key
            # filled since it was read: on to the next one with room
        return None

    @staticmethod
    def spent(share: str) -> BudgetExhaustedError:
        """The refusal when a share is spent (counted for the budget alarm, the share logged)."""
        logger.warning("The stack's hourly message budget is spent", extra={"share": share})
        count_for_alarm("SmsBudgetExhausted")
        return BudgetExhaustedError()

    @staticmethod
    def account_spent(now: int) -> SendLimitError:
        wait = (now // DAY_SECONDS + 1) * DAY_SECONDS - now
        return SendLimitError(
            f"Too many verification codes were sent for this account today. Please try again in {humanize_seconds(wait)}.", wait, "account"
        )
