"""Post Authentication: end the number's lockout, and mark the phone verified after a sign-in by code."""

from __future__ import annotations

from typing import Any

from sms_otp.limits import LimitStore
from sms_otp.observability import cognito_trigger
from sms_otp.phone_verification import ClientFlows, cognito_client, post_authentication
from sms_otp.settings import load_settings

SETTINGS = load_settings()
COGNITO = cognito_client()
CLIENT_FLOWS = ClientFlows(COGNITO)
LIMITS = LimitStore.from_settings(SETTINGS)


@cognito_trigger("PostAuthentication", traced=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reset the failed rounds; set phone_number_verified=true when the app client allows only sign-in by code."""
    post_authentication(event, cognito_client=COGNITO, client_flows=CLIENT_FLOWS, limits=LIMITS)
    return event
