"""Custom SMS Sender: what Lambda retries and what it does not, and what a message that was not sent costs.

Lambda retries an asynchronous invocation that raises. A failure that a later try
may mend (KMS or SNS throttled, failing, timed out, out of reach) must raise; a
refusal that would only repeat must not. Either way, a message that did not go
out must not use up its number's allowance, or Lambda's retry would be refused.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from sms_otp.core.errors import DeliveryError, KeyServiceUnavailableError
from tests.testkit.cognito_encryption import ENCRYPTION_SDK_NOISE, Encrypt
from tests.testkit.events import Event, EventLoader

pytestmark = [
    pytest.mark.unit,
    ENCRYPTION_SDK_NOISE,
]


POOL_ID = "us-east-1_EXAMPLE11"
PHONE_NUMBER = "+14155550123"
CODE = "604219"
TABLE = "sms-otp-limits"


@pytest.fixture
def sender(sns_outbox: Any, kms_key_arn: str, load_handler: Callable[..., ModuleType]) -> ModuleType:
    """custom_sms_sender, cold-started in test mode with SMS_KEY_ARN set to the moto key."""
    return load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn)


@pytest.fixture
def mfa_event(load_event: EventLoader, encrypt_code: Encrypt, kms_key_arn: str) -> Event:
    """An MFA code, encrypted as Cognito encrypts it for this pool."""
    event = load_event("custom_sms_sender_authentication")
    event["request"]["code"] = encrypt_code(CODE.encode(), kms_key_arn, POOL_ID)
    return event


def kms_client_of(sender: ModuleType) -> Any:
    """The KMS client the sender's key provider decrypts with (built at its cold start)."""
    provider = sender.DECRYPTOR._key_provider
    [client] = provider._regional_clients.values()
    return client


def budget_spent() -> int:
    """Messages counted against the stack's budget, over every budget item of the table."""
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    return sum(int(item.get("sent", {}).get("N", "0")) for item in items if item["pk"]["S"].startswith("budget#"))


def raise_on_send(error: Exception) -> Callable[..., None]:
    def send(**_kwargs: object) -> None:
        raise error

    return send


# ---------------------------------------------------------------- KMS ---


@pytest.mark.parametrize(
    ("error_code", "http_status"),
    [
        pytest.param("ThrottlingException", 400, id="throttled"),
        pytest.param("KMSInternalException", 500, id="internal error"),
        pytest.param("DependencyTimeoutException", 503, id="dependency timeout"),
        pytest.param("ServiceUnavailable", 503, id="any 5xx"),
    ],
)
def test_a_kms_error_a_retry_may_mend_is_raised_for_lambda_and_costs_nothing(
    *,
    sender: ModuleType,
    sns_outbox: Any,
    mfa_event: Event,
    lambda_context: object,
    error_code: str,
    http_status: int,
) -> None:
    # GIVEN KMS answering the decryption with an error a later try may mend (the SDK re-raises it as its own)
    with Stubber(kms_client_of(sender)) as kms:
        kms.add_client_error("decrypt", service_error_code=error_code, http_status_code=http_status)

        # WHEN the sender runs
        # THEN it raises, so that Lambda retries, saying why
        with pytest.raises(KeyServiceUnavailableError, match=rf"^KMS could not decrypt the code for now \({error_code}\)$"):
            sender.lambda_handler(mfa_event, lambda_context)

    # AND nothing was sent and no allowance spent: Lambda's retry, once KMS is back, sends the code at once
    assert sns_outbox.topic_messages() == []
    assert budget_spent() == 0
    sender.lambda_handler(mfa_event, lambda_context)
    [message] = sns_outbox.topic_messages()
    assert CODE in message["Message"]
    assert budget_spent() == 1


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ReadTimeoutError(endpoint_url="https://kms.us-east-1.amazonaws.com/"), id="read timeout"),
        pytest.param(ConnectTimeoutError(endpoint_url="https://kms.us-east-1.amazonaws.com/"), id="connect timeout"),
        pytest.param(EndpointConnectionError(endpoint_url="https://kms.us-east-1.amazonaws.com/"), id="no connection"),
    ],
)
def test_kms_out_of_reach_is_raised_for_lambda_and_costs_nothing(
    *, sender: ModuleType, sns_outbox: Any, mfa_event: Event, lambda_context: object, error: Exception
) -> None:
    # GIVEN every attempt to reach KMS failing on the network (the SDK lets these through as they are)
    kms = kms_client_of(sender)
    kms.meta.events.register("before-send.kms.Decrypt", raise_on_send(error), unique_id="kms-out-of-reach")

    # WHEN the sender runs
    # THEN it raises, so that Lambda retries
    with pytest.raises(KeyServiceUnavailableError):
        sender.lambda_handler(mfa_event, lambda_context)

    # AND nothing was sent and no allowance spent: the retry, once KMS is back, sends the code
    kms.meta.events.unregister("before-send.kms.Decrypt", unique_id="kms-out-of-reach")
    assert sns_outbox.topic_messages() == []
    sender.lambda_handler(mfa_event, lambda_context)
    assert len(sns_outbox.topic_messages()) == 1
    assert budget_spent() == 1


