"""The command-line client: the typed code, the phone number, and one sentence for every way a run can end badly."""

from __future__ import annotations

import base64
import io
import json
import shlex
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, SSLError

from sms_otp_client import cli, sandbox
from sms_otp_client.auth import SignInError, Tokens
from sms_otp_client.phone import PhoneNumberError, normalise_phone_number
from sms_otp_client.progress import Progress
from sms_otp_client.stack import StackOutputs
from tests.testkit.docs import every_document

pytestmark = pytest.mark.unit

CODE = "424242"
WRONG = "000000"
PHONE = "+12025550143"
MASKED = "+*******0143"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:sms-otp-test-mode"


class FakeCognito:
    """Cognito's CUSTOM_AUTH as the template sets it up: a wrong answer gets a new challenge while attempts remain.

    After ``max_attempts`` wrong answers Define Auth Challenge fails the session,
    which Cognito reports as ``NotAuthorizedException``.
    """

    def __init__(self, max_attempts: int = 3) -> None:
        self.max_attempts = max_attempts
        self.answers: list[str] = []

    def initiate_auth(self, **_: Any) -> dict[str, Any]:
        self.answers.clear()
        return self._challenge()

    def respond_to_auth_challenge(self, ChallengeResponses: dict[str, str], **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.answers.append(ChallengeResponses["ANSWER"])
        if self.answers[-1] == CODE:
            payload = base64.urlsafe_b64encode(json.dumps({"phone_number": PHONE}).encode()).decode().rstrip("=")
            return {"AuthenticationResult": {"IdToken": f"h.{payload}.s", "AccessToken": "a", "ExpiresIn": 3600}}
        if len(self.answers) >= self.max_attempts:
            failure = {"Error": {"Code": "NotAuthorizedException", "Message": "Incorrect username or password."}}
            raise ClientError(failure, "RespondToAuthChallenge")
        return self._challenge()

    def _challenge(self) -> dict[str, Any]:
        return {
            "ChallengeName": "CUSTOM_CHALLENGE",
            "Session": f"session-{len(self.answers)}",
            "ChallengeParameters": {"CODE_DELIVERY_DESTINATION": MASKED, "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS"},
        }


class Typist:
    """Types the given lines at the prompts, then closes standard input."""

    def __init__(self, *lines: str) -> None:
        self.lines = list(lines)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)


FakeTokens = Tokens(id_token="h.e30.s", access_token="a", refresh_token=None, expires_in=3600)


def outputs(*, test_mode: bool, otp_length: int | None = None) -> StackOutputs:
    return StackOutputs(
        user_pool_id="us-east-1_pool",
        user_pool_arn="arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_pool",
        user_pool_client_id="client",
        custom_sms_sender_function_name="sender",
        sms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
        test_mode_topic_arn=TOPIC_ARN if test_mode else None,
        otp_length=otp_length,
    )


def sign_in_typing(
    cognito: FakeCognito, typist: Typist, stream: io.StringIO, *, test_mode: bool = False, otp_length: int | None = None
) -> Tokens:
    return cli.sign_in(
        cli.Clients(cognito, sns=None, sqs=None),
        outputs(test_mode=test_mode, otp_length=otp_length),
        PHONE,
        Progress(2, stream=stream),
        sign_up=False,
        wrong_first=False,
        read_inbox=False,
        read_code=typist,
        inbox_hint=".venv/bin/sms-otp inbox --stack s --endpoint-url http://127.0.0.1:4566",
    )


# ---------------------------------------------------------------- the typed code ---


def test_a_wrong_code_at_the_prompt_is_refused_and_asked_for_again() -> None:
    # GIVEN a person who types a wrong code, then the right one
    cognito, typist, stream = FakeCognito(), Typist(WRONG, CODE), io.StringIO()

    # WHEN they sign in at the prompt
    tokens = sign_in_typing(cognito, typist, stream)

    # THEN the wrong code is answered, they are told it is not right and asked again, and the right one signs in
    assert tokens.id_token_claims() == {"phone_number": PHONE}
    assert cognito.answers == [WRONG, CODE]
    assert typist.prompts == [f"Code sent for {MASKED}: ", "That code is not right; type it again: "]
    output = stream.getvalue()
    assert "Answer the code (RespondToAuthChallenge): done" in output
    assert "1 wrong code refused first" in output
    assert "right code" not in output


