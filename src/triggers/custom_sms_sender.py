"""Custom SMS Sender: decrypt the code Cognito generated and send it by SMS (or to the test topic)."""

from __future__ import annotations

from typing import Any

from sms_otp.core.observability import cognito_trigger
from sms_otp.core.settings import load_settings
from sms_otp.limits.store import DynamoDbLimitStore
from sms_otp.sending.custom_sms import CodeDecryptor, send_custom_sms
from sms_otp.sending.delivery import SmsPublisher, sns_client
from sms_otp.sending.exactly_once import DeliveryLedger

SETTINGS = load_settings()
# The Encryption SDK client, the KMS key provider and the SNS client are built once per container.
DECRYPTOR = CodeDecryptor(SETTINGS.require_sms_key_arn())
PUBLISHER = SmsPublisher(SETTINGS, sns_client())
LIMITS = DynamoDbLimitStore.from_settings(SETTINGS)
# Lambda's retries of one invocation keep its request id: its text is claimed under it, and goes out once.
DELIVERIES = DeliveryLedger(SETTINGS.require_limits_table_name())


@cognito_trigger("CustomSMSSender", traced=True, asynchronous=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Decrypt request.code, word the message for the trigger source and send it."""
    send_custom_sms(
        event,
        decryptor=DECRYPTOR,
        send_text=PUBLISHER.send,
        limits=LIMITS,
        allowed_country_codes=SETTINGS.allowed_country_codes,
        trust_phone_number_verified=SETTINGS.trust_phone_number_verified,
        claim=DELIVERIES.claim_of(context.aws_request_id),
    )
    return event
