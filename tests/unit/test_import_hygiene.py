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

ROOT = Path(__file__).resolve().parents[2]
PYTHONPATH = os.pathsep.join(str(ROOT / directory) for directory in ("src/triggers", "layers/sms_otp", "src"))
WATCHED = ("boto3", "botocore.session", "botocore.client", "aws_encryption_sdk", "aws_xray_sdk")
AWS_SDK = {"boto3", "botocore.session", "botocore.client"}


def modules_loaded_by(module_name: str, **environment: str) -> set[str]:
    """Import ``module_name`` in a fresh interpreter; return which of WATCHED it loaded."""
    script = f"import json, sys\nimport {module_name}\nprint(json.dumps([name for name in {WATCHED!r} if name in sys.modules]))\n"
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

    # THEN exactly the SDKs it needs were loaded, and never X-Ray
    assert loaded == expected


@pytest.mark.parametrize(
    ("module_name", "loads_xray"),
    [("define_auth_challenge", False), ("pre_sign_up", False), ("create_auth_challenge", True)],
)
def test_x_ray_is_loaded_only_by_traced_triggers_when_tracing_is_on(module_name: str, loads_xray: bool) -> None:
    loaded = modules_loaded_by(module_name, POWERTOOLS_TRACE_DISABLED="false")
    assert ("aws_xray_sdk" in loaded) is loads_xray
