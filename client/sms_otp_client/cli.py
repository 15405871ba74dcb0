"""Command line: ``sign-in`` against a deployed stack, ``sandbox`` for the local demo, and what ``sam local invoke`` needs.

- ``inbox`` prints every text a test-mode stack sends, as it arrives;
- ``env-vars`` writes the ``--env-vars`` file of a deployed stack;
- ``make-events`` writes the sample events that depend on the time or on the stack;
- ``base-image`` loads the offline Lambda base image into Docker (where SAM cannot pull the official one).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import boto3
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from sms_otp_client.auth import Challenge, PasswordlessClient, SignInError, Tokens, explain
from sms_otp_client.base_image import load_base_image, official_tag
from sms_otp_client.credentials import CredentialsError, caller_identity, sts_client
from sms_otp_client.docker_engine import DockerEngine, LocalContainerError, usable_engine
from sms_otp_client.emulator import LOOPBACK, Emulator, EmulatorError
from sms_otp_client.existing_pool import run_existing_pool_sandbox
from sms_otp_client.inbox import InboxTimeoutError, TestModeInbox, format_message
from sms_otp_client.local_invoke import (
    LOCAL_INVOKE_DIR,
    SAMPLE_PHONE_NUMBER,
    different_code,
    prepare_sandbox,
    write_env_vars,
    write_made_events,
)
from sms_otp_client.passwords import password_walk_through_announcement
from sms_otp_client.phone import PhoneNumberError, normalise_phone_number
from sms_otp_client.progress import Progress
from sms_otp_client.sandbox import (
    EMULATOR_LOG,
    PASSWORD_STACK_NAME,
    PASSWORD_STACK_OVERRIDES,
    PROJECT_ROOT,
    SANDBOX_DIR,
    SandboxDeployment,
    SandboxError,
    build,
    build_folder_lock,
    deploy,
    emulator_clients,
    emulator_python,
    machine_architecture,
    sandbox_environment,
)
from sms_otp_client.stack import StackNotFoundError, StackOutputs
from sms_otp_client.web import PhonePanel, WebExampleServer, page_config

DESCRIPTION = "Sign in with a code against a deployed stack, run the local sandbox, and prepare `sam local invoke`."
DEFAULT_SANDBOX_PHONE = "+12025550143"
SIGN_IN_STEPS = 6
# Reads one line typed by the person signing in (``input``, or a test's script).
CodeReader = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Clients:
    """The AWS clients a sign-in needs."""

    cognito: Any
    sns: Any
    sqs: Any


def _ask_for_code(read_code: CodeReader, prompt: str, length: int | None = None) -> str:
    """A code typed by the person; asks again for anything but ``length`` digits, so a typo spends no attempt."""
    while True:
        try:
            typed = read_code(prompt).strip()
        except EOFError:
            raise SignInError(
                "Standard input closed before a code was typed: run sign-in from a terminal, or with --inbox against a stack in test mode."
            ) from None
        if not (typed.isascii() and typed.isdigit()):
            prompt = "A code is digits only; type it again: "
        elif length is not None and len(typed) != length:
            prompt = f"A code has {length} digits; type it again: "
        else:
            return typed


def _where_the_code_went(challenge: Challenge, outputs: StackOutputs, inbox: TestModeInbox | None, inbox_command: str) -> str:
    if outputs.test_mode_topic_arn is None:
        return f"code sent by {challenge.delivery_medium} to {challenge.destination}"
    if inbox is not None:
        reader = "the inbox receives it"
    else:
        reader = f"`{inbox_command}` shows it if it was running before the code was sent (or the topic's email subscribers)"
    return f"test mode, no SMS: the code for {challenge.destination} went to the test topic {outputs.test_mode_topic_arn}; {reader}"


def inbox_command(stack_name: str, endpoint_url: str | None = None, region: str | None = None) -> str:
    """The ``sms-otp inbox`` command line that follows the test topic of ``stack_name``."""
    command = f".venv/bin/sms-otp inbox --stack {stack_name}"
    if endpoint_url:
        command += f" --endpoint-url {endpoint_url}"
    if region:
        command += f" --region {region}"
    return command


def sign_in(
    clients: Clients,
    outputs: StackOutputs,
    phone_number: str,
    progress: Progress,
    *,
    sign_up: bool,
    wrong_first: bool,
    read_inbox: bool,
    read_code: CodeReader = input,
    inbox_hint: str = ".venv/bin/sms-otp inbox",
) -> Tokens:
    """Sign up (optionally), start CUSTOM_AUTH, get the code, answer (wrongly first if asked).

    A typed code that Cognito refuses while attempts remain is asked for again;
    once the stack's ``MaxAttempts`` are spent, Cognito ends the session and the
    :class:`SignInError` says so. ``inbox_hint`` is the ``sms-otp inbox`` command
    that shows a test-mode code to a person who types it.
    """
    client = PasswordlessClient(clients.cognito, outputs.user_pool_client_id)
    inbox: TestModeInbox | None = None
    try:
        if read_inbox:
            if outputs.test_mode_topic_arn is None:
                raise SignInError("This stack is not in test mode: there is no inbox to read; leave out --inbox to type the code.")
            with progress.step("Create the test-mode inbox (SQS queue subscribed to the test topic)") as details:
                inbox = TestModeInbox.create(
                    sqs=clients.sqs, sns=clients.sns, topic_arn=outputs.test_mode_topic_arn, recipient=phone_number
                )
                details.append(f"filter policy: recipient = {phone_number}")
        if sign_up:
            with progress.step(f"Sign up {phone_number}") as details:
                confirmed = client.sign_up(phone_number)
                details.append("confirmed by the Pre sign-up trigger" if confirmed else "not confirmed yet")
        with progress.step("Start CUSTOM_AUTH (InitiateAuth)") as details:
            challenge = client.start(phone_number)
            details.append(_where_the_code_went(challenge, outputs, inbox, inbox_hint))
        with progress.step("Get the code" + (" from the inbox" if inbox else "")) as details:
            if inbox is not None:
                message = inbox.wait_for_message(trigger_source="CreateAuthChallenge_Authentication")
                code = message.code
                details.append(f"text: {message.text!r}")
            else:
                where = "from the test topic" if outputs.test_mode_topic_arn else "sent"
                code = _ask_for_code(read_code, f"Code {where} for {challenge.destination}: ", outputs.otp_length)
        if wrong_first:
            with progress.step("Answer a wrong code (RespondToAuthChallenge)") as details:
                result = client.answer(phone_number, challenge, different_code(code))
                if not isinstance(result, Challenge):
                    raise SignInError("A wrong code was accepted: the stack is misconfigured.")
                challenge = result
                details.append("refused; Cognito asks for the code again")
        with progress.step("Answer the code (RespondToAuthChallenge)") as details:
            result = client.answer(phone_number, challenge, code)
            refused = 0
            while isinstance(result, Challenge):
                if inbox is not None:
                    raise SignInError("The code from the inbox was refused: the stack is misconfigured.")
                refused += 1
                code = _ask_for_code(read_code, "That code is not right; type it again: ", outputs.otp_length)
                result = client.answer(phone_number, result, code)
            if refused:
                details.append(f"{refused} wrong {'code' if refused == 1 else 'codes'} refused first")
            details.append(f"tokens issued (expire in {result.expires_in} s)")
        return result
    finally:
        if inbox is not None:
            inbox.delete()


def print_claims(tokens: Tokens) -> None:
    """Print the ID token's claims, one a line."""
    print("\nID token claims (decoded; the signature is not checked by this client):")
    for name, value in sorted(tokens.id_token_claims().items()):
        print(f"  {name:<24} {value}")


