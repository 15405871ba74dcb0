"""The limits' pure rules: per-number limits, the lockout, what a release gives back, and the guessing bound.

No I/O here: the store reads a number's :class:`~sms_otp.limits.record.SubjectState`,
asks these functions, and writes back what they return.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sms_otp.limits.errors import LockedOutError, SendLimitError, humanize_seconds
from sms_otp.limits.record import DAY_SECONDS, HOUR_SECONDS, Reservation, SubjectState

if TYPE_CHECKING:
    from sms_otp.core.settings import LimitPolicy


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
