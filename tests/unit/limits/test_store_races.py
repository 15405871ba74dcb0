"""The limit store under concurrency and failure: no item that every send writes, lost races, deadlines, back-off, giving back."""

from __future__ import annotations

import contextvars
import threading
from collections import Counter
from typing import Any

import boto3
import phonenumbers
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from sms_otp.core.errors import DeadlineExceededError, SmsOtpError
from sms_otp.core.phone_numbers import number_prefix
from sms_otp.core.settings import LimitPolicy
from sms_otp.core.time_budget import Deadline
from sms_otp.limits import store as limits_module
from sms_otp.limits.errors import BudgetExhaustedError, LimitStoreUnavailableError
from sms_otp.limits.keys import subject_key
from sms_otp.limits.store import DynamoDbLimitStore
from sms_otp.limits.table import WRITE_ATTEMPTS
from tests.testkit.atomic_requests import AtomicRequests
from tests.unit.limits.limits_kit import DEFAULTS, OTHER_PHONE, PHONE, FakeClock, store

pytestmark = pytest.mark.unit

# ---------------------------------------------------------------- no item that every send writes ---


# The invocation a request is made for: its writes run side by side in the store's threads, in a copy of its context.
INVOCATION: contextvars.ContextVar[str] = contextvars.ContextVar("invocation")


class RecordingWrites:
    """Atomic requests (see AtomicRequests) that also note, per invocation, the key of every item written."""

    def __init__(self, client: Any) -> None:
        self._atomic = AtomicRequests(client)
        self._lock = threading.Lock()
        self.written: dict[str, set[str]] = {}

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
                self.written.setdefault(INVOCATION.get(), set()).update(keys)
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
        INVOCATION.set(number)
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