def print_tokens(tokens: Tokens) -> None:
    """Print the tokens themselves, as shell assignments a backend example can take (``examples/verify_token.py``)."""
    print("\nTokens (each signs this account in until it expires: keep them to yourself):")
    print(f"ID_TOKEN={tokens.id_token}")
    print(f"ACCESS_TOKEN={tokens.access_token}")
    if tokens.refresh_token:
        print(f"REFRESH_TOKEN={tokens.refresh_token}")


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(1)


def _checked_phone_number(typed: str) -> str:
    """The number in E.164 form, or exit with what is wrong with it; says so when it was rewritten."""
    try:
        phone_number = normalise_phone_number(typed)
    except PhoneNumberError as error:
        _fail(str(error))
    if phone_number != typed:
        print(f"Phone number {phone_number} (written as {typed!r}).")
    return phone_number


def endpoint_url(text: str) -> str:
    """An argparse type: an http(s) URL with a host, such as ``http://127.0.0.1:4566``."""
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL: write it with its scheme, such as http://127.0.0.1:4566")
    return text


def _client_factory(arguments: argparse.Namespace) -> Callable[[str], Any]:
    """boto3 clients for the account and region given on the command line, or for the emulator at --endpoint-url."""
    if arguments.endpoint_url:
        return emulator_clients(arguments.endpoint_url, arguments.region or "us-east-1")
    session = boto3.session.Session(region_name=arguments.region)
    return session.client  # type: ignore[no-any-return]


