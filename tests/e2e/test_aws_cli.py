"""The README's AWS CLI commands, run as written against the sandbox (the `aws` of .venv-awscli)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sms_otp_client.auth import decode_jwt_claims, random_password
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import PROJECT_ROOT, SandboxDeployment

pytestmark = pytest.mark.e2e

AWS = PROJECT_ROOT / ".venv-awscli" / "bin" / "aws"


def aws(environment: dict[str, str], *arguments: str) -> dict:
    """Run one AWS CLI command and return its JSON output."""
    result = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [str(AWS), *arguments, "--output", "json"], env=environment, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_the_readme_cli_commands_sign_in(sandbox: SandboxDeployment, sandbox_env: dict[str, str], phone_number: str, inbox: TestModeInbox):
    assert Path(AWS).exists(), "the AWS CLI is installed by `make venvs` in .venv-awscli"
    client_id = sandbox.outputs.user_pool_client_id

    # GIVEN a user signed up with the CLI
    signed_up = aws(
        sandbox_env,
        "cognito-idp", "sign-up",
        "--client-id", client_id,
        "--username", phone_number,
        "--password", random_password(),
        "--user-attributes", f"Name=phone_number,Value={phone_number}",
    )  # fmt: skip
    assert signed_up["UserConfirmed"] is True

    # WHEN they start CUSTOM_AUTH and answer with the code that arrived
    started = aws(
        sandbox_env,
        "cognito-idp", "initiate-auth",
        "--auth-flow", "CUSTOM_AUTH",
        "--client-id", client_id,
        "--auth-parameters", f"USERNAME={phone_number}",
    )  # fmt: skip
    assert started["ChallengeName"] == "CUSTOM_CHALLENGE"
    code = inbox.wait_for_message().code
    answered = aws(
        sandbox_env,
        "cognito-idp", "respond-to-auth-challenge",
        "--client-id", client_id,
        "--challenge-name", "CUSTOM_CHALLENGE",
        "--session", started["Session"],
        "--challenge-responses", f"USERNAME={phone_number},ANSWER={code}",
    )  # fmt: skip

    # THEN the CLI prints tokens for that phone number
    claims = decode_jwt_claims(answered["AuthenticationResult"]["IdToken"])
    assert claims["phone_number"] == phone_number
