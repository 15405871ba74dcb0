"""Custom SMS Sender: decrypt the code Cognito generated and word the message.

Cognito encrypts ``request.code`` with the AWS Encryption SDK: the signed,
non-committing suite AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384, one data key
wrapped by the stack's KMS key, and the encryption context
``{"userpool-id": <pool id>}``. Reading it therefore needs the commitment policy
``REQUIRE_ENCRYPT_ALLOW_DECRYPT``. A ciphertext made for another pool is refused
even when the key would open it.

The sender is invoked asynchronously: Lambda retries an invocation that raises.
So a failure a retry may mend (KMS or SNS throttled, failing, timed out or out
of reach) raises :class:`~sms_otp.core.errors.KeyServiceUnavailableError` or a
retryable :class:`~sms_otp.core.errors.DeliveryError`, and a refusal that would only
repeat (another pool's code, a ciphertext that is not one, a number not
allowed, a limit reached) ends the invocation quietly. Either way, a message
that was not sent gives its allowance back (see :func:`send_custom_sms`).
"""

from __future__ import annotations

import base64
import binascii
import concurrent.futures
import html
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aws_encryption_sdk
import botocore.session
from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError
from aws_encryption_sdk.identifiers import CommitmentPolicy
from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.core.aws_failures import CallRecorder, is_transient
from sms_otp.core.errors import CodeDecryptionError, KeyServiceUnavailableError, MalformedEventError, aws_error_code, certainly_not_sent
from sms_otp.core.events import code_of, phone_number_of, phone_number_verified, string_field, trigger_source_of
from sms_otp.core.observability import count, logger
from sms_otp.core.phone_numbers import number_prefix, validate_destination
from sms_otp.core.time_budget import KMS_CONFIG
from sms_otp.limits.keys import sender_subject

if TYPE_CHECKING:
    from sms_otp.core.events import CognitoEvent
    from sms_otp.limits.protocol import LimitStore
    from sms_otp.limits.record import Alongside, Reservation

USER_POOL_CONTEXT_KEY = "userpool-id"
# One worker per container: decryption overlaps the limits check (see send_custom_sms).
_DECRYPTION = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="decrypt")
# Cognito's ciphertexts are a few hundred bytes; refuse anything absurd before parsing it.
MAX_CIPHERTEXT_CHARACTERS = 8192

ADMIN_CREATE_USER_SOURCE = "CustomSMSSender_AdminCreateUser"
ACCOUNT_TAKEOVER_SOURCE = "CustomSMSSender_AccountTakeOverNotification"
ACCOUNT_TAKEOVER_MESSAGE = (
    "We detected a suspicious sign-in attempt on your account. If it was not you, change your password and review your account now."
)
# The message of each trigger source; every one but the takeover notice carries Cognito's code.
_MESSAGES: dict[str, str] = {
    "CustomSMSSender_SignUp": "Your verification code is {code}. Do not share it with anyone.",
    "CustomSMSSender_ResendCode": "Your verification code is {code}. Do not share it with anyone.",
    "CustomSMSSender_ForgotPassword": "Your password reset code is {code}. Do not share it with anyone.",
    "CustomSMSSender_UpdateUserAttribute": "Your code to confirm your new phone number is {code}. Do not share it with anyone.",
    "CustomSMSSender_VerifyUserAttribute": "Your code to verify your phone number is {code}. Do not share it with anyone.",
    "CustomSMSSender_Authentication": "Your sign-in code is {code}. Do not share it with anyone.",
    ADMIN_CREATE_USER_SOURCE: "Your account is ready. Sign in with {phone_number} and the temporary password {code}",
    ACCOUNT_TAKEOVER_SOURCE: ACCOUNT_TAKEOVER_MESSAGE,
}
TRIGGER_SOURCES = frozenset(_MESSAGES)
# Codes to verify a phone number, which may be a new one each time: capped per account and day.
ATTRIBUTE_SOURCES = frozenset({"CustomSMSSender_UpdateUserAttribute", "CustomSMSSender_VerifyUserAttribute"})


