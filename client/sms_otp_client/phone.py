"""The phone number a person types, checked with the triggers' own rules before any AWS call.

The triggers accept only E.164 (``+14155550123``). People also write spaces,
hyphens, dots and parentheses (``+1 (415) 555-0123``), and sometimes the trunk
prefix after the country code (``+44 (0)20 ...``): the number is brought to E.164
first, and then it must pass :func:`sms_otp.core.phone_numbers.validate_destination`,
the check Pre sign-up and every send make. When it does not, the message says
what is wrong with the number rather than only what a valid one looks like.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sms_otp.core.errors import InvalidPhoneNumberError, PhoneNumberNotAllowedError
from sms_otp.core.phone_numbers import E164_EXAMPLE, validate_destination

if TYPE_CHECKING:
    import phonenumbers

# Formatting people put between digits; nothing else is removed.
_FORMATTING = re.compile(r"[\s().-]")


class PhoneNumberError(Exception):
    """The phone number cannot be used; the message says why, in one sentence."""


def normalise_phone_number(typed: str) -> str:
    """The E.164 form of ``typed``, valid by the triggers' rules; raises :class:`PhoneNumberError`.

    Country restrictions (``AllowedCountryCodes``) belong to the deployed stack,
    which the client does not know: Pre sign-up applies them.
    """
    text = typed.strip()
    if not text.startswith("+"):
        raise PhoneNumberError(f"{typed!r} does not start with + and a country code: write it in E.164 form, such as {E164_EXAMPLE}.")
    compact = "+" + _FORMATTING.sub("", text[1:])
    if compact == "+":
        raise PhoneNumberError(f"{typed!r} has no digits: write the number in E.164 form, such as {E164_EXAMPLE}.")
    if not compact[1:].isascii() or not compact[1:].isdigit():
        raise PhoneNumberError(f"{typed!r} holds characters other than digits after the +: write it in E.164 form, such as {E164_EXAMPLE}.")
    import phonenumbers  # noqa: PLC0415 - loaded by validate_destination anyway

    try:
        number = phonenumbers.parse(compact, None)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise PhoneNumberError(_unknown_country_code(typed)) from None
        raise PhoneNumberError(f"{typed!r} is not a phone number: write it in E.164 form, such as {E164_EXAMPLE}.") from None
    # E.164 of what was parsed: drops a trunk prefix written after the country code (+44 (0)20 ...).
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    try:
        return validate_destination(e164, frozenset())
    except InvalidPhoneNumberError:
        raise PhoneNumberError(_what_is_wrong(typed, number)) from None
    except PhoneNumberNotAllowedError as error:
        raise PhoneNumberError(f"{typed!r} cannot be used: {error}") from None


def _what_is_wrong(typed: str, number: phonenumbers.PhoneNumber) -> str:
    """One sentence naming the fault of a number that ``validate_destination`` refused."""
    import phonenumbers  # noqa: PLC0415 - see normalise_phone_number

    country = f"+{number.country_code}"
    reasons = {
        phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: _unknown_country_code(typed),
        phonenumbers.ValidationResult.TOO_SHORT: f"{typed!r} is too short for a number with the country code {country}.",
        phonenumbers.ValidationResult.TOO_LONG: f"{typed!r} is too long for a number with the country code {country}.",
        phonenumbers.ValidationResult.INVALID_LENGTH: f"{typed!r} has the wrong number of digits for the country code {country}.",
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: f"{typed!r} is a local number: add the area code after {country}.",
    }
    reason = phonenumbers.is_possible_number_with_reason(number)
    return reasons.get(reason, f"{typed!r} is not a valid number: no numbers with the country code {country} are assigned like it.")


def _unknown_country_code(typed: str) -> str:
    return f"{typed!r} does not start with a country code that exists: write it in E.164 form, such as {E164_EXAMPLE}."
