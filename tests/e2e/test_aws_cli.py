"""The AWS CLI commands of the docs (your-app.md, passwords-and-mfa.md), run as written against the sandbox (the `aws` of .venv-awscli)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyotp
import pytest

from sms_otp_client.auth import decode_jwt_claims, random_password
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import PROJECT_ROOT, SandboxDeployment
from tests.testkit import docs

from .conftest import EMULATOR_SIGN_UP_CODE

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
        f"--password={random_password()}",  # a password may start with "-", which the CLI would take for an option
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


def readme_srp_snippet() -> str:
    """The Python passwords-and-mfa.md runs for the SRP step (the AWS CLI cannot compute SRP), exactly as written there."""
    walkthrough = docs.page("passwords-and-mfa.md")
    opening, closing = ".venv/bin/python - <<'EOF'\n", "\nEOF\n"
    assert walkthrough.count(opening) == 1
    return walkthrough.split(opening, 1)[1].split(closing, 1)[0]


def test_the_readme_password_walkthrough(password_sandbox: SandboxDeployment, sandbox_env: dict[str, str], phone_number: str):
    client_id = password_sandbox.outputs.user_pool_client_id
    password = random_password()
    environment = {
        **sandbox_env,
        "POOL_ID": password_sandbox.outputs.user_pool_id,
        "CLIENT_ID": client_id,
        "PHONE": phone_number,
        "PASSWORD": password,
    }

    def srp_sign_in() -> dict:
        result = subprocess.run(  # noqa: S603 - the project's interpreter and the docs' own code
            [str(PROJECT_ROOT / ".venv" / "bin" / "python"), "-"],
            input=readme_srp_snippet(),
            env=environment,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    # GIVEN a user who signed up with a password and confirmed it (the emulator sends no code and takes its fixed one)
    signed_up = aws(
        environment,
        "cognito-idp", "sign-up",
        "--client-id", client_id,
        "--username", phone_number,
        f"--password={password}",
        "--user-attributes", f"Name=phone_number,Value={phone_number}",
    )  # fmt: skip
    assert signed_up["UserConfirmed"] is False
    aws(
        environment,
        "cognito-idp", "confirm-sign-up",
        "--client-id", client_id,
        "--username", phone_number,
        "--confirmation-code", EMULATOR_SIGN_UP_CODE,
    )  # fmt: skip

    # WHEN they sign in by password and enrol an authenticator app with the access token
    access_token = srp_sign_in()["AuthenticationResult"]["AccessToken"]
    secret = aws(environment, "cognito-idp", "associate-software-token", "--access-token", access_token)["SecretCode"]
    app = pyotp.TOTP(secret)
    verified = aws(
        environment,
        "cognito-idp", "verify-software-token",
        "--access-token", access_token,
        "--user-code", app.now(),
        "--friendly-device-name", "phone",
    )  # fmt: skip
    assert verified["Status"] == "SUCCESS"
    aws(
        environment,
        "cognito-idp", "set-user-mfa-preference",
        "--access-token", access_token,
        "--software-token-mfa-settings", "Enabled=true,PreferredMfa=true",
    )  # fmt: skip

    # THEN the next password sign-in asks for the app's code, and the code gives tokens
    challenge = srp_sign_in()
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    answered = aws(
        environment,
        "cognito-idp", "respond-to-auth-challenge",
        "--client-id", client_id,
        "--challenge-name", "SOFTWARE_TOKEN_MFA",
        "--session", challenge["Session"],
        "--challenge-responses", f"USERNAME={phone_number},SOFTWARE_TOKEN_MFA_CODE={app.now()}",
    )  # fmt: skip
    assert decode_jwt_claims(answered["AuthenticationResult"]["IdToken"])["phone_number"] == phone_number
