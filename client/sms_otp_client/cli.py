"""Command line: ``sign-in`` against a deployed stack, ``sandbox`` for the local demo."""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any, NoReturn

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from sms_otp_client.auth import Challenge, PasswordlessClient, SignInError, Tokens, explain
from sms_otp_client.emulator import Emulator, EmulatorError
from sms_otp_client.inbox import InboxTimeoutError, TestModeInbox
from sms_otp_client.progress import Progress
from sms_otp_client.sandbox import (
    SANDBOX_DIR,
    SandboxError,
    build,
    deploy,
    emulator_python,
    machine_architecture,
    sandbox_environment,
)
from sms_otp_client.stack import StackNotFoundError, StackOutputs

DEFAULT_SANDBOX_PHONE = "+12025550143"
SIGN_IN_STEPS = 6


@dataclass(frozen=True, slots=True)
class Clients:
    """The AWS clients a sign-in needs."""

    cognito: Any
    sns: Any
    sqs: Any


def _wrong_code(code: str) -> str:
    while True:
        candidate = f"{secrets.randbelow(10 ** len(code)):0{len(code)}d}"
        if candidate != code:
            return candidate


def sign_in(
    clients: Clients,
    outputs: StackOutputs,
    phone_number: str,
    progress: Progress,
    *,
    sign_up: bool,
    wrong_first: bool,
    read_inbox: bool,
) -> Tokens:
    """Sign up (optionally), start CUSTOM_AUTH, get the code, answer (wrongly first if asked)."""
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
            details.append(f"code sent by {challenge.delivery_medium} to {challenge.destination}")
        with progress.step("Get the code" + (" from the inbox" if inbox else "")) as details:
            if inbox is not None:
                message = inbox.wait_for_message(trigger_source="CreateAuthChallenge_Authentication")
                code = message.code
                details.append(f"text: {message.text!r}")
            else:
                code = input(f"Code sent to {challenge.destination}: ").strip()
        if wrong_first:
            with progress.step("Answer a wrong code (RespondToAuthChallenge)") as details:
                result = client.answer(phone_number, challenge, _wrong_code(code))
                if not isinstance(result, Challenge):
                    raise SignInError("A wrong code was accepted: the stack is misconfigured.")
                challenge = result
                details.append("refused; Cognito asks for the code again")
        with progress.step("Answer the right code (RespondToAuthChallenge)") as details:
            result = client.answer(phone_number, challenge, code)
            if not isinstance(result, Tokens):
                raise SignInError("The code was refused: it may have expired, or the attempts ran out. Start again.")
            details.append(f"tokens issued (expire in {result.expires_in} s)")
        return result
    finally:
        if inbox is not None:
            inbox.delete()


def print_claims(tokens: Tokens) -> None:
    print("\nID token claims (decoded; the signature is not checked by this client):")
    for name, value in sorted(tokens.id_token_claims().items()):
        print(f"  {name:<24} {value}")


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(1)


def command_sign_in(arguments: argparse.Namespace) -> int:
    """Sign in against a deployed stack (real AWS, or the sandbox when --endpoint-url is given)."""
    if arguments.endpoint_url:
        environment = sandbox_environment(arguments.endpoint_url, arguments.region or "us-east-1")
        session = boto3.session.Session(
            aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
            region_name=environment["AWS_REGION"],
        )
    else:
        session = boto3.session.Session(region_name=arguments.region)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=arguments.endpoint_url)

    try:
        outputs = StackOutputs.load(client("cloudformation"), arguments.stack)
        read_inbox = arguments.inbox if arguments.inbox is not None else outputs.test_mode_topic_arn is not None
        steps = SIGN_IN_STEPS - (not read_inbox) - (not arguments.sign_up) - (not arguments.wrong_first)
        tokens = sign_in(
            Clients(client("cognito-idp"), client("sns"), client("sqs")),
            outputs,
            arguments.phone,
            Progress(steps),
            sign_up=arguments.sign_up,
            wrong_first=arguments.wrong_first,
            read_inbox=read_inbox,
        )
    except (SignInError, StackNotFoundError, InboxTimeoutError) as error:
        _fail(str(error))
    except (ClientError, BotoCoreError) as error:
        _fail(explain(error))
    print_claims(tokens)
    return 0


