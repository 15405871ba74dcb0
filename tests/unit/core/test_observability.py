"""sms_otp.core.observability.cognito_trigger: log keys, metrics and the two tiers of errors."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from sms_otp.core.errors import (
    CodeDecryptionError,
    ConfigurationError,
    DeliveryError,
    InternalError,
    InvalidPhoneNumberError,
    MalformedEventError,
    SmsOtpError,
    UserFacingError,
)
from sms_otp.core.observability import cognito_trigger, count, tracing_enabled
from tests.testkit.events import EventLoader

pytestmark = pytest.mark.unit


GENERIC = "Something went wrong on our side. Please try again later."
# Planted in events to prove the wrapper never logs the event itself.
MARKER = "EVENT-CONTENT-MUST-NOT-BE-LOGGED-7f3a"


def handler_raising(error: BaseException | None, *, asynchronous: bool = False) -> Callable[[dict[str, Any], Any], Any]:
    @cognito_trigger("TestTrigger", asynchronous=asynchronous)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        count("TestInvocations")
        if error is not None:
            raise error
        event["response"] = {"ok": True}
        return event

    return handler


def marked_event(load_event: EventLoader) -> dict[str, Any]:
    event = load_event("create_auth_challenge")
    event["request"]["clientMetadata"] = {"note": MARKER}
    event["request"]["userAttributes"]["custom:secret"] = MARKER
    return event


@pytest.mark.parametrize(
    "error",
    [
        InvalidPhoneNumberError("Enter a valid phone number in E.164 form"),
        DeliveryError(),
        UserFacingError("Anything we chose to say"),
    ],
    ids=type,
)
def test_a_user_facing_error_passes_through_unchanged(
    load_event: EventLoader, lambda_context: object, logs: Any, error: UserFacingError
) -> None:
    # GIVEN a synchronous trigger that refuses with a user-facing error
    handler = handler_raising(error)

    # WHEN invoked
    with pytest.raises(UserFacingError) as raised:
        handler(marked_event(load_event), lambda_context)

    # THEN the very same error reaches Cognito (and so the caller), logged as a warning without a stack
    assert raised.value is error
    [record] = logs.records()
    assert record["level"] == "WARNING"
    assert record["message"] == "Refused with a user-facing error"
    assert record["error_type"] == type(error).__name__
    assert "exception" not in record


@pytest.mark.parametrize(
    ("error", "level", "message"),
    [
        (InvalidPhoneNumberError("Enter a valid phone number"), "WARNING", "Refused with a user-facing error"),
        (UserFacingError("Too many codes were sent to this number."), "WARNING", "Refused with a user-facing error"),
        (MalformedEventError("m"), "ERROR", "Trigger failed"),
        (CodeDecryptionError("the code was encrypted for another user pool"), "ERROR", "Trigger failed"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_an_asynchronous_trigger_returns_on_errors_a_retry_cannot_mend(
    load_event: EventLoader, lambda_context: object, logs: Any, error: SmsOtpError, level: str, message: str
) -> None:
    # GIVEN an asynchronous trigger (Lambda retries it when it raises) failing for good
    # WHEN invoked
    event = marked_event(load_event)
    result = handler_raising(error, asynchronous=True)(event, lambda_context)

    # THEN it returns, so Lambda does not retry: the error is logged and counted
    assert result is event
    [record] = logs.records()
    assert (record["level"], record["message"], record["error_type"]) == (level, message, type(error).__name__)
    assert ('"UserFacingErrors":[1.0]' if level == "WARNING" else '"Failures":[1.0]') in logs.stdout


def test_an_asynchronous_trigger_raises_a_transient_error_for_lambda_to_retry(
    load_event: EventLoader, lambda_context: object, logs: Any
) -> None:
    # GIVEN an asynchronous trigger whose send failed (SNS may take it on the next try)
    error = DeliveryError()

    # WHEN / THEN the very error propagates, for Lambda's retry
    with pytest.raises(DeliveryError) as raised:
        handler_raising(error, asynchronous=True)(marked_event(load_event), lambda_context)
    assert raised.value is error


@pytest.mark.parametrize(
    "error",
    [RuntimeError("boom"), KeyError("request"), ValueError("bad"), TypeError("nope"), ZeroDivisionError()],
    ids=type,
)
@pytest.mark.parametrize("asynchronous", [False, True], ids=["synchronous", "asynchronous"])
def test_an_unexpected_error_becomes_a_generic_internal_error_logged_with_its_stack(
    load_event: EventLoader, lambda_context: object, logs: Any, error: Exception, asynchronous: bool
) -> None:
    # GIVEN a handler that fails unexpectedly
    handler = handler_raising(error, asynchronous=asynchronous)

    # WHEN invoked
    with pytest.raises(InternalError) as raised:
        handler(marked_event(load_event), lambda_context)

    # THEN the caller sees only the generic text, the original is chained, and the log holds the stack
    assert str(raised.value) == GENERIC
    assert raised.value.__cause__ is error
    [record] = logs.records()
    assert record["level"] == "ERROR"
    assert record["message"] == "Trigger failed unexpectedly"
    assert record["error_type"] == type(error).__name__
    assert record["exception_name"] == type(error).__name__
    assert record["exception"].startswith("Traceback (most recent call last):")
    assert "in handler" in record["exception"]


@pytest.mark.parametrize(
    "error", [MalformedEventError("request.session must be a list"), CodeDecryptionError("x"), ConfigurationError("y")], ids=type
)
def test_our_internal_errors_are_generic_for_synchronous_triggers(
    load_event: EventLoader, lambda_context: object, logs: Any, error: SmsOtpError
) -> None:
    # GIVEN a synchronous trigger failing with one of our internal errors
    # WHEN / THEN the caller sees the generic text; the log keeps the real error and its stack
    with pytest.raises(InternalError) as raised:
        handler_raising(error)(marked_event(load_event), lambda_context)
    assert str(raised.value) == GENERIC
    assert raised.value.__cause__ is error
    [record] = logs.records()
    assert (record["level"], record["message"], record["error_type"]) == ("ERROR", "Trigger failed", type(error).__name__)
    assert "Traceback" in record["exception"]


@pytest.mark.parametrize(
    "event_name",
    [
        "create_auth_challenge",
        "custom_sms_sender_sign_up",
        "define_auth_challenge_new_session",
        "post_authentication",
        "pre_sign_up",
        "verify_auth_challenge",
    ],
)
def test_logs_carry_the_routing_keys_and_the_lambda_context(
    load_event: EventLoader, lambda_context: Any, logs: Any, event_name: str
) -> None:
    # GIVEN a handler that fails (so it logs)
    event = load_event(event_name)

    # WHEN invoked
    with pytest.raises(InternalError):
        handler_raising(RuntimeError("boom"))(event, lambda_context)

    # THEN the record has the event's routing keys and the context's, as top-level JSON keys
    [record] = logs.records()
    assert {key: record[key] for key in ("trigger_source", "user_pool_id", "client_id", "function_name", "function_request_id")} == {
        "trigger_source": event["triggerSource"],
        "user_pool_id": "us-east-1_EXAMPLE11",
        "client_id": "4example7client3id0abcdefgh",
        "function_name": lambda_context.function_name,
        "function_request_id": lambda_context.aws_request_id,
    }
    assert record["service"] == "sms-otp"


def test_routing_keys_do_not_leak_into_the_next_invocation(load_event: EventLoader, lambda_context: object, logs: Any) -> None:
    # GIVEN one invocation with a client id, then one whose event has none
    handler = handler_raising(RuntimeError("boom"))
    with pytest.raises(InternalError):
        handler(load_event("create_auth_challenge"), lambda_context)
    bare = load_event("create_auth_challenge")
    del bare["callerContext"]
    bare["triggerSource"] = "x" * 500

    # WHEN the second runs
    with pytest.raises(InternalError):
        handler(bare, lambda_context)

    # THEN its record holds no client id nor trigger source from the first
    first, second = logs.records()
    assert first["client_id"] == "4example7client3id0abcdefgh"
    assert "client_id" not in second
    assert "trigger_source" not in second
    assert second["user_pool_id"] == "us-east-1_EXAMPLE11"


@pytest.mark.parametrize("error", [None, RuntimeError("boom"), DeliveryError(), MalformedEventError("m")], ids=repr)
def test_the_event_itself_is_never_logged(load_event: EventLoader, lambda_context: object, logs: Any, error: Exception | None) -> None:
    # GIVEN an event carrying a marker in its attributes and client metadata
    event = marked_event(load_event)

    # WHEN the wrapped handler succeeds or fails
    with contextlib.suppress(SmsOtpError):
        handler_raising(error)(event, lambda_context)

    # THEN neither the marker nor the phone number appears in anything printed
    assert MARKER not in logs.text
    assert "+14155550123" not in logs.text


def test_metrics_are_flushed_with_the_trigger_dimension(load_event: EventLoader, lambda_context: object, logs: Any) -> None:
    # GIVEN a handler that counts one invocation
    # WHEN it succeeds
    result = handler_raising(None)(load_event("create_auth_challenge"), lambda_context)

    # THEN one EMF document holds the count under our namespace, with the trigger and service dimensions
    assert result["response"] == {"ok": True}
    [document] = [json.loads(line) for line in logs.stdout.splitlines() if line.startswith("{") and '"_aws"' in line]
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "SmsOtpUnitTests"
    assert directive["Metrics"] == [{"Name": "TestInvocations", "Unit": "Count"}]
    assert (document["trigger"], document["service"], document["TestInvocations"]) == ("TestTrigger", "sms-otp", [1.0])


def test_failures_are_counted(load_event: EventLoader, lambda_context: object, logs: Any) -> None:
    # GIVEN a handler that fails
    # WHEN / THEN the flushed metrics count the failure
    with pytest.raises(InternalError):
        handler_raising(RuntimeError("boom"))(load_event("create_auth_challenge"), lambda_context)
    [document] = [json.loads(line) for line in logs.stdout.splitlines() if '"_aws"' in line]
    assert document["Failures"] == [1.0]


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(None, False), ("true", False), ("TRUE", False), ("false", True), (" False ", True), ("", False), ("0", False)],
)
def test_tracing_is_opt_in(monkeypatch: pytest.MonkeyPatch, value: str | None, enabled: bool) -> None:
    if value is None:
        monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    else:
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", value)
    assert tracing_enabled() is enabled
