"""Define Auth Challenge: the next step of a sign-in, from the session so far."""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms_otp.core.errors import InternalError, MalformedEventError
from sms_otp.core.observability import metrics
from sms_otp.core.settings import Settings
from sms_otp.sign_in.codes import IssuedCode
from sms_otp.sign_in.custom_auth import define_auth_challenge
from tests.testkit.events import EventLoader

pytestmark = pytest.mark.unit

METADATA = "SMS_OTP:v1:1763740800:c2FsdHNhbHRzYWx0c2FsdA==:exzbDIS9m2WlmxxErH91gbu-uqytPv_m5cCE1VBG-yM="

CHALLENGE = {"challengeName": "CUSTOM_CHALLENGE", "issueTokens": False, "failAuthentication": False}
TOKENS = {"issueTokens": True, "failAuthentication": False}
FAIL = {"issueTokens": False, "failAuthentication": True}


def custom(result: object) -> dict[str, Any]:
    return {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": result, "challengeMetadata": METADATA}


def native(name: str, result: bool = True) -> dict[str, Any]:
    return {"challengeName": name, "challengeResult": result, "challengeMetadata": None}


RIGHT, WRONG = custom(result=True), custom(result=False)


ISSUED_AT = 1763740800  # the issue time in METADATA
NOW = ISSUED_AT + 30  # the code is fresh unless a test says otherwise


def run_define(event: dict[str, Any], max_attempts: int = 3, now: float = NOW) -> dict[str, Any]:
    settings = Settings(max_attempts=max_attempts, otp_ttl_seconds=180)
    define_auth_challenge(event, settings=settings, clock=lambda: now)
    return event


@pytest.mark.parametrize(
    ("session", "expected"),
    [
        pytest.param([], CHALLENGE, id="empty session: a challenge"),
        pytest.param([WRONG], CHALLENGE, id="one wrong: another challenge"),
        pytest.param([WRONG, WRONG], CHALLENGE, id="two wrong: a last challenge"),
        pytest.param([RIGHT], TOKENS, id="right: tokens"),
        pytest.param([WRONG, RIGHT], TOKENS, id="wrong, right: tokens"),
        pytest.param([WRONG, WRONG, RIGHT], TOKENS, id="wrong, wrong, right: tokens"),
        pytest.param([WRONG, WRONG, WRONG], FAIL, id="three wrong: fail"),
        pytest.param([WRONG] * 4, FAIL, id="four wrong: fail"),
        pytest.param([RIGHT, WRONG], CHALLENGE, id="only the last answer counts"),
        pytest.param([native("SRP_A")], FAIL, id="SRP_A"),
        pytest.param([native("SRP_A"), native("PASSWORD_VERIFIER")], FAIL, id="SRP_A, PASSWORD_VERIFIER"),
        pytest.param([native("SRP_A"), native("PASSWORD_VERIFIER"), RIGHT], FAIL, id="a password, then our right answer"),
        pytest.param([native("PASSWORD_VERIFIER")], FAIL, id="PASSWORD_VERIFIER"),
        pytest.param([native("SMS_MFA")], FAIL, id="SMS_MFA"),
        pytest.param([WRONG, native("SMS_MFA")], FAIL, id="wrong, then SMS_MFA"),
        pytest.param([native("DEVICE_SRP_AUTH"), native("DEVICE_PASSWORD_VERIFIER")], FAIL, id="device SRP"),
        pytest.param([native("ADMIN_NO_SRP_AUTH")], FAIL, id="ADMIN_NO_SRP_AUTH"),
        pytest.param([native("SRP_A", result=False)], FAIL, id="SRP_A that failed"),
        pytest.param([{"challengeResult": True}], FAIL, id="an entry without a challenge name"),
        pytest.param([custom("true")], CHALLENGE, id="challengeResult the string 'true'"),
        pytest.param([custom(1)], CHALLENGE, id="challengeResult 1"),
        pytest.param([custom(None)], CHALLENGE, id="challengeResult null"),
        pytest.param([{"challengeName": "CUSTOM_CHALLENGE"}], CHALLENGE, id="challengeResult missing"),
    ],
)
def test_define_auth_challenge_for_a_real_user(load_event: EventLoader, session: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    # GIVEN a real user's sign-in with this session history
    event = load_event("define_auth_challenge_new_session")
    event["request"]["session"] = session
    before = {**event, "request": {**event["request"]}}

    # WHEN defining the next step
    result = run_define(event)

    # THEN only the response changed, and it is exactly the expected one
    assert result == {**before, "response": expected}


@pytest.mark.parametrize(
    ("session", "expected"),
    [
        pytest.param([], CHALLENGE, id="empty session"),
        pytest.param([RIGHT], CHALLENGE, id="one right"),
        pytest.param([RIGHT, RIGHT], CHALLENGE, id="two right"),
        pytest.param([WRONG, RIGHT], CHALLENGE, id="wrong, right"),
        pytest.param([RIGHT, RIGHT, RIGHT], FAIL, id="three right"),
        pytest.param([native("SRP_A")], FAIL, id="SRP_A"),
    ],
)
@pytest.mark.parametrize("user_not_found", [True, "true", "false", "False", 1, "", "yes", [], {}])
def test_an_unknown_user_never_gets_tokens(
    load_event: EventLoader, session: list[dict[str, Any]], expected: dict[str, Any], user_not_found: object
) -> None:
    # GIVEN an unknown user (or a userNotFound flag that is anything but false: fail closed)
    event = load_event("define_auth_challenge_user_not_found")
    event["request"]["session"] = session
    event["request"]["userNotFound"] = user_not_found

    # WHEN defining the next step, even after answers marked right
    run_define(event)

    # THEN never tokens: the same sequence a real user with wrong answers sees
    assert event["response"] == expected


@pytest.mark.parametrize("rounds", [0, 1, 2, 3, 4])
def test_an_unknown_user_sees_exactly_what_a_real_user_with_wrong_answers_sees(load_event: EventLoader, rounds: int) -> None:
    # GIVEN an unknown user whose answers all "matched" and a real user whose answers were all wrong
    unknown = load_event("define_auth_challenge_user_not_found")
    unknown["request"]["session"] = [RIGHT] * rounds
    real = load_event("define_auth_challenge_new_session")
    real["request"]["session"] = [WRONG] * rounds

    # WHEN defining the next step for both
    run_define(unknown)
    run_define(real)

    # THEN the responses cannot be told apart
    assert unknown["response"] == real["response"]


@pytest.mark.parametrize("user_not_found", [False, None, "missing"])
def test_user_not_found_false_or_absent_means_a_real_user(load_event: EventLoader, user_not_found: object) -> None:
    # GIVEN a right answer from a user whose userNotFound is false, null or absent
    event = load_event("define_auth_challenge_right_answer")

    # WHEN defining the next step
    if user_not_found == "missing":
        del event["request"]["userNotFound"]
    else:
        event["request"]["userNotFound"] = user_not_found
    run_define(event)

    # THEN tokens
    assert event["response"] == TOKENS


@pytest.mark.parametrize(
    ("max_attempts", "wrong_answers", "expected"),
    [
        (1, 0, CHALLENGE),
        (1, 1, FAIL),
        (2, 1, CHALLENGE),
        (2, 2, FAIL),
        (5, 4, CHALLENGE),
        (5, 5, FAIL),
    ],
)
def test_max_attempts_bounds_the_number_of_answers(
    load_event: EventLoader, max_attempts: int, wrong_answers: int, expected: dict[str, Any]
) -> None:
    # GIVEN `wrong_answers` wrong answers so far
    event = load_event("define_auth_challenge_new_session")
    event["request"]["session"] = [WRONG] * wrong_answers

    # WHEN defining the next step with MAX_ATTEMPTS=`max_attempts`
    run_define(event, max_attempts=max_attempts)

    # THEN another challenge while attempts are left, then failure
    assert event["response"] == expected


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda event: event.pop("request"), id="no request"),
        pytest.param(lambda event: event.update(request="nope"), id="request not an object"),
        pytest.param(lambda event: event["request"].update(session="[]"), id="session a string"),
        pytest.param(lambda event: event["request"].update(session=None), id="session null"),
        pytest.param(lambda event: event["request"].update(session=[["CUSTOM_CHALLENGE", True]]), id="entry not an object"),
    ],
)
def test_a_malformed_event_is_refused(load_event: EventLoader, mutate: Callable[[dict[str, Any]], object]) -> None:
    # GIVEN the sample event spoiled in one way
    event = load_event("define_auth_challenge_new_session")
    mutate(event)

    # WHEN / THEN refused as malformed rather than guessed at
    with pytest.raises(MalformedEventError):
        run_define(event)


