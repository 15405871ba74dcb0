"""The sign-in client: Cognito errors as one sentence, and the pieces that need no emulator."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from sms_otp_client import sandbox
from sms_otp_client.auth import decode_jwt_claims, explain, random_password
from sms_otp_client.inbox import InboxMessage
from sms_otp_client.sandbox import sandbox_parameter_overrides

pytestmark = pytest.mark.unit

TRIGGER_TEXT = "Enter a valid phone number in E.164 form (for example +14155550123)."


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "InitiateAuth")


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        pytest.param(
            client_error("UserLambdaValidationException", f"PreSignUp failed with error {TRIGGER_TEXT}"),
            TRIGGER_TEXT,
            id="AWS trigger error",
        ),
        pytest.param(
            client_error("UserLambdaValidationException", str({"errorMessage": TRIGGER_TEXT, "errorType": "Runtime.HandlerError"})),
            TRIGGER_TEXT,
            id="emulator trigger error",
        ),
        pytest.param(
            client_error("NotAuthorizedException", "Incorrect username or password."),
            "Sign-in failed: the code was wrong too many times, or the session ended. Start again to get a new code.",
            id="custom auth failed",
        ),
        pytest.param(
            client_error("NotAuthorizedException", "Max authentication attempts exceeded"),
            "Too many wrong codes: start signing in again to get a new code.",
            id="too many attempts",
        ),
        pytest.param(
            client_error("NotAuthorizedException", "Invalid session for the user, session is expired."),
            "The sign-in session has expired: start signing in again to get a new code.",
            id="session expired",
        ),
        pytest.param(
            client_error("NotAuthorizedException", "SignUp is not permitted for this user pool"),
            "This pool does not let people sign up themselves: an administrator creates the accounts.",
            id="sign-up with SelfSignUp=false",
        ),
        pytest.param(
            client_error("ForbiddenException", "Request not allowed due to WAF block."),
            "Too many requests from this address (the pool's web ACL blocked it): wait a few minutes and try again.",
            id="blocked by the web ACL",
        ),
        pytest.param(
            client_error("TooManyRequestsException", "Rate exceeded"),
            "Too many requests for now: wait a little and try again.",
            id="throttled",
        ),
        pytest.param(
            client_error("UsernameExistsException", "An account with the given phone_number already exists."),
            "That phone number already has an account: sign in instead.",
            id="already signed up",
        ),
        pytest.param(
            client_error("InvalidParameterException", "Invalid phone number format."),
            "Cognito answered InvalidParameterException: Invalid phone number format.",
            id="anything else: code and message",
        ),
        pytest.param(
            EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
            "Cannot reach the AWS endpoint (http://127.0.0.1:1); is it running?",
            id="no endpoint",
        ),
    ],
)
def test_cognito_errors_read_as_one_sentence(error: Exception, sentence: str) -> None:
    assert explain(error) == sentence


def test_random_passwords_meet_the_pool_policy_and_differ() -> None:
    passwords = {random_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert len(password) >= 12
        assert any(c.islower() for c in password)
        assert any(c.isupper() for c in password)
        assert any(c.isdigit() for c in password)
        assert any(not c.isalnum() for c in password)


def test_jwt_claims_are_decoded() -> None:
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "abc", "phone_number": "+14155550123"}).encode()).decode().rstrip("=")
    assert decode_jwt_claims(f"header.{payload}.signature") == {"sub": "abc", "phone_number": "+14155550123"}


@pytest.mark.parametrize(
    ("text", "code"),
    [("Your sign-in code is 012345. It expires in 3 minutes.", "012345"), ("Your verification code is 98765432.", "98765432")],
)
def test_the_inbox_finds_the_code_in_a_text(text: str, code: str) -> None:
    assert InboxMessage(text=text, recipient="+14155550123", trigger_source="x").code == code


def test_the_sandbox_deploys_for_this_machines_architecture() -> None:
    # GIVEN samconfig.toml's [sandbox] parameters / WHEN overridden for arm64
    overrides = sandbox_parameter_overrides("arm64")

    # THEN test mode stays on, the pumping guard is off (the emulator never reports a completed sign-in),
    # and exactly one architecture is passed
    assert "TestMode=true" in overrides
    assert "PumpingMinConversionPercent=0" in overrides
    assert [item for item in overrides if item.startswith("FunctionArchitecture=")] == ["FunctionArchitecture=arm64"]


def test_extra_sandbox_overrides_add_to_and_replace_samconfigs() -> None:
    # GIVEN samconfig.toml's [sandbox] parameters / WHEN a second stack adds one and replaces another
    overrides = sandbox_parameter_overrides("x86_64", {"PasswordSignIn": "true", "TestMode": "false"})

    # THEN each parameter is passed once, with the extra value
    names = [item.split("=", 1)[0] for item in overrides]
    assert len(names) == len(set(names))
    assert "PasswordSignIn=true" in overrides
    assert "TestMode=false" in overrides
    assert "Stage=dev" in overrides


class _DeployedError(Exception):
    """Stops deploy once it has run sam deploy."""


def test_the_sandbox_deploys_another_build_folder_when_given_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # GIVEN a sam deploy that only records its command
    commands: list[list[str]] = []

    def run(command: list[str], **_: object) -> None:
        commands.append(command)
        raise _DeployedError

    monkeypatch.setattr(sandbox, "_run", run)
    emulator = SimpleNamespace(endpoint_url="http://127.0.0.1:1", region="us-east-1")
    # WHEN the sandbox deploys a build folder of its own, then the shared one
    for built in (tmp_path / "copy", None):
        with pytest.raises(_DeployedError):
            sandbox.deploy(emulator, "x86_64", built=built)  # type: ignore[arg-type]
    # THEN the first deploy took that folder's template, the second the shared build's
    templates = [command[command.index("--template-file") + 1] for command in commands]
    assert templates == [str(tmp_path / "copy" / "template.yaml"), str(sandbox.build_dir("x86_64") / "template.yaml")]
