"""sms_otp.core.phone_numbers: E.164 validation, masking, and the stand-in destination of unknown users."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms_otp.core.errors import InvalidPhoneNumberError, UserFacingError
from sms_otp.core.phone_numbers import mask_phone_number, number_prefix, parse_e164, stand_in_destination, validate_destination

pytestmark = pytest.mark.unit

POOL_ID = "us-east-1_EXAMPLE11"
EXPECTED_MESSAGE = (
    "Enter a valid phone number in E.164 form: a plus sign, the country code and the number, "
    "with no spaces or punctuation (for example +14155550123)."
)


@pytest.mark.parametrize(
    "number",
    [
        "+14155550123",
        "+12025550143",
        "+447911123456",
        "+33612345678",
        "+4915123456789",
        "+61412345678",
        "+5511912345678",
        "+819012345678",
        "+919876543210",
    ],
)
def test_valid_e164_numbers_are_accepted_unchanged(number: str) -> None:
    # GIVEN / WHEN validating a valid E.164 number
    # THEN it comes back exactly as given
    assert validate_destination(number, frozenset()) == number
    parsed = parse_e164(number)
    assert f"+{parsed.country_code}{parsed.national_number}" == number


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("+1 415 555 0123", id="spaces"),
        pytest.param("+1 (415) 555-0123", id="punctuation"),
        pytest.param("+1-415-555-0123", id="dashes"),
        pytest.param("+1.415.555.0123", id="dots"),
        pytest.param("14155550123", id="no plus"),
        pytest.param("0014155550123", id="international prefix instead of plus"),
        pytest.param("(415) 555-0123", id="national format"),
        pytest.param("++14155550123", id="two plus signs"),
        pytest.param(" +14155550123", id="leading space"),
        pytest.param("+14155550123 ", id="trailing space"),
        pytest.param("+14155550123\n", id="trailing newline"),
        pytest.param("+1415", id="too short"),
        pytest.param("+1", id="country code only"),
        pytest.param("+", id="plus only"),
        pytest.param("", id="empty"),
        pytest.param("+1415555O123", id="letter O for zero"),
        pytest.param("+1415555012a", id="a letter"),
        pytest.param("+1-800-FLOWERS", id="vanity letters"),
        pytest.param("+١٤١٥٥٥٥٠١٢٣", id="arabic-indic digits"),
        pytest.param("+\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff12\uff13", id="fullwidth digits"),
        pytest.param("+10005550123", id="not a valid number"),
        pytest.param("+141555501234567", id="too long for E.164"),
        pytest.param("+" + "1" * 40, id="huge"),
        pytest.param("+1" * 10_000, id="very huge"),
        pytest.param(None, id="None"),
        pytest.param(14155550123, id="int"),
        pytest.param(b"+14155550123", id="bytes"),
        pytest.param(["+14155550123"], id="list"),
    ],
)
def test_invalid_numbers_are_refused_with_a_message_that_shows_e164(value: object) -> None:
    # GIVEN something that is not an E.164 number
    # WHEN validating it
    with pytest.raises(InvalidPhoneNumberError) as raised:
        validate_destination(value, frozenset())

    # THEN the user-facing error says what E.164 looks like, with an example
    assert isinstance(raised.value, UserFacingError)
    assert str(raised.value) == EXPECTED_MESSAGE
    assert "E.164" in str(raised.value)
    assert "+14155550123" in str(raised.value)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+14155550123", "+*******0123"),
        ("+12025550143", "+*******0143"),
        ("+447911123456", "+********3456"),
        ("+4915123456789", "+*********6789"),
        ("+12345", "+*2345"),
    ],
)
def test_mask_phone_number_shows_only_the_last_four_digits(value: str, masked: str) -> None:
    assert mask_phone_number(value) == masked


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("14155550123", id="no plus"),
        pytest.param("+1234", id="four digits"),
        pytest.param("+", id="plus only"),
        pytest.param("", id="empty"),
        pytest.param("+1 415 555 0123", id="spaces"),
        pytest.param("+1415555012a", id="a letter"),
        pytest.param("+١٤١٥٥٥٥٠١٢٣", id="arabic-indic digits"),
        pytest.param("+" + "1" * 40, id="huge"),
        pytest.param("<script>alert(1)</script>", id="markup"),
        pytest.param(None, id="None"),
        pytest.param(14155550123, id="int"),
    ],
)
def test_mask_phone_number_never_echoes_invalid_input(value: object) -> None:
    assert mask_phone_number(value) == "<invalid>"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.from_regex(r"\+[0-9]{0,20}", fullmatch=True)))
def test_mask_phone_number_never_reveals_more_than_four_digits(value: str) -> None:
    masked = mask_phone_number(value)
    assert masked == "<invalid>" or re.fullmatch(r"\+\*+[0-9]{4}", masked)


def test_stand_in_destination_is_the_mask_when_the_username_is_a_phone_number() -> None:
    # GIVEN an unknown user who typed a phone number (the usual case in a phone-number pool)
    # WHEN choosing the destination to show
    destination = stand_in_destination("+14155550123", POOL_ID)

    # THEN it is exactly what a real user with that number would see
    assert destination == mask_phone_number("+14155550123") == "+*******0123"


@pytest.mark.parametrize("username", ["someone", "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "+1 415 555 0123", "", "é" * 200])
def test_stand_in_destination_is_stable_and_looks_like_a_mask(username: str) -> None:
    # GIVEN / WHEN the same unknown name twice
    first, second = stand_in_destination(username, POOL_ID), stand_in_destination(username, POOL_ID)

    # THEN the same masked-looking destination both times
    assert first == second
    assert re.fullmatch(r"\+\*{7}[0-9]{4}", first)


def test_stand_in_destination_depends_on_the_name_and_the_pool() -> None:
    # GIVEN / WHEN two names in one pool and one name in two pools
    # THEN each gets its own digits, derived from a hash of pool and name
    assert stand_in_destination("alice", POOL_ID) == "+*******2289"
    assert stand_in_destination("bob", POOL_ID) == "+*******3557"
    assert stand_in_destination("alice", "us-east-1_OTHER0000") == "+*******4707"


@pytest.mark.parametrize(
    ("number", "prefix"),
    [
        pytest.param("+14155550123", "+1415", id="North America: the area code"),
        pytest.param("+12125550143", "+1212", id="another area code"),
        pytest.param("+447911123456", "+44791", id="UK mobile: 10-digit national number, first 3"),
        pytest.param("+33612345678", "+3361", id="France: 9 digits, first 2"),
        pytest.param("+4915112345678", "+491511", id="Germany: 11 digits, first 4"),
        pytest.param("+3545512345", "+3545", id="Iceland: 7 digits, the first at least"),
        pytest.param("+390612345678", "+39061", id="Italy: the leading zero is part of the national number"),
    ],
)
def test_a_number_range_is_the_calling_code_and_all_but_the_last_seven_digits(number: str, prefix: str) -> None:
    # GIVEN a valid number / WHEN / THEN its range: ten million numbers, the area code in North America
    assert number_prefix(number) == prefix


@given(st.sampled_from(["+14155550123", "+447911123456", "+33612345678", "+4915112345678", "+3545512345"]))
def test_a_number_range_never_holds_the_last_seven_digits(number: str) -> None:
    assert not number_prefix(number).endswith(number[-7:])
    assert number.startswith(number_prefix(number))


@pytest.mark.parametrize("value", ["+1 415 555 0123", "14155550123", "", None, "+1415"])
def test_only_a_valid_e164_number_has_a_range(value: object) -> None:
    with pytest.raises(InvalidPhoneNumberError):
        number_prefix(value)