def command_sign_in(arguments: argparse.Namespace) -> int:
    """Sign in against a deployed stack (real AWS, or the sandbox when --endpoint-url is given)."""
    phone_number = _checked_phone_number(arguments.phone)
    try:
        client = _client_factory(arguments)
        outputs = StackOutputs.load(client("cloudformation"), arguments.stack)
        read_inbox = arguments.inbox if arguments.inbox is not None else outputs.test_mode_topic_arn is not None
        steps = SIGN_IN_STEPS - (not read_inbox) - (not arguments.sign_up) - (not arguments.wrong_first)
        tokens = sign_in(
            Clients(client("cognito-idp"), client("sns"), client("sqs")),
            outputs,
            phone_number,
            Progress(steps),
            sign_up=arguments.sign_up,
            wrong_first=arguments.wrong_first,
            read_inbox=read_inbox,
            inbox_hint=inbox_command(arguments.stack, arguments.endpoint_url, arguments.region),
        )
    except (SignInError, StackNotFoundError, InboxTimeoutError) as error:
        _fail(str(error))
    except (ClientError, BotoCoreError) as error:
        _fail(explain(error))
    except KeyboardInterrupt:
        print("\nSign-in interrupted.", file=sys.stderr)
        return 130
    print_claims(tokens)
    if arguments.print_tokens:
        print_tokens(tokens)
    return 0


def command_check_credentials(arguments: argparse.Namespace) -> int:
    """Check that AWS credentials reach an account (before `make deploy` asks anything); say whose they are."""
    try:
        identity = caller_identity(sts_client(boto3.session.Session(), arguments.region))
    except CredentialsError as error:
        _fail(str(error))
    except BotoCoreError as error:
        _fail(explain(error))
    print(f"AWS credentials: {identity}")
    return 0


def command_inbox(arguments: argparse.Namespace) -> int:
    """Print every text the stack's test topic receives (or those for --phone), as it arrives, until Ctrl-C or --count texts."""
    recipient = _checked_phone_number(arguments.phone) if arguments.phone else None
    inbox: TestModeInbox | None = None
    try:
        client = _client_factory(arguments)
        outputs = StackOutputs.load(client("cloudformation"), arguments.stack)
        if outputs.test_mode_topic_arn is None:
            _fail("This stack is not in test mode: its texts go to phones, so there is no test topic to follow.")
        inbox = TestModeInbox.create(sqs=client("sqs"), sns=client("sns"), topic_arn=outputs.test_mode_topic_arn, recipient=recipient)
        whose = f"texts to {recipient}" if recipient else "texts to every number"
        print(f"Following the test topic {outputs.test_mode_topic_arn} ({whose}); each text appears as it arrives. Ctrl-C stops.")
        print("Texts sent before this started are not shown: ask for a code now.", flush=True)
        for count, message in enumerate(inbox.follow(), start=1):
            print(format_message(message), flush=True)
            if count == arguments.count:
                break
    except StackNotFoundError as error:
        _fail(str(error))
    except (ClientError, BotoCoreError) as error:
        _fail(explain(error))
    except KeyboardInterrupt:
        print()
    finally:
        if inbox is not None:
            _delete_quietly(inbox)
    return 0


