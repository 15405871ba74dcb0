"""Define Auth Challenge: decide the next step of a passwordless sign-in."""

from __future__ import annotations

from typing import Any

from sms_otp.core.observability import cognito_trigger
from sms_otp.core.settings import load_settings
from sms_otp.sign_in.custom_auth import define_auth_challenge

SETTINGS = load_settings()


@cognito_trigger("DefineAuthChallenge")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Custom challenge, tokens or failure, from the session so far."""
    define_auth_challenge(event, settings=SETTINGS)
    return event