def test_the_prompt_asks_until_the_attempts_are_spent_then_says_so_in_one_sentence() -> None:
    # GIVEN a stack that allows 3 answers, and a person who only types wrong codes
    cognito, typist, stream = FakeCognito(max_attempts=3), Typist(WRONG, "111111", "222222", CODE), io.StringIO()

    # WHEN they sign in at the prompt
    with pytest.raises(SignInError) as failure:
        sign_in_typing(cognito, typist, stream)

    # THEN each of the 3 answers reached Cognito, the first two were followed by "not right", and the end is one sentence
    assert cognito.answers == [WRONG, "111111", "222222"]
    assert typist.prompts.count("That code is not right; type it again: ") == 2
    assert str(failure.value) == "Sign-in failed: the code was wrong too many times, or the session ended. Start again to get a new code."


def test_what_is_not_a_code_is_asked_for_again_without_spending_an_attempt() -> None:
    # GIVEN a person who presses Enter, then types letters, then the code
    cognito, typist = FakeCognito(), Typist("", "abc", f" {CODE} ")

    # WHEN they sign in at the prompt
    sign_in_typing(cognito, typist, io.StringIO())

    # THEN only the code reached Cognito
    assert cognito.answers == [CODE]
    assert typist.prompts[1:] == ["A code is digits only; type it again: "] * 2


def test_a_code_of_the_wrong_length_is_asked_for_again_without_spending_an_attempt() -> None:
    # GIVEN a stack whose codes have 6 digits, and a person who types 5, then 7, then the code
    cognito, typist = FakeCognito(), Typist("42424", "4242424", CODE)

    # WHEN they sign in at the prompt
    sign_in_typing(cognito, typist, io.StringIO(), otp_length=6)

    # THEN only the code reached Cognito, and the person was told the length twice
    assert cognito.answers == [CODE]
    assert typist.prompts[1:] == ["A code has 6 digits; type it again: "] * 2


def test_a_wrong_code_of_the_wrong_length_after_a_refusal_is_not_sent_either() -> None:
    # GIVEN a person who types a wrong code, then one digit too few, then the code
    cognito, typist = FakeCognito(), Typist(WRONG, "42424", CODE)

    # WHEN they sign in at the prompt
    sign_in_typing(cognito, typist, io.StringIO(), otp_length=6)

    # THEN the short one never reached Cognito
    assert cognito.answers == [WRONG, CODE]


@pytest.mark.parametrize("lines", [pytest.param((), id="at the first prompt"), pytest.param((WRONG,), id="after a wrong code")])
def test_standard_input_closed_at_the_prompt_ends_with_one_sentence(lines: tuple[str, ...]) -> None:
    # GIVEN standard input that closes before the right code is typed
    typist = Typist(*lines)

    # WHEN signing in at the prompt / THEN the error is one sentence, not an EOFError
    with pytest.raises(SignInError, match=r"^Standard input closed before a code was typed: run sign-in from a terminal"):
        sign_in_typing(FakeCognito(), typist, io.StringIO())


@pytest.mark.parametrize(
    ("test_mode", "said", "not_said"),
    [
        pytest.param(
            True,
            f"test mode, no SMS: the code for {MASKED} went to the test topic {TOPIC_ARN}; "
            "`.venv/bin/sms-otp inbox --stack s --endpoint-url http://127.0.0.1:4566` shows it if it was running before the code was sent",
            "sent by SMS",
            id="test mode",
        ),
        pytest.param(False, f"code sent by SMS to {MASKED}", "test topic", id="SMS"),
    ],
)
def test_the_client_says_where_the_code_went(test_mode: bool, said: str, not_said: str) -> None:
    # GIVEN a stack in test mode or not / WHEN signing in
    stream = io.StringIO()
    sign_in_typing(FakeCognito(), Typist(CODE), stream, test_mode=test_mode)

    # THEN the start step says where the code went, and nothing else
    assert said in stream.getvalue()
    assert not_said not in stream.getvalue()


