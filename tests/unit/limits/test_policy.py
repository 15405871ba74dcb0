"""The limits rules, pure: per-number limits, the lockout, the budget keys and shares, what a release gives back, the guessing bound."""

from __future__ import annotations

import hashlib
from typing import Any

import boto3
import pytest

from sms_otp.core.settings import LimitPolicy
from sms_otp.limits.errors import LockedOutError, SendLimitError, humanize_seconds
from sms_otp.limits.keys import BUDGET_SHARDS, budget_key, budget_keys, shard_caps, shards_to_try, subject_key
from sms_otp.limits.policy import check_send, next_state, online_guessing_bound, released_state
from sms_otp.limits.record import Reservation, SubjectState
from tests.testkit.template import resource_properties
from tests.unit.limits.limits_kit import DEFAULTS, OTHER_PHONE, PHONE, START, FakeClock, store

pytestmark = pytest.mark.unit

# ---------------------------------------------------------------- the policy, pure ---


@pytest.mark.parametrize(
    ("sent_ago", "expected_wait"),
    [
        pytest.param([], None, id="nothing sent: allowed"),
        pytest.param([29], 1, id="29 s ago: wait 1 s for the 30 s interval"),
        pytest.param([30], None, id="30 s ago: allowed"),
        pytest.param([3000, 2400, 1800, 1200, 600], 600, id="5 in the last hour: wait until the oldest is an hour old"),
        pytest.param([3600, 2400, 1800, 1200, 600], None, id="the oldest of 5 is an hour old: allowed"),
        pytest.param(
            [80000, 70000, 60000, 50000, 40000, 30000, 20000, 10000, 5000, 4000], 6400, id="10 in a day: wait a day from the oldest"
        ),
    ],
)
def test_send_limits_per_number(sent_ago: list[int], expected_wait: int | None) -> None:
    # GIVEN messages sent `sent_ago` seconds ago to one number (defaults: 30 s apart, 5 an hour, 10 a day)
    state = SubjectState(sent_at=tuple(START - ago for ago in sent_ago))

    # WHEN another message is asked for now
    # THEN it is allowed, or refused with the exact wait
    if expected_wait is None:
        check_send(state, DEFAULTS, START)
    else:
        with pytest.raises(SendLimitError) as refusal:
            check_send(state, DEFAULTS, START)
        assert refusal.value.retry_after_seconds == expected_wait
        assert str(refusal.value) == f"Too many codes were sent to this number. Please try again in {humanize_seconds(expected_wait)}."


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (89, "89 seconds"),
        (90, "2 minutes"),
        (600, "10 minutes"),
        (5399, "90 minutes"),
        (5400, "2 hours"),
        (7200, "2 hours"),
        (7201, "3 hours"),
    ],
)
def test_waits_are_said_in_words(seconds: int, text: str) -> None:
    assert humanize_seconds(seconds) == text


@pytest.mark.parametrize(
    ("failed_rounds", "lock"),
    [(0, 0), (9, 0), (10, 900), (11, 1800), (12, 3600), (16, 57_600), (17, 86_400), (40, 86_400), (10_000, 86_400)],
)
def test_the_lockout_doubles_up_to_its_cap(failed_rounds: int, lock: int) -> None:
    assert DEFAULTS.lockout_seconds(failed_rounds) == lock


def test_next_state_counts_a_round_and_a_message_and_forgets_old_messages() -> None:
    # GIVEN a message a day and a second ago, and one ten minutes ago
    state = SubjectState(sent_at=(START - 86_401, START - 600), failed_rounds=2, locked_until=0, version=7)

    # WHEN a first round with a message is admitted
    after = next_state(state, DEFAULTS, START, new_round=True, send=True)

    # THEN the old message is gone, the round is counted, the code awaits its sign-in, and the version moves on
    assert after == SubjectState(sent_at=(START - 600, START), failed_rounds=3, locked_until=START, version=8, awaiting_sign_in=1)

    # AND a message without a round (the sender's) awaits no sign-in
    assert next_state(state, DEFAULTS, START, new_round=False, send=True).awaiting_sign_in == 0


# ---------------------------------------------------------------- the guessing bound ---


def test_the_guessing_bound_at_default_settings() -> None:
    # GIVEN the defaults: 6 digits, 3 answers a session, lockout after 10 rounds for 15 min doubling to a day, 10 messages a day
    bound = online_guessing_bound(LimitPolicy(), otp_length=6, max_attempts=3)

    # THEN by hand: 10 rounds at once, then one as each lock (900, 1800, ... s) ends: at 900, 2700, 6300, 13500,
    # 27900 and 56700 s; the next at 114300 s is past the day. So 16 by the lockout while the owner stays away;
    # but the owner's sign-ins reset it, and what always holds is 10 x 3 = 30 by the send limits.
    assert bound.rounds_by_lockout == 16
    assert bound.rounds_by_send_limits == 30
    assert bound.max_guesses_per_day == 30
    assert bound.probability == pytest.approx(3e-5)


