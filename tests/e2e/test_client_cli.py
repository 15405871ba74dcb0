"""The command-line client as a person runs it: typed codes against the sandbox stack, the local inbox, ``sandbox --keep``
ended by Ctrl-C, and ``sandbox --passwords`` with the walk-through it prints, run as printed."""

from __future__ import annotations

import json
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pyotp
import pytest

from sms_otp_client.auth import PasswordlessClient, Tokens, decode_jwt_claims
from sms_otp_client.inbox import CODE_PATTERN, TestModeInbox
from sms_otp_client.passwords import BEGIN_MARK, END_MARK
from sms_otp_client.sandbox import EMULATOR_SIGN_UP_CODE, PROJECT_ROOT, SandboxDeployment, build_folder_lock, sandbox_config

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

    # THEN the sandbox exits with status 0 and says the emulator stopped, which it has; it had named the local inbox,
    # and kept the emulator's log in .sandbox/
    assert process.wait(timeout=60) == 0
    assert output.rstrip().endswith("the emulator is stopped.")
    assert "Traceback" not in output
    assert "test mode, no SMS" in output
    assert f".venv/bin/sms-otp inbox --stack sms-otp-sandbox --endpoint-url {endpoint}" in output
    assert (PROJECT_ROOT / ".sandbox" / "emulator.log").stat().st_size > 0
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{endpoint}/_ministack/health", timeout=5)  # noqa: S310 - loopback


def test_the_inbox_prints_a_text_as_it_arrives_with_its_recipient_and_trigger_source(
    sandbox: SandboxDeployment, client: PasswordlessClient, signed_up: str, run_in_background: list[subprocess.Popen[str]]
):
    # GIVEN the local inbox following the sandbox's test topic for one number, written with spaces
    command = [sys.executable, "-m", "sms_otp_client", "inbox", "--stack", sandbox.stack_name, "--endpoint-url", sandbox.endpoint_url]
    spaced = f"{signed_up[:2]} {signed_up[2:5]} {signed_up[5:8]} {signed_up[8:]}"
    process = subprocess.Popen([*command, "--phone", spaced, "--count", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
    run_in_background.append(process)
    lines = _Lines(process)
    lines.wait_for("ask for a code now")

    # WHEN that number starts signing in
    challenge = client.start(signed_up)

    # THEN the inbox prints the text with the time, the recipient and the trigger source, then exits 0 (--count 1);
    # and the code it printed signs in
    heading = lines.wait_for(f"to {signed_up}  {CREATE_SOURCE}")
    text = lines.wait_for("Your sign-in code is")
    assert heading[:8].count(":") == 2
    assert process.wait(timeout=60) == 0
    match = CODE_PATTERN.search(text)
    assert match is not None
    assert isinstance(client.answer(signed_up, challenge, match.group(1)), Tokens)
    assert "Traceback" not in lines.rest()


@pytest.mark.usefixtures("sandbox")  # built once already: the sandbox below finds the build cache warm
def test_sandbox_passwords_prints_the_walk_through_and_its_commands_run_as_printed(run_in_background: list[subprocess.Popen[str]]):
    # GIVEN `sandbox --passwords` (its own emulator)
    process = subprocess.Popen(
        [sys.executable, "-m", "sms_otp_client", "sandbox", "--passwords"],
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run_in_background.append(process)
    lines = _Lines(process)
    lines.wait_for(BEGIN_MARK)
    lines.wait_for(END_MARK)
    printed = "".join(lines.seen)
    walk_through = printed[printed.index(BEGIN_MARK) : printed.index(END_MARK) + len(END_MARK)]
    assert "PasswordSignIn=true MfaConfiguration=ON" in printed

    # WHEN its commands run in bash as printed, from the project's folder on a machine with no AWS configuration,
    # typing a password, the emulator's sign-up code, and the authenticator app's codes once it shows the key
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    bash = subprocess.Popen(  # noqa: S603 - the sandbox's own commands
        ["/bin/bash", "-e", "-c", walk_through],
        cwd=PROJECT_ROOT,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run_in_background.append(bash)
    assert bash.stdin is not None
    bash.stdin.write(f"Correct-Horse-9-battery\n{EMULATOR_SIGN_UP_CODE}\n")
    bash.stdin.flush()
    steps = _Lines(bash)
    key = steps.wait_for("Enter this key in your authenticator app: ").rsplit(" ", 1)[1].strip()
    app = pyotp.TOTP(key)
    bash.stdin.write(f"{app.now()}\n{app.now()}\n")
    bash.stdin.close()
    output = steps.rest()

    # THEN every step succeeded: confirmed sign-up, tokens by password, the app enrolled, and tokens after its code
    assert bash.wait(timeout=120) == 0, output
    assert '"Status": "SUCCESS"' in output
    # The last command's answer is the last JSON document (the others were captured, or printed before it).
    last_answer = json.loads(output[output.rindex("\n{\n") + 1 :])
    assert decode_jwt_claims(last_answer["AuthenticationResult"]["IdToken"])["token_use"] == "id"

    # WHEN the person presses Ctrl-C / THEN the sandbox stops with status 0
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    assert lines.rest().rstrip().endswith("the emulator is stopped.")
