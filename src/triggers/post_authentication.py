"""Post Authentication: mark the phone verified after a sign-in by code."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import PostAuthenticationTriggerEvent
from botocore.config import Config

from sms_otp.observability import cognito_trigger
from sms_otp.phone_verification import ClientFlows, mark_phone_verified

COGNITO = boto3.client("cognito-idp", config=Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"}))
CLIENT_FLOWS = ClientFlows(COGNITO)


@cognito_trigger("PostAuthentication", traced=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Set phone_number_verified=true when the app client allows only sign-in by code."""
    mark_phone_verified(PostAuthenticationTriggerEvent(event), cognito_client=COGNITO, client_flows=CLIENT_FLOWS)
    return event
