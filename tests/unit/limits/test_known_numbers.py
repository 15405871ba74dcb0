"""Known and fresh numbers: attacks through fresh numbers never stop the people who have already proven theirs.

Every scenario runs through the real Create Auth Challenge, Post Authentication and
Custom SMS Sender handlers, the limit store (moto) and a fake clock, with the
deployed defaults: a budget of 100 messages an hour, half of it kept for known
numbers, a quarter of the fresh half (12) for the fresh numbers of one country.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from types import ModuleType
from typing import Any

import phonenumbers
import pytest

from sms_otp.core.phone_numbers import number_prefix
from sms_otp.limits.errors import LimitExceededError, RefusalError
from sms_otp.sign_in.custom_auth import LatencyMimic
from tests.testkit.clock import FakeClock
from tests.testkit.cognito_encryption import ENCRYPTION_SDK_NOISE, Encrypt
from tests.testkit.events import Event, EventLoader
from tests.testkit.lambda_context import FakeLambdaContext

pytestmark = [pytest.mark.unit, ENCRYPTION_SDK_NOISE]

START = 1_800_000_000 - 1_800_000_000 % 86_400  # a UTC midnight
HOUR = 3_600
DAY = 86_400
POOL_ID = "us-east-1_EXAMPLE11"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def create(
    aws: None, sns_outbox: Any, load_handler: Callable[..., ModuleType], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """Create Auth Challenge with the deployed defaults, on the fake clock, with no real waits for unknown users."""
    module = load_handler("create_auth_challenge")
    module.LIMITS.clock = clock
    monkeypatch.setattr(module, "LATENCY", LatencyMimic(sleep=lambda _seconds: None))
    return module


@pytest.fixture
def post_authentication(aws: None, load_handler: Callable[..., ModuleType], clock: FakeClock) -> ModuleType:
    module = load_handler("post_authentication")
    module.LIMITS.clock = clock
    return module


class Pool:
    """Signs people in through the handlers and counts what reached whom."""

    def __init__(self, create: ModuleType, post_authentication: ModuleType, load_event: EventLoader, context: object) -> None:
        self.create, self.post_authentication, self.load_event, self.context = create, post_authentication, load_event, context

    def sign_in(self, phone_number: str, *, complete: bool = True) -> bool:
        """One sign-in by code: whether the code was sent (and, if ``complete``, the sign-in finished)."""
        event = self.load_event("create_auth_challenge")
        event["request"]["userAttributes"].update(phone_number=phone_number, phone_number_verified="false")
        try:
            self.create.lambda_handler(event, self.context)
        except RefusalError:
            return False
        if complete:
            done = self.load_event("post_authentication")
            done["request"]["userAttributes"].update(phone_number=phone_number, phone_number_verified="false")
            self.post_authentication.lambda_handler(done, self.context)
        return True

    def unknown_round(self, name: str) -> bool:
        """A sign-in round for a name with no account: whether it was answered with a challenge (nothing is sent)."""
        event = self.load_event("create_auth_challenge_user_not_found")
        event["userName"] = name
        try:
            self.create.lambda_handler(event, self.context)
        except LimitExceededError:
            return False
        return True


@pytest.fixture
def pool(create: ModuleType, post_authentication: ModuleType, load_event: EventLoader, lambda_context: object) -> Pool:
    return Pool(create, post_authentication, load_event, lambda_context)


def nanp_area_codes(count: int) -> list[str]:
    """Area codes from 201 on in which phonenumbers takes every exchange from 300 to 399 (the ones the tests use)."""
    codes = [
        code
        for code in map(str, range(201, 1000))
        if all(phonenumbers.is_valid_number(phonenumbers.parse(f"+1{code}{exchange}0000")) for exchange in range(300, 400))
    ]
    return codes[:count]


# ---------------------------------------------------------------- the spread attack ---


@pytest.mark.slow
def test_a_day_of_fresh_numbers_over_many_area_codes_leaves_known_users_and_other_countries_served(pool: Pool, clock: FakeClock) -> None:
    # GIVEN 200 known users (NANP numbers in the attacked area codes, each with a completed sign-in by code)
    area_codes = nanp_area_codes(40)
    known_users = [f"+1{area_codes[n % 40]}39{n:05d}" for n in range(200)]
    clock.now = START - DAY
    warm_up = []
    for index, number in enumerate(known_users):
        clock.now = START - DAY + index * 400
        warm_up.append(pool.sign_in(number))
    assert all(warm_up)
    rng = random.Random(20261206)  # noqa: S311 - a fixed timeline, not a secret
    # AND a day's timeline: every hour 10 fresh numbers in each of 40 area codes (never completed), each known user
    # signing in 4 times (6 hours apart), and 50 new users in the UK signing up and in (completed)
    steps: list[tuple[int, str, str]] = []
    for hour in range(24):
        for code_index, area_code in enumerate(area_codes):
            steps += [(hour * HOUR + rng.randrange(HOUR), "attack", f"+1{area_code}3{hour:02d}{code_index:02d}{n:02d}") for n in range(10)]
    for number in known_users:
        first = rng.randrange(6 * HOUR)
        steps += [(first + turn * 6 * HOUR, "known", number) for turn in range(4)]
    steps += [(rng.randrange(DAY), "new", f"+447911{n:06d}") for n in range(50)]
    steps.sort()

    # WHEN the day runs
    served: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    for at, kind, number in steps:
        clock.now = START + at
        asked[kind] += 1
        served[kind] += pool.sign_in(number, complete=kind != "attack")

    # THEN every known user's sign-in and every new user in the other country got a code
    assert asked == {"attack": 9600, "known": 800, "new": 50}
    assert served["known"] == 800
    assert served["new"] == 50
    # AND the attacker got no more than the NANP slice of the fresh share each hour: 12 an hour, 288 in the day
    assert served["attack"] <= 24 * 12
    assert served["attack"] == 288


# ---------------------------------------------------------------- a small country switched off ---


@pytest.mark.slow
def test_three_days_of_probes_on_one_small_countrys_range_never_stop_its_known_users(pool: Pool, clock: FakeClock) -> None:
    # GIVEN 20 Latvian known users, all in the one mobile range +3712
    known_users = [f"+3712{n:07d}" for n in range(20)]
    assert {number_prefix(number) for number in known_users} == {"+3712"}
    for index, number in enumerate(known_users):
        clock.now = START - DAY + index * 600
        assert pool.sign_in(number)
    rng = random.Random(3712)  # noqa: S311 - a fixed timeline, not a secret
    # AND 72 hours of an attacker probing the range with a fresh number every minute, and bursting 10 more whenever
    # a probe gets through, while each known user signs in 4 times a day
    known_steps = sorted(
        (day * DAY + rng.randrange(6 * HOUR) + turn * 6 * HOUR, number) for day in range(3) for number in known_users for turn in range(4)
    )
    attack_by_day: Counter[int] = Counter()
    known_served = known_asked = 0
    fresh = iter(f"+37129{n:06d}" for n in range(1_000_000))

    # WHEN the three days run
    for minute in range(3 * 24 * 60):
        clock.now = START + minute * 60
        while known_steps and known_steps[0][0] < minute * 60 + 60:
            at, number = known_steps.pop(0)
            clock.now = START + at
            known_asked += 1
            known_served += pool.sign_in(number)
        clock.now = START + minute * 60
        if pool.sign_in(next(fresh), complete=False):
            attack_by_day[minute // (24 * 60)] += 1
            attack_by_day[minute // (24 * 60)] += sum(pool.sign_in(next(fresh), complete=False) for _ in range(10))

    # THEN every known user's sign-in in the range got its code, stopped or not
    assert known_asked == known_served == 240
    # AND the attacker got the guard's 10 codes each time the range reopened, less and less often as the stops
    # doubled (15 min, 30 min, ... up to a day): 50 codes the first day, 10 each day after
    assert attack_by_day == {0: 50, 1: 10, 2: 10}


# ---------------------------------------------------------------- one admission for every text ---


@pytest.fixture
def sender(sns_outbox: Any, kms_key_arn: str, load_handler: Callable[..., ModuleType], clock: FakeClock) -> ModuleType:
    module = load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn, PASSWORD_SIGN_IN="true")
    module.LIMITS.clock = clock
    return module


def sender_event(load_event: EventLoader, name: str, phone_number: str, encrypt_code: Encrypt, kms_key_arn: str) -> Event:
    event = load_event(name)
    event["request"]["userAttributes"].update(phone_number=phone_number, phone_number_verified="false")
    event["request"]["code"] = encrypt_code(b"604219", kms_key_arn, POOL_ID)
    return event


def test_one_account_changing_its_number_to_120_fresh_numbers_gets_only_its_daily_cap(
    sender: ModuleType, sns_outbox: Any, load_event: EventLoader, encrypt_code: Encrypt, kms_key_arn: str
) -> None:
    # GIVEN one account asking for a code to verify each of 120 fresh numbers of one area code
    numbers = [f"+1415200{n:04d}" for n in range(120)]

    # WHEN Cognito asks the sender for each
    for number in numbers:
        sender.lambda_handler(
            sender_event(load_event, "custom_sms_sender_update_user_attribute", number, encrypt_code, kms_key_arn), FakeLambdaContext()
        )

    # THEN only the account's daily cap of codes went out (before the range's guard, 10, or the budget, could bind)
    assert sender.SETTINGS.limits.max_attribute_codes_per_account_per_day == 5
    assert len(sns_outbox.topic_messages()) == 5


@pytest.mark.parametrize("event_name", ["custom_sms_sender_sign_up", "custom_sms_sender_resend_code"])
def test_sign_up_codes_to_fresh_numbers_meet_the_pumping_guard(
    sender: ModuleType,
    sns_outbox: Any,
    load_event: EventLoader,
    encrypt_code: Encrypt,
    kms_key_arn: str,
    event_name: str,
) -> None:
    # GIVEN PasswordSignIn=true (Cognito texts a code at sign-up) and 30 sign-ups with fresh numbers of one area code
    numbers = [f"+1415200{n:04d}" for n in range(30)]

    # WHEN Cognito asks the sender for each code
    for number in numbers:
        sender.lambda_handler(sender_event(load_event, event_name, number, encrypt_code, kms_key_arn), FakeLambdaContext())

    # THEN the range got the guard's minimum and was stopped: not 30, and not the budget's 12 for the country
    assert len(sns_outbox.topic_messages()) == sender.SETTINGS.limits.pumping_min_sends == 10


def test_mfa_and_reset_codes_to_a_known_number_go_out_while_its_range_is_stopped(
    sender: ModuleType,
    pool: Pool,
    clock: FakeClock,
    sns_outbox: Any,
    load_event: EventLoader,
    encrypt_code: Encrypt,
    kms_key_arn: str,
) -> None:
    # GIVEN a known number, and its range stopped by fresh numbers that never sign in (9 codes, with the known
    # number's own first code and completion: 10 sent, 1 completed, 10 %)
    assert pool.sign_in("+14155550100")
    clock.now += 60
    assert sum(pool.sign_in(f"+1415200{n:04d}", complete=False) for n in range(11)) == 9
    sent_before = len(sns_outbox.topic_messages())

    # WHEN Cognito asks the sender for an MFA code, then a password reset code, to the known number
    for event_name in ("custom_sms_sender_authentication", "custom_sms_sender_forgot_password"):
        sender.lambda_handler(sender_event(load_event, event_name, "+14155550100", encrypt_code, kms_key_arn), FakeLambdaContext())

    # THEN both went out; and a fresh number of the range is still refused
    assert len(sns_outbox.topic_messages()) == sent_before + 2
    assert not pool.sign_in("+14152009999", complete=False)


# ---------------------------------------------------------------- the lockout and unknown users ---


def test_rounds_for_a_number_with_no_account_never_lock_out_its_future_owner(pool: Pool, clock: FakeClock) -> None:
    # GIVEN 10 sign-in rounds for a number nobody has signed up with, 13 minutes apart (within the number's
    # limits of 5 an hour and 10 a day: each answered with a challenge, as for a real user)
    answered = []
    for _ in range(10):
        clock.now += 13 * 60
        answered.append(pool.unknown_round("+14155550177"))
    assert answered == [True] * 10

    # WHEN the number's owner signs up and signs in
    clock.now += 60
    # THEN the first sign-in is served
    assert pool.sign_in("+14155550177")


def test_an_unknown_user_in_a_stopped_range_is_refused_as_a_fresh_one_is(pool: Pool, clock: FakeClock) -> None:
    # GIVEN a range stopped by 11 fresh numbers that never sign in
    assert sum(pool.sign_in(f"+1415200{n:04d}", complete=False) for n in range(11)) == 10

    # WHEN a number with no account, and a fresh real user, sign in
    refusals = []
    for event in (_unknown(pool, "+14155550178"), _real(pool, "+14155550179")):
        with pytest.raises(RefusalError) as refusal:
            pool.create.lambda_handler(event, pool.context)
        refusals.append(str(refusal.value))

    # THEN both read the same sentence: the range is stopped for both
    assert refusals[0] == refusals[1]
    assert refusals[0].startswith("We cannot send codes to this number right now.")


def _unknown(pool: Pool, name: str) -> Event:
    event = pool.load_event("create_auth_challenge_user_not_found")
    event["userName"] = name
    return event


def _real(pool: Pool, phone_number: str) -> Event:
    event = pool.load_event("create_auth_challenge")
    event["request"]["userAttributes"].update(phone_number=phone_number, phone_number_verified="false")
    return event
