"""Post Authentication: end the number's lockout, and mark the phone verified after a sign-in by code."""

from __future__ import annotations

from typing import Any

from sms_otp.core.observability import cognito_trigger
from sms_otp.core.settings import load_settings
from sms_otp.limits.store import DynamoDbLimitStore
from sms_otp.sign_in.code_destinations import CodeDestinations
from sms_otp.sign_in.phone_verification import ClientFlows, cognito_client, post_authentication

SETTINGS = load_settings()
COGNITO = cognito_client()
CLIENT_FLOWS = ClientFlows(COGNITO)
LIMITS = DynamoDbLimitStore.from_settings(SETTINGS)
CODE_DESTINATIONS = CodeDestinations(SETTINGS.require_limits_table_name(), SETTINGS.otp_ttl_seconds)


@cognito_trigger("PostAuthentication", traced=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reset the failed rounds; set phone_number_verified=true when the app client allows only sign-in by code."""
    post_authentication(
        event,
        cognito_client=COGNITO,
        client_flows=CLIENT_FLOWS,
        limits=LIMITS,
        code_destinations=CODE_DESTINATIONS,
        trust_phone_number_verified=SETTINGS.trust_phone_number_verified,
    )
    return event
