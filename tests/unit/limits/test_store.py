"""The limit store in moto: refusals, the lockout, the budget, failures that fail closed, what is counted and logged."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from sms_otp.core.settings import LimitPolicy
from sms_otp.limits.errors import BudgetExhaustedError, LimitStoreUnavailableError, LockedOutError, SendLimitError
from sms_otp.limits.keys import subject_key
from sms_otp.limits.store import DynamoDbLimitStore
from tests.testkit.atomic_requests import AtomicRequests
from tests.testkit.metrics import metric_dimensions
from tests.unit.limits.limits_kit import DEFAULTS, OTHER_PHONE, PHONE, FakeClock, store

pytestmark = pytest.mark.unit

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
        pytest.param(
            LimitPolicy(min_seconds_between_messages=0, max_messages_per_hour=50, max_messages_per_day=50, stack_messages_per_hour=1000),
            50,
            id="50 a day",
        ),
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


class AlwaysLosing:
    """The moto client, except that another invocation always changed the number's item just before our write."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **request: Any) -> Any:
        if request["Item"]["pk"]["S"].startswith("subject#"):
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "lost"}}, "PutItem")  # type: ignore[arg-type]
        return self._client.put_item(**request)


def test_a_store_that_stays_contended_refuses_and_alerts(aws: None, logs: Any) -> None:
    # GIVEN every write of the number's item losing its race (another invocation always changed the item first)
    limits = store()
    limits.client = AlwaysLosing(limits.client)

    # WHEN a message is asked for
    with pytest.raises(LimitStoreUnavailableError):
        limits.admit(PHONE, new_round=True, send=True)

    # THEN it is refused (fail closed), logged, and the alarm's metric is emitted
    assert [record["message"] for record in logs.records() if record["level"] == "ERROR"] == [
        "The limit store stayed contended; nothing is sent"
    ]
    assert '"LimitStoreFailures":[1.0]' in logs.stdout
    # AND each attempt gave back the budget it took beside its lost write
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="sms-otp-limits")["Items"]
    assert sum(int(item.get("sent", {}).get("N", "0")) for item in items) == 0


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
