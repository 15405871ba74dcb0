"""Abuse limits: send limits per number, lockout, the stack's budget, the limit store failing, the guessing bound."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import phonenumbers
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from sms_otp.core.errors import DeadlineExceededError, PhoneNumberNotAllowedError, SmsOtpError
from sms_otp.core.phone_numbers import number_prefix
from sms_otp.core.settings import LimitPolicy
from sms_otp.core.time_budget import Deadline
from sms_otp.limits import store as limits_module
from sms_otp.limits.errors import BudgetExhaustedError, LimitStoreUnavailableError, LockedOutError, SendLimitError, humanize_seconds
from sms_otp.limits.keys import BUDGET_SHARDS, budget_key, budget_keys, shard_caps, shards_to_try, subject_key
from sms_otp.limits.policy import check_send, next_state, online_guessing_bound, released_state
from sms_otp.limits.record import Reservation, SubjectState
from sms_otp.limits.store import DynamoDbLimitStore
from sms_otp.limits.table import WRITE_ATTEMPTS
from tests.testkit.atomic_requests import AtomicRequests
from tests.testkit.cognito_encryption import Encrypt
from tests.testkit.events import EventLoader
from tests.testkit.metrics import metric_dimensions
from tests.testkit.template import resource_properties

pytestmark = pytest.mark.unit

PHONE = "+14155550123"
OTHER_PHONE = "+14155550124"
START = 1_800_000_000
DEFAULTS = LimitPolicy()


class FakeClock:
    def __init__(self, now: int = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


def store(policy: LimitPolicy = DEFAULTS, clock: FakeClock | None = None, table: str = "sms-otp-limits") -> DynamoDbLimitStore:
    # No back-off sleeps: races are decided by the order of requests, never by the wall clock.
    return DynamoDbLimitStore(
        table, policy, boto3.client("dynamodb", region_name="us-east-1"), clock or FakeClock(), sleep=lambda _seconds: None
    )


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


# ---------------------------------------------------------------- the store, in moto ---


def test_a_second_code_within_the_interval_is_refused(aws: None) -> None:
    # GIVEN one message just sent to a number
    clock = FakeClock()
    limits = store(clock=clock)
    limits.admit(PHONE, new_round=True, send=True)

    # WHEN another is asked for 10 s later, and another for another number
    clock.now += 10
    with pytest.raises(SendLimitError) as refusal:
        limits.admit(PHONE, new_round=True, send=True)
    limits.admit(OTHER_PHONE, new_round=True, send=True)

    # THEN the first is refused with when to try again; the other number is unaffected
    assert refusal.value.retry_after_seconds == 20
    assert str(refusal.value) == "Too many codes were sent to this number. Please try again in 20 seconds."


def test_the_table_holds_no_phone_number(aws: None) -> None:
    # GIVEN a message admitted for a number
    store().admit(PHONE, new_round=True, send=True)

    # WHEN the whole table is read
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="sms-otp-limits")["Items"]

    # THEN it is keyed by a hash, and the number (or its digits) appear nowhere
    assert subject_key(PHONE) in {item["pk"]["S"] for item in items}
    assert PHONE[1:] not in repr(items)


@pytest.mark.parametrize(
    ("policy", "admitted"),
    [
        pytest.param(LimitPolicy(), 1, id="30 s interval: exactly one"),
        pytest.param(LimitPolicy(min_seconds_between_messages=0), 5, id="no interval, 5 an hour: exactly five"),
        pytest.param(LimitPolicy(min_seconds_between_messages=0, max_messages_per_hour=50, max_messages_per_day=50), 50, id="50 a day"),
    ],
)
def test_concurrent_requests_never_exceed_a_limit(aws: None, policy: LimitPolicy, admitted: int) -> None:
    # GIVEN 24 invocations asking at the same instant for a message to one number
    limits = store(policy)
    limits.client = AtomicRequests(limits.client)
    barrier = threading.Barrier(24)
    outcomes: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        barrier.wait()
        for _ in range(3):  # each asks three times, so 72 requests in all
            try:
                limits.admit(PHONE, new_round=False, send=True)
                outcome = "sent"
            except SendLimitError:
                outcome = "refused"
            except LimitStoreUnavailableError:
                outcome = "contended"
            with lock:
                outcomes.append(outcome)

    # WHEN they all run at once
    threads = [threading.Thread(target=ask) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN exactly as many as the limits allow were admitted, none refused as contended (each lost race is
    # another request's success, and at most 50 succeed, fewer than the store's attempts), and the store agrees
    assert outcomes.count("sent") == min(admitted, 72)
    assert outcomes.count("contended") == 0
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(TableName="sms-otp-limits", Key={"pk": {"S": subject_key(PHONE)}})
    assert len(item["Item"]["sent_at"]["L"]) == min(admitted, 72)


def test_the_lockout_refuses_new_challenges_and_a_sign_in_resets_it(aws: None) -> None:
    # GIVEN a lockout after 3 rounds without success, 60 s at first
    clock = FakeClock()
    limits = store(LimitPolicy(lockout_threshold=3, lockout_base_seconds=60, lockout_max_seconds=600), clock)
    for _ in range(3):
        limits.admit(PHONE, new_round=True, send=False)

    # WHEN a fourth round is asked for at once, then after the lock, then again at once
    with pytest.raises(LockedOutError) as first:
        limits.admit(PHONE, new_round=True, send=False)
    clock.now += 60
    limits.admit(PHONE, new_round=True, send=False)
    with pytest.raises(LockedOutError) as second:
        limits.admit(PHONE, new_round=True, send=False)

    # THEN the lock says when to try again and doubles after the next round
    assert str(first.value) == "Too many sign-in attempts failed. Please try again in 60 seconds."
    assert second.value.retry_after_seconds == 120

    # AND a successful sign-in clears it at once
    assert limits.reset_failures(PHONE) is True
    limits.admit(PHONE, new_round=True, send=False)


def test_resetting_an_unknown_subject_does_nothing(aws: None) -> None:
    assert store().reset_failures("+14155550999") is False


def test_the_stack_budget_stops_sends_and_alerts(aws: None, logs: Any) -> None:
    # GIVEN a budget of 3 messages an hour for the whole stack
    limits = store(LimitPolicy(known_numbers_share_percent=0, stack_messages_per_hour=3))
    for number in ("+14155550101", "+14155550102", "+14155550103"):
        limits.admit(number, new_round=True, send=True)

    # WHEN a fourth number asks
    with pytest.raises(BudgetExhaustedError) as refusal:
        limits.admit("+14155550104", new_round=True, send=True)

    # THEN it is refused with a clear message, the metric for the alarm is emitted, and nothing was recorded for it
    assert str(refusal.value) == "We cannot send more codes right now. Please try again in an hour."
    stdout = logs.stdout
    assert '"SmsBudgetExhausted":[1.0]' in stdout
    assert '"Dimensions":[["service"]]' in stdout
    assert {"service": "sms-otp", "reason": "budget"} in metric_dimensions(stdout, "SendRefusals")
    table = boto3.client("dynamodb", region_name="us-east-1")
    assert "Item" not in table.get_item(TableName="sms-otp-limits", Key={"pk": {"S": subject_key("+14155550104")}})


def test_rounds_without_a_message_do_not_spend_the_budget(aws: None) -> None:
    # GIVEN a budget of 1 an hour, spent
    limits = store(LimitPolicy(known_numbers_share_percent=0, stack_messages_per_hour=1))
    limits.admit(PHONE, new_round=True, send=True)

    # WHEN later rounds of the session (no message) are admitted
    # THEN they pass
    limits.admit(PHONE, new_round=True, send=False)
    limits.admit(PHONE, new_round=True, send=False)


@pytest.mark.parametrize("error_code", ["ResourceNotFoundException", "ProvisionedThroughputExceededException", "InternalServerError"])
def test_the_limit_store_failing_fails_closed(aws: None, logs: Any, error_code: str) -> None:
    # GIVEN DynamoDB answering with an error
    client = boto3.client("dynamodb", region_name="us-east-1")
    limits = DynamoDbLimitStore("sms-otp-limits", DEFAULTS, client, FakeClock())
    with Stubber(client) as stub:
        stub.add_client_error("batch_get_item", service_error_code=error_code, service_message=f"it mentions {PHONE}")

        # WHEN a message is asked for
        with pytest.raises(LimitStoreUnavailableError) as refusal:
            limits.admit(PHONE, new_round=True, send=True)

    # THEN it is refused (nothing may be sent), with a clear error, a log without the number, and the alarm's metric
    assert str(refusal.value) == "We cannot send codes right now. Please try again later."
    assert [record["error_code"] for record in logs.records() if record["level"] == "ERROR"] == [error_code]
    assert PHONE not in logs.text
    assert '"LimitStoreFailures":[1.0]' in logs.stdout
    assert {"service": "sms-otp", "reason": "unavailable"} in metric_dimensions(logs.stdout, "SendRefusals")


def test_a_missing_table_fails_closed(aws: None) -> None:
    with pytest.raises(LimitStoreUnavailableError):
        store(table="no-such-table").admit(PHONE, new_round=True, send=True)


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


# ---------------------------------------------------------------- the triggers ---


def test_create_refuses_a_second_code_within_the_interval_and_sends_nothing(
    aws: None, sns_outbox: Any, load_handler: Callable[..., ModuleType], load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN a code just sent to the user
    handler = load_handler("create_auth_challenge")
    handler.lambda_handler(load_event("create_auth_challenge"), lambda_context)
    assert len(sns_outbox.topic_messages()) == 1

    # WHEN a new sign-in asks for another code at once
    with pytest.raises(SendLimitError) as refusal:
        handler.lambda_handler(load_event("create_auth_challenge"), lambda_context)

    # THEN the caller is told when to try again, and no second message went out
    assert str(refusal.value).startswith("Too many codes were sent to this number. Please try again in ")
    assert len(sns_outbox.topic_messages()) == 1


def test_unknown_users_meet_the_same_limits(
    aws: None, sns_outbox: Any, load_handler: Callable[..., ModuleType], load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN a challenge just created for a name that matches no user
    handler = load_handler("create_auth_challenge")
    handler.LATENCY._sleep = lambda _seconds: None
    handler.LIMITS.clock = FakeClock()  # both requests at the same second, however slow the machine
    handler.lambda_handler(load_event("create_auth_challenge_user_not_found"), lambda_context)

    # WHEN another is asked for at once
    with pytest.raises(SendLimitError) as refusal:
        handler.lambda_handler(load_event("create_auth_challenge_user_not_found"), lambda_context)

    # THEN the refusal reads exactly as a real user's, and nothing was ever sent
    assert str(refusal.value) == "Too many codes were sent to this number. Please try again in 30 seconds."
    assert sns_outbox.topic_messages() == []


@pytest.mark.parametrize(
    ("allowed", "phone_number", "message"),
    [
        pytest.param("44", "+14155550123", "Phone numbers with the country code +1 cannot be used here.", id="country not allowed"),
        pytest.param("", "+19005550123", "Premium-rate and shared-cost numbers cannot receive codes.", id="premium rate"),
        pytest.param("", "+33891701234", "Premium-rate and shared-cost numbers cannot receive codes.", id="shared cost"),
    ],
)
def test_disallowed_numbers_are_refused_at_sign_up_and_before_every_send(
    aws: None,
    sns_outbox: Any,
    load_handler: Callable[..., ModuleType],
    load_event: EventLoader,
    lambda_context: object,
    allowed: str,
    phone_number: str,
    message: str,
) -> None:
    # GIVEN ALLOWED_COUNTRY_CODES=`allowed` and a number it refuses
    sign_up = load_event("pre_sign_up")
    sign_up["request"]["userAttributes"]["phone_number"] = phone_number
    create = load_event("create_auth_challenge")
    create["request"]["userAttributes"]["phone_number"] = phone_number

    # WHEN someone signs up with it, or a challenge would send to it
    with pytest.raises(PhoneNumberNotAllowedError) as at_sign_up:
        load_handler("pre_sign_up", ALLOWED_COUNTRY_CODES=allowed).lambda_handler(sign_up, lambda_context)
    with pytest.raises(PhoneNumberNotAllowedError) as at_send:
        load_handler("create_auth_challenge", ALLOWED_COUNTRY_CODES=allowed).lambda_handler(create, lambda_context)

    # THEN both refuse with the same clear message, and nothing is sent or counted
    assert str(at_sign_up.value) == str(at_send.value) == message
    assert sns_outbox.topic_messages() == []
    assert boto3.client("dynamodb", region_name="us-east-1").scan(TableName="sms-otp-limits")["Items"] == []


def test_an_unreachable_limit_store_means_no_code(
    aws: None, sns_outbox: Any, load_handler: Callable[..., ModuleType], load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN the limits table is gone
    boto3.client("dynamodb", region_name="us-east-1").delete_table(TableName="sms-otp-limits")
    handler = load_handler("create_auth_challenge")

    # WHEN a sign-in starts
    with pytest.raises(LimitStoreUnavailableError):
        handler.lambda_handler(load_event("create_auth_challenge"), lambda_context)

    # THEN no code went out
    assert sns_outbox.topic_messages() == []
    assert sns_outbox.sms_messages() == []


def test_a_lost_race_on_the_numbers_item_is_retried_not_an_outage(aws: None) -> None:
    # GIVEN another invocation writing the number's item between our read and our write, once
    client = boto3.client("dynamodb", region_name="us-east-1")
    limits = DynamoDbLimitStore("sms-otp-limits", DEFAULTS, client, FakeClock(), sleep=lambda _seconds: None)
    with Stubber(client) as stub:
        stub.add_response("batch_get_item", {"Responses": {"sms-otp-limits": []}})
        stub.add_response("get_item", {})
        stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException")
        stub.add_response("get_item", {})
        stub.add_response("put_item", {})
        stub.add_response("update_item", {})

        # WHEN a message is asked for
        limits.admit(PHONE, new_round=True, send=True)

        # THEN the item was read and written again, the budget spent once, and the message admitted
        stub.assert_no_pending_responses()


def test_cognitos_own_messages_do_not_reveal_who_has_an_account(
    aws: None,
    sns_outbox: Any,
    kms_key_arn: str,
    encrypt_code: Encrypt,
    load_handler: Callable[..., ModuleType],
    load_event: EventLoader,
    lambda_context: object,
) -> None:
    # GIVEN Cognito just sent a forgot-password code to an existing user's number (it sends none for unknown users)
    forgot = load_event("custom_sms_sender_forgot_password")
    forgot["request"]["code"] = encrypt_code(b"123456", kms_key_arn, forgot["userPoolId"])
    load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn).lambda_handler(forgot, lambda_context)

    # WHEN a sign-in for the same number starts at once
    load_handler("create_auth_challenge").lambda_handler(load_event("create_auth_challenge"), lambda_context)

    # THEN it gets its code as an unknown number would: the two kinds of message are counted apart
    assert len(sns_outbox.topic_messages()) == 2


# ---------------------------------------------------------------- what the store counts and logs ---


def test_each_refusal_is_counted_by_its_reason(aws: None, logs: Any) -> None:
    # GIVEN a number that was just sent a code, and another locked out after 3 rounds without success
    limits = store(LimitPolicy(lockout_threshold=3, lockout_base_seconds=60, lockout_max_seconds=600))
    limits.admit(PHONE, new_round=True, send=True)
    for _ in range(3):
        limits.admit(OTHER_PHONE, new_round=True, send=False)

    # WHEN the first asks for another message at once, and the second for another round
    with pytest.raises(SendLimitError):
        limits.admit(PHONE, new_round=False, send=True)
    with pytest.raises(LockedOutError):
        limits.admit(OTHER_PHONE, new_round=True, send=False)

    # THEN each refusal is counted once by its reason (and once in all, for the alarm)
    by_reason = [dimensions["reason"] for dimensions in metric_dimensions(logs.stdout, "SendRefusals") if "reason" in dimensions]
    assert by_reason == ["interval", "lockout"]
    assert len(metric_dimensions(logs.stdout, "SendRefusals")) == 4


def test_a_store_that_stays_contended_refuses_and_alerts(aws: None, logs: Any) -> None:
    # GIVEN every write losing its race (another invocation always changed the item first)
    client = boto3.client("dynamodb", region_name="us-east-1")
    limits = DynamoDbLimitStore("sms-otp-limits", DEFAULTS, client, FakeClock(), sleep=lambda _seconds: None)
    with Stubber(client) as stub:
        stub.add_response("batch_get_item", {"Responses": {"sms-otp-limits": []}})
        for _ in range(WRITE_ATTEMPTS):
            stub.add_response("get_item", {})
            stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException")

        # WHEN a message is asked for
        with pytest.raises(LimitStoreUnavailableError):
            limits.admit(PHONE, new_round=True, send=True)

    # THEN it is refused (fail closed), logged, and the alarm's metric is emitted
    assert [record["message"] for record in logs.records() if record["level"] == "ERROR"] == [
        "The limit store stayed contended; nothing is sent"
    ]
    assert '"LimitStoreFailures":[1.0]' in logs.stdout


def test_a_failed_reset_is_logged_and_alerts(aws: None, logs: Any) -> None:
    # GIVEN DynamoDB refusing the update
    client = boto3.client("dynamodb", region_name="us-east-1")
    limits = DynamoDbLimitStore("sms-otp-limits", DEFAULTS, client, FakeClock())
    with Stubber(client) as stub:
        stub.add_client_error("update_item", service_error_code="InternalServerError", service_message=f"it mentions {PHONE}")

        # WHEN a sign-in resets the number's failed rounds
        # THEN the sign-in is not failed, but the failure is logged (without the number) and the alarm's metric emitted
        assert limits.reset_failures(PHONE) is False
    assert [(record["message"], record["error_code"]) for record in logs.records() if record["level"] == "ERROR"] == [
        ("Could not reset the failed sign-in rounds", "InternalServerError")
    ]
    assert PHONE not in logs.text
    assert '"LimitStoreFailures":[1.0]' in logs.stdout


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
    assert budget_keys(hour_start) == budget_keys(hour_start + 3_599) == [f"budget#500000#fresh#{shard}" for shard in range(BUDGET_SHARDS)]
    assert budget_key(hour_start + 3_600, 0) == "budget#500001#fresh#0"


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


def test_a_released_message_no_longer_counts_toward_any_limit(aws: None) -> None:
    # GIVEN a budget of 1 and a message just admitted to a number
    limits = store(LimitPolicy(known_numbers_share_percent=0, stack_messages_per_hour=1))
    reservation = limits.admit(PHONE, new_round=True, send=True)

    # WHEN it is given back (it was not sent)
    limits.release(reservation)

    # THEN the number may be sent another at once, within the budget
    limits.admit(PHONE, new_round=True, send=True)


def test_a_failing_release_is_logged_and_keeps_the_allowance_spent(aws: None, logs: Any) -> None:
    # GIVEN a message admitted, then DynamoDB failing
    client = boto3.client("dynamodb", region_name="us-east-1")
    limits = DynamoDbLimitStore("sms-otp-limits", DEFAULTS, client, FakeClock())
    reservation = limits.admit(PHONE, new_round=False, send=True)
    with Stubber(client) as stub:
        stub.add_client_error("get_item", service_error_code="InternalServerError", service_message=f"it mentions {PHONE}")

        # WHEN it is given back
        limits.release(reservation)

    # THEN nothing is raised, the failure is logged without the number and alerts, and the message still counts
    assert [record["message"] for record in logs.records() if record["level"] == "ERROR"] == [
        "Could not give back an unsent message's allowance"
    ]
    assert PHONE not in logs.text
    assert '"LimitStoreFailures":[1.0]' in logs.stdout
    with pytest.raises(SendLimitError):
        limits.admit(PHONE, new_round=False, send=True)


# ---------------------------------------------------------------- no item that every send writes ---


class RecordingWrites:
    """Atomic requests (see AtomicRequests) that also note, per thread, the key of every item written."""

    def __init__(self, client: Any) -> None:
        self._atomic = AtomicRequests(client)
        self._lock = threading.Lock()
        self.written: dict[int, set[str]] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._atomic, name)

        def call(**request: Any) -> Any:
            keys: list[str] = []
            if name == "put_item":
                keys = [request["Item"]["pk"]["S"]]
            elif name in ("update_item", "delete_item"):
                keys = [request["Key"]["pk"]["S"]]
            elif name == "transact_write_items":
                keys = [
                    next(iter(action.values())).get("Key", next(iter(action.values())).get("Item"))["pk"]["S"]
                    for action in request["TransactItems"]
                ]
            with self._lock:
                self.written.setdefault(threading.get_ident(), set()).update(keys)
            return method(**request)

        return call


def test_concurrent_sends_to_distinct_numbers_never_contend_and_share_no_item(aws: None) -> None:
    # GIVEN 32 invocations at the same instant, each sending a sign-in code to its own number, in 32 number ranges
    area_codes = [code for code in map(str, range(201, 400)) if phonenumbers.is_valid_number(phonenumbers.parse(f"+1{code}3000000"))][:32]
    numbers = [f"+1{code}3000000" for code in area_codes]
    limits = store(LimitPolicy(known_numbers_share_percent=0))
    writes = RecordingWrites(limits.client)
    limits.client = writes
    barrier = threading.Barrier(32)
    outcomes: list[str] = []
    lock = threading.Lock()

    def send(number: str) -> None:
        barrier.wait()
        try:
            limits.admit(number, new_round=True, send=True, number_range=number_prefix(number))
            outcome = "sent"
        except SmsOtpError as refusal:
            outcome = type(refusal).__name__
        with lock:
            outcomes.append(outcome)

    # WHEN they all run at once
    threads = [threading.Thread(target=send, args=(number,)) for number in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN every send was admitted: none refused for contention
    assert outcomes == ["sent"] * 32
    # AND no item was written by every send (the budget's counters are shared by few, by the numbers' hashes)
    assert len(writes.written) == 32
    assert set.intersection(*writes.written.values()) == set()
    budget = Counter(key for keys in writes.written.values() for key in keys if key.startswith("budget#") and "#fresh#" in key)
    assert sum(budget.values()) == 32
    assert max(budget.values()) < 32


# ---------------------------------------------------------------- how a lost race, and other failures, are read ---


def _stubbed_store() -> tuple[DynamoDbLimitStore, Any]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return DynamoDbLimitStore("sms-otp-limits", DEFAULTS, client, FakeClock(), sleep=lambda _seconds: None), client


def test_a_round_without_a_message_that_loses_its_race_is_tried_again(aws: None) -> None:
    # GIVEN a round (no message: nothing to read first but the number's item) whose first write loses a race
    limits, client = _stubbed_store()
    with Stubber(client) as stub:
        stub.add_response("get_item", {})
        stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException")
        stub.add_response("get_item", {})
        stub.add_response("put_item", {})

        # WHEN / THEN it reads again and is admitted
        limits.admit(PHONE, new_round=True, send=False)
        stub.assert_no_pending_responses()


class LosingClient:
    """A DynamoDB client with no item to read whose every write fails with ``error_code``."""

    def __init__(self, error_code: str) -> None:
        self.response: dict[str, Any] = {"Error": {"Code": error_code, "Message": "refused"}}
        self.writes = 0

    def get_item(self, **_kwargs: object) -> dict[str, Any]:
        return {}

    def put_item(self, **_kwargs: object) -> None:
        self.writes += 1
        raise ClientError(self.response, "PutItem")  # type: ignore[arg-type]


@pytest.mark.parametrize("error_code", ["ProvisionedThroughputExceededException", "ValidationException"])
def test_a_write_failure_that_is_not_a_lost_race_fails_closed_at_once(logs: Any, error_code: str) -> None:
    # GIVEN a write refused for another reason than a race
    client = LosingClient(error_code)
    limits = DynamoDbLimitStore("sms-otp-limits", DEFAULTS, client, FakeClock(), sleep=lambda _seconds: None)

    # WHEN / THEN refused at once (one write, no retry), as a failure of the store
    with pytest.raises(LimitStoreUnavailableError):
        limits.admit(PHONE, new_round=True, send=False)
    assert client.writes == 1
    assert [(record["message"], record["error_code"]) for record in logs.records() if record["level"] == "ERROR"] == [
        ("The limit store failed; nothing is sent", error_code)
    ]


def test_a_spent_budget_is_logged(aws: None, logs: Any) -> None:
    # GIVEN a budget of one message an hour, spent by another number
    limits = store(LimitPolicy(known_numbers_share_percent=0, stack_messages_per_hour=1))
    limits.admit(OTHER_PHONE, new_round=True, send=True)

    # WHEN / THEN the next message is refused, with a warning in the log
    with pytest.raises(BudgetExhaustedError):
        limits.admit(PHONE, new_round=True, send=True)
    assert [(record["level"], record["message"]) for record in logs.records()] == [
        ("WARNING", "The stack's hourly message budget is spent")
    ]


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


def test_state_is_read_consistently(aws: None) -> None:
    # GIVEN a store whose client expects a strongly consistent read (a stale read would let a race through)
    limits, client = _stubbed_store()
    with Stubber(client) as stub:
        stub.add_response("get_item", {}, {"TableName": "sms-otp-limits", "Key": {"pk": {"S": subject_key(PHONE)}}, "ConsistentRead": True})
        stub.add_response("put_item", {})

        # WHEN / THEN a round is admitted with that read
        limits.admit(PHONE, new_round=True, send=False)
        stub.assert_no_pending_responses()


class SteppingClock:
    """A monotonic clock that moves on by ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_lost_races_past_the_deadline_are_refused(logs: Any) -> None:
    # GIVEN every write losing its race, and a deadline 5 s away on a clock where each look takes a second
    client = LosingClient("ConditionalCheckFailedException")
    limits = DynamoDbLimitStore("sms-otp-limits", DEFAULTS, client, FakeClock(), sleep=lambda _seconds: None)
    deadline = Deadline(5.0, clock=SteppingClock(1.0))

    # WHEN / THEN refused once the deadline has passed (the clear in-time refusal), before the attempts run out
    with pytest.raises(DeadlineExceededError):
        limits.admit(PHONE, new_round=True, send=False, deadline=deadline)
    assert 0 < client.writes < WRITE_ATTEMPTS


