"""sms_otp.sending.delivery and the Create Auth Challenge handler: where a text goes, in test mode and for real."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

import sms_otp.sending.delivery
from sms_otp.core.errors import DeliveryError, InvalidPhoneNumberError
from sms_otp.core.settings import Settings
from sms_otp.sending.delivery import SmsPublisher
from tests.testkit.events import EventLoader

pytestmark = pytest.mark.unit

PHONE_NUMBER = "+14155550123"
MASKED = "+*******0123"
TEXT = "Your sign-in code is 123456. It expires in 3 minutes. Do not share it with anyone."
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:sms-otp-test-mode"
TEST_MODE = Settings(test_mode=True, test_mode_topic_arn=TOPIC_ARN)
PRODUCTION = Settings(test_mode=False, sms_sender_id="Example", sms_origination_number="+18005550199")


def string_attribute(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the metrics the delivery module counts."""
    names: list[str] = []
    monkeypatch.setattr(sms_otp.sending.delivery, "count", lambda name, _value=1: names.append(name))
    return names


@pytest.fixture
def stubbed_sns() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sns", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


# ---------------------------------------------------------------- exact requests (Stubber) ---


def test_normal_mode_publishes_a_transactional_sms_to_the_phone(stubbed_sns: tuple[Any, Stubber], counted: list[str]) -> None:
    # GIVEN production settings with a Sender ID and an origination number
    client, stubber = stubbed_sns
    stubber.add_response(
        "publish",
        {"MessageId": "m-1"},
        {
            "PhoneNumber": PHONE_NUMBER,
            "Message": TEXT,
            "MessageAttributes": {
                "AWS.SNS.SMS.SMSType": string_attribute("Transactional"),
                "AWS.SNS.SMS.SenderID": string_attribute("Example"),
                "AWS.MM.SMS.OriginationNumber": string_attribute("+18005550199"),
            },
        },
    )

    # WHEN sending a text
    message_id = SmsPublisher(PRODUCTION, client).send(PHONE_NUMBER, TEXT, trigger_source="CreateAuthChallenge_Authentication")

    # THEN exactly one Publish to the phone, with exactly these attributes (the Stubber checks them)
    assert message_id == "m-1"
    assert counted == ["MessagesSent"]


def test_normal_mode_without_sender_id_or_origination_number_sends_only_the_sms_type(stubbed_sns: tuple[Any, Stubber]) -> None:
    # GIVEN default settings: no Sender ID, no origination number
    client, stubber = stubbed_sns
    stubber.add_response(
        "publish",
        {"MessageId": "m-2"},
        {"PhoneNumber": PHONE_NUMBER, "Message": TEXT, "MessageAttributes": {"AWS.SNS.SMS.SMSType": string_attribute("Transactional")}},
    )

    # WHEN / THEN the Publish carries only the SMS type (the Stubber checks the exact request)
    assert SmsPublisher(Settings(), client).send(PHONE_NUMBER, TEXT, trigger_source="CustomSMSSender_SignUp") == "m-2"


def test_test_mode_publishes_to_the_topic_with_recipient_and_trigger_source(stubbed_sns: tuple[Any, Stubber], counted: list[str]) -> None:
    # GIVEN test mode, and the exact Publish expected on the topic
    client, stubber = stubbed_sns
    stubber.add_response(
        "publish",
        {"MessageId": "m-3"},
        {
            "TopicArn": TOPIC_ARN,
            "Subject": f"Test-mode SMS to {MASKED}",
            "Message": TEXT,
            "MessageAttributes": {
                "recipient": string_attribute(PHONE_NUMBER),
                "trigger_source": string_attribute("CreateAuthChallenge_Authentication"),
            },
        },
    )

    # WHEN / THEN that very request was made, and counted as sent
    assert SmsPublisher(TEST_MODE, client).send(PHONE_NUMBER, TEXT, trigger_source="CreateAuthChallenge_Authentication") == "m-3"
    assert counted == ["MessagesSent"]


@pytest.mark.parametrize("settings", [TEST_MODE, PRODUCTION], ids=["test mode", "normal mode"])
@pytest.mark.parametrize("error_code", ["InternalError", "Throttled", "InvalidParameter", "AuthorizationError", "KMSAccessDenied"])
def test_an_sns_error_becomes_a_delivery_error_and_nothing_counts_as_sent(
    stubbed_sns: tuple[Any, Stubber], counted: list[str], logs: Any, settings: Settings, error_code: str
) -> None:
    # GIVEN SNS refusing the message, with an error text that echoes the number
    client, stubber = stubbed_sns
    stubber.add_client_error("publish", service_error_code=error_code, service_message=f"Invalid parameter: {PHONE_NUMBER}")

    # WHEN sending
    with pytest.raises(DeliveryError, match=r"^We could not send the code\. Please try again later\.$") as raised:
        SmsPublisher(settings, client).send(PHONE_NUMBER, TEXT, trigger_source="CreateAuthChallenge_Authentication")

    # THEN a user-facing delivery error with no cause attached, a failure counted, nothing counted as sent,
    # and a log that names the error code and the masked number only
    assert raised.value.__cause__ is None
    assert counted == ["DeliveryFailures"]
    [record] = logs.records()
    assert {key: record[key] for key in ("level", "message", "error_code", "recipient")} == {
        "level": "ERROR",
        "message": "SNS did not take the message",
        "error_code": error_code,
        "recipient": MASKED,
    }
    assert PHONE_NUMBER not in logs.text


