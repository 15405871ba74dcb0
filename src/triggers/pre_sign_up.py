"""Pre sign-up: accept only a valid, allowed E.164 phone number; confirm the user without a password step."""

from __future__ import annotations

from typing import Any

from sms_otp.events import user_attributes_of
from sms_otp.observability import cognito_trigger, count, logger
from sms_otp.phone_numbers import mask_phone_number, validate_destination
from sms_otp.settings import load_settings

SETTINGS = load_settings()


@cognito_trigger("PreSignUp")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Refuse an invalid or disallowed phone number; auto-confirm (passwordless only), never auto-verify the phone."""
    phone_number = validate_destination(user_attributes_of(event).get("phone_number"), SETTINGS.allowed_country_codes)
    # The code sent at sign-in proves the phone; Post Authentication marks it verified then. Where the
    # app client also allows password sign-in, a confirmed account could be signed into by password
    # without any code, so whoever signs up must first confirm with the code Cognito sends to the phone.
    auto_confirm = not SETTINGS.password_sign_in
    event["response"] = {"autoConfirmUser": auto_confirm, "autoVerifyPhone": False, "autoVerifyEmail": False}
    count("SignUpsAccepted")
    logger.info("Sign-up accepted", extra={"phone_number": mask_phone_number(phone_number)})
    return event