def _delete_quietly(inbox: TestModeInbox) -> None:
    """Remove the inbox's queue and subscription; when the emulator is already gone, so are they."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        inbox.delete()
    except EndpointConnectionError:
        pass  # an emulator that stopped first took the queue with it
    except (ClientError, BotoCoreError) as error:
        print(f"The inbox's queue could not be deleted ({explain(error)}): delete {inbox.queue_url} yourself.", file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, previous)


def command_sandbox(arguments: argparse.Namespace) -> int:
    """Start the emulator, build and deploy the template into it, sign in with a code, stop.

    With --passwords it deploys the stack of *Keeping passwords* instead and prints
    that walk-through's commands, pointed at the emulator.
    """
    phone_number = _checked_phone_number(arguments.phone)
    if arguments.existing_pool:
        return run_existing_pool_sandbox(phone_number)
    started = time.perf_counter()
    architecture = machine_architecture()
    engine = _local_invoke_engine() if arguments.local_invoke else None
    sign_in_steps = 0 if arguments.passwords else SIGN_IN_STEPS
    progress = Progress(3 + sign_in_steps + (engine is not None))
    # For `sam local`, the emulator listens where the functions' containers reach this machine.
    SANDBOX_DIR.mkdir(exist_ok=True)
    emulator = Emulator(emulator_python(), host=engine.gateway if engine else LOOPBACK, log_path=EMULATOR_LOG)
    web_example = WebExampleServer()
    print(f"Local sandbox: the real template.yaml, deployed into ministack on {emulator.host} ({architecture}); test mode, no SMS.")
    try:
        if arguments.web:
            web_example.check_built()
        with progress.step("Start the emulator") as details:
            emulator.start()
            details.append(f"listening on {emulator.endpoint_url}; log: {EMULATOR_LOG.relative_to(PROJECT_ROOT)}")
        environment = sandbox_environment(emulator.endpoint_url, emulator.region)
        # The build folder is shared with other sandboxes and the e2e tier: one build and deploy at a time.
        with build_folder_lock(on_wait=lambda message: print(message, flush=True)):
            with progress.step(f"sam build (FunctionArchitecture={architecture})") as details:
                build(environment, architecture)
                details.append(f"log: {SANDBOX_DIR / 'sam-build.log'}")
            overrides = PASSWORD_STACK_OVERRIDES if arguments.passwords else {}
            title = " ".join(["sam deploy --config-env sandbox (into the emulator)", *(f"{k}={v}" for k, v in overrides.items())])
            with progress.step(title) as details:
                deployment = deploy(emulator, architecture, stack_name=PASSWORD_STACK_NAME if overrides else None, overrides=overrides)
                details.append(f"stack {deployment.stack_name}: user pool {deployment.outputs.user_pool_id}")
                details.append(f"app client {deployment.outputs.user_pool_client_id}, test topic {deployment.outputs.test_mode_topic_arn}")
        if arguments.passwords:
            wait_for_ctrl_c(password_walk_through_announcement(deployment))
            print("\nStopping the emulator ...")
        else:
            _sign_in_and_keep(
                arguments,
                deployment,
                emulator=emulator,
                web_example=web_example,
                engine=engine,
                architecture=architecture,
                phone_number=phone_number,
                progress=progress,
            )
    except (EmulatorError, SandboxError, SignInError, StackNotFoundError, InboxTimeoutError, LocalContainerError) as error:
        _fail(str(error))
    except (ClientError, BotoCoreError) as error:
        _fail(explain(error))
    except KeyboardInterrupt:
        interrupted = True
    else:
        interrupted = False
    finally:
        # The web example first: its phone panel's queue lives in the emulator.
        web_example.stop()
        _stop_despite_ctrl_c(emulator)
    if interrupted:
        print("\nInterrupted; the emulator is stopped.", file=sys.stderr)
        return 130
    print(f"\nSandbox finished in {time.perf_counter() - started:.1f} s; the emulator is stopped.")
    return 0


def _sign_in_and_keep(
    arguments: argparse.Namespace,
    deployment: SandboxDeployment,
    *,
    emulator: Emulator,
    web_example: WebExampleServer,
    engine: DockerEngine | None,
    architecture: str,
    phone_number: str,
    progress: Progress,
) -> None:
    """The sandbox's sign-in; then, when asked to keep running, serve what was asked for until Ctrl-C."""
    tokens = sign_in(
        Clients(deployment.client("cognito-idp"), deployment.client("sns"), deployment.client("sqs")),
        deployment.outputs,
        phone_number,
        progress,
        sign_up=True,
        wrong_first=True,
        read_inbox=True,
    )
    print_claims(tokens)
    local_invoke = _prepare_local_invoke(engine, deployment, architecture, phone_number, progress) if engine else ""
    web = ""
    if arguments.web:
        web_example.start(page_config(deployment.outputs, emulator.endpoint_url), phone=PhonePanel.follow(deployment))
        web = (
            f"\nThe web example, against the emulator: {web_example.url}\n"
            "Its phone panel shows each text the stack sends (test mode): sign in from the browser alone."
        )
    if not (arguments.keep or arguments.web or engine is not None):
        return
    wait_for_ctrl_c(
        local_invoke + web + f"\nThe emulator keeps running at {emulator.endpoint_url}; press Ctrl-C to stop it.\n"
        "Read the texts the stack sends as they arrive, in another terminal (start it before asking for a code):\n"
        f"  {inbox_command(deployment.stack_name, emulator.endpoint_url)}\n"
        "Sign in, typing the code the inbox shows (without --prompt the client reads the code itself):\n"
        f"  .venv/bin/sms-otp sign-in --stack {deployment.stack_name} \\\n"
        f"      --endpoint-url {emulator.endpoint_url} --phone +12025550188 --sign-up --prompt"
    )
    print("\nStopping the emulator ...")


