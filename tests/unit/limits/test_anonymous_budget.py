"""The stack's budget cannot be spent by anyone without an account, and an unknown user is refused exactly when a real one is."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from sms_otp.limits.errors import BudgetExhaustedError
from sms_otp.sign_in.custom_auth import LatencyMimic
from tests.testkit.events import Event, EventLoader

pytestmark = pytest.mark.unit


# Names with no account: numbers (the usual case in a phone-number pool), and names that are no number at all.
UNKNOWN_NAMES = [*(f"+1202555{n:04d}" for n in range(150, 157)), "alice", "someone@example.com", "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"]


@pytest.fixture
def create(aws: None, sns_outbox: Any, load_handler: Callable[..., ModuleType], monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Create Auth Challenge with a budget of 3 messages an hour for the whole stack."""
    module = load_handler("create_auth_challenge", STACK_MESSAGES_PER_HOUR="3")
    monkeypatch.setattr(module, "LATENCY", LatencyMimic(sleep=lambda _seconds: None))
    return module


def unknown(load_event: EventLoader, name: str) -> Event:
    event = load_event("create_auth_challenge_user_not_found")
    event["userName"] = name
    return event


def real(load_event: EventLoader, phone_number: str) -> Event:
    event = load_event("create_auth_challenge")
    event["request"]["userAttributes"]["phone_number"] = phone_number
    return event


def test_ten_sign_ins_for_unknown_names_leave_the_budget_to_the_next_real_user(
    *, create: ModuleType, sns_outbox: Any, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN a budget of 3, and 10 sign-ins for names with no account (7 numbers, 3 names that are no number)
    for name in UNKNOWN_NAMES:
        event = unknown(load_event, name)
        create.lambda_handler(event, lambda_context)
        # each answered as a real user would be: a challenge with a masked destination
        assert set(event["response"]["publicChallengeParameters"]) == {"CODE_DELIVERY_DELIVERY_MEDIUM", "CODE_DELIVERY_DESTINATION"}

    # WHEN three real users sign in
    for phone_number in ("+14155550101", "+14155550102", "+14155550103"):
        create.lambda_handler(real(load_event, phone_number), lambda_context)

    # THEN all three got their codes: the unknown names spent none of the budget
    assert len(sns_outbox.topic_messages()) == 3


def test_once_real_users_spent_the_budget_an_unknown_user_is_refused_with_the_same_sentence(
    *, create: ModuleType, sns_outbox: Any, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN the budget spent by three real users
    for phone_number in ("+14155550101", "+14155550102", "+14155550103"):
        create.lambda_handler(real(load_event, phone_number), lambda_context)

    # WHEN a fourth real user, a number with no account and a name that is no number sign in
    refusals = []
    for event in (real(load_event, "+14155550104"), unknown(load_event, "+12025550160"), unknown(load_event, "alice")):
        with pytest.raises(BudgetExhaustedError) as refusal:
            create.lambda_handler(event, lambda_context)
        refusals.append(str(refusal.value))

    # THEN all three read the same refusal: nothing tells the unknown ones apart
    assert refusals == ["We cannot send more codes right now. Please try again in an hour."] * 3
    assert len(sns_outbox.topic_messages()) == 3
