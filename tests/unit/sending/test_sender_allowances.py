"""Cognito's own messages to one number: each trigger source has its own allowance, and every refusal is counted by reason."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from sms_otp.core.observability import count_refusal
from sms_otp.limits.errors import SendLimitError
from tests.testkit.clock import FakeClock
from tests.testkit.cognito_encryption import ENCRYPTION_SDK_NOISE, Encrypt
from tests.testkit.events import Event, EventLoader
from tests.testkit.lambda_context import FakeLambdaContext
from tests.testkit.metrics import metric_dimensions
from tests.testkit.template import load_template, resource_properties

pytestmark = [
    pytest.mark.unit,
    ENCRYPTION_SDK_NOISE,
]


POOL_ID = "us-east-1_EXAMPLE11"
START = 1_800_000_000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sender(sns_outbox: Any, kms_key_arn: str, load_handler: Callable[..., ModuleType], clock: FakeClock) -> ModuleType:
    module = load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn)
    module.LIMITS.clock = clock
    return module


@pytest.fixture
def cognito_event(load_event: EventLoader, encrypt_code: Encrypt, kms_key_arn: str) -> Callable[[str, str], Event]:
    """``cognito_event("custom_sms_sender_sign_up", "111111")``: the sample event with that code, encrypted as Cognito does."""

    def make(name: str, code: str) -> Event:
        event = load_event(name)
        event["request"]["code"] = encrypt_code(code.encode(), kms_key_arn, POOL_ID)
        return event

    return make


def codes_received(sns_outbox: Any) -> list[str]:
    return [message["Message"] for message in sns_outbox.topic_messages()]


def test_a_sign_up_code_followed_at_once_by_an_mfa_code_sends_both(
    *, sender: ModuleType, sns_outbox: Any, cognito_event: Callable[[str, str], Event]
) -> None:
    # GIVEN a sign-up code just sent to a number
    sender.lambda_handler(cognito_event("custom_sms_sender_sign_up", "111111"), FakeLambdaContext())

    # WHEN Cognito sends an MFA code to it in the same second
    sender.lambda_handler(cognito_event("custom_sms_sender_authentication", "222222"), FakeLambdaContext())

    # THEN both arrive: one source's interval does not hold up another source's first message
    assert codes_received(sns_outbox) == [
        "Your verification code is 111111. Do not share it with anyone.",
        "Your sign-in code is 222222. Do not share it with anyone.",
    ]


def test_ten_forgot_password_calls_leave_mfa_and_verification_working(
    *, sender: ModuleType, sns_outbox: Any, cognito_event: Callable[[str, str], Event], clock: FakeClock
) -> None:
    # GIVEN someone who knows the number asks for a password reset ten times, as fast as the limits let them
    # (20 minutes apart: three an hour), until the number's daily allowance for resets is spent
    for _ in range(10):
        sender.lambda_handler(cognito_event("custom_sms_sender_forgot_password", "333333"), FakeLambdaContext())
        clock.now += 1200
    resets = len(sns_outbox.topic_messages())
    with pytest.raises(SendLimitError):
        sender.send_custom_sms(
            cognito_event("custom_sms_sender_forgot_password", "333333"),
            decryptor=sender.DECRYPTOR,
            send_text=sender.PUBLISHER.send,
            limits=sender.LIMITS,
            allowed_country_codes=sender.SETTINGS.allowed_country_codes,
        )

    # WHEN the owner signs in with MFA, and verifies a phone number
    sender.lambda_handler(cognito_event("custom_sms_sender_authentication", "444444"), FakeLambdaContext())
    sender.lambda_handler(cognito_event("custom_sms_sender_verify_user_attribute", "555555"), FakeLambdaContext())

    # THEN all ten resets went out, and so do the MFA and verification codes
    assert resets == 10
    assert codes_received(sns_outbox)[10:] == [
        "Your sign-in code is 444444. Do not share it with anyone.",
        "Your code to verify your phone number is 555555. Do not share it with anyone.",
    ]


def test_each_source_keeps_its_own_interval(*, sender: ModuleType, sns_outbox: Any, cognito_event: Callable[[str, str], Event]) -> None:
    # GIVEN an MFA code just sent
    sender.lambda_handler(cognito_event("custom_sms_sender_authentication", "111111"), FakeLambdaContext())

    # WHEN another MFA code follows in the same second
    with pytest.raises(SendLimitError):
        sender.send_custom_sms(
            cognito_event("custom_sms_sender_authentication", "222222"),
            decryptor=sender.DECRYPTOR,
            send_text=sender.PUBLISHER.send,
            limits=sender.LIMITS,
            allowed_country_codes=sender.SETTINGS.allowed_country_codes,
        )

    # THEN it is refused by the interval, as before: only the first arrived
    assert len(sns_outbox.topic_messages()) == 1


def test_every_refusal_is_counted_by_its_reason_and_in_all(
    *,
    sender: ModuleType,
    cognito_event: Callable[[str, str], Event],
    clock: FakeClock,
    logs: Any,
) -> None:
    # GIVEN a reset code sent, and another asked for at once (the interval refuses it)
    reset = cognito_event("custom_sms_sender_forgot_password", "111111")
    sender.lambda_handler(reset, FakeLambdaContext())
    sender.lambda_handler(reset, FakeLambdaContext())

    # WHEN four more go out a minute apart, filling the hour, and a sixth is asked for a minute later (the hour refuses it)
    for _ in range(4):
        clock.now += 60
        sender.lambda_handler(reset, FakeLambdaContext())
    clock.now += 60
    sender.lambda_handler(reset, FakeLambdaContext())

    # THEN each refusal was counted once by its reason, and once in all (the alarm's metric)
    everything = {"service": "sms-otp"}
    assert metric_dimensions(logs.stdout, "SendRefusals") == [
        {**everything, "reason": "interval"},
        everything,
        {**everything, "reason": "hour"},
        everything,
    ]


def test_the_alarm_watches_the_refusals_in_all_as_the_functions_write_them(logs: Any) -> None:
    # GIVEN the alarm on an unusual rate of refusals, and the functions' service name and namespace
    alarm = resource_properties("UnusualRefusalRateAlarm")
    environment = load_template()["Globals"]["Function"]["Environment"]["Variables"]

    # WHEN a refusal is counted
    count_refusal("interval")
    [_by_reason, in_all] = metric_dimensions(logs.stdout, "SendRefusals")

    # THEN the alarm watches the metric counted in all: its name, namespace and only dimension
    assert (alarm["MetricName"], alarm["Namespace"]) == ("SendRefusals", environment["POWERTOOLS_METRICS_NAMESPACE"])
    assert alarm["Dimensions"] == [{"Name": "service", "Value": environment["POWERTOOLS_SERVICE_NAME"]}]
    assert set(in_all) == {"service"}
