"""How long the triggers may wait on AWS: the botocore settings of every client the layer builds.

Cognito waits 5 seconds for a synchronous trigger (Create Auth Challenge, Post
Authentication) and retries one that fails or times out. botocore's defaults (a
60-second read timeout, several retries) would let a single slow call use up the
whole wait; Cognito would then call the trigger again, and Create Auth Challenge
would send a second code. So each call gets short timeouts and one retry: a slow
service fails the call (and a failed limits call sends nothing) rather than
holding the invocation until Cognito gives up on it.

- DynamoDB (the limits), read and written before every code is sent: at most
  2 attempts of 0.5 s to connect and 1 s to read. A write that lost a race on a
  number's item is tried again (each loss means another invocation got through)
  until the deadline below, or a bound on attempts, refuses it.
- SNS (sending a code) and Cognito (Post Authentication): at most 2 attempts of
  1 s to connect and 1.5 s to read.

On top of the per-call settings, every AWS call of Create Auth Challenge shares
one :class:`Deadline`: the Lambda context's remaining time less
:data:`ANSWER_MARGIN_SECONDS`, so that the trigger answers within 4.5 of its
5 seconds, with a clear refusal, however the calls add up. A call still running
at the deadline is abandoned, not stopped: it goes on in the background, and a
publish abandoned that way may still send its message.

Requests that do not depend on each other go out side by side (:func:`together`,
on a pool of threads built once per container): a person waits for the round
trips one after another, not for the requests. Each runs its calls with
:meth:`Deadline.inline`, and ``together`` waits for them until the deadline.

The Custom SMS Sender is invoked asynchronously and has 15 seconds (its Lambda
timeout in the template): its KMS calls, made by the Encryption SDK, get longer
timeouts (2 s to connect, 3 s to read, 2 attempts), and its SNS and DynamoDB
clients are the ones above.

The custom resource that attaches the triggers to an existing user pool has a
minute (its Lambda timeout) and answers CloudFormation before it ends: each of its
Cognito and DynamoDB calls may take a few seconds and is tried three times.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from botocore.config import Config

from sms_otp.core.errors import DeadlineExceededError

DYNAMODB_CONFIG = Config(connect_timeout=0.5, read_timeout=1, retries={"total_max_attempts": 2, "mode": "standard"})
SNS_CONFIG = Config(connect_timeout=1, read_timeout=1.5, retries={"total_max_attempts": 2, "mode": "standard"})
COGNITO_CONFIG = Config(connect_timeout=1, read_timeout=1.5, retries={"total_max_attempts": 2, "mode": "standard"})
CUSTOM_RESOURCE_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"total_max_attempts": 3, "mode": "standard"})
KMS_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"total_max_attempts": 2, "mode": "standard"})

ANSWER_MARGIN_SECONDS = 0.5
"""Kept back from the Lambda context's remaining time, to refuse clearly and return before Lambda's timeout."""

RELEASE_GRACE_SECONDS = 0.3
"""Of that margin, what giving back an unsent message's allowance may still use (a read and a write or two)."""

Result = TypeVar("Result")
# Calls under a deadline run here so the invocation can stop waiting for them; an abandoned call
# keeps its worker until botocore's own timeouts end it, hence more than one.
_CALLS = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="aws-call")
# Requests that do not depend on each other run side by side here (see together); one per container.
_TOGETHER = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="aws-together")


class LambdaContext(Protocol):
    """The part of Lambda's context a deadline reads."""

    def get_remaining_time_in_millis(self) -> int: ...


class Deadline:
    """A moment by which every AWS call of one invocation must have answered.

    :meth:`call` runs a call and waits for it until the deadline at most; past
    it, :class:`~sms_otp.core.errors.DeadlineExceededError` is raised (``abandoned``
    when the call had started, and may still complete). An unbounded deadline
    (:meth:`unbounded`) makes the call directly, in the caller's thread.
    """

    def __init__(self, expires_at: float | None, clock: Callable[[], float] = time.monotonic, *, inline: bool = False) -> None:
        self._expires_at = expires_at
        self._clock = clock
        self._inline = inline

    @classmethod
    def unbounded(cls) -> Deadline:
        """No deadline: calls are bounded by their own timeouts only."""
        return cls(None)

    @classmethod
    def from_context(
        cls, context: LambdaContext, margin_seconds: float = ANSWER_MARGIN_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> Deadline:
        """The invocation's remaining time, as Lambda's context tells it, less ``margin_seconds``."""
        return cls(clock() + context.get_remaining_time_in_millis() / 1000 - margin_seconds, clock)

    def with_grace(self, seconds: float = RELEASE_GRACE_SECONDS) -> Deadline:
        """The same deadline ``seconds`` later: for tidying up (giving back an allowance) after a refusal."""
        return self if self._expires_at is None else Deadline(self._expires_at + seconds, self._clock, inline=self._inline)

    def inline(self) -> Deadline:
        """The same deadline, whose calls run in the caller's thread: for calls already run by :func:`together`, which waits for them."""
        return Deadline(self._expires_at, self._clock, inline=True)

    def remaining(self) -> float | None:
        """Seconds left (``None`` when unbounded); zero or less once past."""
        return None if self._expires_at is None else self._expires_at - self._clock()

    def call(self, operation: Callable[..., Result], /, *args: Any, **kwargs: Any) -> Result:
        """``operation(*args, **kwargs)``, or :class:`~sms_otp.core.errors.DeadlineExceededError` if it has not answered in time."""
        remaining = self.remaining()
        if remaining is None:
            return operation(*args, **kwargs)
        if remaining <= 0:
            raise DeadlineExceededError(abandoned=False)
        if self._inline:
            return operation(*args, **kwargs)
        pending = _CALLS.submit(operation, *args, **kwargs)
        try:
            return pending.result(timeout=remaining)
        except concurrent.futures.TimeoutError:
            # A call still queued behind abandoned ones never starts; one under way goes on without us.
            abandoned = not pending.cancel()
            raise DeadlineExceededError(abandoned=abandoned) from None


@dataclass(frozen=True, slots=True)
class Outcome[Value]:
    """How one of the tasks run :func:`together` ended: its value, its error, or still running at the deadline."""

    value: Value | None = None
    error: BaseException | None = None
    finished: bool = True
    # Still running at the deadline (it may complete): not finished, and not merely never started.
    abandoned: bool = False

    @property
    def succeeded(self) -> bool:
        return self.finished and self.error is None


def together[Value](tasks: Sequence[Callable[[], Value]], deadline: Deadline) -> list[Outcome[Value]]:
    """Run ``tasks`` side by side (one round trip for all of them) and wait for them until ``deadline``.

    Each task's outcome is returned in order, never raised. A task should make its
    calls with :meth:`Deadline.inline`: it already runs apart, and no call of it
    starts past the deadline. One still running at the deadline goes on in the
    background (``abandoned``); one that never started is cancelled.
    """
    remaining = deadline.remaining()
    if remaining is not None and remaining <= 0:
        return [Outcome(finished=False) for _task in tasks]
    # Each task runs in a copy of the caller's context (its logging keys, its tracing segment).
    pending = [_TOGETHER.submit(contextvars.copy_context().run, task) for task in tasks]
    done, _running = concurrent.futures.wait(pending, timeout=remaining)
    outcomes: list[Outcome[Value]] = []
    for future in pending:
        if future not in done:
            outcomes.append(Outcome(finished=False, abandoned=not future.cancel()))
        elif future.exception() is not None:
            outcomes.append(Outcome(error=future.exception()))
        else:
            outcomes.append(Outcome(value=future.result()))
    return outcomes
