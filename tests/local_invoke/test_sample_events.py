"""Every file in events/, and every event made for the stack, through `sam local` in a container, judged by its answer.

`sam local` answers a raised error as a payload with ``errorType``, so each
invocation is judged by what it returned, and by what it did: the message in the
test inbox, the phone marked verified in the pool.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import aws_encryption_sdk
import pytest
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy
from aws_encryption_sdk.key_providers.kms import KMSMasterKey

from sms_otp.core.phone_numbers import INVALID_PHONE_NUMBER_MESSAGE, PREMIUM_NUMBER_MESSAGE
from sms_otp.sign_in.codes import IssuedCode
from sms_otp_client.inbox import InboxMessage, TestModeInbox
from sms_otp_client.local_invoke import EVENTS_DIR
from sms_otp_client.sandbox import SandboxDeployment
from tests.testkit.docs import page

from .conftest import Invocation, LocalLambda

pytestmark = pytest.mark.local_invoke

FUNCTIONS = {
    "PreSignUp_": "PreSignUpFunction",
    "DefineAuthChallenge_": "DefineAuthChallengeFunction",
    "CreateAuthChallenge_": "CreateAuthChallengeFunction",
    "VerifyAuthChallengeResponse_": "VerifyAuthChallengeFunction",
    "PostAuthentication_": "PostAuthenticationFunction",
    "CustomSMSSender_": "CustomSmsSenderFunction",
}
CHALLENGE = {"challengeName": "CUSTOM_CHALLENGE", "issueTokens": False, "failAuthentication": False}
TOKENS = {"issueTokens": True, "failAuthentication": False}
FAILED = {"issueTokens": False, "failAuthentication": True}
CONFIRMED = {"autoConfirmUser": True, "autoVerifyPhone": False, "autoVerifyEmail": False}


def function_for(event_file: Path) -> str:
    trigger_source = json.loads(event_file.read_text())["triggerSource"]
    return next(function for prefix, function in FUNCTIONS.items() if trigger_source.startswith(prefix))


@pytest.fixture
def run(local_lambda: LocalLambda, inbox: TestModeInbox) -> Callable[[Path], tuple[Invocation, list[InboxMessage]]]:
    """Invoke the function of an event file; return its answer and the messages it sent."""

    def invoke(event_file: Path) -> tuple[Invocation, list[InboxMessage]]:
        inbox.drain()
        invocation = local_lambda.invoke(function_for(event_file), event_file)
        return invocation, inbox.drain()

    return invoke


# ------------------------------------------------------- the static files ---


def _sent_code_matches_private_parameters(invocation: Invocation, messages: list[InboxMessage]) -> None:
    (message,) = messages
    assert message.trigger_source == "CreateAuthChallenge_Authentication"
    issued = IssuedCode.from_private_parameters(invocation.response["privateChallengeParameters"])
    assert issued is not None
    assert issued.matches(message.code)


def _reuses_the_sessions_code(invocation: Invocation, messages: list[InboxMessage]) -> None:
    session = json.loads((EVENTS_DIR / "create_auth_challenge_second_round.json").read_text())["request"]["session"]
    assert invocation.response["challengeMetadata"] == session[-1]["challengeMetadata"]
    assert messages == []


def _stand_in_challenge_without_message(invocation: Invocation, messages: list[InboxMessage]) -> None:
    assert invocation.response["publicChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"
    assert messages == []


def _response(expected: dict[str, object]) -> Callable[[Invocation, list[InboxMessage]], None]:
    def judge(invocation: Invocation, messages: list[InboxMessage]) -> None:
        assert invocation.response == expected
        assert messages == []

    return judge


def _refused(error_type: str, text: str) -> Callable[[Invocation, list[InboxMessage]], None]:
    def judge(invocation: Invocation, messages: list[InboxMessage]) -> None:
        assert invocation.error_type == error_type
        assert invocation.payload["errorMessage"] == text
        assert messages == []

    return judge


def _sends_nothing(invocation: Invocation, messages: list[InboxMessage]) -> None:
    # The sender is invoked asynchronously: a code it cannot decrypt is logged, not raised (a retry cannot mend it).
    assert invocation.error_type is None, invocation.payload
    assert messages == []


def _warns_of_account_takeover(invocation: Invocation, messages: list[InboxMessage]) -> None:
    # Imported here: sms_otp.sending.custom_sms loads Powertools, which must not be configured before the unit tier is collected.
    from sms_otp.sending.custom_sms import ACCOUNT_TAKEOVER_MESSAGE

    assert invocation.error_type is None, invocation.payload
    assert [(message.trigger_source, message.text) for message in messages] == [
        ("CustomSMSSender_AccountTakeOverNotification", ACCOUNT_TAKEOVER_MESSAGE)
    ]


# What each file in events/ does when invoked as it is. Those that depend on the time or on
# the stack show it too: an expired code is refused, a placeholder ciphertext sends nothing.
STATIC_EXPECTATIONS: dict[str, Callable[[Invocation, list[InboxMessage]], None]] = {
    "define_auth_challenge_new_session": _response(CHALLENGE),
    "define_auth_challenge_right_answer": _response(TOKENS),
    "define_auth_challenge_srp": _response(FAILED),
    # Its code expired long ago: the sign-in fails (made for the stack, it is asked again).
    "define_auth_challenge_wrong_answer": _response(FAILED),
    "define_auth_challenge_user_not_found": _response(FAILED),
    "pre_sign_up": _response(CONFIRMED),
    "pre_sign_up_admin_create_user": _response(CONFIRMED),
    "pre_sign_up_invalid_phone": _refused("InvalidPhoneNumberError", INVALID_PHONE_NUMBER_MESSAGE),
    "pre_sign_up_premium_number": _refused("PhoneNumberNotAllowedError", PREMIUM_NUMBER_MESSAGE),
    "create_auth_challenge": _sent_code_matches_private_parameters,
    "create_auth_challenge_second_round": _reuses_the_sessions_code,
    "create_auth_challenge_user_not_found": _stand_in_challenge_without_message,
    # Issued in the past: expired, so wrong whatever the answer.
    "verify_auth_challenge": _response({"answerCorrect": False}),
    # A pool that does not exist here: the failure is logged and the sign-in goes on.
    "post_authentication": _response({}),
    "custom_sms_sender_account_take_over_notification": _warns_of_account_takeover,
    **{
        path.stem: _sends_nothing
        for path in EVENTS_DIR.glob("custom_sms_sender_*.json")
        if json.loads(path.read_text())["request"]["code"] is not None
    },
}


def test_every_sample_event_has_an_expectation() -> None:
    # GIVEN the files in events/ / THEN each is judged below, and nothing is judged that is not there
    assert sorted(STATIC_EXPECTATIONS) == sorted(path.stem for path in EVENTS_DIR.glob("*.json"))


@pytest.mark.parametrize("name", sorted(STATIC_EXPECTATIONS))
def test_sample_event_invokes_in_a_container(run: Callable[[Path], tuple[Invocation, list[InboxMessage]]], name: str) -> None:
    # GIVEN a file from events/, as it is
    event_file = EVENTS_DIR / f"{name}.json"

    # WHEN its function is invoked by `sam local`
    invocation, messages = run(event_file)

    # THEN it answers and sends what this file is for
    STATIC_EXPECTATIONS[name](invocation, messages)


def test_the_docs_document_the_pre_sign_up_refusals() -> None:
    # GIVEN the local-development page / THEN it quotes the refusals the invalid and premium samples get
    local_development = " ".join(page("local-development.md").split())
    assert INVALID_PHONE_NUMBER_MESSAGE in local_development
    assert PREMIUM_NUMBER_MESSAGE in local_development


# --------------------------------------------- the events made for the stack ---


def made(local_invoke_dir: Path, name: str) -> Path:
    return local_invoke_dir / "events" / f"{name}.json"


@pytest.mark.parametrize(("name", "answer_correct"), [("verify_auth_challenge", True), ("verify_auth_challenge_wrong_answer", False)])
def test_made_verify_event_answers_by_its_code(
    run: Callable[[Path], tuple[Invocation, list[InboxMessage]]], local_invoke_dir: Path, name: str, answer_correct: bool
) -> None:
    # GIVEN a Verify event with a code issued just now, answered rightly or wrongly
    # WHEN Verify is invoked by `sam local`
    invocation, _messages = run(made(local_invoke_dir, name))

    # THEN it says whether the answer is the code
    assert invocation.response == {"answerCorrect": answer_correct}


def test_made_define_event_asks_again_after_a_wrong_answer(
    run: Callable[[Path], tuple[Invocation, list[InboxMessage]]], local_invoke_dir: Path
) -> None:
    # GIVEN a session whose one answer (to a code issued just now) was wrong
    # WHEN Define is invoked by `sam local`
    invocation, _messages = run(made(local_invoke_dir, "define_auth_challenge_wrong_answer"))

    # THEN it asks for the code again
    assert invocation.response == CHALLENGE


def decrypt_made_code(stack: SandboxDeployment, ciphertext: str) -> str:
    """The plaintext of a made Custom SMS Sender code, read with the emulator's KMS (the test's oracle)."""
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
    plaintext, header = client.decrypt(
        source=base64.b64decode(ciphertext), key_provider=KMSMasterKey(key_id=stack.outputs.sms_key_arn, client=stack.client("kms"))
    )
    assert header.algorithm == Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384
    assert header.encryption_context["userpool-id"] == stack.outputs.user_pool_id
    return str(plaintext.decode())


MADE_SENDER_EVENTS = sorted(path for path in STATIC_EXPECTATIONS if STATIC_EXPECTATIONS[path] is _sends_nothing)


@pytest.mark.parametrize("name", MADE_SENDER_EVENTS)
def test_made_sender_event_delivers_its_trigger_sources_text(
    run: Callable[[Path], tuple[Invocation, list[InboxMessage]]],
    local_invoke_dir: Path,
    stack: SandboxDeployment,
    phone_number: str,
    name: str,
) -> None:
    from sms_otp.sending.custom_sms import sms_text  # here, not at the top: see _warns_of_account_takeover

    # GIVEN a Custom SMS Sender event whose code was encrypted as Cognito does, under the stack's key
    event_file = made(local_invoke_dir, name)
    event = json.loads(event_file.read_text())
    plaintext = decrypt_made_code(stack, event["request"]["code"])

    # WHEN the sender is invoked by `sam local`
    invocation, messages = run(event_file)

    # THEN the phone gets the text of that trigger source, with the decrypted code
    assert invocation.error_type is None, invocation.payload
    assert [(message.trigger_source, message.text) for message in messages] == [
        (event["triggerSource"], sms_text(event["triggerSource"], plaintext, phone_number))
    ]


def test_made_post_authentication_event_marks_the_phone_verified(
    run: Callable[[Path], tuple[Invocation, list[InboxMessage]]], local_invoke_dir: Path, stack: SandboxDeployment, phone_number: str
) -> None:
    # GIVEN a user of the stack's pool whose phone is not verified yet
    cognito = stack.client("cognito-idp")

    def phone_verified() -> str:
        user = cognito.admin_get_user(UserPoolId=stack.outputs.user_pool_id, Username=phone_number)
        return str({item["Name"]: item["Value"] for item in user["UserAttributes"]}.get("phone_number_verified", "false"))

    assert phone_verified() == "false"

    # WHEN Post Authentication is invoked by `sam local` with an event made for that user
    invocation, _messages = run(made(local_invoke_dir, "post_authentication"))

    # THEN the pool has the phone verified
    assert invocation.response == {}
    assert phone_verified() == "true"
