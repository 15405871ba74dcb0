"""Pre sign-up: accept only a valid, allowed E.164 phone number; confirm the user without a password step."""

from __future__ import annotations

from typing import Any

from sms_otp.core.observability import cognito_trigger
from sms_otp.core.settings import load_settings
from sms_otp.sign_in.sign_up import pre_sign_up

SETTINGS = load_settings()


@cognito_trigger("PreSignUp")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Refuse an invalid or disallowed phone number; auto-confirm (passwordless only), never auto-verify the phone."""
    pre_sign_up(event, settings=SETTINGS)
    return event
