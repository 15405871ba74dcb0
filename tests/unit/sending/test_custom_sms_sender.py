"""Custom SMS Sender: decrypt Cognito's code with real Encryption SDK ciphertexts, word it, send it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import aws_encryption_sdk
import pytest
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy

from sms_otp.core.errors import CodeDecryptionError, InvalidPhoneNumberError, MalformedEventError, PhoneNumberNotAllowedError
from sms_otp.core.observability import metrics
from sms_otp.limits.errors import SendLimitError
from sms_otp.limits.keys import sender_subject
from sms_otp.sending.custom_sms import CodeDecryptor, send_custom_sms, sms_text
from tests.testkit.cognito_encryption import ENCRYPTION_SDK_NOISE, Encrypt
from tests.testkit.events import Event, EventLoader
from tests.testkit.fake_limits import FakeLimits

pytestmark = [
    pytest.mark.unit,
    ENCRYPTION_SDK_NOISE,
]


POOL_ID = "us-east-1_EXAMPLE11"
PHONE_NUMBER = "+14155550123"
CODE = "604219"


class SentTexts:
    """A stand-in for SmsPublisher.send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def __call__(self, phone_number: str, text: str, *, trigger_source: str) -> str:
        self.sent.append((phone_number, text, trigger_source))
        return "message-id"


class RecordingDecryptor:
    """A decryptor that records whether it was asked (and must not be, in these tests)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def decrypt(self, ciphertext: str, user_pool_id: str) -> str:
        self.calls.append((ciphertext, user_pool_id))
        return CODE


@pytest.fixture
def texts() -> SentTexts:
    return SentTexts()


@pytest.fixture
def decryptor(kms_key_arn: str) -> CodeDecryptor:
    return CodeDecryptor(kms_key_arn)


def run_sender(
    event: Event,
    decryptor: Any,
    send_text: SentTexts,
    limits: FakeLimits | None = None,
    allowed_country_codes: frozenset[int] = frozenset(),
) -> None:
    send_custom_sms(
        event,
        decryptor=decryptor,
        send_text=send_text,
        limits=limits or FakeLimits(),  # type: ignore[arg-type]
        allowed_country_codes=allowed_country_codes,
    )


@pytest.mark.parametrize(
    ("event_name", "plaintext", "expected_text"),
    [
        ("custom_sms_sender_sign_up", CODE, f"Your verification code is {CODE}. Do not share it with anyone."),
        ("custom_sms_sender_resend_code", CODE, f"Your verification code is {CODE}. Do not share it with anyone."),
        ("custom_sms_sender_forgot_password", CODE, f"Your password reset code is {CODE}. Do not share it with anyone."),
        (
            "custom_sms_sender_update_user_attribute",
            CODE,
            f"Your code to confirm your new phone number is {CODE}. Do not share it with anyone.",
        ),
        ("custom_sms_sender_verify_user_attribute", CODE, f"Your code to verify your phone number is {CODE}. Do not share it with anyone."),
        ("custom_sms_sender_authentication", CODE, f"Your sign-in code is {CODE}. Do not share it with anyone."),
        (
            "custom_sms_sender_admin_create_user",
            "Ab&lt;1&gt;x",
            "Your account is ready. Sign in with +14155550123 and the temporary password Ab<1>x",
        ),
        (
            "custom_sms_sender_admin_create_user",
            "p&amp;{code}%s",
            "Your account is ready. Sign in with +14155550123 and the temporary password p&{code}%s",
        ),
    ],
)
def test_every_trigger_source_gets_its_exact_message(
    *,
    load_event: EventLoader,
    encrypt_code: Encrypt,
    kms_key_arn: str,
    decryptor: CodeDecryptor,
    texts: SentTexts,
    event_name: str,
    plaintext: str,
    expected_text: str,
) -> None:
    # GIVEN a sample event whose code Cognito encrypted with the stack's key for this pool
    event = load_event(event_name)
    event["request"]["code"] = encrypt_code(plaintext.encode(), kms_key_arn, POOL_ID)
    unchanged = {**event, "request": {**event["request"]}}

    # WHEN sending the custom SMS
    run_sender(event, decryptor, texts)

    # THEN exactly one text, worded for the trigger source (temporary passwords HTML-unescaped), and the event is untouched
    assert texts.sent == [(PHONE_NUMBER, expected_text, event["triggerSource"])]
    assert event == unchanged


def test_account_takeover_notification_needs_no_code(load_event: EventLoader, texts: SentTexts) -> None:
    # GIVEN an account-takeover notification (code is null)
    event = load_event("custom_sms_sender_account_take_over_notification")
    decryptor = RecordingDecryptor()

    # WHEN sending
    run_sender(event, decryptor, texts)

    # THEN nothing was decrypted and the warning went out
    assert decryptor.calls == []
    assert texts.sent == [
        (
            PHONE_NUMBER,
            "We detected a suspicious sign-in attempt on your account. "
            "If it was not you, change your password and review your account now.",
            "CustomSMSSender_AccountTakeOverNotification",
        )
    ]


# ---------------------------------------------------------------- ciphertexts that must be refused ---


@dataclass(frozen=True)
class CiphertextKit:
    """What a bad-ciphertext case may use: the encrypt helper, the stack's key, and a way to make another key."""

    encrypt: Encrypt
    key: str
    new_key: Callable[[], str]