@pytest.mark.parametrize(
    "error_code", ["AccessDeniedException", "InvalidCiphertextException", "IncorrectKeyException", "DisabledException", "NotFoundException"]
)
def test_a_kms_refusal_that_would_repeat_ends_quietly_and_costs_nothing(
    *, sender: ModuleType, sns_outbox: Any, mfa_event: Event, lambda_context: object, logs: Any, error_code: str
) -> None:
    # GIVEN KMS refusing the decryption for good
    with Stubber(kms_client_of(sender)) as kms:
        kms.add_client_error("decrypt", service_error_code=error_code, http_status_code=400)

        # WHEN the sender runs
        # THEN it returns (a retry would be refused the same way) and logs the refusal
        assert sender.lambda_handler(mfa_event, lambda_context) is mfa_event
    assert [record["error_type"] for record in logs.records() if record["level"] == "ERROR"] == ["CodeDecryptionError"]

    # AND nothing was sent, and the refusal spent no allowance
    assert sns_outbox.topic_messages() == []
    assert budget_spent() == 0


def test_a_code_for_another_pool_spends_no_allowance(
    *, sender: ModuleType, sns_outbox: Any, load_event: EventLoader, encrypt_code: Encrypt, kms_key_arn: str, lambda_context: object
) -> None:
    # GIVEN a code encrypted for another pool, then a genuine one for the same number
    foreign = load_event("custom_sms_sender_authentication")
    foreign["request"]["code"] = encrypt_code(CODE.encode(), kms_key_arn, "us-east-1_OTHERPOOL")
    genuine = load_event("custom_sms_sender_authentication")
    genuine["request"]["code"] = encrypt_code(CODE.encode(), kms_key_arn, POOL_ID)

    # WHEN both arrive at once
    sender.lambda_handler(foreign, lambda_context)
    sender.lambda_handler(genuine, lambda_context)

    # THEN the refused one took nothing from the number's allowance: the genuine one went out
    assert len(sns_outbox.topic_messages()) == 1


# ---------------------------------------------------------------- SNS ---


@pytest.mark.parametrize(
    ("error_code", "http_status"),
    [pytest.param("Throttling", 400, id="throttled"), pytest.param("InternalError", 500, id="internal error")],
)
def test_an_sns_error_a_retry_may_mend_is_raised_and_gives_the_allowance_back(
    *, sender: ModuleType, sns_outbox: Any, mfa_event: Event, lambda_context: object, error_code: str, http_status: int
) -> None:
    # GIVEN SNS refusing the publish for now
    with Stubber(sender.PUBLISHER.client) as sns:
        sns.add_client_error("publish", service_error_code=error_code, http_status_code=http_status)

        # WHEN the sender runs
        # THEN the delivery error is raised for Lambda to retry
        with pytest.raises(DeliveryError) as raised:
            sender.lambda_handler(mfa_event, lambda_context)
    assert raised.value.retryable is True

    # AND the allowance came back: the retry at once is sent, and counted once
    sender.lambda_handler(mfa_event, lambda_context)
    assert len(sns_outbox.topic_messages()) == 1
    assert budget_spent() == 1


@pytest.mark.parametrize("error_code", ["InvalidParameter", "AuthorizationError", "KMSAccessDenied"])
def test_an_sns_refusal_that_would_repeat_ends_quietly_and_costs_nothing(
    *, sender: ModuleType, sns_outbox: Any, mfa_event: Event, lambda_context: object, error_code: str
) -> None:
    # GIVEN SNS refusing the publish for good
    with Stubber(sender.PUBLISHER.client) as sns:
        sns.add_client_error("publish", service_error_code=error_code, http_status_code=400)

        # WHEN / THEN the sender returns: a retry would be refused the same way
        assert sender.lambda_handler(mfa_event, lambda_context) is mfa_event

    # AND nothing was spent
    assert budget_spent() == 0


def test_a_publish_whose_answer_was_lost_keeps_its_allowance(
    *, sender: ModuleType, sns_outbox: Any, mfa_event: Event, lambda_context: object
) -> None:
    # GIVEN SNS taking the request and the answer never coming back (it may have sent the message)
    events = sender.PUBLISHER.client.meta.events
    events.register(
        "before-send.sns.Publish", raise_on_send(ReadTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com/")), unique_id="lost"
    )

    # WHEN the sender runs
    # THEN the failure is raised for Lambda to retry, marked as possibly sent
    with pytest.raises(DeliveryError) as raised:
        sender.lambda_handler(mfa_event, lambda_context)
    events.unregister("before-send.sns.Publish", unique_id="lost")
    assert (raised.value.retryable, raised.value.may_have_been_sent) == (True, True)

    # AND the allowance stays spent, since the message may be on its way
    assert budget_spent() == 1
