"""Pre sign-up: accept a valid E.164 phone number, auto-confirm, never auto-verify."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from sms_otp.core.errors import InternalError, InvalidPhoneNumberError, PhoneNumberNotAllowedError
from tests.testkit.events import EventLoader

pytestmark = pytest.mark.unit


ACCEPTED = {"autoConfirmUser": True, "autoVerifyPhone": False, "autoVerifyEmail": False}
INVALID_PHONE_NUMBER = (
    "Enter a valid phone number in E.164 form: a plus sign, the country code and the number, "
    "with no spaces or punctuation (for example +14155550123)."
)
GENERIC = "Something went wrong on our side. Please try again later."


@pytest.fixture
def pre_sign_up(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("pre_sign_up")


@pytest.mark.parametrize("event_name", ["pre_sign_up", "pre_sign_up_admin_create_user"])
def test_a_valid_phone_number_is_confirmed_but_not_verified(
    pre_sign_up: ModuleType, load_event: EventLoader, lambda_context: object, logs: Any, event_name: str
) -> None:
    # GIVEN a sign-up with a valid E.164 number
    event = load_event(event_name)

    # WHEN the trigger runs
    result = pre_sign_up.lambda_handler(event, lambda_context)

    # THEN the whole event comes back with the user confirmed and the phone left for the first code to prove
    assert result == {**load_event(event_name), "response": ACCEPTED}
    [record] = logs.records()
    assert record["message"] == "Sign-up accepted"
    assert record["phone_number"].startswith("+*")
    assert load_event(event_name)["request"]["userAttributes"]["phone_number"] not in logs.text


def test_an_invalid_phone_number_is_refused_with_its_message_unchanged(
    pre_sign_up: ModuleType, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN events/pre_sign_up_invalid_phone.json ("+1 (415) 555-0123")
    event = load_event("pre_sign_up_invalid_phone")

    # WHEN the trigger runs
    with pytest.raises(InvalidPhoneNumberError) as raised:
        pre_sign_up.lambda_handler(event, lambda_context)

    # THEN the caller sees exactly the user-facing text, and no response was written
    assert str(raised.value) == INVALID_PHONE_NUMBER
    assert event == load_event("pre_sign_up_invalid_phone")


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param({}, id="no phone number"),
        pytest.param({"phone_number": None}, id="phone number null"),
        pytest.param({"phone_number": ""}, id="phone number empty"),
        pytest.param({"email": "someone@example.com"}, id="an email instead"),
    ],
)
def test_a_missing_phone_number_is_refused(
    pre_sign_up: ModuleType, load_event: EventLoader, lambda_context: object, attributes: dict[str, Any]
) -> None:
    # GIVEN a sign-up without a usable phone number
    event = load_event("pre_sign_up")
    event["request"]["userAttributes"] = attributes

    # WHEN / THEN refused with the user-facing E.164 message
    with pytest.raises(InvalidPhoneNumberError, match=r"E\.164"):
        pre_sign_up.lambda_handler(event, lambda_context)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda event: event.pop("request"), id="request missing"),
        pytest.param(lambda event: event["request"].pop("userAttributes"), id="userAttributes missing"),
        pytest.param(lambda event: event["request"].update(userAttributes=["+14155550123"]), id="userAttributes a list"),
        pytest.param(lambda event: event["request"].update(userAttributes=None), id="userAttributes null"),
    ],
)
def test_a_malformed_event_is_a_generic_internal_error(
    pre_sign_up: ModuleType, load_event: EventLoader, lambda_context: object, logs: Any, mutate: Callable[[dict[str, Any]], object]
) -> None:
    # GIVEN an event Cognito would never send
    event = load_event("pre_sign_up")
    mutate(event)

    # WHEN the trigger runs
    with pytest.raises(InternalError) as raised:
        pre_sign_up.lambda_handler(event, lambda_context)

    # THEN the caller sees only the generic text; the detail is in the log, with its stack
    assert str(raised.value) == GENERIC
    [record] = [record for record in logs.records() if record["level"] == "ERROR"]
    assert record["message"] in {"Trigger failed", "Trigger failed unexpectedly"}
    assert "Traceback" in record["exception"]


def test_with_password_sign_in_a_sign_up_must_be_confirmed_by_code(
    load_handler: Callable[..., ModuleType], load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN an app client that also allows password sign-in (PasswordSignIn=true)
    handler = load_handler("pre_sign_up", PASSWORD_SIGN_IN="true")

    # WHEN someone signs up
    event = handler.lambda_handler(load_event("pre_sign_up"), lambda_context)

    # THEN the account is not confirmed: whoever signed up must prove the phone with Cognito's code before
    # a password can be used, so nobody can claim someone else's number and sign in by password
    assert event["response"] == {"autoConfirmUser": False, "autoVerifyPhone": False, "autoVerifyEmail": False}


@pytest.mark.parametrize(
    ("phone_number", "allowed_country_codes"),
    [
        pytest.param("+19005550123", "*", id="a premium-rate number"),
        pytest.param("+447911123456", "1", id="a country not allowed"),
    ],
)
def test_an_administrator_cannot_create_a_user_with_a_number_a_sign_up_could_not_use(
    load_handler: Callable[..., ModuleType], load_event: EventLoader, lambda_context: object, phone_number: str, allowed_country_codes: str
) -> None:
    # GIVEN AdminCreateUser (the only way in with SelfSignUp=false) for a number Pre sign-up refuses at sign-up
    pre_sign_up = load_handler("pre_sign_up", ALLOWED_COUNTRY_CODES=allowed_country_codes)
    event = load_event("pre_sign_up_admin_create_user")
    event["request"]["userAttributes"]["phone_number"] = phone_number

    # WHEN / THEN the creation is refused with the same user-facing error
    with pytest.raises(PhoneNumberNotAllowedError):
        pre_sign_up.lambda_handler(event, lambda_context)