class LowestDraw:
    """Stands in for the backoff's random source: records each range and draws its bottom (no real wait)."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, low: float, high: float) -> float:
        self.ranges.append((low, high))
        return low


def test_lost_races_back_off_with_jitter_doubling_from_10_ms_up_to_50(monkeypatch: pytest.MonkeyPatch, logs: Any) -> None:
    # GIVEN every write losing its race, and a recording random source
    draws = LowestDraw()
    monkeypatch.setattr(limits_module, "_BACKOFF", draws)
    slept: list[float] = []
    limits = DynamoDbLimitStore(
        "sms-otp-limits", DEFAULTS, LosingClient("ConditionalCheckFailedException"), FakeClock(), sleep=slept.append
    )

    # WHEN / THEN refused after every attempt lost (fail closed), having waited up to 10, 20, 40, then 50 ms between them
    with pytest.raises(LimitStoreUnavailableError):
        limits.admit(PHONE, new_round=True, send=False)
    assert draws.ranges == [(0, pytest.approx(min(0.005 * 2**attempt, 0.05))) for attempt in range(1, WRITE_ATTEMPTS)]
    assert slept == [0] * (WRITE_ATTEMPTS - 1)
    assert [record["message"] for record in logs.records() if record["level"] == "ERROR"] == [
        "The limit store stayed contended; nothing is sent"
    ]


class FailingBudgetOnce:
    """The moto client, except that the first update of a budget counter fails on DynamoDB's side."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **request: Any) -> Any:
        if request["Key"]["pk"]["S"].startswith("budget#") and not self.failed:
            self.failed = True
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "failed"}}, "UpdateItem")  # type: ignore[arg-type]
        return self._client.update_item(**request)


def test_a_store_failure_after_the_numbers_limits_gives_them_back(aws: None) -> None:
    # GIVEN the number's limits recorded, then the budget's update failing
    limits = store()
    limits.client = FailingBudgetOnce(limits.client)

    # WHEN a sign-in code is asked for
    # THEN it is refused (fail closed)
    with pytest.raises(LimitStoreUnavailableError):
        limits.admit(PHONE, new_round=True, send=True, number_range="+1415")

    # AND nothing stays taken: the person may ask again at once, and the range counts one code only
    limits.admit(PHONE, new_round=True, send=True, number_range="+1415")
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="sms-otp-limits")["Items"]
    assert sum(int(item.get("sent", {}).get("N", "0")) for item in items if item["pk"]["S"].startswith("pumping#")) == 1