class CodeDecryptor:
    """Decrypts Cognito's codes with the stack's KMS key; built once per container."""

    def __init__(self, key_arn: str, botocore_session: botocore.session.Session | None = None) -> None:
        self._client = aws_encryption_sdk.EncryptionSDKClient(
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT,
            max_encrypted_data_keys=1,
        )
        session = botocore_session or botocore.session.Session()
        # The provider builds its KMS client from the session: give it short timeouts, not botocore's 60 s.
        session.set_default_client_config(KMS_CONFIG)
        # The provider re-raises a KMS error as its own DecryptKeyError, without the original: the
        # session's events keep it, so a throttled KMS is told apart from a key that will never open the code.
        self._kms_calls = CallRecorder("kms", "Decrypt")
        self._kms_calls.attach(session)
        self._key_provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_arn], botocore_session=session)

    def decrypt(self, ciphertext: str, user_pool_id: str) -> str:
        """Return the plaintext code.

        Raises :class:`KeyServiceUnavailableError` when KMS failed in a way a later
        try may mend, and :class:`CodeDecryptionError`, with the reason, when the
        code can never be read.
        """
        if len(ciphertext) > MAX_CIPHERTEXT_CHARACTERS:
            raise CodeDecryptionError("the code ciphertext is too long to be Cognito's")
        try:
            message = base64.b64decode(ciphertext, validate=True)
        except (binascii.Error, ValueError) as error:
            raise CodeDecryptionError("the code is not valid base64") from error
        source = io.BytesIO(message)
        self._kms_calls.clear()
        try:
            with self._client.stream(mode="d", source=source, key_provider=self._key_provider) as decryptor:
                plaintext = decryptor.read()
                header = decryptor.header
        except (AWSEncryptionSDKClientError, ClientError, BotoCoreError) as error:
            kms_failure = self._kms_calls.failure or error
            if is_transient(kms_failure):
                raise KeyServiceUnavailableError(f"KMS could not decrypt the code for now ({aws_error_code(kms_failure)})") from error
            raise CodeDecryptionError(f"the code could not be decrypted with the stack's KMS key ({type(error).__name__})") from error
        except Exception as error:
            # The SDK raises plain errors (struct, value) on some truncated messages.
            raise CodeDecryptionError(f"the code is not an AWS Encryption SDK message ({type(error).__name__})") from error
        if source.read(1):
            # The SDK stops at the message's footer; anything after it is not Cognito's.
            raise CodeDecryptionError("the code has data after the end of its message")
        if header.encryption_context.get(USER_POOL_CONTEXT_KEY) != user_pool_id:
            raise CodeDecryptionError("the code was encrypted for another user pool")
        try:
            return str(plaintext.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise CodeDecryptionError("the decrypted code is not text") from error


def sms_text(trigger_source: str, code: str | None, phone_number: str) -> str:
    """The message for ``trigger_source`` (one of :data:`TRIGGER_SOURCES`), with ``code`` where the message has one."""
    if trigger_source == ADMIN_CREATE_USER_SOURCE and code is not None:
        # Cognito HTML-escapes temporary passwords (&lt; for <); the person must see the real characters.
        code = html.unescape(code)
    return _MESSAGES[trigger_source].format(code=code, phone_number=phone_number)


def send_custom_sms(
    event: CognitoEvent,
    *,
    decryptor: CodeDecryptor,
    send_text: Callable[..., Any],
    limits: LimitStore,
    allowed_country_codes: frozenset[int],
    trust_phone_number_verified: bool = False,
    claim: Alongside | None = None,
) -> None:
    """Decrypt the event's code, word the message for its trigger source and send it, within the limits.

    Every message meets the same admission as a sign-in code (:mod:`sms_otp.limits.shares`): a fresh number
    the pumping guard of its range and the fresh shares of the budget, a known one its own share. A code to
    verify a phone number also counts against the account's daily cap, whatever number it goes to.
    ``claim`` (the exactly-once claim of the publish, :mod:`sms_otp.sending.exactly_once`) is written
    beside the admission's writes, and undone with them when the message certainly does not go out.

    Three round trips: KMS's decryption beside the admission's read, the admission's writes, the publish.
    """
    trigger_source = trigger_source_of(event, TRIGGER_SOURCES)
    user_pool_id = string_field(event, "userPoolId")
    # Refuse a bad or disallowed number before spending a KMS call on its code.
    phone_number = validate_destination(phone_number_of(event), allowed_country_codes)
    ciphertext = code_of(event)
    if ciphertext is None and trigger_source != ACCOUNT_TAKEOVER_SOURCE:
        raise MalformedEventError(f"{trigger_source} requires request.code")
    subject = sender_subject(trigger_source, phone_number)
    admission = _Admission(
        number_range=number_prefix(phone_number),
        phone_number=phone_number,
        # A code to a number being changed to proves nothing yet: only the table can say that number is known.
        verified=trust_phone_number_verified and trigger_source not in ATTRIBUTE_SOURCES and phone_number_verified(event),
        account=f"{user_pool_id}:{string_field(event, 'userName')}" if trigger_source in ATTRIBUTE_SOURCES else None,
    )
    # Reserve, then give back what did not go out, rather than count only what SNS took: counting after
    # the send would let concurrent invocations (Lambda's retries, Cognito's duplicates) all pass the
    # check before any is counted; a reservation is a cap they can never exceed together.
    reservation, code = _decrypt_within_limits(
        ciphertext, user_pool_id, subject, admission, decryptor=decryptor, limits=limits, claim=claim
    )
    try:
        send_text(phone_number, sms_text(trigger_source, code, phone_number), trigger_source=trigger_source)
    except BaseException as error:
        if certainly_not_sent(error):
            limits.release(reservation)
        raise
    count("CodesDelivered" if code is not None else "NotificationsDelivered")
    logger.info("Custom SMS sent", extra={"has_code": code is not None})


@dataclass(frozen=True, slots=True)
class _Admission:
    """Where a message goes, as the limits weigh it."""

    number_range: str
    phone_number: str
    verified: bool
    account: str | None


def _decrypt_within_limits(
    ciphertext: str | None,
    user_pool_id: str,
    subject: str,
    admission: _Admission,
    *,
    decryptor: CodeDecryptor,
    limits: LimitStore,
    claim: Alongside | None,
) -> tuple[Reservation, str | None]:
    """Reserve one more message under ``subject`` and decrypt ``ciphertext`` (if any) meanwhile.

    Returns the reservation and the code. A code that fails to decrypt gives the
    reservation back before the error goes on.
    """
    # The KMS round trip of the decryption runs while the limits are checked: neither needs the other.
    pending_code = _DECRYPTION.submit(decryptor.decrypt, ciphertext, user_pool_id) if ciphertext is not None else None
    try:
        reservation = limits.admit(
            subject,
            new_round=False,
            send=True,
            number_range=admission.number_range,
            phone_number=admission.phone_number,
            verified=admission.verified,
            account=admission.account,
            alongside=claim,
        )
    except BaseException:
        if pending_code is not None:
            pending_code.cancel()
        raise
    if pending_code is None:
        return reservation, None
    try:
        return reservation, pending_code.result()
    except BaseException:
        limits.release(reservation)
        raise
