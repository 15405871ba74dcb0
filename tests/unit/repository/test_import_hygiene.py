"""Cold-start hygiene: a trigger that makes no AWS call loads no AWS SDK.

Each check runs in a fresh interpreter (this one has long since imported
everything), with the project's directories on PYTHONPATH as in Lambda.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
# The triggers' paths as in Lambda, and the repository's root for the shared fake context (which imports no SDK).
PYTHONPATH = os.pathsep.join([*(str(ROOT / directory) for directory in ("src/triggers", "layers/sms_otp", "client")), str(ROOT)])
DATA_CLASSES = "aws_lambda_powertools.utilities.data_classes"
WATCHED = ("boto3", "botocore.session", "botocore.client", "aws_encryption_sdk", "aws_xray_sdk", "phonenumbers", DATA_CLASSES)
AWS_SDK = {"boto3", "botocore.session", "botocore.client"}
INVOKE = """
from tests.testkit.lambda_context import FakeLambdaContext
event = json.load(open({event_path!r}))
{module_name}.lambda_handler(event, FakeLambdaContext())
"""


def modules_loaded_by(module_name: str, *, invoke_with: str | None = None, **environment: str) -> set[str]:
    """Import ``module_name`` in a fresh interpreter, invoke it once with ``invoke_with`` if given; return which of WATCHED it loaded."""
    invocation = INVOKE.format(event_path=str(ROOT / "events" / f"{invoke_with}.json"), module_name=module_name) if invoke_with else ""
    script = (
        f"import json, sys\nimport {module_name}\n{invocation}\nprint(json.dumps([name for name in {WATCHED!r} if name in sys.modules]))\n"
    )
    env = {**os.environ, "PYTHONPATH": PYTHONPATH, **environment}
    completed = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return set(json.loads(completed.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("module_name", "expected"),
    [
        pytest.param("define_auth_challenge", set(), id="define: no AWS SDK at all"),
        pytest.param("verify_auth_challenge", set(), id="verify: no AWS SDK at all"),
        pytest.param("pre_sign_up", set(), id="pre sign-up: no AWS SDK at all"),
        pytest.param("create_auth_challenge", AWS_SDK, id="create: SNS client, no Encryption SDK"),
        pytest.param("post_authentication", AWS_SDK, id="post authentication: Cognito client, no Encryption SDK"),
        pytest.param("custom_sms_sender", AWS_SDK | {"aws_encryption_sdk"}, id="custom SMS sender: the only one with the Encryption SDK"),
    ],
)
def test_each_trigger_loads_only_the_sdks_it_uses(module_name: str, expected: set[str]) -> None:
    # GIVEN tracing off (the default) / WHEN importing the trigger in a fresh interpreter
    loaded = modules_loaded_by(module_name, POWERTOOLS_TRACE_DISABLED="true")

    # THEN exactly the SDKs it needs were loaded; never X-Ray, never Powertools' event data classes,
    # and phonenumbers only on first use
    assert loaded == expected


@pytest.mark.parametrize(
    ("module_name", "event_name", "expected"),
    [
        pytest.param("define_auth_challenge", "define_auth_challenge_wrong_answer", set(), id="define: nothing it does not use"),
        pytest.param("verify_auth_challenge", "verify_auth_challenge", set(), id="verify: nothing it does not use"),
        pytest.param("pre_sign_up", "pre_sign_up", {"phonenumbers"}, id="pre sign-up: phonenumbers, to validate the number"),
    ],
)
def test_one_invocation_loads_only_what_the_trigger_uses(module_name: str, event_name: str, expected: set[str]) -> None:
    # GIVEN a fresh interpreter / WHEN the trigger is imported and invoked once with its sample event
    loaded = modules_loaded_by(module_name, invoke_with=event_name, POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_LOG_LEVEL="ERROR")

    # THEN the libraries it loaded are exactly those it uses
    assert loaded == expected


@pytest.mark.parametrize(
    ("module_name", "loads_xray"),
    [("define_auth_challenge", False), ("pre_sign_up", False), ("create_auth_challenge", True)],
)
def test_x_ray_is_loaded_only_by_traced_triggers_when_tracing_is_on(module_name: str, loads_xray: bool) -> None:
    loaded = modules_loaded_by(module_name, POWERTOOLS_TRACE_DISABLED="false")
    assert ("aws_xray_sdk" in loaded) is loads_xray
