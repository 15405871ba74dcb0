"""A pumping attack and real users in the same hour, through the real Create Auth Challenge and Post Authentication
handlers and the limit store (moto).

The attack: 500 fresh, valid, ordinary numbers over 5 number ranges (three countries),
one sign-in each, none ever completed. The real users: 300 over 50 other ranges, three
sign-ins each over the hour, 90 % of them completed a minute or two after the code.
Everything runs in one timeline on one clock, in order, so no two sends race: the
bound the guard promises is then exactly ``PumpingMinSends`` codes per attacked range.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import phonenumbers
import pytest
from moto.backends import get_backend

from sms_otp.core.phone_numbers import number_prefix, validate_destination
from sms_otp.limits.errors import LimitExceededError, RangeStoppedError
from tests.testkit.clock import FakeClock
from tests.testkit.events import EventLoader
from tests.unit.conftest import ACCOUNT_ID, REGION, TEST_MODE_TOPIC_ARN, TEST_MODE_TOPIC_NAME

pytestmark = [pytest.mark.unit, pytest.mark.slow]

START = 1_800_000_000

# Five ranges an attacker pumps: a UK, a French and a German mobile range, two US area codes.
ATTACKED = {"+44791": "+447911{:06d}", "+3361": "+3361{:07d}", "+491511": "+491511{:07d}", "+1212": "+12122{:06d}", "+1646": "+16462{:06d}"}
# Fifty US area codes where real users sign in: the first fifty from 201 on that phonenumbers knows, bar the attacked ones.
AREA_CODES = [
    code
    for code in map(str, range(201, 400))
    if phonenumbers.is_valid_number(phonenumbers.parse(f"+1{code}3000000")) and f"+1{code}" not in ATTACKED
][:50]


@dataclass(order=True)
class Step:
    at: int
    kind: str  # "sign-in" or "completed"
    number: str
    real: bool


def timeline(rng: random.Random) -> list[Step]:
    """Every sign-in and completion of the hour, in time order."""
    steps = []
    for prefix, pattern in ATTACKED.items():
        numbers = [pattern.format(n) for n in range(100)]
        assert {number_prefix(number) for number in numbers} == {prefix}
        steps += [Step(rng.randrange(0, 1800), "sign-in", number, real=False) for number in numbers]
    assert len(AREA_CODES) == 50
    for area_code in AREA_CODES:
        for user in range(6):
            number = f"+1{area_code}3{user:06d}"
            for round_start in (0, 1200, 2400):  # three sign-ins, at least 5 minutes apart
                at = round_start + rng.randrange(0, 900)
                steps.append(Step(at, "sign-in", number, real=True))
                if rng.random() < 0.9:
                    steps.append(Step(at + rng.randrange(20, 120), "completed", number, real=True))
    return sorted(steps)


@dataclass
class Outcome:
    sent_by_range: Counter[str]
    sent_before_stop: dict[str, int]
    real_refusals: list[str]
    real_sign_ins: int
    real_completed: int


def run(
    steps: list[Step],
    create: ModuleType,
    post_authentication: ModuleType,
    load_event: EventLoader,
    clock: FakeClock,
    context: object,
) -> Outcome:
    outcome = Outcome(Counter(), {}, [], 0, 0)
    for step in steps:
        clock.now = START + step.at
        if step.kind == "completed":
            event = load_event("post_authentication")
            event["request"]["userAttributes"].update(phone_number=step.number, phone_number_verified="true")
            post_authentication.lambda_handler(event, context)
            outcome.real_completed += 1
            continue
        event = load_event("create_auth_challenge")
        event["request"]["userAttributes"]["phone_number"] = step.number
        number_range = number_prefix(step.number)
        outcome.real_sign_ins += step.real
        try:
            create.lambda_handler(event, context)
        except LimitExceededError as refusal:
            if step.real:
                outcome.real_refusals.append(f"{number_range}: {refusal}")
            elif isinstance(refusal, RangeStoppedError):
                outcome.sent_before_stop.setdefault(number_range, outcome.sent_by_range[number_range])
            continue
        outcome.sent_by_range[number_range] += 1
    return outcome


@pytest.fixture
def test_topic(aws: None) -> Any:
    """The test-mode topic, with nothing subscribed (moto's queues slow down with every message they keep)."""
    arn = boto3.client("sns", region_name=REGION).create_topic(Name=TEST_MODE_TOPIC_NAME)["TopicArn"]
    assert arn == TEST_MODE_TOPIC_ARN
    return get_backend("sns")[ACCOUNT_ID][REGION].topics[arn]


def test_the_guard_stops_each_pumped_range_after_its_minimum_and_no_real_user_notices(
    test_topic: Any, load_handler: Callable[..., ModuleType], load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN the deployed defaults (at least 10 codes a range, then 20 % completed), a budget that never binds,
    # and the hour's timeline: 500 pumped numbers over 5 ranges, 300 real users over 50 ranges
    create = load_handler("create_auth_challenge", KNOWN_NUMBERS_SHARE_PERCENT="0", STACK_MESSAGES_PER_HOUR="1000000")
    post_authentication = load_handler("post_authentication")
    clock = FakeClock(START)
    create.LIMITS.clock = post_authentication.LIMITS.clock = clock
    steps = timeline(random.Random(20261201))  # noqa: S311 - a fixed timeline, not a secret
    for step in steps:
        validate_destination(step.number, frozenset())

    # WHEN the hour runs
    outcome = run(steps, create, post_authentication, load_event, clock, lambda_context)

    # THEN each pumped range got exactly PumpingMinSends codes before it was stopped, and none after
    minimum = create.SETTINGS.limits.pumping_min_sends
    assert outcome.sent_before_stop == dict.fromkeys(ATTACKED, minimum)
    assert {prefix: outcome.sent_by_range[prefix] for prefix in ATTACKED} == dict.fromkeys(ATTACKED, minimum)
    # AND not one real user was refused, by the guard or anything else: every real sign-in got its code
    assert outcome.real_refusals == []
    assert sum(outcome.sent_by_range[f"+1{area_code}"] for area_code in AREA_CODES) == outcome.real_sign_ins == 900
    assert 0.85 < outcome.real_completed / outcome.real_sign_ins < 0.95
    # AND the texts that went out are exactly those: 50 to pumped numbers, 900 to real users
    published = [attributes["recipient"]["Value"] for _id, _text, _subject, attributes, _group in test_topic.sent_notifications]
    assert Counter(map(number_prefix, published)) == outcome.sent_by_range
