"""The template's Rules, enforced by the emulator's CloudFormation as AWS does: before anything is created."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sms_otp_client.sandbox import SandboxDeployment
from tests.e2e.conftest import sandbox_template_url

pytestmark = pytest.mark.e2e

STACK_NAME = "sms-otp-rules-check"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        pytest.param(
            {"Stage": "prod", "TestMode": "true", "AllowedCountryCodes": "1"},
            "TestMode=true cannot be deployed with Stage=prod; messages would never reach a phone.",
            id="TestModeIsNotForProduction",
        ),
        pytest.param(
            {"Stage": "prod", "TestMode": "false"},
            "Stage=prod needs AllowedCountryCodes; name the calling codes of your users' countries (such as 1,44), "
            "or write * to allow every country on purpose.",
            id="ProductionNamesItsCountries",
        ),
    ],
)
def test_a_parameter_set_a_rule_forbids_is_refused_before_anything_is_created(
    sandbox: SandboxDeployment, parameters: dict[str, str], message: str
):
    # GIVEN the packaged template sam deploy sent for the sandbox (code in the emulator's S3)
    cloudformation = sandbox.client("cloudformation")
    template_url = sandbox_template_url(sandbox)

    # WHEN a stack is created from it with a parameter set a rule forbids
    with pytest.raises(ClientError) as refusal:
        cloudformation.create_stack(
            StackName=STACK_NAME,
            TemplateURL=template_url,
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )

    # THEN CloudFormation refuses it with the rule's message, and no stack exists
    assert refusal.value.response["Error"]["Code"] == "ValidationError"
    assert message in refusal.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match="does not exist"):
        cloudformation.describe_stacks(StackName=STACK_NAME)