def _local_invoke_engine() -> DockerEngine:
    engine, reason = usable_engine(os.environ)
    if engine is None:
        _fail(f"--local-invoke needs Docker's engine: {reason}.")
    return engine


def _prepare_local_invoke(
    engine: DockerEngine, deployment: SandboxDeployment, architecture: str, phone_number: str, progress: Progress
) -> str:
    """Load the base image and write local-invoke/ for the sandbox; return the commands to announce."""
    with progress.step("Prepare sam local invoke (base image, env vars, events, SAM config)") as details:
        image = load_base_image(engine.docker(), architecture, log=SANDBOX_DIR / "base-image.log")
        config = prepare_sandbox(
            deployment,
            image_options=image.sam_options(),
            architecture=architecture,
            phone_number=phone_number,
            directory=LOCAL_INVOKE_DIR,
            now=int(time.time()),
        )
        details.append(f"functions run on {image.project_tag}; files in {LOCAL_INVOKE_DIR.relative_to(PROJECT_ROOT)}/")
    relative = config.relative_to(PROJECT_ROOT)
    lines = ["", "sam local invoke runs the sandbox's functions in containers now. From the project's folder:"]
    for function, event in (
        ("CreateAuthChallengeFunction", "events/create_auth_challenge.json"),
        ("VerifyAuthChallengeFunction", f"{relative.parent}/events/verify_auth_challenge.json"),
    ):
        lines.append(f"  .venv-sam/bin/sam local invoke --config-file {relative} {function} -e {event}")
    return "\n".join(lines)


def _write_files(arguments: argparse.Namespace, write: Callable[[Callable[[str], Any]], list[Path]]) -> int:
    try:
        written = write(_client_factory(arguments))
    except StackNotFoundError as error:
        _fail(str(error))
    except (ClientError, BotoCoreError) as error:
        _fail(explain(error))
    for path in written:
        print(path)
    return 0


