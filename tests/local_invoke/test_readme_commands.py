"""The local-invoke commands of docs/local-development.md: run as written (the offline ones), or checked against what the client writes."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from sms_otp.sign_in.codes import IssuedCode
from sms_otp_client.docker_engine import DockerEngine
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.local_invoke import EVENTS_DIR
from sms_otp_client.sandbox import PROJECT_ROOT, SandboxDeployment
from tests.testkit.docs import page

from .conftest import sam_environment

pytestmark = pytest.mark.local_invoke

SECTION = page("local-development.md").split("\n## Sample events and `sam local invoke`\n", 1)[1].split("\n## ", 1)[0]
OFFLINE_PREFIX = ".venv-sam/bin/sam local invoke --config-file local-invoke/samconfig.toml "
OFFLINE_COMMANDS = [line for line in SECTION.splitlines() if line.startswith(OFFLINE_PREFIX)]
ONLINE_COMMANDS = [line for line in SECTION.splitlines() if line.startswith("sam local invoke ")]
CLIENT = PROJECT_ROOT / ".venv" / "bin" / "sms-otp"


def test_the_docs_show_both_paths() -> None:
    # GIVEN the docs' local-invoke section / THEN it has commands for both paths
    assert len(OFFLINE_COMMANDS) >= 2
    assert len(ONLINE_COMMANDS) >= 6


def test_the_online_commands_use_files_that_exist_or_are_made(local_invoke_dir: Path) -> None:
    # GIVEN the events and env vars the online commands name
    named = [Path(path) for command in ONLINE_COMMANDS for path in re.findall(r"(?:-e|--env-vars) (\S+)", command)]
    made = {path.name for path in (local_invoke_dir / "events").glob("*.json")} | {"env.json"}

    # THEN each is a file in events/, or one that `sms-otp make-events` / `env-vars` writes to local-invoke/
    for path in named:
        if path.parts[0] == "events":
            assert (PROJECT_ROOT / path).is_file(), path
        else:
            assert path.parts[0] == "local-invoke", path
            assert path.name in made, path


def run_documented_command(command: str, local_invoke_dir: Path, engine: DockerEngine, stack: SandboxDeployment) -> dict[str, object]:
    """Run a documented command with local-invoke/ standing for the tier's folder; return the function's answer."""
    arguments = [argument.replace("local-invoke/", f"{local_invoke_dir}/") for argument in shlex.split(command)]
    result = subprocess.run(  # noqa: S603 - the docs' own command
        arguments, cwd=PROJECT_ROOT, env=sam_environment(engine, stack), capture_output=True, text=True, check=False, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def test_the_offline_commands_work_as_written(
    local_invoke_dir: Path, engine: DockerEngine, stack: SandboxDeployment, inbox: TestModeInbox
) -> None:
    create, verify = OFFLINE_COMMANDS[:2]
    assert "CreateAuthChallengeFunction -e events/create_auth_challenge.json" in create
    assert "VerifyAuthChallengeFunction -e local-invoke/events/verify_auth_challenge.json" in verify
    inbox.drain()

    # WHEN the docs' Create command runs `sam local invoke` with the sandbox's SAM config file
    created = run_documented_command(create, local_invoke_dir, engine, stack)

    # THEN the function reached the emulator from its container: the code it sent is the one it hashed
    (message,) = inbox.drain()
    issued = IssuedCode.from_private_parameters(created["response"]["privateChallengeParameters"])  # type: ignore[index]
    assert issued is not None
    assert issued.matches(message.code)

    # WHEN the docs' Verify command runs on the event made for the sandbox
    verified = run_documented_command(verify, local_invoke_dir, engine, stack)

    # THEN the right code is accepted
    assert verified["response"] == {"answerCorrect": True}


def test_the_client_writes_the_env_vars_and_events_of_a_stack(local_invoke_dir: Path, stack: SandboxDeployment, tmp_path: Path) -> None:
    # GIVEN the deployed stack
    common = ["--stack", stack.stack_name, "--endpoint-url", stack.endpoint_url, "--region", stack.region]

    # WHEN `sms-otp env-vars` and `sms-otp make-events` write their files
    commands = (["env-vars", *common, "--out", str(tmp_path / "env.json")], ["make-events", *common, "--out", str(tmp_path / "events")])
    for command in commands:
        result = subprocess.run([str(CLIENT), *command], capture_output=True, text=True, check=False, timeout=120)  # noqa: S603
        assert result.returncode == 0, result.stderr

    # THEN they are the files the sandbox wrote for `sam local`: the same env vars, an event for each sample that needs one
    assert json.loads((tmp_path / "env.json").read_text()) == json.loads((local_invoke_dir / "env.json").read_text())
    written = sorted(path.name for path in (tmp_path / "events").glob("*.json"))
    assert written == sorted(path.name for path in (local_invoke_dir / "events").glob("*.json"))
    assert {name for name in written if (EVENTS_DIR / name).exists()} == set(written) - {"verify_auth_challenge_wrong_answer.json"}
