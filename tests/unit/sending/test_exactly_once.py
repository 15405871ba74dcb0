"""Custom SMS Sender: one Cognito event, one text, whatever fails after SNS may have taken it.

Lambda retries an asynchronous invocation that raised, with the same event and the
same request id. A retry of an invocation whose publish may have reached SNS sends
nothing; a retry of one whose publish certainly did not, sends as before.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from sms_otp.core.errors import DeliveryError
from sms_otp.sending.exactly_once import CLAIM_SECONDS, DELIVERY_KEY_PREFIX
from tests.testkit.clock import FakeClock
from tests.testkit.cognito_encryption import ENCRYPTION_SDK_NOISE, Encrypt
from tests.testkit.events import Event, EventLoader
from tests.testkit.lambda_context import FakeLambdaContext

pytestmark = [pytest.mark.unit, ENCRYPTION_SDK_NOISE]

POOL_ID = "us-east-1_EXAMPLE11"
CODE = "604219"
TABLE = "sms-otp-limits"
SNS_ENDPOINT = "https://sns.us-east-1.amazonaws.com/"
THROTTLED = {"Error": {"Code": "Throttling"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
# Lambda waits about a minute before the first retry of an asynchronous invocation and two before the second:
# past the number's interval between messages, so the limits alone would let a retry through.
WAIT_BEFORE_RETRIES_SECONDS = (60, 120)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sender(sns_outbox: Any, kms_key_arn: str, load_handler: Callable[..., ModuleType], clock: FakeClock) -> ModuleType:
    """custom_sms_sender, cold-started in test mode with SMS_KEY_ARN set to the moto key, its limits on a fake clock."""
    module = load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn)
    module.LIMITS.clock = clock
    return module


@pytest.fixture
def mfa_event(load_event: EventLoader, encrypt_code: Encrypt, kms_key_arn: str) -> Event:
    event = load_event("custom_sms_sender_authentication")
    event["request"]["code"] = encrypt_code(CODE.encode(), kms_key_arn, POOL_ID)
    return event


def table_items(prefix: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    return [item for item in items if item["pk"]["S"].startswith(prefix)]


def budget_spent() -> int:
    """Messages counted in the stack's budget (the known and fresh shares; a country's slice counts the same sends again)."""
    return sum(int(item.get("sent", {}).get("N", "0")) for item in table_items("budget#") if "#country+" not in item["pk"]["S"])


def lose_the_answer(sender: ModuleType) -> Callable[[], None]:
    """SNS takes every publish (the message is in the outbox), and its answer is lost on the way back."""

    def answer_lost(**_kwargs: object) -> None:
        raise ReadTimeoutError(endpoint_url=SNS_ENDPOINT)

    events = sender.PUBLISHER.client.meta.events
    events.register("after-call.sns.Publish", answer_lost, unique_id="answer-lost")
    return lambda: events.unregister("after-call.sns.Publish", unique_id="answer-lost")


def test_sns_took_the_message_and_its_answer_was_lost_then_lambdas_retry_sends_nothing(
    sender: ModuleType, sns_outbox: Any, mfa_event: Event, clock: FakeClock
) -> None:
    # GIVEN one invocation whose publish reached SNS, whose answer was lost: it raises for Lambda to retry
    invocation = FakeLambdaContext()
    answer_found_again = lose_the_answer(sender)
    with pytest.raises(DeliveryError) as raised:
        sender.lambda_handler(mfa_event, invocation)
    answer_found_again()
    assert (raised.value.retryable, raised.value.may_have_been_sent) == (True, True)
    assert len(sns_outbox.topic_messages()) == 1

    # WHEN Lambda retries it (the same event, the same request id) a minute later, and again two minutes after that
    for wait in WAIT_BEFORE_RETRIES_SECONDS:
        clock.now += wait
        assert sender.lambda_handler(mfa_event, invocation) is mfa_event

    # THEN the person got exactly one text, and the retries spent no more of the budget
    [message] = sns_outbox.topic_messages()
    assert CODE in message["Message"]
    assert budget_spent() == 1


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(ClientError(THROTTLED, "Publish"), id="throttled"),
        pytest.param(ConnectTimeoutError(endpoint_url=SNS_ENDPOINT), id="connect timeout"),
        pytest.param(EndpointConnectionError(endpoint_url=SNS_ENDPOINT), id="no connection"),
    ],
)
def test_a_publish_that_certainly_failed_is_sent_by_lambdas_retry(
    sender: ModuleType, sns_outbox: Any, mfa_event: Event, failure: Exception
) -> None:
    # GIVEN one invocation whose publish never reached SNS, or was refused for now
    invocation = FakeLambdaContext()
    events = sender.PUBLISHER.client.meta.events

    def refuse(**_kwargs: object) -> None:
        raise failure

    events.register("before-send.sns.Publish", refuse, unique_id="unreachable")
    try:
        with pytest.raises(DeliveryError) as raised:
            sender.lambda_handler(mfa_event, invocation)
    finally:
        events.unregister("before-send.sns.Publish", unique_id="unreachable")
    assert (raised.value.retryable, raised.value.may_have_been_sent) == (True, False)
    assert sns_outbox.topic_messages() == []

    # WHEN Lambda retries it with the same request id
    sender.lambda_handler(mfa_event, invocation)

    # THEN the code goes out, once
    [message] = sns_outbox.topic_messages()
    assert CODE in message["Message"]
    assert budget_spent() == 1


def test_each_invocation_is_claimed_under_its_own_request_id(
    sender: ModuleType, sns_outbox: Any, mfa_event: Event, clock: FakeClock
) -> None:
    # GIVEN two invocations (two events from Cognito: Lambda gives each a request id of its own)
    first, second = FakeLambdaContext(), FakeLambdaContext()

    # WHEN both run, the second after the number's interval
    sender.lambda_handler(mfa_event, first)
    clock.now += 60
    sender.lambda_handler(mfa_event, second)

    # THEN both were sent, each claimed under its own request id, and each claim expires after Lambda's retries
    assert len(sns_outbox.topic_messages()) == 2
    claims = {item["pk"]["S"]: item for item in table_items(DELIVERY_KEY_PREFIX)}
    assert set(claims) == {DELIVERY_KEY_PREFIX + first.aws_request_id, DELIVERY_KEY_PREFIX + second.aws_request_id}
    assert all(int(item["expires_at"]["N"]) > 6 * 3600 for item in claims.values())
    assert CLAIM_SECONDS > 6 * 3600


def test_a_claim_the_table_cannot_take_sends_nothing_and_is_retried(sender: ModuleType, sns_outbox: Any, mfa_event: Event) -> None:
    # GIVEN the limits table out of reach for the claim's write (the limits themselves were read and written)
    invocation = FakeLambdaContext()
    events = sender.DELIVERIES.client.meta.events

    def unreachable_for_claims(params: dict[str, Any], **_kwargs: object) -> None:
        if params["Item"]["pk"]["S"].startswith(DELIVERY_KEY_PREFIX):
            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")

    events.register("provide-client-params.dynamodb.PutItem", unreachable_for_claims, unique_id="claims-unreachable")

    # WHEN the sender runs
    # THEN nothing is sent, and the failure is raised for Lambda to retry
    try:
        with pytest.raises(DeliveryError) as raised:
            sender.lambda_handler(mfa_event, invocation)
    finally:
        events.unregister("provide-client-params.dynamodb.PutItem", unique_id="claims-unreachable")
    assert (raised.value.retryable, raised.value.may_have_been_sent) == (True, False)
    assert sns_outbox.topic_messages() == []

    # AND the retry sends the code, once, on the allowance given back
    sender.lambda_handler(mfa_event, invocation)
    assert len(sns_outbox.topic_messages()) == 1
    assert budget_spent() == 1
