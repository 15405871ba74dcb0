"""What the Create and Verify tests share: settings, a sample challenge, fakes (outbox, sleep, clock, limits), round runners."""

from __future__ import annotations

import re
from collections.abc import Callable

from sms_otp.core.settings import Settings
from sms_otp.sign_in.custom_auth import LatencyMimic, create_auth_challenge, verify_auth_challenge
from tests.testkit.clock import FakeClock
from tests.testkit.events import Event, EventLoader
from tests.testkit.fake_limits import FakeLimits

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


def run_create(
    event: Event,
    *,
    send_text: Callable[[str, str], object],
    latency: LatencyMimic,
    clock: FakeClock,
    settings: Settings = SETTINGS,
    limits: FakeLimits | None = None,
) -> Event:
    create_auth_challenge(
        event,
        settings=settings,
        send_text=send_text,
        latency=latency,
        limits=limits or FakeLimits(),  # type: ignore[arg-type]
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
