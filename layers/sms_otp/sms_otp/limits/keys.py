"""The table's key scheme, and how the stack's hourly budget is sharded over counters."""

from __future__ import annotations

import hashlib

from sms_otp.limits.record import DAY_SECONDS, HOUR_SECONDS

# The Custom SMS Sender's messages are counted under keys of their own, one per trigger source (see sender_subject).
SENDER_SUBJECT_PREFIX = "custom-sms-sender:"
BUDGET_SHARDS = 10
"""Counters the hourly budget is split over: each takes DynamoDB's 1,000 writes a second of one item."""


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


def unknown_user_subject(username: str) -> str:
    """What the sign-in rounds of a name with no account are counted under: apart from the number's own owner."""
    return f"unknown-user:{username}"


def subject_key(phone_number_or_name: str) -> str:
    """The table key of a phone number or name: its SHA-256, so the table holds no number in clear."""
    return "subject#" + hashlib.sha256(phone_number_or_name.encode("utf-8")).hexdigest()


KNOWN_SHARE = "known"
FRESH_SHARE = "fresh"


def budget_key(now: int, shard: int, share: str = FRESH_SHARE) -> str:
    """One of the counters of a share (known or fresh numbers') of the clock hour ``now`` falls in."""
    return f"budget#{now // HOUR_SECONDS}#{share}#{shard}"


def budget_keys(now: int, share: str = FRESH_SHARE) -> list[str]:
    """Every counter of a share of the hour, in shard order."""
    return [budget_key(now, shard, share) for shard in range(BUDGET_SHARDS)]


def country_share(calling_code: int) -> str:
    """The share of the fresh numbers of one calling code, sharded like the others (see :func:`budget_key`)."""
    return f"country+{calling_code}"


def known_key(phone_number: str) -> str:
    """The item that says a number is known (has completed a sign-in by code): by its SHA-256, like a subject."""
    return "known#" + hashlib.sha256(phone_number.encode("utf-8")).hexdigest()


def account_key(account: str, now: int) -> str:
    """The counter of one account's attribute-verification codes on the UTC day ``now`` falls in."""
    return f"account#{hashlib.sha256(account.encode('utf-8')).hexdigest()}#{now // DAY_SECONDS}"


def shard_caps(budget: int) -> list[int]:
    """Each shard's share of the hourly budget: as even as can be, adding up to it exactly."""
    share, extra = divmod(budget, BUDGET_SHARDS)
    return [share + (1 if shard < extra else 0) for shard in range(BUDGET_SHARDS)]


def shards_to_try(subject_key: str, spent: list[int], caps: list[int]) -> list[int]:
    """The shards with room, the subject's own first (by its hash), then on in order."""
    first = int(subject_key[-8:], 16) % BUDGET_SHARDS
    order = [(first + step) % BUDGET_SHARDS for step in range(BUDGET_SHARDS)]
    return [shard for shard in order if spent[shard] < caps[shard]]
