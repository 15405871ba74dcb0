"""Fuzz Define Auth Challenge: tokens only for a real user's right answer to a session that is all ours."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from hypothesis import given

from .mutations import EventLoader, Hidden, Plan, refresh_session_metadata
from .oracles import assert_only_own_errors, deserves_tokens, drain, invoke, outcome, request_if_object, secrets_of, well_formed_session
from .strategies import SESSION_MUTATIONS, SET_USER_NOT_FOUND, fuzz, plans

pytestmark = pytest.mark.unit

DEFINE_EVENTS = (
    "define_auth_challenge_new_session",
    "define_auth_challenge_right_answer",
    "define_auth_challenge_srp",
    "define_auth_challenge_user_not_found",
    "define_auth_challenge_wrong_answer",
)
CHALLENGE = {"challengeName": "CUSTOM_CHALLENGE", "issueTokens": False, "failAuthentication": False}
TOKENS = {"issueTokens": True, "failAuthentication": False}
FAIL = {"issueTokens": False, "failAuthentication": True}


@fuzz(max_examples=200)
@given(plan=plans(DEFINE_EVENTS, [SET_USER_NOT_FOUND, *SESSION_MUTATIONS]))
def test_define_issues_tokens_only_for_a_real_users_right_custom_answer(
    *,
    plan: Plan,
    define_handler: ModuleType,
    load_event: EventLoader,
    hidden: Hidden,
    lambda_context: object,
    debug_logs: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a sample Define event, mutated (or a made-up one)
    event = plan.build(load_event, hidden, refresh_session_metadata)
    secrets = secrets_of(event, hidden)
    drain(capsys)

    # WHEN Define Auth Challenge runs
    _, error = invoke(define_handler, event, lambda_context)
    outcome(error, str(event.get("response")) if error is None and isinstance(event, dict) else "")

    # THEN only the package's own errors escape, and never for a well-formed session
    assert_only_own_errors(error)
    request = request_if_object(event)
    session = well_formed_session(request) if request is not None else None
    if session is not None:
        assert error is None
    # AND the response is one of the three; tokens exactly when the rule says so
    if error is None:
        assert isinstance(event, dict)
        assert request is not None
        assert event["response"] in (CHALLENGE, TOKENS, FAIL)
        assert (event["response"] == TOKENS) == deserves_tokens(request)
    # AND no secret was logged
    secrets.assert_absent_from(drain(capsys), event)


@pytest.mark.parametrize("flag", [0, 0.0])
def test_a_numeric_zero_user_not_found_flag_is_not_a_real_user(
    define_handler: ModuleType, load_event: EventLoader, lambda_context: object, flag: float
) -> None:
    # GIVEN the sample unknown-user event (last answer right), its flag a number zero instead of a boolean (found by this fuzzer)
    event = load_event("define_auth_challenge_user_not_found")
    event["request"]["userNotFound"] = flag

    # WHEN Define Auth Challenge runs
    define_handler.lambda_handler(event, lambda_context)

    # THEN no tokens: a malformed flag must not open the door
    assert event["response"]["issueTokens"] is False
