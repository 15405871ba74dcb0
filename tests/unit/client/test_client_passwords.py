"""``sandbox --passwords`` prints the docs' password walk-through, for its own stack, after the lines that point it at the emulator."""

from __future__ import annotations

import pytest

from sms_otp_client.passwords import BEGIN_MARK, END_MARK, password_walk_through, password_walk_through_announcement
from sms_otp_client.sandbox import PASSWORD_STACK_NAME, SandboxDeployment
from sms_otp_client.stack import StackOutputs
from tests.testkit import docs

pytestmark = pytest.mark.unit

PASSWORDS_PAGE = docs.page("passwords-and-mfa.md")
DEPLOYMENT = SandboxDeployment(
    endpoint_url="http://127.0.0.1:45678",
    region="us-east-1",
    stack_name=PASSWORD_STACK_NAME,
    outputs=StackOutputs(
        user_pool_id="us-east-1_pool",
        user_pool_arn="arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_pool",
        user_pool_client_id="client",
        custom_sms_sender_function_name="sender",
        sms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
        test_mode_topic_arn=None,
    ),
)


def test_the_docs_show_the_walk_through_the_sandbox_prints():
    # GIVEN the docs' section on keeping passwords / THEN its bash block is the walk-through, word for word
    section = PASSWORDS_PAGE.split("## Walk-through with the AWS CLI\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    assert block == password_walk_through()
    assert 'make sandbox SANDBOX_ARGS="--passwords"' in section


def test_the_sandbox_prints_the_walk_through_for_its_stack_after_pointing_at_the_emulator():
    # GIVEN the password stack deployed into an emulator / WHEN the sandbox announces it
    printed = password_walk_through_announcement(DEPLOYMENT)

    # THEN between the marks: the emulator's endpoint and throw-away credentials, the CLI on PATH,
    # then the docs' commands with only the stack's name changed
    block = printed.split(BEGIN_MARK + "\n", 1)[1].split("\n" + END_MARK, 1)[0]
    environment, commands = block.split("\nSTACK=", 1)
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:45678 AWS_REGION=us-east-1" in environment
    assert "AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox" in environment
    assert 'export PATH="$PWD/.venv-awscli/bin:$PATH"' in environment
    assert f"STACK={commands}\n" == password_walk_through(PASSWORD_STACK_NAME)
    assert password_walk_through(PASSWORD_STACK_NAME).replace(PASSWORD_STACK_NAME, "cognito-sms-otp") == password_walk_through()
