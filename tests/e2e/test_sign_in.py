"""Sign-up and sign-in through the emulator's Cognito, with the real triggers deployed by SAM."""

from __future__ import annotations

import pytest

from sms_otp.core.phone_numbers import INVALID_PHONE_NUMBER_MESSAGE
from sms_otp_client.auth import Challenge, PasswordlessClient, SignInError, Tokens
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import SandboxDeployment

from .conftest import sms_sent_to_phone

pytestmark = pytest.mark.e2e

CREATE_SOURCE = "CreateAuthChallenge_Authentication"


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def test_sign_up_then_sign_in_with_the_code(sandbox: SandboxDeployment, client: PasswordlessClient, signed_up: str, inbox: TestModeInbox):
    # GIVEN a confirmed user (auto-confirmed by Pre sign-up)
    # WHEN they start CUSTOM_AUTH and answer with the code from the inbox
    challenge = client.start(signed_up)
    message = inbox.wait_for_message(trigger_source=CREATE_SOURCE)
    result = client.answer(signed_up, challenge, message.code)

    # THEN Cognito issues tokens for that user, and the challenge showed only the masked number
    assert isinstance(result, Tokens)
    claims = result.id_token_claims()
    assert claims["phone_number"] == signed_up
    assert claims["aud"] == sandbox.outputs.user_pool_client_id
    assert claims["token_use"] == "id"
    assert challenge.destination == "+" + "*" * 7 + signed_up[-4:]
    assert challenge.delivery_medium == "SMS"
    assert message.text == f"Your sign-in code is {message.code}. It expires in 3 minutes. Do not share it with anyone."


def test_a_wrong_answer_then_the_right_one(client: PasswordlessClient, signed_up: str, inbox: TestModeInbox):
    # GIVEN a sign-in in progress
    challenge = client.start(signed_up)
    code = inbox.wait_for_message(trigger_source=CREATE_SOURCE).code

    # WHEN the first answer is wrong
    retry = client.answer(signed_up, challenge, _wrong(code))

    # THEN Cognito asks again, without sending a second code; the same code then signs in
    assert isinstance(retry, Challenge)
    assert inbox.drain() == []
    assert isinstance(client.answer(signed_up, retry, code), Tokens)


def test_too_many_wrong_answers_end_the_session(client: PasswordlessClient, signed_up: str, inbox: TestModeInbox):
    # GIVEN a sign-in in progress (MaxAttempts=3 in the sandbox)
    challenge = client.start(signed_up)
    code = inbox.wait_for_message(trigger_source=CREATE_SOURCE).code

    # WHEN three wrong answers are given
    for _ in range(2):
        next_challenge = client.answer(signed_up, challenge, _wrong(code))
        assert isinstance(next_challenge, Challenge)
        challenge = next_challenge
    with pytest.raises(SignInError) as failure:
        client.answer(signed_up, challenge, _wrong(code))

    # THEN the session fails with a clear sentence, and even the right code no longer works in it
    assert "start" in str(failure.value).lower()
    with pytest.raises(SignInError):
        client.answer(signed_up, challenge, code)


def test_test_mode_delivers_only_to_the_topic(sandbox: SandboxDeployment, client: PasswordlessClient, signed_up: str, inbox: TestModeInbox):
    # GIVEN the emulator records SMS published straight to a phone (checked with a control number)
    control = "+12025550199"
    sandbox.client("sns").publish(PhoneNumber=control, Message="control")
    assert len(sms_sent_to_phone(sandbox, control)) == 1

    # WHEN a code is sent
    client.start(signed_up)
    message = inbox.wait_for_message()

    # THEN it went to the topic with the recipient and trigger source attributes, and no SMS to the phone
    assert message.recipient == signed_up
    assert message.trigger_source == CREATE_SOURCE
    assert sms_sent_to_phone(sandbox, signed_up) == []


@pytest.mark.parametrize("invalid", ["+1415555012", "+99912345678", "+4412"])
def test_an_invalid_phone_number_is_refused_at_sign_up(client: PasswordlessClient, invalid: str):
    # GIVEN a phone number that is not a valid E.164 number
    # WHEN someone signs up with it
    with pytest.raises(SignInError) as refusal:
        client.sign_up(invalid)

    # THEN the Pre sign-up trigger's own message, which says what a valid number looks like, reaches the caller
    assert str(refusal.value) == INVALID_PHONE_NUMBER_MESSAGE
