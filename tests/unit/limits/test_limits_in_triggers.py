"""The limits through the triggers: Create, the Custom SMS Sender and Pre sign-up meet the same limits, and fail closed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sms_otp.core.errors import PhoneNumberNotAllowedError
from sms_otp.limits.errors import LimitStoreUnavailableError, SendLimitError
from sms_otp.limits.keys import subject_key
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


class LosingTheFirstPut:
    """The moto client, except that another invocation writes the number's item just before our first write of it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.lost = False
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, **request: Any) -> Any:
        self.reads += 1
        return self._client.batch_get_item(**request)

    def put_item(self, **request: Any) -> Any:
        if request["Item"]["pk"]["S"].startswith("subject#") and not self.lost:
            self.lost = True
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "lost"}}, "PutItem")  # type: ignore[arg-type]
        return self._client.put_item(**request)


def test_a_lost_race_on_the_numbers_item_is_retried_not_an_outage(aws: None) -> None:
    # GIVEN another invocation writing the number's item between our read and our write, once
    client = LosingTheFirstPut(boto3.client("dynamodb", region_name="us-east-1"))
    limits = DynamoDbLimitStore("sms-otp-limits", DEFAULTS, client, FakeClock(), sleep=lambda _seconds: None)

    # WHEN a message is asked for
    limits.admit(PHONE, new_round=True, send=True, phone_number=PHONE, number_range="+1415")

    # THEN everything was read and decided again, and the message admitted
    assert client.reads == 2
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="sms-otp-limits")["Items"]
    [subject] = [item for item in items if item["pk"]["S"] == subject_key(PHONE)]
    assert len(subject["sent_at"]["L"]) == 1
    # AND what the lost attempt took beside its write was given back: the budget, its country and the range count it once
    counted: Counter[str] = Counter()
    for item in items:
        kind = item["pk"]["S"].split("#")[0] + ("#country" if "#country+" in item["pk"]["S"] else "")
        counted[kind] += int(item.get("sent", {}).get("N", "0"))
    assert +counted == {"budget": 1, "budget#country": 1, "pumping": 1}


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
