"""The command-line client as a person runs it: typed codes against the sandbox stack, and ``sandbox --keep`` ended by Ctrl-C."""

from __future__ import annotations

import queue
import shlex
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import PROJECT_ROOT, SandboxDeployment, build_folder_lock, sandbox_config

pytestmark = pytest.mark.e2e

CREATE_SOURCE = "CreateAuthChallenge_Authentication"
NOT_RIGHT = "That code is not right; type it again: "


def _max_attempts() -> int:
    overrides = dict(item.split("=", 1) for item in shlex.split(sandbox_config()["deploy"]["parameters"]["parameter_overrides"]))
    return int(overrides["MaxAttempts"])


def _wrong(code: str, offset: int = 1) -> str:
    return f"{(int(code) + offset) % 10 ** len(code):0{len(code)}d}"


def _sign_in(sandbox: SandboxDeployment, phone_number: str, stdin: int) -> subprocess.Popen[str]:
    """``sms-otp sign-in`` at the prompt, signing up first, against the session's sandbox stack."""
    command = [sys.executable, "-m", "sms_otp_client", "sign-in", "--stack", sandbox.stack_name]
    command += ["--endpoint-url", sandbox.endpoint_url, "--phone", phone_number, "--sign-up", "--prompt"]
    return subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603


def test_a_typed_wrong_code_is_refused_then_the_right_one_signs_in(sandbox: SandboxDeployment, phone_number: str, inbox: TestModeInbox):
    # GIVEN a person signing in at the prompt, who reads the code from the test topic (the first sign-in meets cold functions)
    process = _sign_in(sandbox, phone_number, subprocess.PIPE)
    code = inbox.wait_for_message(trigger_source=CREATE_SOURCE, timeout_seconds=90).code

    # WHEN they type a wrong code, then the right one
    out, err = process.communicate(f"{_wrong(code)}\n{code}\n", timeout=120)

    # THEN the wrong one is called not right once, the right one signs in, and the client said where the code went
    assert (process.returncode, err) == (0, "")
    assert out.count(NOT_RIGHT) == 1
    assert "1 wrong code refused first" in out
    assert f"went to the test topic {sandbox.outputs.test_mode_topic_arn}" in out
    assert "sent by SMS" not in out
    assert f"phone_number             {phone_number}" in out


def test_typed_wrong_codes_are_asked_again_until_max_attempts_then_end_in_one_sentence(
    sandbox: SandboxDeployment, phone_number: str, inbox: TestModeInbox
):
    # GIVEN a person signing in at the prompt, and the stack's MaxAttempts
    attempts = _max_attempts()
    process = _sign_in(sandbox, phone_number, subprocess.PIPE)
    code = inbox.wait_for_message(trigger_source=CREATE_SOURCE, timeout_seconds=90).code

    # WHEN they type one more wrong code than the attempts allow
    wrong_codes = "".join(f"{_wrong(code, offset)}\n" for offset in range(1, attempts + 2))
    out, err = process.communicate(wrong_codes, timeout=120)

    # THEN they are asked again after each wrong code but the last allowed, and Cognito's refusal is one sentence
    assert out.count(NOT_RIGHT) == attempts - 1
    assert err == "error: Sign-in failed: the code was wrong too many times, or the session ended. Start again to get a new code.\n"
    assert process.returncode == 1


def test_standard_input_closed_at_the_prompt_is_one_sentence(sandbox: SandboxDeployment, phone_number: str):
    # GIVEN no terminal: standard input is closed / WHEN signing in at the prompt
    process = _sign_in(sandbox, phone_number, subprocess.DEVNULL)
    _, err = process.communicate(timeout=120)

    # THEN the error is one sentence, not an EOFError
    assert err.startswith("error: Standard input closed before a code was typed")
    assert err.count("\n") == 1
    assert process.returncode == 1


class _Lines:
    """The lines a process prints, read on a thread so the test can wait for one without blocking forever."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout
        threading.Thread(target=lambda: [*map(self._queue.put, stdout), self._queue.put(None)], daemon=True).start()

    def wait_for(self, text: str) -> str:
        while (line := self._queue.get(timeout=300)) is not None:
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"the process ended without printing {text!r}:\n{''.join(self.seen)}")

    def rest(self) -> str:
        while (line := self._queue.get(timeout=60)) is not None:
            self.seen.append(line)
        return "".join(self.seen)


@pytest.fixture
def run_in_background() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end is stopped."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


@pytest.mark.usefixtures("sandbox")  # built once already: the sandbox below finds the build cache warm
def test_sandbox_keep_waits_its_turn_to_build_and_stops_on_ctrl_c_with_exit_status_0(run_in_background: list[subprocess.Popen[str]]):
    # GIVEN a build in progress in this checkout (the lock held here)
    with build_folder_lock():
        # WHEN `sandbox --keep` starts meanwhile (its own emulator)
        process = subprocess.Popen(
            [sys.executable, "-m", "sms_otp_client", "sandbox", "--keep"],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        run_in_background.append(process)
        lines = _Lines(process)
        # THEN it says it waits for the build folder, and waits
        lines.wait_for("waiting for it to deploy")
    # AND once the folder is free it builds, deploys, signs in and keeps the emulator running
    endpoint = lines.wait_for("The emulator keeps running at").split(" at ", 1)[1].split(";", 1)[0]

    # WHEN the person presses Ctrl-C
    process.send_signal(signal.SIGINT)
    output = lines.rest()

    # THEN the sandbox exits with status 0 and says the emulator stopped, which it has
    assert process.wait(timeout=60) == 0
    assert output.rstrip().endswith("the emulator is stopped.")
    assert "Traceback" not in output
    assert "test mode, no SMS" in output
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{endpoint}/_ministack/health", timeout=5)  # noqa: S310 - loopback
