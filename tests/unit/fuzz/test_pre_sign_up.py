"""Fuzz Pre sign-up: a user is confirmed exactly when the phone number is valid, and the phone is never verified here."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .mutations import Assign, EventLoader, Hidden, Plan, no_preparation
from .oracles import assert_only_own_errors, drain, invoke, outcome, request_if_object, secrets_of
from .strategies import HOSTILE_SCALARS, HOSTILE_VALUES, SET_PHONE, VALID_PHONE_NUMBERS, fuzz, plans

pytestmark = pytest.mark.unit

PRE_SIGN_UP_EVENTS = ("pre_sign_up", "pre_sign_up_admin_create_user", "pre_sign_up_invalid_phone", "pre_sign_up_premium_number")
ACCEPTED = {"autoConfirmUser": True, "autoVerifyPhone": False, "autoVerifyEmail": False}


@fuzz(max_examples=200)
@given(
    plan=plans(
        PRE_SIGN_UP_EVENTS,
        [
            SET_PHONE,
            st.builds(Assign, st.just(("request", "userAttributes")), HOSTILE_VALUES),
            st.builds(
                Assign, st.just(("request", "userAttributes", "phone_number_verified")), st.sampled_from(["true", True]) | HOSTILE_SCALARS
            ),
            st.builds(
                Assign,
                st.just(("triggerSource",)),
                st.sampled_from(["PreSignUp_ExternalProvider", "PreSignUp_AdminCreateUser"]) | HOSTILE_SCALARS,
            ),
        ],
    )
)
def test_pre_sign_up_accepts_only_a_valid_phone_number_and_never_verifies_it(
    *,
    plan: Plan,
    pre_sign_up_handler: ModuleType,
    load_event: EventLoader,
    hidden: Hidden,
    lambda_context: object,
    debug_logs: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a sample Pre sign-up event, mutated (or a made-up one)
    event = plan.build(load_event, hidden, no_preparation)
    secrets = secrets_of(event, hidden)
    drain(capsys)

    # WHEN Pre sign-up runs
    _, error = invoke(pre_sign_up_handler, event, lambda_context)
    outcome(error)

    # THEN only the package's own errors escape
    assert_only_own_errors(error)
    # AND a user is confirmed exactly when the phone number is valid, and the phone is never verified here
    request = request_if_object(event)
    attributes = request.get("userAttributes") if request is not None else None
    valid = isinstance(attributes, dict) and attributes.get("phone_number") in VALID_PHONE_NUMBERS
    assert (error is None) == valid
    if error is None:
        assert isinstance(event, dict)
        assert event["response"] == ACCEPTED
    # AND no secret was logged
    secrets.assert_absent_from(drain(capsys), event)
