"""Create Auth Challenge: the first round, later rounds, unknown users and failures; the code sent is the answer Verify accepts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import pytest

from sms_otp.core.errors import DeadlineExceededError, DeliveryError, MalformedEventError
from sms_otp.core.settings import Settings
from sms_otp.sign_in.custom_auth import LatencyMimic
from tests.testkit.events import Event, EventLoader
from tests.unit.sign_in.custom_auth_kit import (
    MASKED,
    PHONE_NUMBER,
    SAMPLE_METADATA,
    SAMPLE_PRIVATE_PARAMETERS,
    FakeClock,
    FakeLimits,
    FakeSleep,
    TextOutbox,
    next_round,
    other_code,
    run_create,
    run_verify,
    verify_event,
)

pytestmark = pytest.mark.unit

# ---------------------------------------------------------------- first round ---


def test_first_round_whole_response_with_a_known_draw(
    monkeypatch: pytest.MonkeyPatch, load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock
) -> None:
    # GIVEN the random source draws 123456 and the salt "saltsaltsaltsalt" at 2025-11-21T16:00:00Z
    monkeypatch.setattr(secrets, "randbelow", lambda _upper: 123_456)
    monkeypatch.setattr(secrets, "token_bytes", lambda _size: b"saltsaltsaltsalt")
    event = load_event("create_auth_challenge")

    # WHEN creating the challenge
    run_create(event, send_text=outbox, latency=latency, clock=clock)

    # THEN one text went to the user's phone, and the whole event matches the sample events' values
    assert outbox.sent == [(PHONE_NUMBER, "Your sign-in code is 123456. It expires in 3 minutes. Do not share it with anyone.")]
    assert event == {
        **load_event("create_auth_challenge"),
        "response": {
            "publicChallengeParameters": {"CODE_DELIVERY_DELIVERY_MEDIUM": "SMS", "CODE_DELIVERY_DESTINATION": MASKED},
            "privateChallengeParameters": SAMPLE_PRIVATE_PARAMETERS,
            "challengeMetadata": SAMPLE_METADATA,
        },
    }
    assert load_event("verify_auth_challenge")["request"]["privateChallengeParameters"] == SAMPLE_PRIVATE_PARAMETERS


def test_the_code_is_in_the_text_only(
    monkeypatch: pytest.MonkeyPatch, load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock
) -> None:
    # GIVEN a code we can recognise
    monkeypatch.setattr(secrets, "randbelow", lambda _upper: 987_654)

    # WHEN creating the challenge
    response = run_create(load_event("create_auth_challenge"), send_text=outbox, latency=latency, clock=clock)

    # THEN the public parameters hold only the medium and the masked destination,
    # and neither the private parameters nor the metadata hold the code
    assert outbox.code() == "987654"
    assert response["publicChallengeParameters"] == {"CODE_DELIVERY_DELIVERY_MEDIUM": "SMS", "CODE_DELIVERY_DESTINATION": MASKED}
    assert set(response["privateChallengeParameters"]) == {"codeHash", "codeSalt", "issuedAt"}
    assert all("987654" not in value for value in response["privateChallengeParameters"].values())
    assert "987654" not in response["challengeMetadata"]
    assert PHONE_NUMBER not in str(response)


@pytest.mark.parametrize(
    ("answer_for", "expected"),
    [
        pytest.param(lambda code: code, True, id="the code sent"),
        pytest.param(lambda code: f"  {code}\n", True, id="the code pasted with white space"),
        pytest.param(other_code, False, id="another code"),
        pytest.param(lambda code: code[:-1], False, id="the code less a digit"),
        pytest.param(lambda code: code + "0", False, id="the code plus a digit"),
        pytest.param(lambda code: code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")), False, id="the code in arabic-indic digits"),
    ],
)
def test_the_code_sent_by_create_is_the_answer_verify_accepts(
    *,
    load_event: EventLoader,
    outbox: TextOutbox,
    latency: LatencyMimic,
    clock: FakeClock,
    answer_for: Callable[[str], str],
    expected: bool,
) -> None:
    # GIVEN a challenge created and its code texted
    response = run_create(load_event("create_auth_challenge"), send_text=outbox, latency=latency, clock=clock)
    code = outbox.code()

    # WHEN the user answers, a minute later
    clock.advance(60)
    event = verify_event(load_event, response["privateChallengeParameters"], answer_for(code))

    # THEN only the right code is correct
    assert run_verify(event, clock=clock) == {"answerCorrect": expected}


@pytest.mark.parametrize(("elapsed", "expected"), [(0, True), (179, True), (180, False), (181, False), (3600, False)])
def test_the_code_expires_after_the_otp_ttl(
    *, load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock, elapsed: int, expected: bool
) -> None:
    # GIVEN a challenge created at NOW
    response = run_create(load_event("create_auth_challenge"), send_text=outbox, latency=latency, clock=clock)

    # WHEN the right code arrives `elapsed` seconds later
    clock.advance(elapsed)
    event = verify_event(load_event, response["privateChallengeParameters"], outbox.code())

    # THEN it is correct only within OTP_TTL_SECONDS
    assert run_verify(event, clock=clock) == {"answerCorrect": expected}


def test_the_wording_follows_the_ttl(load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock) -> None:
    for ttl, lifetime in ((60, "1 minute"), (120, "2 minutes"), (90, "90 seconds")):
        outbox.sent.clear()
        run_create(
            load_event("create_auth_challenge"), send_text=outbox, latency=latency, clock=clock, settings=Settings(otp_ttl_seconds=ttl)
        )
        assert outbox.sent[0][1].endswith(f". It expires in {lifetime}. Do not share it with anyone.")


@pytest.mark.parametrize("length", [6, 8, 10])
def test_otp_length_applies_to_create_and_verify(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock, length: int
) -> None:
    # GIVEN OTP_LENGTH set to `length`
    settings = Settings(otp_length=length)

    # WHEN creating a challenge
    response = run_create(load_event("create_auth_challenge"), send_text=outbox, latency=latency, clock=clock, settings=settings)
    code = re.search(r"is ([0-9]+)\.", outbox.sent[0][1])

    # THEN the code texted has that many digits and verifies
    assert code
    assert len(code.group(1)) == length
    event = verify_event(load_event, response["privateChallengeParameters"], code.group(1))
    assert run_verify(event, clock=clock, settings=settings) == {"answerCorrect": True}


# ---------------------------------------------------------------- later rounds ---


@pytest.mark.parametrize("wrong_answers", [1, 2])
def test_later_rounds_reuse_the_code_without_sending_again(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock, wrong_answers: int
) -> None:
    # GIVEN a first round whose code was texted, then `wrong_answers` wrong answers
    first_event = load_event("create_auth_challenge")
    first = run_create(first_event, send_text=outbox, latency=latency, clock=clock)
    code = outbox.code()
    event, previous = first_event, first
    later_outbox = TextOutbox()

    # WHEN Cognito asks for the next rounds' challenges
    for _ in range(wrong_answers):
        clock.advance(20)
        event = next_round(event, previous)
        previous = run_create(event, send_text=later_outbox, latency=latency, clock=clock)

    # THEN nothing more is sent, each round's response is the first round's, and the first code still verifies
    assert later_outbox.sent == []
    assert previous == first
    assert run_verify(verify_event(load_event, previous["privateChallengeParameters"], code), clock=clock) == {"answerCorrect": True}


def test_the_sample_second_round_reuses_the_sample_code(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock
) -> None:
    # GIVEN events/create_auth_challenge_second_round.json (its session carries the metadata of 123456)
    event = load_event("create_auth_challenge_second_round")

    # WHEN creating the challenge
    run_create(event, send_text=outbox, latency=latency, clock=clock)

    # THEN no text, and the sample's hash comes back as the private parameters
    assert outbox.sent == []
    assert event["response"] == {
        "publicChallengeParameters": {"CODE_DELIVERY_DELIVERY_MEDIUM": "SMS", "CODE_DELIVERY_DESTINATION": MASKED},
        "privateChallengeParameters": SAMPLE_PRIVATE_PARAMETERS,
        "challengeMetadata": SAMPLE_METADATA,
    }
    clock.advance(30)
    assert run_verify(verify_event(load_event, SAMPLE_PRIVATE_PARAMETERS, "123456"), clock=clock) == {"answerCorrect": True}


@pytest.mark.parametrize("metadata", [None, "", "OTHER_CHALLENGE", SAMPLE_METADATA.replace(":v1:", ":v9:")])
def test_a_session_entry_that_is_not_ours_gets_a_fresh_code(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock, metadata: object
) -> None:
    # GIVEN a later round whose session entry carries metadata that is not ours
    event = load_event("create_auth_challenge_second_round")
    event["request"]["session"][0]["challengeMetadata"] = metadata

    # WHEN creating the challenge
    run_create(event, send_text=outbox, latency=latency, clock=clock)

    # THEN a fresh code is drawn and sent
    assert len(outbox.sent) == 1
    assert event["response"]["privateChallengeParameters"] != SAMPLE_PRIVATE_PARAMETERS


# ---------------------------------------------------------------- unknown users ---


def test_an_unknown_user_gets_the_same_shape_without_a_text(
    *,
    monkeypatch: pytest.MonkeyPatch,
    load_event: EventLoader,
    outbox: TextOutbox,
    latency: LatencyMimic,
    sleep: FakeSleep,
    clock: FakeClock,
) -> None:
    # GIVEN a known draw, a real user's first round and an unknown user's first round
    monkeypatch.setattr(secrets, "randbelow", lambda _upper: 123_456)
    real = run_create(load_event("create_auth_challenge"), send_text=outbox, latency=latency, clock=clock)
    outbox.sent.clear()
    event = load_event("create_auth_challenge_user_not_found")

    # WHEN creating the unknown user's challenge
    unknown = run_create(event, send_text=outbox, latency=latency, clock=clock)

    # THEN nothing is sent, the latency mimic slept once around the recorded send time,
    # and the response has the real one's keys with the mask of the number typed
    assert outbox.sent == []
    assert len(sleep.durations) == 1
    assert 0.0 <= sleep.durations[0] <= 2.0 * 1.2
    assert unknown["publicChallengeParameters"] == {"CODE_DELIVERY_DELIVERY_MEDIUM": "SMS", "CODE_DELIVERY_DESTINATION": "+*******0143"}
    assert set(unknown) == set(real)
    assert set(unknown["privateChallengeParameters"]) == set(real["privateChallengeParameters"])
    assert re.fullmatch(r"SMS_OTP:v1:[0-9]+:[A-Za-z0-9_=-]{24}:[A-Za-z0-9_=-]{44}", unknown["challengeMetadata"])

    # AND even the "right" code (the one drawn) never verifies for an unknown user
    right = verify_event(load_event, unknown["privateChallengeParameters"], "123456", user_not_found=True)
    assert run_verify(right, clock=clock) == {"answerCorrect": False}
    # (the same parameters would verify for a real user: it is userNotFound that refuses)
    assert run_verify(verify_event(load_event, unknown["privateChallengeParameters"], "123456"), clock=clock) == {"answerCorrect": True}


def test_the_latency_mimic_sleeps_around_the_default_before_any_real_send(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, sleep: FakeSleep, clock: FakeClock
) -> None:
    # GIVEN a new container that has sent nothing yet
    # WHEN an unknown user asks for a code
    run_create(load_event("create_auth_challenge_user_not_found"), send_text=outbox, latency=latency, clock=clock)

    # THEN the mimic sleeps once, within 20% of its default
    assert len(sleep.durations) == 1
    assert 0.12 * 0.8 <= sleep.durations[0] <= 0.12 * 1.2


def test_the_latency_mimic_follows_the_median_of_recorded_sends(sleep: FakeSleep) -> None:
    # GIVEN real sends took 0.5 s (and one absurd 30 s, capped at 2 s)
    mimic = LatencyMimic(default_seconds=0.1, sleep=sleep)
    for seconds in (0.5, 0.5, 0.5, 30.0):
        mimic.record(seconds)

    # WHEN imitating a send
    mimic.imitate()
    # median of [0.1, 0.5, 0.5, 0.5, 2.0 (capped)] is 0.5

    # THEN the sleep is within 20% of the median, 0.5 s
    assert 0.5 * 0.8 <= sleep.durations[0] <= 0.5 * 1.2


@pytest.mark.parametrize("username", ["+12025550143", "someone@example.com", "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"])
def test_an_unknown_users_destination_is_stable(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock, username: str
) -> None:
    # GIVEN an unknown user signing in three times with the same name
    destinations = set()

    # WHEN creating each challenge
    for _ in range(3):
        event = load_event("create_auth_challenge_user_not_found")
        event["userName"] = username
        destinations.add(
            run_create(event, send_text=outbox, latency=latency, clock=clock)["publicChallengeParameters"]["CODE_DELIVERY_DESTINATION"]
        )

    # THEN the same masked-looking destination every time, and no text
    assert len(destinations) == 1
    assert re.fullmatch(r"\+\*{7}[0-9]{4}", destinations.pop())
    assert outbox.sent == []


def test_an_unknown_users_later_rounds_neither_send_nor_sleep(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, sleep: FakeSleep, clock: FakeClock
) -> None:
    # GIVEN an unknown user's first round
    first_event = load_event("create_auth_challenge_user_not_found")
    first = run_create(first_event, send_text=outbox, latency=latency, clock=clock)

    # WHEN Cognito asks for the second round
    second = run_create(next_round(first_event, first), send_text=outbox, latency=latency, clock=clock)

    # THEN the same response, nothing sent, and no second sleep (a real user's later rounds send nothing either)
    assert second == first
    assert outbox.sent == []
    assert len(sleep.durations) == 1


# ---------------------------------------------------------------- failures ---


def test_a_send_failure_propagates_and_leaves_no_response(load_event: EventLoader, latency: LatencyMimic, clock: FakeClock) -> None:
    # GIVEN a sender that fails as SmsPublisher does when SNS refuses the message
    def failing_send(phone_number: str, text: str) -> str:
        raise DeliveryError()

    event = load_event("create_auth_challenge")

    # WHEN creating the challenge
    with pytest.raises(DeliveryError, match=r"^We could not send the code\. Please try again later\.$"):
        run_create(event, send_text=failing_send, latency=latency, clock=clock)

    # THEN the event is untouched: no challenge parameters for a code nobody received
    assert event == load_event("create_auth_challenge")


@pytest.mark.parametrize(
    ("failure", "given_back"),
    [
        pytest.param(DeliveryError(), True, id="SNS refused: given back"),
        pytest.param(DeliveryError(may_have_been_sent=True), False, id="SNS's answer lost: kept"),
        pytest.param(DeadlineExceededError(abandoned=False), True, id="deadline before the publish: given back"),
        pytest.param(DeadlineExceededError(abandoned=True), False, id="publish left running at the deadline: kept"),
    ],
)
def test_a_failed_send_gives_its_reservation_back_only_when_no_code_can_arrive(
    load_event: EventLoader, latency: LatencyMimic, clock: FakeClock, failure: Exception, given_back: bool
) -> None:
    # GIVEN a publish that fails in this way
    def failing_send(phone_number: str, text: str) -> str:
        raise failure

    limits = FakeLimits()

    # WHEN creating the challenge
    with pytest.raises(type(failure)):
        run_create(load_event("create_auth_challenge"), send_text=failing_send, latency=latency, clock=clock, limits=limits)

    # THEN the admission is given back exactly when the code certainly did not go out
    assert limits.released == (limits.admitted if given_back else [])


@pytest.mark.parametrize("attributes", [{}, {"phone_number": ""}, {"phone_number": None}])
def test_a_real_user_without_a_phone_number_gets_a_delivery_error(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock, attributes: object
) -> None:
    # GIVEN a real user with no usable phone number
    event = load_event("create_auth_challenge")
    event["request"]["userAttributes"] = attributes

    # WHEN / THEN a user-facing delivery error, nothing sent, no challenge
    with pytest.raises(DeliveryError):
        run_create(event, send_text=outbox, latency=latency, clock=clock)
    assert outbox.sent == []
    assert event["response"] == {}


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda event: event.pop("request"), id="no request"),
        pytest.param(lambda event: event["request"].update(challengeName="SMS_MFA"), id="not our challenge"),
        pytest.param(lambda event: event["request"].pop("challengeName"), id="no challenge name"),
        pytest.param(lambda event: event["request"].update(session={}), id="session not a list"),
        pytest.param(lambda event: event.pop("userName"), id="no userName"),
        pytest.param(lambda event: event["request"].update(userAttributes=None), id="userAttributes null"),
        pytest.param(lambda event: event["request"].update(userAttributes="nope"), id="userAttributes a string"),
    ],
)
def test_a_malformed_create_event_is_refused_before_sending(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock, mutate: Callable[[Event], object]
) -> None:
    # GIVEN the sample Create event spoiled in one way
    event = load_event("create_auth_challenge")
    mutate(event)

    # WHEN / THEN refused as malformed, and nothing sent
    with pytest.raises(MalformedEventError):
        run_create(event, send_text=outbox, latency=latency, clock=clock)
    assert outbox.sent == []
