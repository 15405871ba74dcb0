"""Phone numbers: parse and validate (with ``phonenumbers``) and mask for display and logs.

``phonenumbers`` is imported on first use, not with this module: Define and
Verify import this package's masking helpers through ``custom_auth`` but never
parse a number, and the library costs them about 20 ms of cold start.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sms_otp.core.errors import InvalidPhoneNumberError, PhoneNumberNotAllowedError

if TYPE_CHECKING:
    import phonenumbers

E164_EXAMPLE = "+14155550123"
INVALID_PHONE_NUMBER_MESSAGE = (
    "Enter a valid phone number in E.164 form: a plus sign, the country code and the number, "
    f"with no spaces or punctuation (for example {E164_EXAMPLE})."
)
PREMIUM_NUMBER_MESSAGE = "Premium-rate and shared-cost numbers cannot receive codes."
_MAX_INPUT_LENGTH = 32
_VISIBLE_DIGITS = 4


def parse_e164(value: object) -> phonenumbers.PhoneNumber:
    """Parse a phone number that must already be in E.164 form and be valid.

    Raises :class:`InvalidPhoneNumberError` otherwise, with a message that says
    what a valid number looks like.
    """
    if not isinstance(value, str) or not value.startswith("+") or len(value) > _MAX_INPUT_LENGTH:
        raise InvalidPhoneNumberError(INVALID_PHONE_NUMBER_MESSAGE)
    import phonenumbers  # noqa: PLC0415 - on first use (see the module docstring)

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumberError(INVALID_PHONE_NUMBER_MESSAGE) from error
    if not phonenumbers.is_valid_number(number) or format_e164(number) != value:
        raise InvalidPhoneNumberError(INVALID_PHONE_NUMBER_MESSAGE)
    return number


def format_e164(number: phonenumbers.PhoneNumber) -> str:
    """The number in E.164 form, such as ``+14155550123``."""
    import phonenumbers  # noqa: PLC0415 - on first use (see the module docstring)

    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_destination(value: object, allowed_country_codes: frozenset[int]) -> str:
    """Check that ``value`` is a valid E.164 number this deployment may send to; return it.

    Refuses (user-facing) a country calling code outside ``allowed_country_codes``
    (empty means every country) and premium-rate or shared-cost numbers.
    """
    number = parse_e164(value)
    if allowed_country_codes and number.country_code not in allowed_country_codes:
        raise PhoneNumberNotAllowedError(f"Phone numbers with the country code +{number.country_code} cannot be used here.")
    import phonenumbers  # noqa: PLC0415 - on first use (see the module docstring)

    # Numbers whose SMS the sender pays extra for, or shares the cost of: the targets of SMS pumping.
    if phonenumbers.number_type(number) in (phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.SHARED_COST):
        raise PhoneNumberNotAllowedError(PREMIUM_NUMBER_MESSAGE)
    return format_e164(number)


NUMBER_RANGE_DIGITS = 7
"""The last digits a number range leaves out: a range holds up to ten million numbers."""


def number_prefix(value: object) -> str:
    """The range a valid E.164 number belongs to, for the pumping guard: ``+`` and its first digits.

    The country calling code and the national number without its last 7 digits
    (at least its first digit): in the North American plan, the area code
    (``+1415`` for +1 415 555 0123); elsewhere a block of the same size, ten
    million numbers (``+44791`` for +44 7911 123456, ``+3361`` for +33 6 12 34 56 78).
    Raises :class:`InvalidPhoneNumberError` for anything else. Never a whole
    number: safe for logs and metrics.
    """
    number = parse_e164(value)
    import phonenumbers  # noqa: PLC0415 - on first use (see the module docstring)

    national = phonenumbers.national_significant_number(number)
    return f"+{number.country_code}{national[: max(1, len(national) - NUMBER_RANGE_DIGITS)]}"


def calling_code_of(value: object) -> int:
    """The country calling code of a valid E.164 number (1 for the whole North American plan)."""
    return int(parse_e164(value).country_code or 0)


def mask_phone_number(value: object) -> str:
    """Mask all but the last four digits, the way Cognito shows a destination: ``+*******0123``.

    Safe for any input: something that is not a phone number becomes ``"<invalid>"``
    rather than being echoed into a log.
    """
    if not isinstance(value, str) or not value.startswith("+") or len(value) > _MAX_INPUT_LENGTH:
        return "<invalid>"
    digits = value[1:]
    if not digits.isascii() or not digits.isdigit() or len(digits) <= _VISIBLE_DIGITS:
        return "<invalid>"
    return "+" + "*" * (len(digits) - _VISIBLE_DIGITS) + digits[-_VISIBLE_DIGITS:]


def stand_in_destination(username: str, user_pool_id: str) -> str:
    """A masked destination for a user who does not exist, stable for the same name.

    When the name typed at sign-in is itself a phone number (the usual case in a
    phone-number pool) its own mask is shown, exactly as for a real user;
    otherwise digits derived from a hash of the name stand in.
    """
    masked = mask_phone_number(username)
    if masked != "<invalid>":
        return masked
    seed = hashlib.sha256(f"{user_pool_id}\x00{username}".encode()).digest()
    return "+" + "*" * 7 + "".join(str(byte % 10) for byte in seed[:_VISIBLE_DIGITS])
