"""Verify Auth Challenge never raises, counts every answer, and accepts the sample within its lifetime."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sms_otp.core.observability import metrics
from sms_otp.sign_in.codes import IssuedCode
from tests.testkit.events import Event, EventLoader
from tests.unit.sign_in.custom_auth_kit import (
    NOW,
    SAMPLE_PRIVATE_PARAMETERS,
    FakeClock,
    run_verify,
)

pytestmark = pytest.mark.unit

# ---------------------------------------------------------------- verify never raises ---


def _set_answer(value: object) -> Callable[[Event], None]:
    return lambda event: event["request"].update(challengeAnswer=value)


def _set_private(value: object) -> Callable[[Event], None]:
    return lambda event: event["request"].update(privateChallengeParameters=value)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda event: event["request"].pop("challengeAnswer"), id="answer missing"),
        pytest.param(_set_answer(None), id="answer None"),
        pytest.param(_set_answer(123456), id="answer an int"),
        pytest.param(_set_answer(["123456"]), id="answer a list"),
        pytest.param(_set_answer("1" * 1_000_000), id="answer huge"),
        pytest.param(_set_answer(""), id="answer empty"),
        pytest.param(_set_answer("١٢٣٤٥٦"), id="answer in arabic-indic digits"),
        pytest.param(lambda event: event["request"].pop("privateChallengeParameters"), id="private parameters missing"),
        pytest.param(_set_private(None), id="private parameters None"),
        pytest.param(_set_private({}), id="private parameters empty"),
        pytest.param(_set_private("codeHash"), id="private parameters a string"),
        pytest.param(_set_private({**SAMPLE_PRIVATE_PARAMETERS, "codeHash": "%%%"}), id="hash garbled"),
        pytest.param(_set_private({**SAMPLE_PRIVATE_PARAMETERS, "codeSalt": "AA"}), id="salt garbled"),
        pytest.param(_set_private({**SAMPLE_PRIVATE_PARAMETERS, "issuedAt": "later"}), id="issuedAt garbled"),
        pytest.param(lambda event: event.update(request="nope"), id="request a string"),
        pytest.param(lambda event: event.update(request=None), id="request None"),
        pytest.param(lambda event: event.update(request=[]), id="request a list"),
        pytest.param(lambda event: event.pop("request"), id="request missing"),
        pytest.param(lambda event: event["request"].update(userNotFound=True), id="unknown user with the right code"),
        pytest.param(lambda event: event["request"].update(userNotFound="false"), id="userNotFound the string 'false'"),
    ],
)
def test_verify_never_raises_and_answers_wrong(load_event: EventLoader, mutate: Callable[[Event], object]) -> None:
    # GIVEN the sample Verify event (right answer, 123456) spoiled in one way
    event = load_event("verify_auth_challenge")
    mutate(event)
    expected = {**event, "response": {"answerCorrect": False}}

    # WHEN verifying within the code's lifetime
    run_verify(event, clock=FakeClock(NOW + 30))

    # THEN the answer is simply wrong, and only the response changed
    assert event == expected


def test_the_sample_verify_event_is_right_within_the_lifetime(load_event: EventLoader) -> None:
    # GIVEN events/verify_auth_challenge.json (the hash of 123456, answer 123456)
    event = load_event("verify_auth_challenge")

    # WHEN verifying 30 seconds after issue
    run_verify(event, clock=FakeClock(NOW + 30))

    # THEN correct, and only the response changed
    assert event == {**load_event("verify_auth_challenge"), "response": {"answerCorrect": True}}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
PRIVATE_PARAMETERS = st.fixed_dictionaries(
    {},
    optional={name: st.just(value) | JSON for name, value in SAMPLE_PRIVATE_PARAMETERS.items()},
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    answer=st.sampled_from(["123456", " 123456\n", "123457"]) | JSON,
    private_parameters=st.just(SAMPLE_PRIVATE_PARAMETERS) | PRIVATE_PARAMETERS | JSON,
    user_not_found=st.sampled_from([False, None]) | JSON,
)
def test_verify_never_raises_for_any_json(answer: object, private_parameters: object, user_not_found: object) -> None:
    # GIVEN any answer, private parameters and userNotFound flag
    event: Event = {
        "triggerSource": "VerifyAuthChallengeResponse_Authentication",
        "request": {"privateChallengeParameters": private_parameters, "challengeAnswer": answer, "userNotFound": user_not_found},
    }

    # WHEN verifying
    run_verify(event, clock=FakeClock(NOW + 30))

    # THEN a boolean answer, and a correct one only with the full sample parameters, their code and a real user
    assert event["response"] in ({"answerCorrect": False}, {"answerCorrect": True})
    if event["response"]["answerCorrect"]:
        assert IssuedCode.from_private_parameters(private_parameters) == IssuedCode.from_private_parameters(SAMPLE_PRIVATE_PARAMETERS)
        assert isinstance(answer, str)
        assert answer.strip() == "123456"
        assert user_not_found in (False, None)


@pytest.mark.parametrize(("answer", "counted"), [("123456", "AnswersCorrect"), ("654321", "AnswersWrong")], ids=["right", "wrong"])
def test_each_answer_is_counted_as_right_or_wrong(load_event: EventLoader, answer: str, counted: str) -> None:
    # GIVEN the sample Verify event (the hash of 123456), answered right or wrong
    event = load_event("verify_auth_challenge")
    event["request"]["challengeAnswer"] = answer

    # WHEN verifying within the code's lifetime
    run_verify(event, clock=FakeClock(NOW + 30))

    # THEN exactly one metric counts the answer, under its own name
    assert {name: metric["Value"] for name, metric in metrics.metric_set.items()} == {counted: [1.0]}