def _truncated(ciphertext: str) -> str:
    raw = base64.b64decode(ciphertext)
    return base64.b64encode(raw[: len(raw) - 40]).decode()


def _header_only(ciphertext: str) -> str:
    raw = base64.b64decode(ciphertext)
    return base64.b64encode(raw[: len(raw) // 2]).decode()


@pytest.mark.parametrize(
    ("make_ciphertext", "message"),
    [
        pytest.param(
            lambda kit: kit.encrypt(CODE.encode(), kit.new_key(), POOL_ID),
            r"^the code could not be decrypted with the stack's KMS key \(DecryptKeyError\)$",
            id="encrypted with another KMS key",
        ),
        pytest.param(
            lambda kit: kit.encrypt(CODE.encode(), kit.key, "us-east-1_OTHERPOOL"),
            r"^the code was encrypted for another user pool$",
            id="encrypted for another pool",
        ),
        pytest.param(
            lambda _kit: "this is not base64!",
            r"^the code is not valid base64$",
            id="garbage, not base64",
        ),
        pytest.param(
            lambda _kit: "AYADeBgEXAMPLEREPLACEDBYTESTSWITHAREALCIPHERTEXT==",
            r"^the code is not valid base64$",
            id="the placeholder of the sample events",
        ),
        pytest.param(
            lambda _kit: base64.b64encode(b"junk bytes, not an Encryption SDK message" * 4).decode(),
            r"^the code could not be decrypted with the stack's KMS key \(\w+\)$",
            id="valid base64 of junk bytes",
        ),
        pytest.param(
            lambda kit: _truncated(kit.encrypt(CODE.encode(), kit.key, POOL_ID)),
            r"^the code could not be decrypted with the stack's KMS key \(SerializationError\)$",
            id="truncated: no signature",
        ),
        pytest.param(
            lambda kit: _header_only(kit.encrypt(CODE.encode(), kit.key, POOL_ID)),
            r"^the code could not be decrypted with the stack's KMS key \(SerializationError\)$",
            id="truncated to half",
        ),
        pytest.param(
            lambda _kit: "A" * 8200,
            r"^the code ciphertext is too long to be Cognito's$",
            id="absurdly long",
        ),
        pytest.param(
            lambda kit: kit.encrypt(b"\xff\xfe\xfd", kit.key, POOL_ID),
            r"^the decrypted code is not text$",
            id="decrypts to bytes that are not UTF-8",
        ),
    ],
)
def test_a_bad_ciphertext_is_refused_and_nothing_is_sent(
    *,
    load_event: EventLoader,
    encrypt_code: Encrypt,
    new_kms_key: Callable[[], str],
    texts: SentTexts,
    make_ciphertext: Callable[[CiphertextKit], str],
    message: str,
) -> None:
    # GIVEN the stack's key (and, where needed, another key in the same account) and a ciphertext wrong in one way
    key = new_kms_key()
    event = load_event("custom_sms_sender_authentication")
    event["request"]["code"] = make_ciphertext(CiphertextKit(encrypt=encrypt_code, key=key, new_key=new_kms_key))

    limits = FakeLimits()

    # WHEN sending
    with pytest.raises(CodeDecryptionError, match=message):
        run_sender(event, CodeDecryptor(key), texts, limits)

    # THEN nothing was published, and the message's allowance was given back
    assert texts.sent == []
    assert limits.released == limits.admitted


# ---------------------------------------------------------------- malformed events ---


@pytest.mark.parametrize(
    ("event_name", "mutate", "error", "message"),
    [
        pytest.param(
            "custom_sms_sender_sign_up",
            lambda event: event.update(triggerSource="CustomSMSSender_SomethingNew"),
            MalformedEventError,
            r"^unsupported trigger source 'CustomSMSSender_SomethingNew'$",
            id="unknown trigger source",
        ),
        pytest.param(
            "custom_sms_sender_sign_up",
            lambda event: event.pop("triggerSource"),
            MalformedEventError,
            r"^unsupported trigger source 'None'$",
            id="no trigger source",
        ),
        pytest.param(
            "custom_sms_sender_sign_up",
            lambda event: event["request"].update(code=None),
            MalformedEventError,
            r"^CustomSMSSender_SignUp requires request\.code$",
            id="sign-up without a code",
        ),
        pytest.param(
            "custom_sms_sender_forgot_password",
            lambda event: event["request"].pop("code"),
            MalformedEventError,
            r"^CustomSMSSender_ForgotPassword requires request\.code$",
            id="forgot password, code missing",
        ),
        pytest.param(
            "custom_sms_sender_admin_create_user",
            lambda event: event["request"].update(code=""),
            MalformedEventError,
            r"^CustomSMSSender_AdminCreateUser requires request\.code$",
            id="temporary password empty",
        ),
        pytest.param(
            "custom_sms_sender_sign_up",
            lambda event: event["request"].update(code=123456),
            MalformedEventError,
            r"^request\.code must be a string or null$",
            id="code not a string",
        ),
        pytest.param(
            "custom_sms_sender_sign_up",
            lambda event: event.pop("userPoolId"),
            MalformedEventError,
            r"^the event's userPoolId must be a string$",
            id="no pool id",
        ),
        pytest.param(
            "custom_sms_sender_sign_up",
            lambda event: event["request"]["userAttributes"].pop("phone_number"),
            MalformedEventError,
            r"^request\.userAttributes\.phone_number is missing$",
            id="no phone number",
        ),
        pytest.param(
            "custom_sms_sender_sign_up",
            lambda event: event["request"]["userAttributes"].update(phone_number="+1 (415) 555-0123"),
            InvalidPhoneNumberError,
            r"E\.164",
            id="phone number not E.164",
        ),
        pytest.param(
            "custom_sms_sender_account_take_over_notification",
            lambda event: event["request"]["userAttributes"].update(phone_number="4155550123"),
            InvalidPhoneNumberError,
            r"E\.164",
            id="notification to a number that is not E.164",
        ),
    ],
)
def test_a_malformed_event_is_refused_before_any_kms_call_and_nothing_is_sent(
    *,
    load_event: EventLoader,
    texts: SentTexts,
    event_name: str,
    mutate: Callable[[Event], object],
    error: type[Exception],
    message: str,
) -> None:
    # GIVEN a sample event (with a placeholder ciphertext) spoiled in one way
    event = load_event(event_name)
    mutate(event)
    decryptor = RecordingDecryptor()

    # WHEN sending
    with pytest.raises(error, match=message):
        run_sender(event, decryptor, texts)

    # THEN no KMS call (the decryptor was never asked) and nothing sent
    assert decryptor.calls == []
    assert texts.sent == []


# ---------------------------------------------------------------- handler ---


@pytest.fixture
def sender_handler(sns_outbox: Any, kms_key_arn: str, load_handler: Callable[..., ModuleType]) -> ModuleType:
    """custom_sms_sender, cold-started in test mode with SMS_KEY_ARN set to the moto key."""
    return load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn)


def test_handler_decrypts_and_publishes_to_the_test_topic(
    *,
    sender_handler: ModuleType,
    sns_outbox: Any,
    kms_key_arn: str,
    encrypt_code: Encrypt,
    load_event: EventLoader,
    lambda_context: object,
) -> None:
    # GIVEN an Authentication event with a real ciphertext
    event = load_event("custom_sms_sender_authentication")
    event["request"]["code"] = encrypt_code(CODE.encode(), kms_key_arn, POOL_ID)
    expected_event = {**event, "request": {**event["request"]}}

    # WHEN invoking the handler
    result = sender_handler.lambda_handler(event, lambda_context)

    # THEN the topic received the worded code for the user's number, and no SMS went out
    [notification] = sns_outbox.topic_messages()
    assert notification["Message"] == f"Your sign-in code is {CODE}. Do not share it with anyone."
    assert notification["MessageAttributes"] == {
        "recipient": {"Type": "String", "Value": PHONE_NUMBER},
        "trigger_source": {"Type": "String", "Value": "CustomSMSSender_Authentication"},
    }
    assert sns_outbox.sms_messages() == []
    assert result == expected_event


def test_handler_refuses_a_wrong_pool_code_for_good(
    *,
    sender_handler: ModuleType,
    sns_outbox: Any,
    kms_key_arn: str,
    encrypt_code: Encrypt,
    load_event: EventLoader,
    lambda_context: object,
    logs: Any,
) -> None:
    # GIVEN a ciphertext made for another user pool
    event = load_event("custom_sms_sender_authentication")
    event["request"]["code"] = encrypt_code(CODE.encode(), kms_key_arn, "us-east-1_OTHERPOOL")

    # WHEN invoking the (asynchronous) handler
    result = sender_handler.lambda_handler(event, lambda_context)

    # THEN it returns (a retry could not mend it, so Lambda must not retry), nothing was published,
    # and the failure was logged with its precise reason
    assert sns_outbox.topic_messages() == []
    assert sns_outbox.sms_messages() == []
    [record] = [record for record in logs.records() if record["level"] == "ERROR"]
    assert record["message"] == "Trigger failed"
    assert record["error_type"] == "CodeDecryptionError"
    assert record["trigger_source"] == "CustomSMSSender_Authentication"
    assert "the code was encrypted for another user pool" in record["exception"]
    assert result is event


def test_handler_refuses_an_invalid_phone_number_for_good(
    sender_handler: ModuleType, sns_outbox: Any, load_event: EventLoader, lambda_context: object, logs: Any
) -> None:
    # GIVEN a user whose phone number is not E.164
    event = load_event("custom_sms_sender_sign_up")
    event["request"]["userAttributes"]["phone_number"] = "+1 415 555 0123"

    # WHEN / THEN the refusal is logged, nothing is published, and the handler returns (no retry)
    assert sender_handler.lambda_handler(event, lambda_context) is event
    assert sns_outbox.topic_messages() == []
    assert [record["error_type"] for record in logs.records() if record["level"] == "WARNING"] == ["InvalidPhoneNumberError"]


@pytest.mark.parametrize(
    ("trigger_source", "shown"),
    [("CustomSMSSender_AdminCreateUser", "Tmp<&>"), ("CustomSMSSender_SignUp", "Tmp&lt;&amp;&gt;")],
    ids=["temporary password: unescaped", "any other code: as sent"],
)
def test_only_a_temporary_password_is_html_unescaped(trigger_source: str, shown: str) -> None:
    # GIVEN text with HTML escapes, as Cognito writes a temporary password
    # WHEN / THEN only the temporary password's message shows the real characters
    assert shown in sms_text(trigger_source, "Tmp&lt;&amp;&gt;", PHONE_NUMBER)


# ---------------------------------------------------------------- each refusal of a ciphertext says why ---


@pytest.mark.parametrize(("length", "too_long"), [(8192, False), (8193, True)], ids=["8,192 characters: read", "8,193: too long"])
def test_a_ciphertext_longer_than_8192_characters_is_refused_unread(decryptor: CodeDecryptor, length: int, too_long: bool) -> None:
    # GIVEN base64 text of this length (not a message of Cognito's either way)
    # WHEN / THEN only the longer one is refused for its length alone
    with pytest.raises(CodeDecryptionError) as refusal:
        decryptor.decrypt("A" * length, POOL_ID)
    assert (str(refusal.value) == "the code ciphertext is too long to be Cognito's") is too_long


def test_bytes_after_a_genuine_message_are_refused_with_their_reason(
    decryptor: CodeDecryptor, kms_key_arn: str, encrypt_code: Encrypt
) -> None:
    # GIVEN a code Cognito encrypted for this pool, with one byte appended
    message = base64.b64decode(encrypt_code(CODE.encode(), kms_key_arn, POOL_ID))

    # WHEN / THEN refused, saying why
    with pytest.raises(CodeDecryptionError, match=r"^the code has data after the end of its message$"):
        decryptor.decrypt(base64.b64encode(message + b"\x00").decode(), POOL_ID)


def test_a_plain_error_from_the_sdk_names_its_kind(decryptor: CodeDecryptor, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the Encryption SDK failing with a plain error, as it does on some truncated messages
    def stream(**_kwargs: object) -> None:
        raise ValueError("unpack requires a buffer of 4 bytes")

    monkeypatch.setattr(decryptor._client, "stream", stream)

    # WHEN / THEN refused as not an Encryption SDK message, naming the error's kind (never its text)
    with pytest.raises(CodeDecryptionError, match=r"^the code is not an AWS Encryption SDK message \(ValueError\)$"):
        decryptor.decrypt(base64.b64encode(b"AYAD").decode(), POOL_ID)


# ---------------------------------------------------------------- the limits ---


def test_each_message_is_admitted_as_a_message_under_the_senders_own_key(texts: SentTexts, load_event: EventLoader) -> None:
    # GIVEN a sign-up code for a number
    event = load_event("custom_sms_sender_sign_up")
    limits = FakeLimits()

    # WHEN the sender runs
    run_sender(event, RecordingDecryptor(), texts, limits)

    # THEN one message (not a sign-in round) was admitted, counted apart from the number's sign-in codes and other sources
    phone_number = event["request"]["userAttributes"]["phone_number"]
    assert limits.admitted == [(sender_subject("CustomSMSSender_SignUp", phone_number), False, True)]
    assert sender_subject("CustomSMSSender_SignUp", phone_number) == "custom-sms-sender:CustomSMSSender_SignUp:" + phone_number


def refuse_all() -> FakeLimits:
    """Stands in for the DynamoDbLimitStore: refuses every message."""
    return FakeLimits(refusal=SendLimitError("Too many codes were sent to this number. Please try again in 30 seconds.", 30))


@pytest.mark.parametrize("event_name", ["custom_sms_sender_sign_up", "custom_sms_sender_account_take_over_notification"])
def test_a_refusal_by_the_limits_sends_nothing_and_says_why(texts: SentTexts, load_event: EventLoader, event_name: str) -> None:
    # GIVEN a number over its limits, for a message with a code and for a notice without one
    event = load_event(event_name)

    # WHEN / THEN the limits' own refusal comes out, and nothing was sent
    with pytest.raises(SendLimitError):
        run_sender(event, RecordingDecryptor(), texts, refuse_all())  # type: ignore[arg-type]
    assert texts.sent == []


def test_a_number_of_a_country_not_allowed_is_refused_before_any_kms_call(texts: SentTexts, load_event: EventLoader) -> None:
    # GIVEN a deployment that allows only +44 numbers, and a code for a +1 number
    event = load_event("custom_sms_sender_sign_up")
    decryptor = RecordingDecryptor()

    # WHEN / THEN refused, with no decryption and nothing sent
    with pytest.raises(PhoneNumberNotAllowedError):
        run_sender(event, decryptor, texts, allowed_country_codes=frozenset({44}))
    assert (decryptor.calls, texts.sent) == ([], [])


@pytest.mark.parametrize(
    ("event_name", "counted"),
    [("custom_sms_sender_sign_up", "CodesDelivered"), ("custom_sms_sender_account_take_over_notification", "NotificationsDelivered")],
)
def test_each_message_is_counted_as_a_code_or_a_notice(
    texts: SentTexts, load_event: EventLoader, logs: Any, event_name: str, counted: str
) -> None:
    # GIVEN a message with a code, or a notice without one / WHEN sent
    run_sender(load_event(event_name), RecordingDecryptor(), texts)

    # THEN it is counted once, under its own name, and logged saying whether it held a code (never the code)
    assert {name: metric["Value"] for name, metric in metrics.metric_set.items()} == {counted: [1.0]}
    assert [(record["message"], record["has_code"]) for record in logs.records()] == [("Custom SMS sent", counted == "CodesDelivered")]


# ---------------------------------------------------------------- the decryptor's own settings ---


def test_a_message_with_two_data_keys_is_not_cognitos(decryptor: CodeDecryptor, kms_key_arn: str, new_kms_key: Callable[[], str]) -> None:
    # GIVEN a message whose data key is wrapped twice: by the stack's key and by another (Cognito wraps it once)
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[kms_key_arn, new_kms_key()])
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    message, _header = client.encrypt(
        source=CODE.encode(),
        key_provider=provider,
        encryption_context={"userpool-id": POOL_ID},
        algorithm=Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    )

    # WHEN / THEN refused, although the stack's key could open it
    with pytest.raises(CodeDecryptionError):
        decryptor.decrypt(base64.b64encode(message).decode(), POOL_ID)


def test_the_kms_client_fails_fast(decryptor: CodeDecryptor, kms_key_arn: str, encrypt_code: Encrypt) -> None:
    # GIVEN the decryptor has opened a code (so its KMS client exists)
    assert decryptor.decrypt(encrypt_code(CODE.encode(), kms_key_arn, POOL_ID), POOL_ID) == CODE

    # WHEN / THEN that client has the short timeouts and the single retry of the time budget, not botocore's 60 s
    [kms] = decryptor._key_provider._regional_clients.values()
    config = kms.meta.config
    assert (config.connect_timeout, config.read_timeout, config.retries) == (2, 3, {"total_max_attempts": 2, "mode": "standard"})