def test_a_connection_failure_becomes_a_delivery_error(counted: list[str]) -> None:
    # GIVEN SNS cannot be reached
    class UnreachableSns:
        def publish(self, **request: object) -> dict[str, str]:
            raise EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com/")

    # WHEN / THEN a delivery error, counted as a failure
    with pytest.raises(DeliveryError):
        SmsPublisher(PRODUCTION, UnreachableSns()).send(PHONE_NUMBER, TEXT, trigger_source="CustomSMSSender_SignUp")
    assert counted == ["DeliveryFailures"]


@pytest.mark.parametrize(
    ("error_code", "http_status", "retryable"),
    [("Throttling", 400, True), ("InternalError", 500, True), ("InvalidParameter", 400, False), ("AuthorizationError", 403, False)],
)
def test_a_delivery_error_says_whether_a_retry_may_help(
    stubbed_sns: tuple[Any, Stubber], error_code: str, http_status: int, retryable: bool
) -> None:
    # GIVEN SNS answering the publish with an error
    client, stubber = stubbed_sns
    stubber.add_client_error("publish", service_error_code=error_code, http_status_code=http_status)

    # WHEN / THEN the delivery error says whether trying later may help, and that nothing was sent
    with pytest.raises(DeliveryError) as raised:
        SmsPublisher(PRODUCTION, client).send(PHONE_NUMBER, TEXT, trigger_source="CustomSMSSender_SignUp")
    assert (raised.value.retryable, raised.value.may_have_been_sent) == (retryable, False)


def test_a_publish_whose_first_answer_was_lost_may_have_been_sent() -> None:
    # GIVEN SNS taking the first attempt and losing its answer, then refusing the second (botocore retries it)
    client = boto3.client("sns", region_name="us-east-1")
    attempts: list[int] = []

    def send(**_kwargs: object) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ReadTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com/")
        raise EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com/")

    publisher = SmsPublisher(PRODUCTION, client)
    client.meta.events.register("before-send.sns.Publish", send)

    # WHEN / THEN the delivery error says the message may be on its way, though the last attempt never connected
    with pytest.raises(DeliveryError) as raised:
        publisher.send(PHONE_NUMBER, TEXT, trigger_source="CustomSMSSender_SignUp")
    assert (raised.value.retryable, raised.value.may_have_been_sent) == (True, True)


@pytest.mark.parametrize("phone_number", ["+1 415 555 0123", "14155550123", "", "+1415"])
def test_an_invalid_number_is_refused_before_any_publish(stubbed_sns: tuple[Any, Stubber], counted: list[str], phone_number: str) -> None:
    # GIVEN a Stubber with no response queued: any call would fail the test
    client, _stubber = stubbed_sns

    with pytest.raises(InvalidPhoneNumberError):
        SmsPublisher(PRODUCTION, client).send(phone_number, TEXT, trigger_source="CustomSMSSender_SignUp")
    assert counted == []


def test_the_client_is_built_lazily_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a publisher built without a client
    built: list[object] = []

    def build_client() -> object:
        built.append(object())
        return built[-1]

    monkeypatch.setattr(sms_otp.sending.delivery, "sns_client", build_client)
    publisher = SmsPublisher(PRODUCTION)

    # WHEN / THEN the SNS client is built on first use, once
    assert built == []
    assert publisher.client is publisher.client
    assert built == [publisher.client]


# ---------------------------------------------------------------- moto ---


def test_test_mode_reaches_the_topic_and_never_a_phone(sns_outbox: Any, counted: list[str]) -> None:
    # GIVEN the test-mode topic with a queue subscribed
    publisher = SmsPublisher(TEST_MODE, boto3.client("sns", region_name="us-east-1"))

    # WHEN sending a text
    message_id = publisher.send(PHONE_NUMBER, TEXT, trigger_source="CustomSMSSender_ForgotPassword")

    # THEN the topic got it, with the intended recipient and the trigger source as attributes, and no SMS left
    [notification] = sns_outbox.topic_messages()
    assert notification["MessageId"] == message_id
    assert notification["Message"] == TEXT
    assert notification["Subject"] == f"Test-mode SMS to {MASKED}"
    assert notification["MessageAttributes"] == {
        "recipient": {"Type": "String", "Value": PHONE_NUMBER},
        "trigger_source": {"Type": "String", "Value": "CustomSMSSender_ForgotPassword"},
    }
    assert sns_outbox.sms_messages() == []


