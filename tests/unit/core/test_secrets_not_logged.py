"""No secret in the logs, even at DEBUG: codes, their hash and salt, temporary passwords, full phone numbers."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from sms_otp.core.errors import DeliveryError, KeyServiceUnavailableError, UserFacingError
from sms_otp.limits.errors import RangeStoppedError
from tests.testkit.cognito_encryption import ENCRYPTION_SDK_NOISE, Encrypt
from tests.testkit.events import EventLoader

pytestmark = [pytest.mark.unit, ENCRYPTION_SDK_NOISE]


POOL_ID = "us-east-1_EXAMPLE11"
PHONE_NUMBER = "+14155550123"
MASKED = "+*******0123"


def both_base64_forms(urlsafe: str) -> set[str]:
    raw = base64.urlsafe_b64decode(urlsafe)
    return {urlsafe, base64.b64encode(raw).decode(), urlsafe.rstrip("="), base64.b64encode(raw).decode().rstrip("="), raw.hex()}


def assert_code_absent(code: str, text: str) -> None:
    # A six-digit code could occur inside a longer number (an epoch timestamp); as a token of its own it must not.
    assert not re.search(rf"(?<![0-9]){code}(?![0-9])", text), f"the code {code} was logged"


def assert_number_absent(number: str, text: str) -> None:
    assert number not in text, "a phone number was logged"
    assert number[1:] not in text, "a phone number was logged without its +"


def assert_phone_number_masked(text: str) -> None:
    assert_number_absent(PHONE_NUMBER, text)
    assert MASKED in text


def test_create_and_verify_log_no_secret_at_debug(
    debug_logs: Any,
    sns_outbox: Any,
    load_handler: Callable[..., ModuleType],
    load_event: EventLoader,
    lambda_context: object,
) -> None:
    # GIVEN the Create and Verify triggers in test mode, the logger at DEBUG
    create = load_handler("create_auth_challenge")
    verify = load_handler("verify_auth_challenge")

    # WHEN a user gets a code and answers with it, wrongly once then rightly
    response = create.lambda_handler(load_event("create_auth_challenge"), lambda_context)["response"]
    [notification] = sns_outbox.topic_messages()
    match = re.search(r"is ([0-9]{6})\.", notification["Message"])
    assert match
    code = match.group(1)
    for answer in (f"{(int(code) + 1) % 1_000_000:06d}", code):
        event = load_event("verify_auth_challenge")
        event["request"]["privateChallengeParameters"] = response["privateChallengeParameters"]
        event["request"]["challengeAnswer"] = answer
        verify.lambda_handler(event, lambda_context)
    assert event["response"] == {"answerCorrect": True}

    # THEN the logs (stdout and stderr) hold neither the code, nor its hash or salt in any encoding,
    # nor the phone number, which appears only masked
    text = debug_logs.text
    assert debug_logs.records(), "nothing was logged: the test would prove nothing"
    assert_code_absent(code, text)
    for name in ("codeHash", "codeSalt"):
        for form in both_base64_forms(response["privateChallengeParameters"][name]):
            assert form not in text, f"{name} was logged"
    assert response["challengeMetadata"] not in text
    assert_phone_number_masked(text)


@pytest.mark.parametrize(
    ("event_name", "plaintext", "shown"),
    [
        ("custom_sms_sender_admin_create_user", "Ab&lt;1&gt;x", "Ab<1>x"),
        ("custom_sms_sender_authentication", "604219", "604219"),
        ("custom_sms_sender_forgot_password", "604219", "604219"),
    ],
)
def test_custom_sms_sender_logs_no_secret_at_debug(
    *,
    debug_logs: Any,
    sns_outbox: Any,
    kms_key_arn: str,
    encrypt_code: Encrypt,
    load_handler: Callable[..., ModuleType],
    load_event: EventLoader,
    lambda_context: object,
    event_name: str,
    plaintext: str,
    shown: str,
) -> None:
    # GIVEN the Custom SMS Sender at DEBUG and an event with a real ciphertext
    sender = load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn)
    event = load_event(event_name)
    ciphertext = encrypt_code(plaintext.encode(), kms_key_arn, POOL_ID)
    event["request"]["code"] = ciphertext

    # WHEN it sends the message
    sender.lambda_handler(event, lambda_context)

    # THEN the message carries the secret, and the logs hold no code or password (escaped or not),
    # no ciphertext, and the phone number only masked
    [notification] = sns_outbox.topic_messages()
    assert shown in notification["Message"]
    text = debug_logs.text
    assert debug_logs.records(), "nothing was logged: the test would prove nothing"
    for secret in {plaintext, shown}:
        if secret.isdigit():
            assert_code_absent(secret, text)
        else:
            assert secret not in text
    assert ciphertext not in text
    assert ciphertext[:40] not in text
    assert_phone_number_masked(text)


def test_a_refused_ciphertext_logs_no_secret_at_debug(
    *,
    debug_logs: Any,
    sns_outbox: Any,
    kms_key_arn: str,
    encrypt_code: Encrypt,
    load_handler: Callable[..., ModuleType],
    load_event: EventLoader,
    lambda_context: object,
) -> None:
    # GIVEN a temporary password encrypted for another pool (it decrypts, then is refused)
    sender = load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn)
    event = load_event("custom_sms_sender_admin_create_user")
    event["request"]["code"] = encrypt_code(b"Tmp&lt;Pa55&gt;", kms_key_arn, "us-east-1_OTHERPOOL")

    # WHEN the sender refuses it (logged, and returned so that Lambda does not retry it)
    sender.lambda_handler(event, lambda_context)

    # THEN the error log, stack included, holds no trace of the password, the ciphertext or the number
    text = debug_logs.text
    assert "Traceback" in text
    assert "Tmp" not in text
    assert event["request"]["code"][:40] not in text
    assert_number_absent(PHONE_NUMBER, text)
    assert sns_outbox.topic_messages() == []


def test_pre_sign_up_and_post_authentication_log_no_full_phone_number_at_debug(
    aws: None, debug_logs: Any, load_handler: Callable[..., ModuleType], load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN Pre sign-up and Post Authentication at DEBUG
    pre_sign_up = load_handler("pre_sign_up")
    post_authentication = load_handler("post_authentication")

    # WHEN Pre sign-up accepts a number and refuses a premium-rate one, and Post Authentication
    # fails to reach a pool that does not exist (its error is logged, the sign-in goes on)
    pre_sign_up.lambda_handler(load_event("pre_sign_up"), lambda_context)
    refused = load_event("pre_sign_up_premium_number")
    with pytest.raises(UserFacingError):
        pre_sign_up.lambda_handler(refused, lambda_context)
    post_authentication.lambda_handler(load_event("post_authentication"), lambda_context)

    # THEN the accepted number appears only masked, and the refused one not at all
    text = debug_logs.text
    assert "Could not mark the phone verified" in text, "Post Authentication logged nothing: the test would prove nothing"
    assert_phone_number_masked(text)
    premium = refused["request"]["userAttributes"]["phone_number"]
    assert_number_absent(premium, text)


def test_refusals_failures_and_given_back_allowances_log_no_secret_at_debug(
    *,
    debug_logs: Any,
    sns_outbox: Any,
    kms_key_arn: str,
    encrypt_code: Encrypt,
    load_handler: Callable[..., ModuleType],
    load_event: EventLoader,
    lambda_context: object,
) -> None:
    # GIVEN Create and the Custom SMS Sender at DEBUG
    create = load_handler("create_auth_challenge")
    sender = load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn)

    # WHEN a publish fails and its send is given back, then the retry gets its code
    with Stubber(create.PUBLISHER.client) as sns:
        sns.add_client_error("publish", service_error_code="Throttling", service_message=f"it mentions {PHONE_NUMBER}")
        with pytest.raises(DeliveryError):
            create.lambda_handler(load_event("create_auth_challenge"), lambda_context)
    create.lambda_handler(load_event("create_auth_challenge"), lambda_context)
    # AND fresh numbers of another range ask for codes until the pumping guard stops it
    pumped = [f"+1646200{n:04d}" for n in range(create.SETTINGS.limits.pumping_min_sends + 1)]
    for number in pumped[:-1]:
        event = load_event("create_auth_challenge")
        event["request"]["userAttributes"]["phone_number"] = number
        create.lambda_handler(event, lambda_context)
    event = load_event("create_auth_challenge")
    event["request"]["userAttributes"]["phone_number"] = pumped[-1]
    with pytest.raises(RangeStoppedError):
        create.lambda_handler(event, lambda_context)
    # AND the sender meets a throttled KMS (raised for Lambda, with its stack) and a throttled SNS
    mfa = load_event("custom_sms_sender_authentication")
    mfa["request"]["code"] = encrypt_code(b"604219", kms_key_arn, POOL_ID)
    [kms_client] = sender.DECRYPTOR._key_provider._regional_clients.values()
    with Stubber(kms_client) as kms:
        kms.add_client_error("decrypt", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(KeyServiceUnavailableError):
            sender.lambda_handler(mfa, lambda_context)
    with Stubber(sender.PUBLISHER.client) as sns:
        sns.add_client_error("publish", service_error_code="Throttling", service_message=f"it mentions {PHONE_NUMBER}")
        with pytest.raises(DeliveryError):
            sender.lambda_handler(mfa, lambda_context)

    # THEN the logs hold none of the codes sent, no ciphertext, and no number but masked (a range is no number)
    text = debug_logs.text
    assert "The pumping guard stopped sending to a number range" in text, "the guard logged nothing: the test would prove nothing"
    assert "Traceback" in text
    codes = [match.group(1) for message in sns_outbox.topic_messages() if (match := re.search(r"is ([0-9]{6})\.", message["Message"]))]
    assert len(codes) == len(pumped)  # the retry's code, and the range's ten
    for code in [*codes, "604219"]:
        assert_code_absent(code, text)
    assert mfa["request"]["code"][:40] not in text
    assert_phone_number_masked(text)
    for number in pumped:
        assert_number_absent(number, text)
