"""Reading a failed AWS call: would a retry mend it, and may the call still have done its work?

A *transient* failure is one that trying again later may mend: throttling, an
error on the service's side (HTTP 5xx, KMS's internal and dependency errors), a
timeout, a connection that failed or broke. Anything else (a refused key, a
ciphertext that is not the key's, an invalid parameter) fails the same way on
every try.

A call that failed may still have *reached* the service when the request went
out and the answer was lost (a read timeout, a connection closed mid-answer): a
``Publish`` that failed that way may have sent its message. A call that never
connected, or that the service answered with an error, did nothing.

Some libraries re-raise an SDK error as their own, without the original (the
Encryption SDK's key provider, when no data key could be decrypted, raises a
new ``DecryptKeyError``). :class:`CallRecorder` keeps the last failure of a
client's calls, per thread, from botocore's own events, so the caller can still
tell a throttled KMS from a key that will never open the message.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

# Error codes a retry may mend, whatever their HTTP status (some services answer throttling with a 400).
TRANSIENT_ERROR_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "KMSInternalException",
        "DependencyTimeoutException",
        "KeyUnavailableException",
    }
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and the errors it was raised from or during, nearest first (each once)."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _aws_error(error: BaseException) -> ClientError | BotoCoreError | None:
    return next((link for link in _chain(error) if isinstance(link, ClientError | BotoCoreError)), None)


def is_transient(error: BaseException) -> bool:
    """Whether the AWS failure behind ``error`` (itself, or what it was raised from) may pass if tried again later."""
    aws_error = _aws_error(error)
    if isinstance(aws_error, ClientError):
        code = aws_error.response.get("Error", {}).get("Code")
        status = aws_error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in TRANSIENT_ERROR_CODES or int(status) >= 500
    return isinstance(aws_error, ConnectionError | HTTPClientError)


def may_have_reached_the_service(error: BaseException) -> bool:
    """Whether the request behind ``error`` may have been received and acted on although no answer came back."""
    aws_error = _aws_error(error)
    # A ConnectionError (no connection, a connect timeout) never sent the request; an HTTPClientError
    # (a read timeout, a connection closed while waiting) may have. A service's error answer did nothing.
    return isinstance(aws_error, HTTPClientError) and not isinstance(aws_error, ConnectionError)


class CallRecorder:
    """Keeps, per thread, what went wrong in the calls of one operation, from botocore's events.

    Attach it to a botocore session (before the client is built) or a client's
    event system; call :meth:`clear` before the work and read :attr:`failure`
    and :attr:`reached` after it.
    """

    def __init__(self, service_id: str, operation: str) -> None:
        self._service_id = service_id
        self._operation = operation
        self._local = threading.local()

    def attach(self, events: Any) -> None:
        """Listen on ``events`` (a botocore session or ``client.meta.events``)."""
        suffix = f"{self._service_id}.{self._operation}"
        # Unique ids: attaching twice to the same events (a shared client) records each call once.
        for event, handler in (
            (f"after-call.{suffix}", self._after_call),
            (f"after-call-error.{suffix}", self._after_call_error),
            (f"needs-retry.{suffix}", self._attempt_ended),
        ):
            events.register(event, handler, unique_id=f"sms-otp-{id(self)}-{event}")

    def clear(self) -> None:
        """Forget what this thread recorded so far."""
        self._local.failure = None
        self._local.reached = False

    @property
    def failure(self) -> BaseException | None:
        """The last failure recorded in this thread since :meth:`clear`."""
        failure: BaseException | None = getattr(self._local, "failure", None)
        return failure

    @property
    def reached(self) -> bool:
        """Whether any attempt in this thread since :meth:`clear` may have reached the service and lost its answer."""
        return bool(getattr(self._local, "reached", False))

    def _after_call(self, http_response: Any, parsed: dict[str, Any], **_kwargs: Any) -> None:
        if http_response is not None and http_response.status_code >= 300:
            self._local.failure = ClientError(parsed, self._operation)

    def _after_call_error(self, exception: BaseException, **_kwargs: Any) -> None:
        self._local.failure = exception
        self._local.reached = self.reached or may_have_reached_the_service(exception)

    def _attempt_ended(self, caught_exception: BaseException | None = None, **_kwargs: Any) -> None:
        # Each attempt, retried or not: a read timeout on the first of two attempts may still have sent it.
        if caught_exception is not None and may_have_reached_the_service(caught_exception):
            self._local.reached = True