def test_normal_mode_reaches_the_phone_and_never_the_topic(sns_outbox: Any) -> None:
    # GIVEN production settings against moto
    publisher = SmsPublisher(PRODUCTION, boto3.client("sns", region_name="us-east-1"))

    # WHEN sending a text
    publisher.send(PHONE_NUMBER, TEXT, trigger_source="CustomSMSSender_SignUp")

    # THEN moto recorded one SMS to the phone and the test topic got nothing
    assert sns_outbox.sms_messages() == [(PHONE_NUMBER, TEXT)]
    assert sns_outbox.topic_messages() == []


def test_a_deleted_test_topic_is_a_delivery_error(sns_outbox: Any, counted: list[str]) -> None:
    # GIVEN the test-mode topic was deleted
    sns_outbox.delete_topic()

    # WHEN sending
    with pytest.raises(DeliveryError):
        SmsPublisher(TEST_MODE, boto3.client("sns", region_name="us-east-1")).send(
            PHONE_NUMBER, TEXT, trigger_source="CustomSMSSender_SignUp"
        )

    # THEN nothing went anywhere and nothing counted as sent
    assert counted == ["DeliveryFailures"]
    assert sns_outbox.sms_messages() == []


# ---------------------------------------------------------------- Create handler ---


@pytest.fixture
def create_handler(sns_outbox: Any, load_handler: Callable[..., ModuleType]) -> ModuleType:
    """create_auth_challenge, cold-started in test mode against moto."""
    return load_handler("create_auth_challenge")


@pytest.fixture
def verify_handler(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("verify_auth_challenge")


def test_create_handler_in_test_mode_texts_the_topic_and_verify_accepts_that_code(
    create_handler: ModuleType,
    verify_handler: ModuleType,
    sns_outbox: Any,
    load_event: EventLoader,
    lambda_context: object,
) -> None:
    # GIVEN the sample Create event
    event = load_event("create_auth_challenge")

    # WHEN invoking the Create handler
    result = create_handler.lambda_handler(event, lambda_context)

    # THEN the topic (and only the topic) received the code, addressed to the user's number
    [notification] = sns_outbox.topic_messages()
    match = re.fullmatch(
        r"Your sign-in code is ([0-9]{6})\. It expires in 3 minutes\. Do not share it with anyone\.", notification["Message"]
    )
    assert match
    code = match.group(1)
    assert notification["MessageAttributes"] == {
        "recipient": {"Type": "String", "Value": PHONE_NUMBER},
        "trigger_source": {"Type": "String", "Value": "CreateAuthChallenge_Authentication"},
    }
    assert sns_outbox.sms_messages() == []
    assert result == {**load_event("create_auth_challenge"), "response": result["response"]}
    assert result["response"]["publicChallengeParameters"] == {"CODE_DELIVERY_DELIVERY_MEDIUM": "SMS", "CODE_DELIVERY_DESTINATION": MASKED}

    # AND the Verify handler accepts that code against the private parameters Cognito passes on
    verify_event = load_event("verify_auth_challenge")
    verify_event["request"]["privateChallengeParameters"] = result["response"]["privateChallengeParameters"]
    verify_event["request"]["challengeAnswer"] = code
    assert verify_handler.lambda_handler(verify_event, lambda_context)["response"] == {"answerCorrect": True}


def test_create_handler_second_round_sends_nothing(
    create_handler: ModuleType, sns_outbox: Any, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN the sample second round (its session carries our metadata)
    event = load_event("create_auth_challenge_second_round")

    # WHEN invoking the handler
    create_handler.lambda_handler(event, lambda_context)

    # THEN nothing is published anywhere and the earlier code is kept
    assert sns_outbox.topic_messages() == []
    assert sns_outbox.sms_messages() == []
    assert event["response"]["challengeMetadata"] == event["request"]["session"][0]["challengeMetadata"]


def test_create_handler_unknown_user_sends_nothing(
    create_handler: ModuleType,
    sns_outbox: Any,
    load_event: EventLoader,
    lambda_context: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN an unknown user and a latency mimic that records instead of sleeping
    slept: list[float] = []
    monkeypatch.setattr(create_handler, "LATENCY", create_handler.LatencyMimic(sleep=slept.append))
    event = load_event("create_auth_challenge_user_not_found")

    # WHEN invoking the handler
    create_handler.lambda_handler(event, lambda_context)

    # THEN nothing is published, the mimic slept once, and the number typed is shown masked
    assert sns_outbox.topic_messages() == []
    assert sns_outbox.sms_messages() == []
    assert len(slept) == 1
    assert event["response"]["publicChallengeParameters"] == {
        "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
        "CODE_DELIVERY_DESTINATION": "+*******0143",
    }


def test_create_handler_passes_a_delivery_error_through_unchanged(
    create_handler: ModuleType, sns_outbox: Any, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN the test topic is gone
    sns_outbox.delete_topic()
    event = load_event("create_auth_challenge")

    # WHEN invoking the handler
    # THEN the caller sees the user-facing text, and no challenge was created
    with pytest.raises(DeliveryError, match=r"^We could not send the code\. Please try again later\.$"):
        create_handler.lambda_handler(event, lambda_context)
    assert event == load_event("create_auth_challenge")
    assert sns_outbox.sms_messages() == []
