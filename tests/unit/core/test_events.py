"""sms_otp.core.events: the one reader of Cognito's event shape, and the one wording of each refusal."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sms_otp.core.errors import MalformedEventError
from sms_otp.core.events import (
    ChallengeResult,
    challenge_answer_of,
    challenge_name_of,
    client_id_of,
    code_of,
    optional_phone_number_of,
    phone_number_of,
    phone_number_verified,
    private_challenge_parameters_of,
    request_of,
    routing_keys,
    session_of,
    string_field,
    trigger_source_of,
    user_attributes_of,
    user_not_found,
)
from tests.testkit.events import Event, EventLoader

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("read", "event", "message"),
    [
        pytest.param(request_of, {"request": None}, "the event has no request object", id="request null"),
        pytest.param(request_of, {"request": []}, "the event has no request object", id="request a list"),
        pytest.param(lambda event: string_field(event, "userName"), {"userName": 7}, "the event's userName must be a string", id="name"),
        pytest.param(
            lambda event: trigger_source_of(event, {"A"}),
            {"triggerSource": "B" * 100},
            f"unsupported trigger source {'B' * 64!r}",
            id="source",
        ),
        pytest.param(lambda event: trigger_source_of(event, {"A"}), {}, "unsupported trigger source 'None'", id="no source"),
        pytest.param(client_id_of, {"callerContext": {"clientId": 1}}, "the event needs callerContext.clientId", id="client id"),
        pytest.param(client_id_of, {"callerContext": "c"}, "the event needs callerContext.clientId", id="caller context"),
        pytest.param(user_attributes_of, {"request": {}}, "request.userAttributes must be an object", id="no attributes"),
        pytest.param(
            phone_number_of, {"request": {"userAttributes": {"phone_number": ""}}}, "request.userAttributes.phone_number is missing"
        ),
        pytest.param(session_of, {"request": {"session": [1]}}, "request.session must be a list of challenge results", id="session"),
        pytest.param(session_of, {"request": {"session": {}}}, "request.session must be a list of challenge results", id="session object"),
        pytest.param(code_of, {"request": {"code": 123456}}, "request.code must be a string or null", id="code"),
    ],
)
def test_each_malformed_shape_is_refused_with_its_own_sentence(read: Callable[[Event], object], event: Event, message: str) -> None:
    # GIVEN an event Cognito would not send / WHEN read / THEN the one sentence that says what is wrong
    with pytest.raises(MalformedEventError) as raised:
        read(event)
    assert str(raised.value) == message


def test_a_sample_event_reads_as_cognito_wrote_it(load_event: EventLoader) -> None:
    # GIVEN the sample events / WHEN read / THEN each accessor gives the field Cognito wrote
    post = load_event("post_authentication")
    assert client_id_of(post) == post["callerContext"]["clientId"]
    assert phone_number_of(post) == optional_phone_number_of(post) == post["request"]["userAttributes"]["phone_number"]
    assert trigger_source_of(post, {"PostAuthentication_Authentication"}) == "PostAuthentication_Authentication"
    assert string_field(post, "userPoolId") == post["userPoolId"]
    sender = load_event("custom_sms_sender_sign_up")
    assert code_of(sender) == sender["request"]["code"]
    second_round = load_event("create_auth_challenge_second_round")
    [entry] = second_round["request"]["session"]
    assert session_of(second_round) == [ChallengeResult(entry["challengeName"], entry["challengeResult"], entry["challengeMetadata"])]
    assert challenge_name_of(second_round) == "CUSTOM_CHALLENGE"


@pytest.mark.parametrize("code", [None, "", "absent"])
def test_no_code_reads_as_none(code: object) -> None:
    request = {} if code == "absent" else {"code": code}
    assert code_of({"request": request}) is None


def test_an_absent_session_is_an_empty_one() -> None:
    assert session_of({"request": {}}) == []


@pytest.mark.parametrize("value", [None, "", 4155550123, ["+14155550123"]])
def test_a_phone_number_that_is_not_a_non_empty_string_is_none(value: object) -> None:
    assert optional_phone_number_of({"request": {"userAttributes": {"phone_number": value}}}) is None


@pytest.mark.parametrize(("value", "verified"), [("true", True), ("false", False), (True, False), ("TRUE", False), (None, False)])
def test_only_the_string_true_is_a_verified_phone(value: object, verified: bool) -> None:
    assert phone_number_verified({"request": {"userAttributes": {"phone_number_verified": value}}}) is verified


@pytest.mark.parametrize(
    ("request_", "not_found"),
    [
        pytest.param({}, False, id="no flag"),
        pytest.param({"userNotFound": False}, False, id="false"),
        pytest.param({"userNotFound": None}, False, id="null"),
        pytest.param({"userNotFound": True}, True, id="true"),
        pytest.param({"userNotFound": 0}, True, id="number zero"),
        pytest.param({"userNotFound": "false"}, True, id="string false"),
        pytest.param(None, True, id="no request object"),
    ],
)
def test_only_cognitos_false_or_no_flag_is_a_real_user(request_: object, not_found: bool) -> None:
    assert user_not_found({"request": request_}) is not_found


@pytest.mark.parametrize("event", [{}, {"request": None}, {"request": "x"}])
def test_verify_readers_never_raise(event: Event) -> None:
    assert private_challenge_parameters_of(event) is None
    assert challenge_answer_of(event) is None


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (None, {}),
        ([], {}),
        ("event", {}),
        ({}, {}),
        (
            {"triggerSource": "PreSignUp_SignUp", "userPoolId": "us-east-1_X", "callerContext": {"clientId": "c"}},
            {"trigger_source": "PreSignUp_SignUp", "user_pool_id": "us-east-1_X", "client_id": "c"},
        ),
        ({"triggerSource": 42, "userPoolId": ["x"], "callerContext": "c"}, {}),
        ({"triggerSource": "t" * 129, "callerContext": {"clientId": None}}, {}),
        ({"triggerSource": "t" * 128}, {"trigger_source": "t" * 128}),
    ],
)
def test_routing_keys_are_short_strings_or_absent(event: object, expected: dict[str, str]) -> None:
    assert routing_keys(event) == expected