@pytest.mark.parametrize(
    ("policy", "otp_length", "max_attempts", "guesses", "probability"),
    [
        pytest.param(LimitPolicy(lockout_threshold=3, lockout_base_seconds=3600), 6, 3, 30, 3e-5, id="a tighter lockout lowers nothing"),
        pytest.param(LimitPolicy(max_messages_per_hour=2, max_messages_per_day=2), 6, 3, 6, 6e-6, id="send limits bind"),
        pytest.param(LimitPolicy(lockout_threshold=3, lockout_base_seconds=60, lockout_max_seconds=60), 8, 1, 10, 1e-7, id="cap binds"),
    ],
)
def test_the_guessing_bound_formula(policy: LimitPolicy, otp_length: int, max_attempts: int, guesses: int, probability: float) -> None:
    # The cap case: 3 rounds, then one a minute for 1440 minutes, but only 10 messages x 1 answer a day.
    bound = online_guessing_bound(policy, otp_length=otp_length, max_attempts=max_attempts)
    assert bound.max_guesses_per_day == guesses
    assert bound.probability == pytest.approx(probability)


def test_the_bound_matches_a_greedy_attacker_against_the_store(aws: None) -> None:
    # GIVEN an attacker who asks for a new round the moment the store allows one, for a whole day
    clock = FakeClock()
    limits = store(clock=clock)
    rounds = 0
    while clock.now < START + 86_400:
        try:
            limits.admit(PHONE, new_round=True, send=False)
            rounds += 1
        except LockedOutError as refusal:
            clock.now += refusal.retry_after_seconds

    # THEN the store let through exactly as many rounds as the formula says
    assert rounds == online_guessing_bound(DEFAULTS, otp_length=6, max_attempts=3).rounds_by_lockout


@pytest.mark.parametrize(
    ("window_seconds", "rounds"),
    [
        pytest.param(180, 4, id="the lock ending at the window's end does not count"),
        pytest.param(181, 5, id="one ending a second before the window's end does"),
    ],
)
def test_the_lockout_allows_one_round_each_time_a_lock_ends_within_the_window(window_seconds: int, rounds: int) -> None:
    # GIVEN 3 rounds at once, then locks of 60 s and 120 s: rounds at 0 s (three), 60 s and 180 s
    policy = LimitPolicy(lockout_threshold=3, lockout_base_seconds=60, lockout_max_seconds=3600)

    # WHEN / THEN the bound counts exactly the rounds that start within the window
    assert online_guessing_bound(policy, otp_length=6, max_attempts=3, window_seconds=window_seconds).rounds_by_lockout == rounds


def test_the_send_limits_bound_grows_with_each_day_of_the_window() -> None:
    # GIVEN 10 messages a day and 3 answers a session, over two days
    bound = online_guessing_bound(LimitPolicy(), otp_length=6, max_attempts=3, window_seconds=2 * 86_400)

    # THEN 2 x 10 sessions of 3 answers
    assert bound.rounds_by_send_limits == 60


@pytest.mark.parametrize(("sent_ago", "refused"), [(86_400, False), (86_399, True)], ids=["24 h ago: forgotten", "a second less: counted"])
def test_a_message_counts_toward_the_day_for_24_hours(sent_ago: int, refused: bool) -> None:
    # GIVEN one message a day allowed, and one sent this long ago
    policy = LimitPolicy(min_seconds_between_messages=0, max_messages_per_hour=1, max_messages_per_day=1)
    state = SubjectState(sent_at=(START - sent_ago,))

    # WHEN / THEN another is refused only while the first is less than 24 hours old
    if refused:
        with pytest.raises(SendLimitError):
            check_send(state, policy, START)
    else:
        check_send(state, policy, START)


def test_the_stack_budget_counts_per_clock_hour() -> None:
    # GIVEN the start of an hour
    hour_start = 3_600 * 500_000

    # WHEN / THEN every second of that hour shares its counters, and the next hour has its own
    assert budget_keys(hour_start) == budget_keys(hour_start + 3_599) == [f"budget#500000#{shard}" for shard in range(BUDGET_SHARDS)]
    assert budget_key(hour_start + 3_600, 0) == "budget#500001#0"


@pytest.mark.parametrize("budget", [1, 3, 9, 10, 11, 999, 1000, 1_000_000])
def test_the_budgets_counters_share_it_evenly_and_add_up_to_it(budget: int) -> None:
    caps = shard_caps(budget)
    assert (len(caps), sum(caps)) == (BUDGET_SHARDS, budget)
    assert max(caps) - min(caps) <= 1