def command_env_vars(arguments: argparse.Namespace) -> int:
    """Write the --env-vars file of a deployed stack for `sam local invoke`."""

    def write(client: Callable[[str], Any]) -> list[Path]:
        outputs = StackOutputs.load(client("cloudformation"), arguments.stack)
        return [write_env_vars(outputs, Path(arguments.out))]

    return _write_files(arguments, write)


def command_make_events(arguments: argparse.Namespace) -> int:
    """Write the sample events that depend on the time or on the stack, made for a deployed stack."""
    phone_number = _checked_phone_number(arguments.phone)

    def write(client: Callable[[str], Any]) -> list[Path]:
        return write_made_events(client, arguments.stack, phone_number, Path(arguments.out), now=int(time.time()))

    return _write_files(arguments, write)


def command_base_image(_arguments: argparse.Namespace) -> int:
    """Load the offline Lambda base image into Docker's running engine (building it first if needed)."""
    architecture = machine_architecture()
    engine, reason = usable_engine(os.environ)
    if engine is None:
        _fail(f"Docker's engine is needed: {reason}.")
    SANDBOX_DIR.mkdir(exist_ok=True)
    log = SANDBOX_DIR / "base-image.log"
    print(f"Loading the offline Lambda base image for {architecture} (the first build takes under a minute; log: {log}) ...")
    try:
        image = load_base_image(engine.docker(), architecture, log=log)
    except LocalContainerError as error:
        _fail(str(error))
    print(f"{image.project_tag} is loaded.")
    if image.official_tag_is_ours:
        print(f"It is also tagged {official_tag(architecture)}: `sam local invoke --skip-pull-image` runs the functions on it.")
    else:
        print(f"A real {official_tag(architecture)} is present and was left alone; add `{' '.join(image.sam_options())}` to use this one.")
    return 0


def wait_for_ctrl_c(announcement: str, pause: Callable[[], object] = signal.pause) -> None:
    """Print ``announcement``, then block until Ctrl-C (SIGINT), the documented way to end ``sandbox --keep``; then return normally.

    The announcement is printed inside the wait, so a Ctrl-C that follows it at once is already the documented one.
    """
    try:
        print(announcement, flush=True)
        while True:
            pause()
    except KeyboardInterrupt:
        return


