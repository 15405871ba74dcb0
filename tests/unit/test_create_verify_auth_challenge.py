"""Create and Verify Auth Challenge as a pair: the code sent by one is the answer the other accepts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sms_otp.core.errors import DeadlineExceededError, DeliveryError, MalformedEventError, PhoneNumberNotAllowedError
from sms_otp.core.observability import metrics
from sms_otp.core.phone_numbers import stand_in_destination
from sms_otp.core.settings import Settings
from sms_otp.sign_in import custom_auth
from sms_otp.sign_in.codes import IssuedCode
from sms_otp.sign_in.custom_auth import LatencyMimic, create_auth_challenge, verify_auth_challenge
from tests.testkit.events import Event, EventLoader

pytestmark = pytest.mark.unit


SETTINGS = Settings(otp_length=6, otp_ttl_seconds=180, max_attempts=3)
NOW = 1_763_740_800
PHONE_NUMBER = "+14155550123"
MASKED = "+*******0123"
SAMPLE_PRIVATE_PARAMETERS = {
    "codeHash": "exzbDIS9m2WlmxxErH91gbu-uqytPv_m5cCE1VBG-yM=",
    "codeSalt": "c2FsdHNhbHRzYWx0c2FsdA==",
    "issuedAt": "1763740800",
}
SAMPLE_METADATA = "SMS_OTP:v1:1763740800:c2FsdHNhbHRzYWx0c2FsdA==:exzbDIS9m2WlmxxErH91gbu-uqytPv_m5cCE1VBG-yM="


class TextOutbox:
    """A stand-in for SmsPublisher.send: records ``(phone_number, text)``."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, phone_number: str, text: str) -> str:
        self.sent.append((phone_number, text))
        return "message-id"

    def code(self) -> str:
        """The code in the one text sent, checking the whole wording on the way."""
        assert len(self.sent) == 1
        _phone_number, text = self.sent[0]
        match = re.fullmatch(r"Your sign-in code is ([0-9]{6})\. It expires in 3 minutes\. Do not share it with anyone\.", text)
        assert match, text
        return match.group(1)


class FakeSleep:
    def __init__(self) -> None:
        self.durations: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.durations.append(seconds)


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def outbox() -> TextOutbox:
    return TextOutbox()


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def latency(sleep: FakeSleep) -> LatencyMimic:
    return LatencyMimic(default_seconds=0.12, sleep=sleep)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class RecordingLimits:
    """Stands in for the DynamoDbLimitStore: admits everything (or raises ``refusal``), records what it was asked and given back."""

    def __init__(self, refusal: Exception | None = None) -> None:
        self.admitted: list[tuple[str, bool, bool]] = []
        self.ranges: list[tuple[str | None, bool]] = []
        self.released: list[tuple[str, bool, bool]] = []
        self.refusal = refusal

    def admit(
        self,
        subject: str,
        *,
        new_round: bool,
        send: bool,
        number_range: str | None = None,
        anonymous: bool = False,
        deadline: object = None,
        phone_number: str | None = None,
        verified: bool = False,
        account: str | None = None,
    ) -> tuple[str, bool, bool]:
        if self.refusal is not None:
            raise self.refusal
        self.admitted.append((subject, new_round, send))
        self.ranges.append((number_range, anonymous))
        return self.admitted[-1]

    def release(self, reservation: tuple[str, bool, bool], deadline: object = None) -> None:
        self.released.append(reservation)


def run_create(
    event: Event,
    *,
    send_text: Callable[[str, str], object],
    latency: LatencyMimic,
    clock: FakeClock,
    settings: Settings = SETTINGS,
    limits: RecordingLimits | None = None,
) -> Event:
    create_auth_challenge(
        event,
        settings=settings,
        send_text=send_text,
        latency=latency,
        limits=limits or RecordingLimits(),  # type: ignore[arg-type]
        clock=clock,
    )
    response: Event = event["response"]
    return response


def run_verify(event: Event, *, clock: FakeClock, settings: Settings = SETTINGS) -> Event:
    verify_auth_challenge(event, settings=settings, clock=clock)
    response: Event = event["response"]
    return response


