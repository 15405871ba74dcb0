"""Pre sign-up: accept only a valid, allowed phone number, and confirm the account without a password step.

The phone itself is never marked verified here: the code sent at the first
sign-in proves it, and Post Authentication marks it verified then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sms_otp.core.events import optional_phone_number_of
from sms_otp.core.observability import count, logger
from sms_otp.core.phone_numbers import mask_phone_number, validate_destination

if TYPE_CHECKING:
    from sms_otp.core.events import CognitoEvent
    from sms_otp.core.settings import Settings


def pre_sign_up(event: CognitoEvent, *, settings: Settings) -> None:
    """Refuse (user-facing) a missing, invalid or disallowed phone number; otherwise accept the sign-up.

    The account is confirmed at once unless the app client also allows password
    sign-in (``settings.password_sign_in``): a confirmed account could then be
    signed into by password without any code, so whoever signs up must first
    confirm with the code Cognito sends to the phone.
    """
    phone_number = validate_destination(optional_phone_number_of(event), settings.allowed_country_codes)
    event["response"] = {"autoConfirmUser": not settings.password_sign_in, "autoVerifyPhone": False, "autoVerifyEmail": False}
    count("SignUpsAccepted")
    logger.info("Sign-up accepted", extra={"phone_number": mask_phone_number(phone_number)})