# ---------------------------------------------------------------- handler ---


@pytest.fixture
def define_handler(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("define_auth_challenge")


@pytest.mark.parametrize(
    ("event_name", "expected"),
    [
        ("define_auth_challenge_new_session", CHALLENGE),
        ("define_auth_challenge_wrong_answer", CHALLENGE),
        ("define_auth_challenge_right_answer", TOKENS),
        ("define_auth_challenge_srp", FAIL),
        ("define_auth_challenge_user_not_found", CHALLENGE),
    ],
)
def test_handler_with_the_sample_events(
    define_handler: ModuleType,
    load_event: EventLoader,
    lambda_context: object,
    event_name: str,
    expected: dict[str, Any],
) -> None:
    # GIVEN a sample event, as `sam local invoke -e events/<name>.json` sends it, with its code issued 30 s ago
    event = issued_seconds_ago(load_event(event_name), 30)
    original = copy.deepcopy(event)

    # WHEN invoking the handler
    result = define_handler.lambda_handler(event, lambda_context)

    # THEN it returns the whole event, with only the response filled in
    assert result == {**original, "response": expected}


def issued_seconds_ago(event: dict[str, Any], seconds: int) -> dict[str, Any]:
    """The event with every session entry's code re-dated to ``seconds`` before now."""
    for entry in event["request"]["session"]:
        issued = IssuedCode.from_metadata(entry["challengeMetadata"])
        if issued is not None:
            entry["challengeMetadata"] = dataclasses.replace(issued, issued_at=int(time.time()) - seconds).to_metadata()
    return event


@pytest.mark.parametrize(
    ("seconds_since_issue", "expected"),
    [
        pytest.param(179, CHALLENGE, id="one second before expiry: another challenge"),
        pytest.param(180, FAIL, id="at expiry: fail, since later rounds reuse the code"),
        pytest.param(3600, FAIL, id="long expired: fail"),
    ],
)
def test_an_expired_code_ends_the_session(seconds_since_issue: int, expected: dict[str, Any]) -> None:
    # GIVEN one wrong answer to a code issued `seconds_since_issue` ago (OTP_TTL_SECONDS=180)
    event = {"request": {"session": [WRONG], "userNotFound": False}, "response": {}}

    # WHEN defining the next step
    run_define(event, now=ISSUED_AT + seconds_since_issue)

    # THEN a new round is offered only while the code is still valid
    assert event["response"] == expected


def test_handler_uses_max_attempts_from_the_environment(
    load_handler: Callable[..., ModuleType], load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN MAX_ATTEMPTS=1 at cold start
    handler = load_handler("define_auth_challenge", MAX_ATTEMPTS="1")
    event = load_event("define_auth_challenge_wrong_answer")

    # WHEN one wrong answer was given
    handler.lambda_handler(event, lambda_context)

    # THEN no attempt is left
    assert event["response"] == FAIL


def test_handler_hides_a_malformed_event_behind_a_generic_error(
    define_handler: ModuleType, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN a session that is not a list
    event = load_event("define_auth_challenge_new_session")
    event["request"]["session"] = "not a list"

    # WHEN / THEN the caller sees only the generic text; the cause stays chained for the log
    with pytest.raises(InternalError, match=r"^Something went wrong on our side\. Please try again later\.$") as raised:
        define_handler.lambda_handler(event, lambda_context)
    assert isinstance(raised.value.__cause__, MalformedEventError)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
SESSION_ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "challengeName": st.sampled_from(["CUSTOM_CHALLENGE", "SRP_A", "PASSWORD_VERIFIER", "SMS_MFA"]) | JSON,
        "challengeResult": st.booleans() | JSON,
        "challengeMetadata": st.just(METADATA) | JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(session=st.lists(SESSION_ENTRY, max_size=6), user_not_found=JSON, max_attempts=st.integers(1, 5))
def test_tokens_only_ever_follow_a_real_users_right_custom_answer(
    session: list[dict[str, Any]], user_not_found: object, max_attempts: int
) -> None:
    # GIVEN any session Cognito could (or could not) send
    event = {"triggerSource": "DefineAuthChallenge_Authentication", "request": {"session": session, "userNotFound": user_not_found}}

    # WHEN defining the next step
    run_define(event, max_attempts=max_attempts)

    # THEN the response is one of the three, and tokens only for a real user whose whole session is ours
    # and whose last answer is exactly True
    assert event["response"] in (CHALLENGE, TOKENS, FAIL)
    if event["response"] == TOKENS:
        assert user_not_found in (False, None)
        assert all(entry.get("challengeName") == "CUSTOM_CHALLENGE" for entry in session)
        assert session[-1].get("challengeResult") is True
    if event["response"] == CHALLENGE:
        assert len(session) < max_attempts


# ---------------------------------------------------------------- what each decision counts and logs ---

ISSUED_AT = 1_763_740_800  # the issue time in the samples' challenge metadata


@pytest.mark.parametrize(
    ("event_name", "seconds_since_issue", "counted", "logged"),
    [
        pytest.param("define_auth_challenge_new_session", 30, "SignInsStarted", [], id="a sign-in starts"),
        pytest.param("define_auth_challenge_right_answer", 30, "TokensIssued", [], id="tokens"),
        pytest.param(
            "define_auth_challenge_srp",
            30,
            "SignInsFailed",
            [("WARNING", "Sign-in refused: the session holds a challenge that is not ours", None)],
            id="another challenge type",
        ),
        pytest.param("define_auth_challenge_wrong_answer", 30, None, [], id="another round: nothing to count"),
        pytest.param(
            "define_auth_challenge_wrong_answer",
            3600,
            "SignInsFailed",
            [("INFO", "Sign-in failed: no attempts left or the code expired", 1)],
            id="the code expired",
        ),
    ],
)
def test_each_decision_is_counted_and_each_refusal_logged(
    load_event: EventLoader,
    logs: Any,
    event_name: str,
    seconds_since_issue: int,
    counted: str | None,
    logged: list[tuple[str, str, int | None]],
) -> None:
    # GIVEN a sample Define event, at some time after the code in its session was issued
    event = load_event(event_name)

    # WHEN Define Auth Challenge decides
    define_auth_challenge(event, settings=Settings(), clock=lambda: ISSUED_AT + seconds_since_issue)

    # THEN the decision is counted under its own name (another round counts nothing), and a refusal is logged with why
    assert {name: metric["Value"] for name, metric in metrics.metric_set.items()} == ({counted: [1.0]} if counted else {})
    assert [(record["level"], record["message"], record.get("attempts")) for record in logs.records()] == logged
