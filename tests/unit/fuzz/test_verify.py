"""Fuzz Verify Auth Challenge Response: correct only for the right, fresh code of a real user; never an error."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .mutations import Assign, Event, EventLoader, Hidden, IssuedAgo, Plan
from .oracles import answer_is_right, assert_only_own_errors, drain, invoke, outcome, secrets_of
from .strategies import ANSWERS, HOSTILE_VALUES, ISSUED_AGO, PRIVATE_PARAMETER_VALUES, SET_USER_NOT_FOUND, fuzz, plans

pytestmark = pytest.mark.unit

PRIVATE_PARAMETER_NAMES = ("codeHash", "codeSalt", "issuedAt")


def verify_preparation(event: Event, hidden: Hidden) -> None:
    """Private parameters of the hidden code, issued just now, and its right answer: the sample is correct until mutated."""
    event["request"]["privateChallengeParameters"] = hidden.issued.to_private_parameters()
    event["request"]["challengeAnswer"] = hidden.code


@fuzz(max_examples=200)
@given(
    plan=plans(
        ("verify_auth_challenge",),
        [
            SET_USER_NOT_FOUND,
            st.builds(Assign, st.just(("request", "challengeAnswer")), ANSWERS),
            st.builds(Assign, st.just(("request", "privateChallengeParameters")), HOSTILE_VALUES),
            st.builds(Assign, st.just(("request", "privateChallengeParameters", "issuedAt")), st.builds(IssuedAgo, ISSUED_AGO)),
            st.builds(
                Assign,
                st.tuples(st.just("request"), st.just("privateChallengeParameters"), st.sampled_from(PRIVATE_PARAMETER_NAMES)),
                PRIVATE_PARAMETER_VALUES,
            ),
        ],
    )
)
def test_verify_is_correct_only_for_the_right_fresh_code_of_a_real_user(
    *,
    plan: Plan,
    verify_handler: ModuleType,
    load_event: EventLoader,
    hidden: Hidden,
    lambda_context: object,
    debug_logs: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the Verify event for a code the fuzzer never saw, mutated (or a made-up one)
    event = plan.build(load_event, hidden, verify_preparation)
    secrets = secrets_of(event, hidden)
    ttl_seconds = verify_handler.SETTINGS.otp_ttl_seconds
    drain(capsys)

    # WHEN Verify Auth Challenge Response runs
    before = time.time()
    _, error = invoke(verify_handler, event, lambda_context)
    after = time.time()
    outcome(error, str(event.get("response")) if error is None and isinstance(event, dict) else "")

    # THEN only the package's own errors escape, and nothing at all for an event that is an object:
    # a bad answer, bad parameters or a bad flag are simply wrong
    assert_only_own_errors(error)
    if isinstance(event, dict):
        assert error is None
        # AND the answer is correct exactly for the hidden code, unexpired, from a real user
        expected = answer_is_right(event, hidden, before, ttl_seconds)
        # (judged only when the clock did not cross the code's expiry during the call)
        if expected == answer_is_right(event, hidden, after, ttl_seconds):
            assert event["response"] == {"answerCorrect": expected}
        assert event["response"] in ({"answerCorrect": False}, {"answerCorrect": True})
    # AND no secret was logged
    secrets.assert_absent_from(drain(capsys), event)