def test_a_send_tries_its_own_counter_first_then_the_next_with_room() -> None:
    # GIVEN a number whose own counter (by its hash) is full, and the one after it too
    key = subject_key(PHONE)
    own = int(key[-8:], 16) % BUDGET_SHARDS
    caps = [5] * BUDGET_SHARDS
    spent = [0] * BUDGET_SHARDS
    spent[own] = spent[(own + 1) % BUDGET_SHARDS] = 5

    # WHEN / THEN the counters with room come in order from its own, the full ones left out
    order = shards_to_try(key, spent, caps)
    assert order == [(own + step) % BUDGET_SHARDS for step in range(2, BUDGET_SHARDS)]
    assert shards_to_try(key, [0] * BUDGET_SHARDS, caps)[0] == own


# ---------------------------------------------------------------- what the table holds ---


def test_an_item_without_some_fields_reads_as_nothing_recorded() -> None:
    # GIVEN an item that holds only its key (none of the counts)
    # WHEN / THEN it reads as a subject with no history, not as an error
    assert SubjectState.from_item({"pk": {"S": subject_key(PHONE)}}) == SubjectState()


def _item(key: str) -> dict[str, Any]:
    return boto3.client("dynamodb", region_name="us-east-1").get_item(TableName="sms-otp-limits", Key={"pk": {"S": key}})["Item"]


def test_items_expire_a_day_after_their_last_use_or_lock_and_the_budget_two_hours_after_its_hour(aws: None) -> None:
    # GIVEN one number sent a message now, and another locked out (threshold 3, 10-minute locks)
    clock = FakeClock()
    limits = store(LimitPolicy(lockout_threshold=3, lockout_base_seconds=600, lockout_max_seconds=600), clock)
    limits.admit(PHONE, new_round=False, send=True)
    for _ in range(3):
        limits.admit(OTHER_PHONE, new_round=True, send=False)
    ttl_attribute = resource_properties("LimitsTable")["TimeToLiveSpecification"]["AttributeName"]

    # WHEN / THEN each item carries, in the template's TTL attribute, when DynamoDB may delete it
    assert _item(subject_key(PHONE))[ttl_attribute] == {"N": str(START + 86_400)}
    assert _item(subject_key(OTHER_PHONE))[ttl_attribute] == {"N": str(START + 600 + 86_400)}
    [counter] = [
        item
        for item in boto3.client("dynamodb", region_name="us-east-1").scan(TableName="sms-otp-limits")["Items"]
        if item["pk"]["S"].startswith("budget#")
    ]
    assert counter[ttl_attribute] == {"N": str(START + 3_600 + 7_200)}


# ---------------------------------------------------------------- giving back what an unsent message took ---


def test_releasing_gives_back_the_message_and_the_round_and_keeps_what_came_since() -> None:
    # GIVEN a state where our round at START sent a message and moved the lock, and another message came since
    reservation = Reservation(subject_key="k", at=START, new_round=True, sent=True, locked_until_before=START - 5, locked_until_after=START)
    state = SubjectState(sent_at=(START - 600, START, START + 1), failed_rounds=4, locked_until=START, version=9)

    # WHEN / THEN only our message and round go, and the lock goes back to where it was
    assert released_state(state, reservation) == SubjectState(
        sent_at=(START - 600, START + 1), failed_rounds=3, locked_until=START - 5, version=10
    )
    assert released_state(SubjectState(awaiting_sign_in=2), reservation).awaiting_sign_in == 1


def test_releasing_keeps_a_lock_set_by_a_later_round() -> None:
    # GIVEN a lock moved by a later round than ours
    reservation = Reservation(subject_key="k", at=START, new_round=True, sent=False, locked_until_before=0, locked_until_after=START)
    state = SubjectState(sent_at=(), failed_rounds=11, locked_until=START + 1800, version=3)

    # WHEN / THEN our round is given back, the later lock stays
    assert released_state(state, reservation) == SubjectState(sent_at=(), failed_rounds=10, locked_until=START + 1800, version=4)


# ---------------------------------------------------------------- the last details ---


def test_the_next_state_forgets_messages_a_day_old_and_changes_only_what_was_asked() -> None:
    # GIVEN a number with a message exactly a day old, one an hour old, 2 failed rounds and a lock
    state = SubjectState(sent_at=(START - 86_400, START - 3_600), failed_rounds=2, locked_until=START - 5, version=7)

    # WHEN the sender admits a message (no sign-in round), and when a round without a message is admitted
    after_message = next_state(state, DEFAULTS, START, new_round=False, send=True)
    after_round = next_state(state, DEFAULTS, START, new_round=True, send=False)

    # THEN the day-old message is forgotten; a message adds its time and leaves the rounds and the lock alone;
    # a round adds no time and counts one more failed round; neither is a sign-in code awaiting its sign-in
    assert after_message == SubjectState(sent_at=(START - 3_600, START), failed_rounds=2, locked_until=START - 5, version=8)
    assert after_round == SubjectState(sent_at=(START - 3_600,), failed_rounds=3, locked_until=START, version=8)


def test_a_subject_key_is_the_sha256_of_the_number() -> None:
    assert subject_key(PHONE) == "subject#" + hashlib.sha256(PHONE.encode()).hexdigest()
