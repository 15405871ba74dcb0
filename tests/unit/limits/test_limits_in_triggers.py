"""The limits through the triggers: Create, the Custom SMS Sender and Pre sign-up meet the same limits, and fail closed."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sms_otp.core.errors import PhoneNumberNotAllowedError
from sms_otp.limits.errors import LimitStoreUnavailableError, SendLimitError
from sms_otp.limits.store import DynamoDbLimitStore
from tests.testkit.cognito_encryption import Encrypt
from tests.testkit.events import EventLoader
from tests.unit.limits.limits_kit import DEFAULTS, PHONE, FakeClock

pytestmark = pytest.mark.unit

# ---------------------------------------------------------------- the triggers ---


def test_create_refuses_a_second_code_within_the_interval_and_sends_nothing(
    aws: None, sns_outbox: Any, load_handler: Callable[..., ModuleType], load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN a code just sent to the user
    handler = load_handler("create_auth_challenge")
    handler.lambda_handler(load_event("create_auth_challenge"), lambda_context)
    assert len(sns_outbox.topic_messages()) == 1

    # WHEN a new sign-in asks for another code at once
    with pytest.raises(SendLimitError) as refusal:
        handler.lambda_handler(load_event("create_auth_challenge"), lambda_context)

    # THEN the caller is told when to try again, and no second message went out
    assert str(refusal.value).startswith("Too many codes were sent to this number. Please try again in ")
    assert len(sns_outbox.topic_messages()) == 1


def test_unknown_users_meet_the_same_limits(
    aws: None, sns_outbox: Any, load_handler: Callable[..., ModuleType], load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN a challenge just created for a name that matches no user
    handler = load_handler("create_auth_challenge")
    handler.LATENCY._sleep = lambda _seconds: None
    handler.LIMITS.clock = FakeClock()  # both requests at the same second, however slow the machine
    handler.lambda_handler(load_event("create_auth_challenge_user_not_found"), lambda_context)

    # WHEN another is asked for at once
    with pytest.raises(SendLimitError) as refusal:
        handler.lambda_handler(load_event("create_auth_challenge_user_not_found"), lambda_context)

    # THEN the refusal reads exactly as a real user's, and nothing was ever sent
    assert str(refusal.value) == "Too many codes were sent to this number. Please try again in 30 seconds."
    assert sns_outbox.topic_messages() == []


@pytest.mark.parametrize(
    ("allowed", "phone_number", "message"),
    [
        pytest.param("44", "+14155550123", "Phone numbers with the country code +1 cannot be used here.", id="country not allowed"),
        pytest.param("", "+19005550123", "Premium-rate and shared-cost numbers cannot receive codes.", id="premium rate"),
        pytest.param("", "+33891701234", "Premium-rate and shared-cost numbers cannot receive codes.", id="shared cost"),
    ],
)
def test_disallowed_numbers_are_refused_at_sign_up_and_before_every_send(
    aws: None,
    sns_outbox: Any,
    load_handler: Callable[..., ModuleType],
    load_event: EventLoader,
    lambda_context: object,
    allowed: str,
    phone_number: str,
    message: str,
) -> None:
    # GIVEN ALLOWED_COUNTRY_CODES=`allowed` and a number it refuses
    sign_up = load_event("pre_sign_up")
    sign_up["request"]["userAttributes"]["phone_number"] = phone_number
    create = load_event("create_auth_challenge")
    create["request"]["userAttributes"]["phone_number"] = phone_number

    # WHEN someone signs up with it, or a challenge would send to it
    with pytest.raises(PhoneNumberNotAllowedError) as at_sign_up:
        load_handler("pre_sign_up", ALLOWED_COUNTRY_CODES=allowed).lambda_handler(sign_up, lambda_context)
    with pytest.raises(PhoneNumberNotAllowedError) as at_send:
        load_handler("create_auth_challenge", ALLOWED_COUNTRY_CODES=allowed).lambda_handler(create, lambda_context)

    # THEN both refuse with the same clear message, and nothing is sent or counted
    assert str(at_sign_up.value) == str(at_send.value) == message
    assert sns_outbox.topic_messages() == []
    assert boto3.client("dynamodb", region_name="us-east-1").scan(TableName="sms-otp-limits")["Items"] == []


def test_an_unreachable_limit_store_means_no_code(
    aws: None, sns_outbox: Any, load_handler: Callable[..., ModuleType], load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN the limits table is gone
    boto3.client("dynamodb", region_name="us-east-1").delete_table(TableName="sms-otp-limits")
    handler = load_handler("create_auth_challenge")

    # WHEN a sign-in starts
    with pytest.raises(LimitStoreUnavailableError):
        handler.lambda_handler(load_event("create_auth_challenge"), lambda_context)

    # THEN no code went out
    assert sns_outbox.topic_messages() == []
    assert sns_outbox.sms_messages() == []


def test_a_lost_race_on_the_numbers_item_is_retried_not_an_outage(aws: None) -> None:
    # GIVEN another invocation writing the number's item between our read and our write, once
    client = boto3.client("dynamodb", region_name="us-east-1")
    limits = DynamoDbLimitStore("sms-otp-limits", DEFAULTS, client, FakeClock(), sleep=lambda _seconds: None)
    with Stubber(client) as stub:
        stub.add_response("batch_get_item", {"Responses": {"sms-otp-limits": []}})
        stub.add_response("get_item", {})
        stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException")
        stub.add_response("get_item", {})
        stub.add_response("put_item", {})
        stub.add_response("update_item", {})

        # WHEN a message is asked for
        limits.admit(PHONE, new_round=True, send=True)

        # THEN the item was read and written again, the budget spent once, and the message admitted
        stub.assert_no_pending_responses()


def test_cognitos_own_messages_do_not_reveal_who_has_an_account(
    aws: None,
    sns_outbox: Any,
    kms_key_arn: str,
    encrypt_code: Encrypt,
    load_handler: Callable[..., ModuleType],
    load_event: EventLoader,
    lambda_context: object,
) -> None:
    # GIVEN Cognito just sent a forgot-password code to an existing user's number (it sends none for unknown users)
    forgot = load_event("custom_sms_sender_forgot_password")
    forgot["request"]["code"] = encrypt_code(b"123456", kms_key_arn, forgot["userPoolId"])
    load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn).lambda_handler(forgot, lambda_context)

    # WHEN a sign-in for the same number starts at once
    load_handler("create_auth_challenge").lambda_handler(load_event("create_auth_challenge"), lambda_context)

    # THEN it gets its code as an unknown number would: the two kinds of message are counted apart
    assert len(sns_outbox.topic_messages()) == 2
