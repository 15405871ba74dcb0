"""The abuse limits in the sandbox deployment: the real Create trigger, and the emulator's DynamoDB."""

from __future__ import annotations

import threading

import pytest

from sms_otp.core.errors import SmsOtpError
from sms_otp.core.phone_numbers import PREMIUM_NUMBER_MESSAGE
from sms_otp.core.settings import LimitPolicy
from sms_otp_client.auth import PasswordlessClient, SignInError
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import SandboxDeployment

pytestmark = pytest.mark.e2e


def test_a_second_sign_in_at_once_gets_no_second_code(client: PasswordlessClient, signed_up: str, inbox: TestModeInbox):
    # GIVEN a sign-in that just sent a code
    client.start(signed_up)
    inbox.wait_for_message()

    # WHEN another sign-in starts at once (MinSecondsBetweenMessages=30)
    with pytest.raises(SignInError) as refusal:
        client.start(signed_up)

    # THEN it is refused with when to try again, and no second code arrives
    assert str(refusal.value).startswith("Too many codes were sent to this number. Please try again in ")
    assert inbox.drain() == []


def test_a_premium_rate_number_is_refused_at_sign_up(client: PasswordlessClient):
    with pytest.raises(SignInError) as refusal:
        client.sign_up("+19005550123")
    assert str(refusal.value) == PREMIUM_NUMBER_MESSAGE


def test_concurrent_sends_never_exceed_the_hourly_limit_in_the_emulators_dynamodb(
    sandbox: SandboxDeployment, phone_number: str, in_process_limits: None
):
    # Imported here, not at collection: sms_otp.limits builds Powertools' metrics on import, which must
    # happen under the unit tier's environment when both tiers are collected in one run.
    from sms_otp.limits.errors import SendLimitError
    from sms_otp.limits.store import DynamoDbLimitStore

    # GIVEN the deployed limits table, and 16 invocations asking at once for messages to one number (5 an hour)
    assert sandbox.outputs.limits_table_name is not None
    limits = DynamoDbLimitStore(sandbox.outputs.limits_table_name, LimitPolicy(min_seconds_between_messages=0), sandbox.client("dynamodb"))
    barrier = threading.Barrier(16)
    sent: list[bool] = []
    guard = threading.Lock()

    def ask() -> None:
        barrier.wait()
        for _ in range(2):
            try:
                limits.admit(phone_number, new_round=False, send=True)
                outcome = True
            except SendLimitError:
                outcome = False
            except SmsOtpError:
                outcome = False
            with guard:
                sent.append(outcome)

    # WHEN they run
    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN exactly five were admitted
    assert len(sent) == 32
    assert sent.count(True) == 5