# ---------------------------------------------------------------- the phone number ---


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        pytest.param("+12025550177", "+12025550177", id="E.164"),
        pytest.param("+1 202 555 0177", "+12025550177", id="spaces"),
        pytest.param(" +1 (202) 555-0177 ", "+12025550177", id="punctuation"),
        pytest.param("+44 (0)20 7946 0958", "+442079460958", id="trunk prefix"),
    ],
)
def test_a_phone_number_is_brought_to_e164(typed: str, e164: str) -> None:
    assert normalise_phone_number(typed) == e164


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        pytest.param("12345", "'12345' does not start with + and a country code", id="no plus"),
        pytest.param("+1 555", "'+1 555' is too short for a number with the country code +1.", id="too short"),
        pytest.param("+1 202 555 01777", "'+1 202 555 01777' is too long for a number with the country code +1.", id="too long"),
        pytest.param("+999 123", "'+999 123' does not start with a country code that exists", id="no such country"),
        pytest.param("+1 202 FLOWERS", "'+1 202 FLOWERS' holds characters other than digits after the +", id="letters"),
        pytest.param("+", "'+' has no digits", id="nothing"),
        pytest.param("+1 900 555 0123", "'+1 900 555 0123' cannot be used: Premium-rate and shared-cost numbers cannot", id="premium"),
    ],
)
def test_a_phone_number_the_triggers_would_refuse_is_refused_saying_what_is_wrong(typed: str, sentence: str) -> None:
    with pytest.raises(PhoneNumberError) as refusal:
        normalise_phone_number(typed)
    assert str(refusal.value).startswith(sentence)


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the command builds an AWS session or starts the emulator."""

    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("reached AWS or the emulator")

    monkeypatch.setattr(cli.boto3.session, "Session", forbidden)
    monkeypatch.setattr(cli, "Emulator", forbidden)
    monkeypatch.setattr(cli, "build", forbidden)


@pytest.mark.usefixtures("no_aws")
@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["sign-in", "--stack", "s", "--phone", "12345"], id="sign-in"),
        pytest.param(["sandbox", "--phone", "12345"], id="sandbox"),
    ],
)
def test_a_bad_phone_number_stops_the_command_before_any_aws_call_or_build(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN a command gets a number without + / THEN it exits with one sentence, having called nothing
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 1
    expected = "error: '12345' does not start with + and a country code: write it in E.164 form, such as +14155550123.\n"
    assert capsys.readouterr().err == expected


def test_a_rewritten_phone_number_is_announced_and_used(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a stack, and a sign-in that records the number it is given
    seen: list[str] = []

    def sign_in(_clients: object, _outputs: object, phone_number: str, *_: object, **__: object) -> Tokens:
        seen.append(phone_number)
        return FakeTokens

    monkeypatch.setattr(cli.StackOutputs, "load", lambda *_: outputs(test_mode=False))
    monkeypatch.setattr(cli, "sign_in", sign_in)

    # WHEN signing in with spaces in the number
    assert cli.main(["sign-in", "--stack", "s", "--phone", "+1 202 555 0177", "--region", "us-east-1"]) == 0

    # THEN the client says which number it uses, and uses it
    assert capsys.readouterr().out.startswith("Phone number +12025550177 (written as '+1 202 555 0177').\n")
    assert seen == ["+12025550177"]


# ---------------------------------------------------------------- one sentence, never a traceback ---


def test_an_endpoint_url_without_a_scheme_is_refused_by_the_argument_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sign-in", "--stack", "s", "--phone", PHONE, "--endpoint-url", "127.0.0.1:4566"])
    assert exit_.value.code == 2
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .endswith("argument --endpoint-url: '127.0.0.1:4566' is not a URL: write it with its scheme, such as http://127.0.0.1:4566")
    )


def test_no_region_is_one_sentence_that_names_the_option(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN no region anywhere (the unit tier's AWS configuration files are empty)
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    # WHEN signing in against a deployed stack
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sign-in", "--stack", "s", "--phone", PHONE])

    # THEN one sentence points at --region
    assert exit_.value.code == 1
    assert capsys.readouterr().err == "error: No AWS region is configured: pass --region (such as --region us-east-1), or set AWS_REGION.\n"


def test_ctrl_c_during_sign_in_exits_130_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a person who presses Ctrl-C while the client waits for AWS
    def interrupted(*_: object) -> StackOutputs:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.StackOutputs, "load", interrupted)

    # WHEN signing in / THEN the exit status is the conventional 130 and the message one line
    assert cli.main(["sign-in", "--stack", "s", "--phone", PHONE, "--region", "us-east-1"]) == 130
    assert capsys.readouterr().err == "\nSign-in interrupted.\n"


def test_the_inbox_command_named_at_the_prompt_is_the_stacks() -> None:
    # GIVEN a stack in the emulator, and one in AWS / WHEN the inbox command is written for each
    # THEN it names the stack, and the endpoint or region the sign-in was given
    assert cli.inbox_command("s", "http://127.0.0.1:4566") == ".venv/bin/sms-otp inbox --stack s --endpoint-url http://127.0.0.1:4566"
    assert cli.inbox_command("s", None, "eu-west-1") == ".venv/bin/sms-otp inbox --stack s --region eu-west-1"
    assert cli.parser().parse_args(cli.inbox_command("s", "http://127.0.0.1:4566").split()[1:]).run is cli.command_inbox


def test_print_tokens_prints_them_after_the_claims(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a sign-in that gives tokens
    tokens = Tokens(id_token="h.e30.s", access_token="access.token.jwt", refresh_token="refresh", expires_in=3600)
    monkeypatch.setattr(cli.StackOutputs, "load", lambda *_: outputs(test_mode=False))
    monkeypatch.setattr(cli, "sign_in", lambda *_, **__: tokens)

    # WHEN signing in with --print-tokens, and without
    assert cli.main(["sign-in", "--stack", "s", "--phone", PHONE, "--region", "us-east-1", "--print-tokens"]) == 0
    printed = capsys.readouterr().out
    assert cli.main(["sign-in", "--stack", "s", "--phone", PHONE, "--region", "us-east-1"]) == 0
    not_printed = capsys.readouterr().out

    # THEN each token is printed on a line of its own as a shell assignment, after the claims; and only when asked
    lines = printed.splitlines()
    assert lines[-3:] == ["ID_TOKEN=h.e30.s", "ACCESS_TOKEN=access.token.jwt", "REFRESH_TOKEN=refresh"]
    assert printed.index("ID token claims") < printed.index("ID_TOKEN=")
    assert "access.token.jwt" not in not_printed


def test_an_https_endpoint_that_speaks_http_is_one_sentence(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an endpoint written with https:// where the server speaks plain http (the SDK's SSLError, as botocore raises it)
    endpoint = "https://127.0.0.1:4566"

    def tls_refused(*_: object) -> StackOutputs:
        raise SSLError(endpoint_url=f"{endpoint}/", error=ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"))

    monkeypatch.setattr(cli.StackOutputs, "load", tls_refused)

    # WHEN a sign-in is pointed at it
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sign-in", "--stack", "s", "--phone", PHONE, "--endpoint-url", endpoint])

    # THEN one sentence says to write http://, not the SDK's words
    assert exit_.value.code == 1
    assert capsys.readouterr().err == (
        f"error: No TLS connection could be made to {endpoint}/ (it does not speak https, or its certificate is not trusted):"
        " the sandbox's emulator speaks plain http, so write its URL with http://.\n"
    )


def test_waiting_for_ctrl_c_returns_normally_when_it_comes(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a pause that is woken twice by other signals, then by Ctrl-C
    wakes = iter([None, None, KeyboardInterrupt()])

    def pause() -> None:
        wake = next(wakes)
        if wake is not None:
            raise wake

    # WHEN waiting / THEN the announcement is printed, and the wait ends without an exception, after the Ctrl-C
    cli.wait_for_ctrl_c("Press Ctrl-C to stop.", pause)
    assert next(wakes, "spent") == "spent"
    assert capsys.readouterr().out == "Press Ctrl-C to stop.\n"


# ---------------------------------------------------------------- two sandboxes at once ---


@pytest.fixture
def build_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "BUILD_LOCK", tmp_path / "sandbox-build.lock")


@pytest.mark.usefixtures("build_lock")
def test_a_second_build_waits_for_the_first_and_says_why() -> None:
    # GIVEN a build holding the build folder
    events: list[str] = []
    waiting = threading.Event()

    def second_build() -> None:
        with sandbox.build_folder_lock(on_wait=lambda message: (events.append(message), waiting.set())):
            events.append("second build")

    with sandbox.build_folder_lock(on_wait=events.append):
        # WHEN another build starts meanwhile
        worker = threading.Thread(target=second_build)
        worker.start()
        assert waiting.wait(timeout=30)
        events.append("first build done")
    worker.join(timeout=30)

    # THEN the second one said once why it waits, and built only after the first was done
    assert events == [
        "Another sandbox or test run is building in .aws-sam; waiting for it to deploy ...",
        "first build done",
        "second build",
    ]


@pytest.mark.usefixtures("build_lock")
def test_a_lone_build_does_not_wait() -> None:
    said: list[str] = []
    with sandbox.build_folder_lock(on_wait=said.append):
        pass
    with sandbox.build_folder_lock(on_wait=said.append):
        pass
    assert said == []


DOCUMENTED_COMMANDS = sorted(
    {
        line.strip().removeprefix(".venv/bin/")
        for text in every_document().values()
        for line in text.splitlines()
        if line.strip().startswith(".venv/bin/sms-otp ")
    }
)


def test_the_docs_show_the_client_by_the_name_it_answers_to() -> None:
    # GIVEN the client commands of the README and the docs / THEN there are some, and the client's usage names the same program
    assert DOCUMENTED_COMMANDS
    assert cli.parser().format_usage().startswith("usage: sms-otp ")


@pytest.mark.parametrize("command", DOCUMENTED_COMMANDS)
def test_every_client_command_in_the_docs_parses(command: str) -> None:
    # GIVEN a command line the README or a docs page shows / WHEN the client parses it / THEN it names a command the client has
    arguments = cli.parser().parse_args(shlex.split(command)[1:])
    assert callable(arguments.run)
