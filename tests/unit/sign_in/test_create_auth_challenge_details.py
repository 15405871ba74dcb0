"""Create Auth Challenge in detail: the latency mimic, unknown users stand-ins, the pumping guard and what is counted and logged."""

from __future__ import annotations

from typing import Any

import pytest

from sms_otp.core.errors import DeliveryError, MalformedEventError, PhoneNumberNotAllowedError
from sms_otp.core.observability import metrics
from sms_otp.core.phone_numbers import stand_in_destination
from sms_otp.sign_in import custom_auth
from sms_otp.sign_in.custom_auth import LatencyMimic
from tests.testkit.events import EventLoader
from tests.unit.sign_in.custom_auth_kit import (
    FakeClock,
    FakeLimits,
    FakeSleep,
    TextOutbox,
    next_round,
    run_create,
)

pytestmark = pytest.mark.unit

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
    limits = FakeLimits()

    # WHEN the challenge is created
    run_create(event, send_text=outbox, latency=latency, clock=clock, limits=limits)

    # THEN the limits were asked with the number's range, and whether the person has no account
    assert limits.ranges == [admitted_with]


def test_every_round_is_admitted_as_a_round_and_only_the_first_as_a_message(
    load_event: EventLoader, outbox: TextOutbox, latency: LatencyMimic, clock: FakeClock, logs: Any
) -> None:
    # GIVEN a real user's first round, then the second
    limits = FakeLimits()
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
