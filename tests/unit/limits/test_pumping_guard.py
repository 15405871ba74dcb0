"""The pumping guard: the rule, the cool-off, and the store's exact bound under concurrent sends."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_otp.core.settings import LimitPolicy
from sms_otp.limits import pumping
from sms_otp.limits.errors import LimitStoreUnavailableError, RangeStoppedError, SendLimitError
from sms_otp.limits.keys import subject_key
from sms_otp.limits.pumping import RangeWindow, next_stop, send_cap
from sms_otp.limits.store import DynamoDbLimitStore
from tests.testkit.atomic_requests import AtomicRequests
from tests.testkit.clock import FakeClock
from tests.testkit.metrics import metric_dimensions
from tests.testkit.template import load_template, resource_properties

pytestmark = pytest.mark.unit

START = 1_800_000_000  # the start of a ten-minute bucket
RANGE = "+1415"
DEFAULTS = LimitPolicy()  # at least 10 codes, then 20 % completed; 15 minutes' cool-off


def store(policy: LimitPolicy = DEFAULTS, clock: FakeClock | None = None, client: Any = None) -> DynamoDbLimitStore:
    return DynamoDbLimitStore("sms-otp-limits", policy, client or boto3.client("dynamodb", region_name="us-east-1"), clock or FakeClock())


def fresh_numbers(count: int, area_code: str = "415") -> list[str]:
    """Valid numbers of one area code that have never been sent anything."""
    return [f"+1{area_code}2{n:06d}" for n in range(count)]


def send_code(limits: DynamoDbLimitStore, number: str, *, anonymous: bool = False) -> bool:
    """A sign-in code to ``number`` through the limits, as Create asks for it; whether it may go out."""
    try:
        limits.admit(number, new_round=True, send=True, number_range=RANGE, anonymous=anonymous)
    except RangeStoppedError:
        return False
    return True


# ---------------------------------------------------------------- the rule, pure ---


@pytest.mark.parametrize(
    ("sent_before", "sent_now", "completed", "allowed"),
    [
        pytest.param(0, 9, 0, True, id="9 sent, none completed: a 10th may go"),
        pytest.param(0, 10, 0, False, id="10 sent, none completed: stopped"),
        pytest.param(6, 4, 0, False, id="10 over the window's buckets: stopped"),
        pytest.param(0, 10, 2, True, id="10 sent, 2 completed (20 %): allowed"),
        pytest.param(0, 11, 2, False, id="11 sent, 2 completed (18 %): stopped"),
        pytest.param(30, 20, 10, True, id="50 sent, 10 completed (20 %): allowed"),
        pytest.param(30, 21, 10, False, id="51 sent, 10 completed: stopped"),
        pytest.param(5, 95, 90, True, id="a healthy range: 100 sent, 90 completed"),
    ],
)
def test_a_range_may_get_a_code_below_the_minimum_or_while_enough_complete(
    sent_before: int, sent_now: int, completed: int, allowed: bool
) -> None:
    # GIVEN a range's window (defaults: at least 10 codes, then at least 20 % completed)
    window = RangeWindow(RANGE, bucket=0, sent_before=sent_before, sent_now=sent_now, completed=completed)

    # WHEN / THEN another code may go exactly while the rule holds: fewer than 10 sent, or completed >= 20 % of sent
    cap = send_cap(DEFAULTS, window)
    assert cap is not None
    total = sent_before + sent_now
    assert (sent_now < cap) is allowed is (total < 10 or 100 * completed >= 20 * total)


@given(
    sent_before=st.integers(0, 500),
    sent_now=st.integers(0, 500),
    completed=st.integers(0, 500),
    minimum=st.integers(1, 200),
    percent=st.integers(1, 100),
)
def test_the_cap_says_exactly_what_the_rule_says(sent_before: int, sent_now: int, completed: int, minimum: int, percent: int) -> None:
    # GIVEN any window and settings / WHEN one more code is asked for
    policy = LimitPolicy(pumping_min_sends=minimum, pumping_min_conversion_percent=percent)
    cap = send_cap(policy, RangeWindow(RANGE, bucket=0, sent_before=sent_before, sent_now=sent_now, completed=completed))

    # THEN the current bucket's cap lets it through exactly when the window has sent fewer than the minimum,
    # or its completions are at least the percentage of what it sent
    sent = sent_before + sent_now
    assert cap is not None
    assert (sent_now < cap) == (sent < minimum or completed * 100 >= percent * sent)


def test_a_conversion_of_zero_percent_turns_the_guard_off() -> None:
    assert send_cap(LimitPolicy(pumping_min_conversion_percent=0), RangeWindow(RANGE, bucket=0, sent_now=10_000)) is None


@pytest.mark.parametrize(
    ("stops", "stopped_ago", "cool_off", "stops_after"),
    [
        pytest.param(0, None, 900, 1, id="first stop: the base"),
        pytest.param(1, 0, 1800, 2, id="stopped again as the last ended: doubled"),
        pytest.param(3, 3599, 7200, 4, id="again within a window of the last: doubled again"),
        pytest.param(3, 3600, 900, 1, id="a window after the last ended: the base again"),
        pytest.param(9, 0, 86_400, 10, id="never more than a day"),
    ],
)
def test_the_cool_off_grows_while_the_pattern_goes_on(stops: int, stopped_ago: int | None, cool_off: int, stops_after: int) -> None:
    # GIVEN a range stopped `stops` times in a row, the last stop having ended `stopped_ago` seconds ago
    window = RangeWindow(RANGE, bucket=0, stops=stops, stopped_until=START - stopped_ago if stopped_ago is not None else 0)

    # WHEN / THEN it is stopped again for the base, doubling while stops follow each other within a window, up to a day
    assert next_stop(DEFAULTS, window, START) == (START + cool_off, stops_after)


def test_the_window_is_the_current_bucket_and_the_five_before() -> None:
    # GIVEN items of a range in seven consecutive buckets, the last being the current one
    now = START + 599
    current = pumping.bucket_of(now)
    items = {pumping.bucket_key(RANGE, current - age): {"sent": {"N": "1"}, "completed": {"N": "1"}} for age in range(7)}
    items[pumping.stop_key(RANGE)] = {"stopped_until": {"N": str(START + 60)}, "stops": {"N": "2"}}

    # WHEN / THEN the window holds six buckets (the oldest is out), the current one apart, and the stop
    assert RangeWindow.from_items(RANGE, now, items) == RangeWindow(
        RANGE, bucket=current, sent_before=5, sent_now=1, completed=6, stopped_until=START + 60, stops=2
    )
    assert pumping.window_keys(RANGE, now) == [
        *(pumping.bucket_key(RANGE, current - age) for age in range(5, -1, -1)),
        pumping.stop_key(RANGE),
    ]


# ---------------------------------------------------------------- the store, in moto ---


def test_a_range_that_completes_nothing_gets_exactly_the_minimum_then_is_stopped(aws: None, logs: Any) -> None:
    # GIVEN a range no sign-in of which completes, and 100 fresh numbers in it
    limits = store()

    # WHEN each number asks for a code in turn
    sent = [send_code(limits, number) for number in fresh_numbers(100)]

    # THEN exactly PumpingMinSends codes went, then none: the range is stopped
    assert sent == [True] * 10 + [False] * 90
    # AND the stop was counted once, with the range (never a whole number) as its dimension, and once for the alarm
    assert metric_dimensions(logs.stdout, "PumpingRangesStopped") == [{"service": "sms-otp", "number_range": RANGE}, {"service": "sms-otp"}]
    [record] = [record for record in logs.records() if record["message"] == "The pumping guard stopped sending to a number range"]
    assert {key: record[key] for key in ("number_range", "sent", "completed", "cool_off_seconds")} == {
        "number_range": RANGE,
        "sent": 10,
        "completed": 0,
        "cool_off_seconds": 900,
    }


def test_the_refusal_says_when_to_try_again_and_counts_as_pumping(aws: None, logs: Any) -> None:
    # GIVEN a range just stopped
    clock = FakeClock()
    limits = store(clock=clock)
    for number in fresh_numbers(10):
        send_code(limits, number)
    with pytest.raises(RangeStoppedError):
        limits.admit("+14152999999", new_round=True, send=True, number_range=RANGE)

    # WHEN a number of it asks ten minutes later
    clock.now += 600
    with pytest.raises(RangeStoppedError) as refusal:
        limits.admit("+14152999998", new_round=True, send=True, number_range=RANGE)

    # THEN it is told when to try again, and the refusals are counted with the reason "pumping"
    assert str(refusal.value) == "We cannot send codes to this number right now. Please try again in 5 minutes."
    assert refusal.value.retry_after_seconds == 300
    reasons = [dimensions.get("reason") for dimensions in metric_dimensions(logs.stdout, "SendRefusals") if "reason" in dimensions]
    assert reasons == ["pumping", "pumping"]


def test_completed_sign_ins_keep_a_range_open(aws: None) -> None:
    # GIVEN a range in which every second code ends in a sign-in (Post Authentication), and a budget that never binds
    limits = store(LimitPolicy(stack_messages_per_hour=1000))
    numbers = fresh_numbers(60)

    # WHEN 60 numbers ask for a code, and every other one signs in
    sent = []
    for index, number in enumerate(numbers):
        sent.append(send_code(limits, number))
        if index % 2 == 0:
            assert limits.reset_failures(number, number_range=RANGE) is True

    # THEN every code went
    assert all(sent)


def test_a_completion_counts_only_against_a_code_sent(aws: None) -> None:
    # GIVEN one number that was sent one code, and signs in ten times (say, by password)
    limits = store()
    assert send_code(limits, "+14152000000")
    for _ in range(10):
        limits.reset_failures("+14152000000", number_range=RANGE)

    # WHEN 20 fresh numbers of the range ask for codes
    sent = [send_code(limits, number) for number in fresh_numbers(21)[1:]]

    # THEN one completion was counted, not ten: the range gets its minimum of 10 codes, and the 11th at
    # 1 completed out of 10 (10 %) is refused
    assert sent.count(True) == 9


def test_a_stopped_range_refuses_before_writing_anything(aws: None) -> None:
    # GIVEN a stopped range
    limits = store()
    for number in fresh_numbers(11):
        send_code(limits, number)
    table = boto3.client("dynamodb", region_name="us-east-1")
    before = table.scan(TableName="sms-otp-limits")["Items"]

    # WHEN more of its numbers ask
    for number in fresh_numbers(20)[11:]:
        assert send_code(limits, number) is False

    # THEN the table is as it was: a stopped range costs one read a request
    assert table.scan(TableName="sms-otp-limits")["Items"] == before


def test_the_stop_ends_after_its_cool_off_and_the_range_gets_the_minimum_again(aws: None) -> None:
    # GIVEN a range stopped after its 10 codes
    clock = FakeClock()
    limits = store(clock=clock)
    numbers = iter(fresh_numbers(200))
    assert [send_code(limits, next(numbers)) for _ in range(11)].count(True) == 10

    # WHEN a window later (its sends out of it) and past the cool-off, numbers ask again
    clock.now += pumping.WINDOW_SECONDS + pumping.BUCKET_SECONDS
    again = [send_code(limits, next(numbers)) for _ in range(20)]

    # THEN it gets the minimum again, and is stopped again
    assert again == [True] * 10 + [False] * 10


def test_concurrent_sends_to_a_range_never_exceed_the_minimum(aws: None) -> None:
    # GIVEN 32 invocations at the same instant, each with a fresh number of one range that completes nothing
    limits = store(client=AtomicRequests(boto3.client("dynamodb", region_name="us-east-1")))
    barrier = threading.Barrier(32)
    outcomes: list[bool] = []
    guard = threading.Lock()

    def ask(number: str) -> None:
        barrier.wait()
        try:
            outcome = send_code(limits, number)
        except (SendLimitError, LimitStoreUnavailableError):
            outcome = False
        with guard:
            outcomes.append(outcome)

    # WHEN they all run at once
    threads = [threading.Thread(target=ask, args=(number,)) for number in fresh_numbers(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN exactly PumpingMinSends went: the conditional add serialises them (the race bound within a bucket is 0)
    assert outcomes.count(True) == 10
    # AND the numbers that were refused were given back: none holds a message
    table = boto3.client("dynamodb", region_name="us-east-1")
    holding = [
        number
        for number in fresh_numbers(32)
        if table.get_item(TableName="sms-otp-limits", Key={"pk": {"S": subject_key(number)}}).get("Item", {}).get("sent_at", {}).get("L")
    ]
    assert len(holding) == 10


def test_unknown_users_meet_the_guard_but_never_count_in_it(aws: None) -> None:
    # GIVEN a range that already got 9 codes
    limits = store()
    numbers = iter(fresh_numbers(100))
    for _ in range(9):
        assert send_code(limits, next(numbers))

    # WHEN 50 sign-ins for numbers without an account ask, then a real user
    anonymous = [send_code(limits, next(numbers), anonymous=True) for _ in range(50)]
    real = send_code(limits, next(numbers))

    # THEN the anonymous ones were answered as a real one would have been (allowed), counted nowhere,
    # so the real user still gets the 10th code
    assert all(anonymous)
    assert real is True

    # AND once the range is full, an unknown user is refused exactly as a real one is, without stopping the range
    assert send_code(limits, next(numbers), anonymous=True) is False
    table = boto3.client("dynamodb", region_name="us-east-1")
    assert "Item" not in table.get_item(TableName="sms-otp-limits", Key={"pk": {"S": pumping.stop_key(RANGE)}})
    assert send_code(limits, next(numbers)) is False
    assert "Item" in table.get_item(TableName="sms-otp-limits", Key={"pk": {"S": pumping.stop_key(RANGE)}})


def test_the_alarm_watches_the_stops_in_all_as_the_functions_write_them(aws: None, logs: Any) -> None:
    # GIVEN the alarm on stopped ranges, and the functions' service name and namespace
    alarm = resource_properties("PumpingGuardAlarm")
    environment = load_template()["Globals"]["Function"]["Environment"]["Variables"]

    # WHEN a range is stopped
    limits = store()
    for number in fresh_numbers(11):
        send_code(limits, number)

    # THEN the alarm watches the count in all: its name, namespace and only dimension, from the first stop
    assert (alarm["MetricName"], alarm["Namespace"]) == ("PumpingRangesStopped", environment["POWERTOOLS_METRICS_NAMESPACE"])
    assert alarm["Dimensions"] == [{"Name": "service", "Value": environment["POWERTOOLS_SERVICE_NAME"]}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert {"service": "sms-otp"} in metric_dimensions(logs.stdout, "PumpingRangesStopped")
