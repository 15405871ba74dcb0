"""Powertools logging and metrics, and the wrapper every trigger handler wears.

The wrapper decides what an error looks like to the caller: a
:class:`~sms_otp.core.errors.UserFacingError` passes through with its own text,
anything else is logged with its stack and re-raised as a generic
:class:`~sms_otp.core.errors.InternalError`. It never logs the event itself: events
carry phone numbers, and Custom SMS Sender events carry encrypted codes.

Tracing is opt-in (``EnableTracing`` in the template): Powertools' Tracer loads
the X-Ray SDK and botocore, over 100 ms of cold start, so it is imported only
when tracing is on, and only by the triggers that call AWS (``traced=True``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from sms_otp.core.errors import InternalError, MalformedEventError, SmsOtpError, UserFacingError
from sms_otp.core.events import routing_keys

logger = Logger()
metrics = Metrics()

Event = dict[str, Any]
Handler = TypeVar("Handler", bound=Callable[..., Any])


def count(name: str, value: int = 1) -> None:
    """Add ``value`` to the metric ``name`` (flushed with the invocation's other metrics)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_for_alarm(name: str) -> None:
    """Count ``name`` once with the service dimension only, so one CloudWatch alarm sees every trigger's."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1):
        pass


def count_refusal(reason: str) -> None:
    """Count one refusal by the limits, as ``SendRefusals`` by ``reason`` and, for the alarm on their rate, in all."""
    with single_metric(name="SendRefusals", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="reason", value=reason)
    count_for_alarm("SendRefusals")


def count_range_stopped(number_range: str) -> None:
    """Count one stop of a number range by the pumping guard: by range (dimension ``number_range``) and, for the alarm, in all.

    A range is a calling code and the first digits of a number, never a whole number.
    """
    with single_metric(name="PumpingRangesStopped", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="number_range", value=number_range)
    count_for_alarm("PumpingRangesStopped")


def tracing_enabled() -> bool:
    """Whether X-Ray tracing was asked for (Powertools' own switch, set by the template)."""
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").strip().lower() == "false"


def cognito_trigger(trigger: str, *, traced: bool = False, asynchronous: bool = False) -> Callable[[Handler], Handler]:
    """Wrap a Cognito trigger handler with logging keys, metrics and the two tiers of errors.

    ``trigger`` names the trigger in metrics (the ``trigger`` dimension).
    ``traced`` applies Powertools' Tracer when tracing is enabled.
    ``asynchronous`` is for triggers whose errors never reach the caller (the
    Custom SMS Sender), which Lambda retries when they raise: the package's own
    errors are logged and counted, and only the transient ones (``retryable``:
    a failed send, the limit store unreachable) are raised again, with their
    precise text, for Lambda to retry.
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(event: Event, context: Any) -> Any:
            logger.append_keys(**routing_keys(event))
            metrics.add_dimension(name="trigger", value=trigger)
            try:
                if not isinstance(event, dict):
                    raise MalformedEventError(f"the event must be a JSON object, not {type(event).__name__}")
                return handler(event, context)
            except SmsOtpError as error:
                if isinstance(error, UserFacingError):
                    logger.warning("Refused with a user-facing error", extra={"error_type": type(error).__name__})
                    count("UserFacingErrors")
                else:
                    logger.exception("Trigger failed", extra={"error_type": type(error).__name__})
                    count("Failures")
                if asynchronous:
                    if error.retryable:
                        raise
                    # Lambda would retry an asynchronous invocation that raised: a refusal by the
                    # limits could then succeed a minute later, and a bad event would fail twice more.
                    return event
                if isinstance(error, UserFacingError):
                    raise
                raise InternalError() from error
            except Exception as error:
                logger.exception("Trigger failed unexpectedly", extra={"error_type": type(error).__name__})
                count("Failures")
                raise InternalError() from error

        wrapped: Callable[..., Any] = wrapper
        if traced and tracing_enabled():
            from aws_lambda_powertools import Tracer  # noqa: PLC0415 - loads X-Ray only when tracing is on

            wrapped = Tracer().capture_lambda_handler(wrapped, capture_response=False)
        wrapped = logger.inject_lambda_context(log_event=False, clear_state=True)(wrapped)
        return metrics.log_metrics(wrapped)  # type: ignore[return-value]

    return decorate
