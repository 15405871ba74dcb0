"""The real-account smoke script (`make smoke-aws`), run against the emulator so that it stays working.

The same steps a person runs against a scratch pool in their own account: attach in
Passwordless mode and test mode, sign up and sign in by code, update to
CustomSmsSender mode, delete, and compare DescribeUserPool and GetUserPoolMfaConfig
with what they were. Only the deployer and the sign-up code differ (the emulator
sends no sign-up code and takes any).
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pytest

from sms_otp_client.emulator import Emulator
from sms_otp_client.existing_pool import EMULATOR_SIGN_UP_CODE, create_distinctive_pool
from sms_otp_client.sandbox import SandboxDeployment, deploy, machine_architecture
from sms_otp_client.smoke_aws import SmokeTarget, run_smoke
from sms_otp_client.stack import StackOutputs

pytestmark = pytest.mark.e2e


def test_the_smoke_script_gives_the_pool_back_exactly(emulator: Emulator, sandbox: SandboxDeployment, phone_number: str) -> None:
    # GIVEN a scratch pool made out of band, and the smoke script pointed at the emulator
    pool = create_distinctive_pool(sandbox.client, "scratch")

    def deploy_stack(stack_name: str, parameters: Mapping[str, str]) -> StackOutputs:
        return deploy(emulator, machine_architecture(), stack_name=stack_name, overrides=parameters).outputs

    target = SmokeTarget(
        client=sandbox.client, deploy=deploy_stack, sign_up_code=lambda _inbox: EMULATOR_SIGN_UP_CODE, delete_wait_seconds=1
    )
    printed = io.StringIO()

    # WHEN it runs the whole round trip
    status = run_smoke(target, stack_name="sms-otp-smoke", user_pool_id=pool.user_pool_id, phone_number=phone_number, stream=printed)

    # THEN it found no difference in the pool, and said so
    print(printed.getvalue())  # noqa: T201 - the script's own report, with -s
    assert status == 0, printed.getvalue()
    assert "the pool reads exactly as before" in printed.getvalue()


def test_the_smoke_script_refuses_to_run_without_a_stack_name(sandbox: SandboxDeployment) -> None:
    target = SmokeTarget(client=sandbox.client, deploy=lambda *_: pytest.fail("deployed"), sign_up_code=lambda _inbox: "")
    with pytest.raises(ValueError, match="explicit stack name"):
        run_smoke(target, stack_name="", user_pool_id="us-east-1_Whatever1", phone_number="+14155550100")
