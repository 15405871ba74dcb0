"""Verify Auth Challenge Response: check the answer against the code's salted hash."""

from __future__ import annotations

from typing import Any

from sms_otp.core.observability import cognito_trigger
from sms_otp.core.settings import load_settings
from sms_otp.sign_in.custom_auth import verify_auth_challenge

SETTINGS = load_settings()


@cognito_trigger("VerifyAuthChallenge")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Set answerCorrect; a bad answer is wrong, never an error."""
    verify_auth_challenge(event, settings=SETTINGS)
    return event