def _stop_despite_ctrl_c(emulator: Emulator) -> None:
    """Stop the emulator; a second Ctrl-C meanwhile must not leave its processes running."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        emulator.stop()
    finally:
        signal.signal(signal.SIGINT, previous)


def _terminate(signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def parser() -> argparse.ArgumentParser:
    """The ``sms-otp`` command line; each command sets ``run`` to the function that runs it."""
    root = argparse.ArgumentParser(prog="sms-otp", description=DESCRIPTION)
    commands = root.add_subparsers(dest="command", required=True)

    sign_in_parser = commands.add_parser("sign-in", help="sign in with a code against a deployed stack")
    sign_in_parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    sign_in_parser.add_argument("--phone", required=True, help="phone number in E.164 form, such as +14155550123 (spaces are removed)")
    sign_in_parser.add_argument("--sign-up", action="store_true", help="create the account first")
    sign_in_parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    sign_in_parser.add_argument("--endpoint-url", type=endpoint_url, help="an emulator's URL, such as the sandbox's http://127.0.0.1:PORT")
    sign_in_parser.add_argument("--wrong-first", action="store_true", help="answer a wrong code once before the right one")
    inbox = sign_in_parser.add_mutually_exclusive_group()
    inbox.add_argument(
        "--inbox",
        dest="inbox",
        action="store_true",
        default=None,
        help="read the code from the test topic, and print the message (default in test mode)",
    )
    inbox.add_argument(
        "--prompt",
        dest="inbox",
        action="store_false",
        help="type the code (default outside test mode; in test mode, `sms-otp inbox` shows it)",
    )
    sign_in_parser.add_argument(
        "--print-tokens", action="store_true", help="also print the tokens (for examples/verify_token.py; they sign the account in)"
    )
    sign_in_parser.set_defaults(run=command_sign_in)

    inbox_parser = commands.add_parser("inbox", help="print each text a test-mode stack sends, as it arrives (a phone for test mode)")
    inbox_parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    inbox_parser.add_argument("--phone", help="only the texts to this number (default: every number)")
    inbox_parser.add_argument("--count", type=int, help="stop after this many texts (default: at Ctrl-C)")
    inbox_parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    inbox_parser.add_argument("--endpoint-url", type=endpoint_url, help="an emulator's URL, such as the sandbox's http://127.0.0.1:PORT")
    inbox_parser.set_defaults(run=command_inbox)

    sandbox_parser = commands.add_parser("sandbox", help="deploy into the local emulator and sign in (no AWS account needed)")
    sandbox_parser.add_argument("--phone", default=DEFAULT_SANDBOX_PHONE, help=f"phone number to sign up (default {DEFAULT_SANDBOX_PHONE})")
    sandbox_parser.add_argument("--keep", action="store_true", help="keep the emulator running until Ctrl-C")
    sandbox_parser.add_argument("--web", action="store_true", help="also serve the web example (web/) against the emulator; implies --keep")
    sandbox_parser.add_argument(
        "--passwords",
        action="store_true",
        help="deploy the PasswordSignIn=true MfaConfiguration=ON stack instead, and print the password walk-through; implies --keep",
    )
    sandbox_parser.add_argument(
        "--existing-pool",
        action="store_true",
        help="create a user pool out of band, deploy onto it (Passwordless mode), sign in, delete the stack, show the pool as it was",
    )
    sandbox_parser.add_argument(
        "--local-invoke",
        action="store_true",
        help="also prepare `sam local invoke` (Docker's engine, offline base image, files in local-invoke/); implies --keep",
    )
    sandbox_parser.set_defaults(run=command_sandbox)

    env_vars_parser = commands.add_parser("env-vars", help="write the --env-vars file of a deployed stack for `sam local invoke`")
    make_events_parser = commands.add_parser("make-events", help="write the sample events that depend on the time or on the stack")
    for stack_parser in (env_vars_parser, make_events_parser):
        stack_parser.add_argument("--stack", required=True, help="CloudFormation stack name")
        stack_parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
        stack_parser.add_argument(
            "--endpoint-url", type=endpoint_url, help="an emulator's URL, such as the sandbox's http://127.0.0.1:PORT"
        )
    env_vars_parser.add_argument("--out", default=str(LOCAL_INVOKE_DIR / "env.json"), help="file to write (default local-invoke/env.json)")
    env_vars_parser.set_defaults(run=command_env_vars)
    make_events_parser.add_argument(
        "--phone", default=SAMPLE_PHONE_NUMBER, help=f"the user's phone number (default the samples' {SAMPLE_PHONE_NUMBER})"
    )
    make_events_parser.add_argument("--out", default=str(LOCAL_INVOKE_DIR / "events"), help="folder to write (default local-invoke/events)")
    make_events_parser.set_defaults(run=command_make_events)

    credentials_parser = commands.add_parser(
        "check-credentials", help="check that AWS credentials reach an account (make deploy runs it before sam deploy)"
    )
    credentials_parser.add_argument("--region", help="AWS region (default: your AWS configuration's, else us-east-1)")
    credentials_parser.set_defaults(run=command_check_credentials)

    base_image_parser = commands.add_parser("base-image", help="load the offline Lambda base image into Docker (no internet needed)")
    base_image_parser.set_defaults(run=command_base_image)
    return root


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names (default: the process's arguments); return its exit status."""
    # Stop cleanly (and stop the emulator) on SIGTERM, a closed terminal (SIGHUP) and Ctrl-C,
    # even where SIGINT was inherited as ignored.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    arguments = parser().parse_args(argv)
    result: int = arguments.run(arguments)
    return result
