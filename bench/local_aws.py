"""A moto server on 127.0.0.1 with the resources the triggers call, and valid events for them.

The server runs in its own process, so in-process timings never share a GIL with it. It holds
the test-mode topic, the KMS key Cognito encrypts Custom SMS Sender codes with, the limits
table, and a user pool whose app client allows only sign-in by code, with one user.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from bench import fixtures
from sms_otp.core.errors import UserFacingError
from sms_otp.core.phone_numbers import validate_destination
from sms_otp.limits.keys import subject_key
from sms_otp.sign_in.codes import IssuedCode, generate_code

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
SAM_PYTHON = str(ROOT / ".venv-sam" / "bin" / "python")
PHONE_NUMBER = "+14155550123"
# Raised so that thousands of sends in one run, none of them ever completed, are never refused (the
# pumping guard stays on, so its reads and writes are measured); every other setting keeps its default.
PARAMETER_OVERRIDES = {"TestMode": "true", "StackMessagesPerHour": "1000000", "PumpingMinSends": "10000"}
# Area codes whose 555-01xx numbers are reserved for fiction: one number per message, so the
# per-number send limits never refuse a benchmark send.
AREA_CODES = (201, 202, 206, 212, 213, 214, 215, 303, 305, 310, 312, 404, 503, 602, 617, 646, 702, 713, 313, 314, 315, 317, 347)


@dataclass(frozen=True, slots=True)
class Resources:
    topic_arn: str
    key_arn: str
    table_name: str
    user_pool_id: str
    client_id: str


class MotoServer:
    """``python -m moto.server`` on a free loopback port, with the stack's resources; stopped on exit."""

    def __init__(self, log_path: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._log_path = log_path
        self._home = tempfile.mkdtemp(prefix="sms-otp-bench-")
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self._home},
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):  # noqa: S310 - loopback
                    return self
            except (urllib.error.URLError, OSError):
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"the moto server did not start; see {self._log_path}") from None
                time.sleep(0.1)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)

    def aws_environment(self) -> dict[str, str]:
        """Variables that point an AWS SDK at this server with fake credentials, and at nothing else."""
        return {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": self._home,
        }

    def client(self, service: str) -> Any:
        environment = self.aws_environment()
        session = boto3.session.Session(
            aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )
        return session.client(service, endpoint_url=self.endpoint_url)

    def create_resources(self) -> Resources:
        topic_arn = self.client("sns").create_topic(Name="sms-otp-bench-test-mode")["TopicArn"]
        key_arn = self.client("kms").create_key(Description="sms-otp-bench")["KeyMetadata"]["Arn"]
        table_name = "sms-otp-bench-limits"
        fixtures.create_limits_table(self.client("dynamodb"), table_name)
        cognito = self.client("cognito-idp")
        pool_id = cognito.create_user_pool(PoolName="sms-otp-bench", UsernameAttributes=["phone_number"])["UserPool"]["Id"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName="sms-otp-bench", ExplicitAuthFlows=["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        )["UserPoolClient"]["ClientId"]
        attributes = [{"Name": "phone_number", "Value": PHONE_NUMBER}]
        cognito.admin_create_user(UserPoolId=pool_id, Username=PHONE_NUMBER, UserAttributes=attributes, MessageAction="SUPPRESS")
        # A limits item, as a sign-in by code leaves one: Post Authentication's reset then takes its real path.
        item = {"pk": {"S": subject_key(PHONE_NUMBER)}, "failed_rounds": {"N": "1"}, "locked_until": {"N": "0"}, "version": {"N": "1"}}
        self.client("dynamodb").put_item(TableName=table_name, Item=item)
        return Resources(topic_arn, key_arn, table_name, pool_id, client_id)


def function_settings(build_dir: Path, resources: Resources) -> dict[str, dict[str, Any]]:
    """Each function of the built template, resolved by the SAM CLI, with this server's resources."""
    overrides = {
        **PARAMETER_OVERRIDES,
        "TestModeTopic": resources.topic_arn,
        "LimitsTable": resources.table_name,
        "SmsKey": {"Arn": resources.key_arn},
    }
    completed = subprocess.run(  # noqa: S603 - the SAM CLI's interpreter and our script
        [SAM_PYTHON, str(ROOT / "bench" / "children" / "template_settings.py"), str(build_dir / "template.yaml"), json.dumps(overrides)],
        capture_output=True,
        text=True,
        check=True,
    )
    settings: dict[str, dict[str, Any]] = json.loads(completed.stdout)
    return settings


def phone_numbers() -> list[str]:
    """Valid, distinct, fictional numbers."""
    numbers = []
    for candidate in (f"+1{area}555{line:04d}" for area in AREA_CODES for line in range(100, 200)):
        try:
            numbers.append(validate_destination(candidate, frozenset()))
        except UserFacingError:
            continue
    return numbers


class EventFactory:
    """Valid events from events/*.json: codes issued now, the server's ids, a real ciphertext, and a
    phone number never used before in this run for the events that send a message."""

    def __init__(self, server: MotoServer, resources: Resources) -> None:
        self.resources = resources
        self._numbers = iter(phone_numbers())
        self.ciphertext = fixtures.cognito_ciphertext("731904", resources.key_arn, resources.user_pool_id, server.aws_environment())

    def fresh_numbers(self, count: int) -> list[str]:
        numbers = [next(self._numbers, "") for _ in range(count)]
        if "" in numbers:
            raise RuntimeError("the fictional phone numbers are used up; lower the iterations")
        return numbers

    def event(self, name: str) -> dict[str, Any]:
        event: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
        request = event["request"]
        code = generate_code(6)
        issued = IssuedCode.issue(code, issued_at=int(time.time()))
        if name.startswith("define_auth_challenge"):
            for entry in request.get("session", []):
                if isinstance(entry.get("challengeMetadata"), str):
                    entry["challengeMetadata"] = issued.to_metadata()
        elif name.startswith("verify_auth_challenge"):
            request["privateChallengeParameters"] = issued.to_private_parameters()
            request["challengeAnswer"] = code
        elif name.startswith("post_authentication"):
            event.update(userPoolId=self.resources.user_pool_id, userName=PHONE_NUMBER)
            event["callerContext"]["clientId"] = self.resources.client_id
        elif name.startswith("custom_sms_sender"):
            event["userPoolId"] = self.resources.user_pool_id
            request["code"] = self.ciphertext
        if sends_message(name):
            request["userAttributes"]["phone_number"] = self.fresh_numbers(1)[0]
        return event


def sends_message(event_name: str) -> bool:
    return event_name.startswith(("create_auth_challenge", "custom_sms_sender"))
