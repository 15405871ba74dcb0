"""End to end in the local sandbox: InitiateAuth to tokens, with the code read from the test-mode inbox.

The emulator (ministack) is started on a free loopback port; the benchmark's own
build (``.aws-sam/bench-build``) is deployed into it with the sandbox's settings,
as a stack of its own, so nothing the sandbox or the e2e tier uses is touched.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

from bench.common import ROOT, build_dir, ensure_output_dir, median, note, table

STACK_NAME = "sms-otp-bench"


def _deploy(emulator: Any) -> Any:
    from sms_otp_client.sandbox import (  # noqa: PLC0415 - the project's own client, on PYTHONPATH (see the Makefile)
        SANDBOX_ACCESS_KEY,
        SANDBOX_CONFIG_ENV,
        SANDBOX_SECRET_KEY,
        SandboxDeployment,
        coerce_client_numbers,
        machine_architecture,
        sam_executable,
        sandbox_environment,
        sandbox_parameter_overrides,
    )
    from sms_otp_client.stack import StackOutputs  # noqa: PLC0415

    environment = sandbox_environment(emulator.endpoint_url, emulator.region)
    log_path = ensure_output_dir() / "sam-deploy.log"
    command = [
        str(sam_executable()),
        "deploy",
        "--config-file",
        str(ROOT / "samconfig.toml"),
        "--config-env",
        SANDBOX_CONFIG_ENV,
        "--stack-name",
        STACK_NAME,
        "--template-file",
        str(build_dir() / "template.yaml"),
        "--region",
        emulator.region,
        "--no-progressbar",
        "--parameter-overrides",
        *sandbox_parameter_overrides(machine_architecture()),
    ]
    with log_path.open("wb") as log:
        completed = subprocess.run(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if completed.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"sam deploy failed (exit {completed.returncode}); log: {log_path}\n{tail}")
    import boto3  # noqa: PLC0415

    session = boto3.session.Session(
        aws_access_key_id=SANDBOX_ACCESS_KEY, aws_secret_access_key=SANDBOX_SECRET_KEY, region_name=emulator.region
    )
    outputs = StackOutputs.load(session.client("cloudformation", endpoint_url=emulator.endpoint_url), STACK_NAME)
    coerce_client_numbers(session.client("cognito-idp", endpoint_url=emulator.endpoint_url), outputs)
    return SandboxDeployment(endpoint_url=emulator.endpoint_url, region=emulator.region, stack_name=STACK_NAME, outputs=outputs)


def _sign_in(client: Any, inbox: Any, phone_number: str, *, first: bool) -> dict[str, Any]:
    """One timed sign-in: InitiateAuth, the code from the inbox, RespondToAuthChallenge, tokens."""
    from sms_otp_client.auth import Tokens  # noqa: PLC0415

    began = time.perf_counter()
    challenge = client.start(phone_number)
    initiated = time.perf_counter()
    message = inbox.wait_for_message(trigger_source="CreateAuthChallenge_Authentication", timeout_seconds=30)
    received = time.perf_counter()
    answer = client.answer(phone_number, challenge, message.code)
    finished = time.perf_counter()
    if not isinstance(answer, Tokens):
        raise RuntimeError("the right code did not give tokens")
    return {
        "first": first,
        "initiate_auth_ms": (initiated - began) * 1000,
        "inbox_ms": (received - initiated) * 1000,
        "respond_ms": (finished - received) * 1000,
        "total_ms": (finished - began) * 1000,
    }


def run_e2e(*, sign_ins: int) -> dict[str, Any]:
    from sms_otp_client.auth import PasswordlessClient  # noqa: PLC0415
    from sms_otp_client.emulator import Emulator  # noqa: PLC0415
    from sms_otp_client.inbox import TestModeInbox  # noqa: PLC0415
    from sms_otp_client.sandbox import emulator_python  # noqa: PLC0415

    results: dict[str, Any] = {"sign_ins": []}
    # The SDK clients below must reach only the emulator, whatever this shell holds.
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("AWS_")}
    try:
        started = time.perf_counter()
        with Emulator(emulator_python(), log_path=ensure_output_dir() / "emulator.log") as emulator:
            results["emulator_start_s"] = time.perf_counter() - started
            note("e2e: sam deploy into the emulator")
            started = time.perf_counter()
            deployment = _deploy(emulator)
            results["deploy_s"] = time.perf_counter() - started
            outputs = deployment.outputs
            if outputs.test_mode_topic_arn is None:
                raise RuntimeError("the sandbox stack was deployed without test mode")
            client = PasswordlessClient(deployment.client("cognito-idp"), outputs.user_pool_client_id)
            for index in range(1 + sign_ins):
                # A person of their own for each sign-in: the per-number send limits allow one code per 30 s.
                phone_number = f"+120255501{50 + index:02d}"
                inbox = TestModeInbox.create(
                    sqs=deployment.client("sqs"),
                    sns=deployment.client("sns"),
                    topic_arn=outputs.test_mode_topic_arn,
                    recipient=phone_number,
                )
                try:
                    client.sign_up(phone_number)
                    note(f"e2e: sign-in {index + 1}/{1 + sign_ins}" + (" (first: cold functions)" if index == 0 else ""))
                    results["sign_ins"].append(_sign_in(client, inbox, phone_number, first=index == 0))
                finally:
                    inbox.delete()
    finally:
        os.environ.update(saved)
    measured = [item for item in results["sign_ins"] if not item["first"]]
    results["median"] = {
        key: median([item[key] for item in measured]) for key in ("initiate_auth_ms", "inbox_ms", "respond_ms", "total_ms")
    }
    results["first"] = next((item for item in results["sign_ins"] if item["first"]), None)
    results["n"] = len(measured)
    return results


def render_e2e(results: dict[str, Any]) -> str:
    rows = []
    first = results.get("first")
    if first:
        rows.append(
            ["first sign-in (functions cold)", 1, first["initiate_auth_ms"], first["inbox_ms"], first["respond_ms"], first["total_ms"]]
        )
    median_values = results["median"]
    rows.append(
        [
            f"median of the next {results['n']}",
            results["n"],
            median_values["initiate_auth_ms"],
            median_values["inbox_ms"],
            median_values["respond_ms"],
            median_values["total_ms"],
        ]
    )
    return table(
        "End to end in the sandbox (ministack, 127.0.0.1): InitiateAuth -> code from the test-mode inbox -> Respond -> tokens",
        ["sign-in", "n", "InitiateAuth ms", "inbox ms", "RespondToAuthChallenge ms", "total ms"],
        rows,
        notes=[
            f"emulator start {results['emulator_start_s']:.1f} s, sam deploy {results['deploy_s']:.1f} s (not part of the timings).",
            "InitiateAuth runs Define + Create (limits, SNS publish); Respond runs Verify + Define.",
            "The emulator never calls Post Authentication.",
            "inbox: SQS long poll on a queue subscribed to the test topic (includes the emulator's SNS->SQS delivery).",
        ],
    )
