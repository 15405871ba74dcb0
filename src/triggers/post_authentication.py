"""Post Authentication: reset the lockout count, and mark the phone verified after a sign-in by code."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import PostAuthenticationTriggerEvent
from botocore.config import Config

from sms_otp.limits import LimitStore, dynamodb_client
from sms_otp.observability import cognito_trigger
from sms_otp.phone_verification import ClientFlows, mark_phone_verified
from sms_otp.settings import load_settings

SETTINGS = load_settings()

COGNITO = boto3.client("cognito-idp", config=Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"}))
CLIENT_FLOWS = ClientFlows(COGNITO)
LIMITS = LimitStore(SETTINGS.require_limits_table_name(), SETTINGS.limits, dynamodb_client())


@cognito_trigger("PostAuthentication", traced=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reset the failed rounds; set phone_number_verified=true when the app client allows only sign-in by code."""
    trigger = PostAuthenticationTriggerEvent(event)
    mark_phone_verified(trigger, cognito_client=COGNITO, client_flows=CLIENT_FLOWS)
    LIMITS.reset_failures(trigger.request.user_attributes["phone_number"])
    return event
