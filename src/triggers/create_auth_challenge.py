"""Create Auth Challenge: draw a code and text it to the user (first round only)."""

from __future__ import annotations

import functools
from typing import Any

from sms_otp.core.observability import cognito_trigger
from sms_otp.core.settings import load_settings
from sms_otp.core.time_budget import Deadline
from sms_otp.limits.store import DynamoDbLimitStore
from sms_otp.sending.delivery import SmsPublisher, sns_client
from sms_otp.sign_in.code_destinations import CodeDestinations
from sms_otp.sign_in.custom_auth import LatencyMimic, create_auth_challenge

SETTINGS = load_settings()
# Built at cold start, not in the invocation: a slow first send makes Cognito retry.
PUBLISHER = SmsPublisher(SETTINGS, sns_client())
LIMITS = DynamoDbLimitStore.from_settings(SETTINGS)
LATENCY = LatencyMimic()
# Where each code went, for Post Authentication; kept while the code may still be answered.
CODE_DESTINATIONS = CodeDestinations(SETTINGS.require_limits_table_name(), SETTINGS.otp_ttl_seconds + 60)
TRIGGER_SOURCE = "CreateAuthChallenge_Authentication"


@cognito_trigger("CreateAuthChallenge", traced=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fill in the challenge's public and private parameters; send the code once, answering before Cognito gives up."""
    deadline = Deadline.from_context(context)
    create_auth_challenge(
        event,
        settings=SETTINGS,
        # Recorded inside the send, so the unknown user's latency mimic covers the record too.
        send_text=CODE_DESTINATIONS.recording(
            event, functools.partial(PUBLISHER.send, trigger_source=TRIGGER_SOURCE, deadline=deadline), deadline
        ),
        latency=LATENCY,
        limits=LIMITS,
        deadline=deadline,
    )
    return event
