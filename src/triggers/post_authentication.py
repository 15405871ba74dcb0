"""Post Authentication: reset the lockout count, and mark the phone verified after a sign-in by code."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from sms_otp.events import user_attributes_of
from sms_otp.limits import LimitStore
from sms_otp.observability import cognito_trigger
from sms_otp.phone_verification import ClientFlows, mark_phone_verified
from sms_otp.settings import load_settings

SETTINGS = load_settings()

# Cognito waits 5 seconds for the trigger: fail a slow call well before that.
_COGNITO_CONFIG = Config(connect_timeout=1, read_timeout=1.5, retries={"total_max_attempts": 2, "mode": "standard"})
COGNITO = boto3.client("cognito-idp", config=_COGNITO_CONFIG)
CLIENT_FLOWS = ClientFlows(COGNITO)
LIMITS = LimitStore.from_settings(SETTINGS)


@cognito_trigger("PostAuthentication", traced=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reset the failed rounds; set phone_number_verified=true when the app client allows only sign-in by code."""
    mark_phone_verified(event, cognito_client=COGNITO, client_flows=CLIENT_FLOWS)
    # A successful sign-in ends any lockout (mark_phone_verified has checked the number is there).
    LIMITS.reset_failures(user_attributes_of(event)["phone_number"])
    return event