def command_sandbox(arguments: argparse.Namespace) -> int:
    """Start the emulator, build and deploy the template into it, sign in with a code, stop."""
    started = time.perf_counter()
    architecture = machine_architecture()
    progress = Progress(3 + SIGN_IN_STEPS)
    emulator = Emulator(emulator_python())
    print(f"Local sandbox: the real template.yaml, deployed into ministack on 127.0.0.1 ({architecture}); test mode, no SMS.")
    try:
        with progress.step("Start the emulator") as details:
            emulator.start()
            details.append(f"listening on {emulator.endpoint_url}")
        environment = sandbox_environment(emulator.endpoint_url, emulator.region)
        with progress.step(f"sam build (FunctionArchitecture={architecture})") as details:
            build(environment, architecture)
            details.append(f"log: {SANDBOX_DIR / 'sam-build.log'}")
        with progress.step("sam deploy --config-env sandbox (into the emulator)") as details:
            deployment = deploy(emulator, architecture)
            details.append(f"stack {deployment.stack_name}: user pool {deployment.outputs.user_pool_id}")
            details.append(f"app client {deployment.outputs.user_pool_client_id}, test topic {deployment.outputs.test_mode_topic_arn}")
        tokens = sign_in(
            Clients(deployment.client("cognito-idp"), deployment.client("sns"), deployment.client("sqs")),
            deployment.outputs,
            arguments.phone,
            progress,
            sign_up=True,
            wrong_first=True,
            read_inbox=True,
        )
        print_claims(tokens)
        if arguments.keep:
            print(f"\nThe emulator keeps running at {emulator.endpoint_url}; press Ctrl-C to stop it. Try:")
            print(f"  .venv/bin/sms-otp sign-in --stack {deployment.stack_name} \\")
            print(f"      --endpoint-url {emulator.endpoint_url} --phone +12025550188 --sign-up")
            signal.pause()
    except (EmulatorError, SandboxError, SignInError, StackNotFoundError, InboxTimeoutError) as error:
        _fail(str(error))
    except (ClientError, BotoCoreError) as error:
        _fail(explain(error))
    except KeyboardInterrupt:
        print("\nInterrupted.")
        return 130
    finally:
        emulator.stop()
    print(f"\nSandbox finished in {time.perf_counter() - started:.1f} s; the emulator is stopped.")
    return 0


def _terminate(signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m sms_otp_client", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    sign_in_parser = commands.add_parser("sign-in", help="sign in with a code against a deployed stack")
    sign_in_parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    sign_in_parser.add_argument("--phone", required=True, help="phone number in E.164 form, such as +14155550123")
    sign_in_parser.add_argument("--sign-up", action="store_true", help="create the account first")
    sign_in_parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    sign_in_parser.add_argument("--endpoint-url", help="an emulator's URL, such as the sandbox's http://127.0.0.1:PORT")
    sign_in_parser.add_argument("--wrong-first", action="store_true", help="answer a wrong code once before the right one")
    inbox = sign_in_parser.add_mutually_exclusive_group()
    inbox.add_argument("--inbox", dest="inbox", action="store_true", default=None, help="read the code from the test topic")
    inbox.add_argument("--prompt", dest="inbox", action="store_false", help="type the code (default outside test mode)")
    sign_in_parser.set_defaults(run=command_sign_in)

    sandbox_parser = commands.add_parser("sandbox", help="deploy into the local emulator and sign in (no AWS account needed)")
    sandbox_parser.add_argument("--phone", default=DEFAULT_SANDBOX_PHONE, help=f"phone number to sign up (default {DEFAULT_SANDBOX_PHONE})")
    sandbox_parser.add_argument("--keep", action="store_true", help="keep the emulator running until Ctrl-C")
    sandbox_parser.set_defaults(run=command_sandbox)
    return root


def main(argv: list[str] | None = None) -> int:
    # Stop cleanly (and stop the emulator) on SIGTERM, a closed terminal (SIGHUP) and Ctrl-C,
    # even where SIGINT was inherited as ignored.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    arguments = parser().parse_args(argv)
    result: int = arguments.run(arguments)
    return result