def verify_event(load_event: EventLoader, private_parameters: object, answer: object, *, user_not_found: object = False) -> Event:
    """The Verify event Cognito builds from a Create response and the user's answer."""
    event = load_event("verify_auth_challenge")
    event["request"]["privateChallengeParameters"] = private_parameters
    event["request"]["challengeAnswer"] = answer
    event["request"]["userNotFound"] = user_not_found
    return event


def next_round(event: Event, response: Event, *, answered_right: bool = False) -> Event:
    """The Create event of the next round: the session gains the previous round's entry."""
    event = {**event, "request": {**event["request"]}, "response": {}}
    event["request"]["session"] = [
        *event["request"]["session"],
        {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": answered_right, "challengeMetadata": response["challengeMetadata"]},
    ]
    return event


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


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

    limits = RecordingLimits()

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


# ---------------------------------------------------------------- details found by mutation testing ---


class HighestDraw:
    """Stands in for the mimic's random source: always the top of the range asked for."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, low: float, high: float) -> float:
        self.ranges.append((low, high))
        return high


def test_the_latency_mimic_caps_a_recorded_send_at_two_seconds_and_scales_the_median(sleep: FakeSleep) -> None:
    # GIVEN one slot of memory, a send that took 30 s, and draws that always come out at the top of the range
    mimic = LatencyMimic(default_seconds=0.1, window=1, sleep=sleep)
    draws = HighestDraw()
    mimic._random = draws  # type: ignore[assignment]
    mimic.record(30.0)

    # WHEN imitating a send
    mimic.imitate()

    # THEN the send counted as 2 s, and the sleep is that median times a factor drawn from 0.8 to 1.2
    assert draws.ranges == [(0.8, 1.2)]
    assert sleep.durations == [pytest.approx(2.0 * 1.2)]


def test_an_unknown_users_stand_in_destination_depends_on_the_pool(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock
) -> None:
    # GIVEN an unknown user whose name is not a phone number, in two pools
    destinations = []
    for pool_id in ("us-east-1_EXAMPLE11", "us-east-1_OTHERPOOL"):
        event = load_event("create_auth_challenge_user_not_found")
        event.update(userName="someone@example.com", userPoolId=pool_id)

        # WHEN creating the challenge
        response = run_create(event, send_text=outbox, latency=latency, clock=clock)
        destinations.append(response["publicChallengeParameters"]["CODE_DELIVERY_DESTINATION"])

    # THEN each pool shows its own stand-in, as derived from the pool and the name
    assert destinations == [
        stand_in_destination("someone@example.com", "us-east-1_EXAMPLE11"),
        stand_in_destination("someone@example.com", "us-east-1_OTHERPOOL"),
    ]
    assert destinations[0] != destinations[1]


def test_an_unknown_user_named_with_a_refused_number_is_refused_like_a_real_one(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock
) -> None:
    # GIVEN an unknown user whose name is a premium-rate number (a real user with it could not sign up)
    event = load_event("create_auth_challenge_user_not_found")
    event["userName"] = "+19005550123"

    # WHEN / THEN refused with the same user-facing error, so the answer does not tell who exists
    with pytest.raises(PhoneNumberNotAllowedError):
        run_create(event, send_text=outbox, latency=latency, clock=clock)


@pytest.mark.parametrize(
    ("event_name", "user_name", "admitted_with"),
    [
        pytest.param("create_auth_challenge", None, ("+1415", False), id="a real user: the number's range, counted"),
        pytest.param("create_auth_challenge_user_not_found", "+14155550143", ("+1415", True), id="an unknown number: its range, read only"),
        pytest.param("create_auth_challenge_user_not_found", "alice", (None, True), id="an unknown name that is no number: no range"),
    ],
)
def test_a_first_round_meets_the_pumping_guard_of_its_range(
    load_event: EventLoader,
    outbox: TextOutbox,
    latency: LatencyMimic,
    clock: FakeClock,
    event_name: str,
    user_name: str | None,
    admitted_with: tuple[str | None, bool],
) -> None:
    # GIVEN a first round for a real user, or for a name with no account
    event = load_event(event_name)
    if user_name is not None:
        event["userName"] = user_name
    limits = RecordingLimits()

    # WHEN the challenge is created
    run_create(event, send_text=outbox, latency=latency, clock=clock, limits=limits)

    # THEN the limits were asked with the number's range, and whether the person has no account
    assert limits.ranges == [admitted_with]


def test_every_round_is_admitted_as_a_round_and_only_the_first_as_a_message(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock, logs: Any
) -> None:
    # GIVEN a real user's first round, then the second
    limits = RecordingLimits()
    first_event = load_event("create_auth_challenge")
    first = run_create(first_event, send_text=outbox, latency=latency, clock=clock, limits=limits)

    # WHEN Cognito asks for the second round
    run_create(next_round(first_event, first), send_text=outbox, latency=latency, clock=clock, limits=limits)

    # THEN both count as rounds, only the first spends a message, and the reuse of the code is logged with its round
    phone_number = first_event["request"]["userAttributes"]["phone_number"]
    assert limits.admitted == [(phone_number, True, True), (phone_number, True, False)]
    assert [(record["message"], record.get("round")) for record in logs.records()] == [
        ("Reusing the code issued earlier in this session", 2)
    ]


def test_a_challenge_that_is_not_ours_is_refused_with_its_reason(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock
) -> None:
    # GIVEN Cognito asking Create for a challenge other than CUSTOM_CHALLENGE
    event = load_event("create_auth_challenge")
    event["request"]["challengeName"] = "SMS_MFA"

    # WHEN / THEN refused, saying what was expected
    with pytest.raises(MalformedEventError, match=r"^request\.challengeName must be CUSTOM_CHALLENGE$"):
        run_create(event, send_text=outbox, latency=latency, clock=clock)


def test_a_real_user_without_a_phone_number_is_logged_as_such(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock, logs: Any
) -> None:
    # GIVEN a real user with no phone number
    event = load_event("create_auth_challenge")
    event["request"]["userAttributes"] = {}

    # WHEN / THEN a delivery error for the caller, and the reason in the log
    with pytest.raises(DeliveryError):
        run_create(event, send_text=outbox, latency=latency, clock=clock)
    assert [record["message"] for record in logs.records() if record["level"] == "ERROR"] == [
        "The user has no phone number to send a code to"
    ]


@pytest.mark.parametrize(
    ("event_name", "counted"),
    [("create_auth_challenge", "CodesSent"), ("create_auth_challenge_user_not_found", "UnknownUserChallenges")],
    ids=["real user", "unknown user"],
)
def test_a_first_round_is_counted_as_a_code_sent_or_an_unknown_users_challenge(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock, event_name: str, counted: str
) -> None:
    # GIVEN a first round / WHEN creating the challenge
    run_create(load_event(event_name), send_text=outbox, latency=latency, clock=clock)

    # THEN it is counted once, under its own name
    assert {name: metric["Value"] for name, metric in metrics.metric_set.items()} == {counted: [1.0]}


class RecordingMimic(LatencyMimic):
    """A latency mimic that remembers what it was told."""

    def __init__(self) -> None:
        super().__init__(sleep=lambda _seconds: None)
        self.recorded: list[float] = []

    def record(self, seconds: float) -> None:
        self.recorded.append(seconds)


def test_a_real_send_records_how_long_it_took(
    load_event: EventLoader, outbox: TextOutbox, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a performance counter that reads 10.0 s before the send and 10.25 s after it
    readings = iter([10.0, 10.25])
    monkeypatch.setattr(custom_auth.time, "perf_counter", lambda: next(readings))
    mimic = RecordingMimic()

    # WHEN a real user's code is sent
    run_create(load_event("create_auth_challenge"), send_text=outbox, latency=mimic, clock=clock)

    # THEN the mimic learns that the send took 0.25 s
    assert mimic.recorded == [pytest.approx(0.25)]


def test_the_latency_mimic_starts_from_a_typical_send_and_remembers_the_last_32(sleep: FakeSleep) -> None:
    # GIVEN a mimic as the trigger builds it, drawing at the top of its range
    mimic = LatencyMimic(sleep=sleep)
    mimic._random = HighestDraw()  # type: ignore[assignment]

    # WHEN it imitates before any send, then after 16 instant sends and 16 of one second
    mimic.imitate()
    for seconds in [0.0] * 16 + [1.0] * 16:
        mimic.record(seconds)
    mimic.imitate()

    # THEN first around its default of 0.12 s, then around the median of the last 32 sends (the default forgotten)
    assert sleep.durations == [pytest.approx(0.12 * 1.2), pytest.approx(0.5 * 1.2)]
