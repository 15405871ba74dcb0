"""A moto server on 127.0.0.1 with the resources the triggers call, and valid events for them.

The server runs in its own process so that in-process (warm) measurements do not
share a GIL with it. It holds the test-mode topic, the KMS key Cognito would
encrypt Custom SMS Sender codes with, and a user pool with an app client that
allows only sign-in by code and one user.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from bench.common import EVENTS_DIR, REGION, VENV_PYTHON, Trigger, ensure_output_dir
from bench.template_env import Resolver, load_template

PHONE_NUMBER = "+14155550123"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}  # not secrets: moto ignores them


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Resources:
    """What the benchmark created on the moto server."""

    topic_arn: str
    key_arn: str
    user_pool_id: str
    client_id: str
    username: str
    # The template's resources a function's environment refers to, by !Ref / !GetAtt key:
    # {"TestModeTopic": arn, "SmsKey.Arn": arn, "LimitsTable": name, ...}.
    template_values: dict[str, str] = field(default_factory=dict)


class MotoServer:
    """``python -m moto.server`` on a free loopback port; stopped on exit."""

    def __init__(self) -> None:
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._home = Path(tempfile.mkdtemp(prefix="sms-otp-bench-home-"))
        self._resources: Resources | None = None

    @property
    def resources(self) -> Resources:
        if self._resources is None:
            raise RuntimeError("the moto server has not been started")
        return self._resources

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> MotoServer:
        log = (ensure_output_dir() / "moto-server.log").open("wb")
        self._process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [str(VENV_PYTHON), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self._home), "LANG": "C.UTF-8"},
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}; see .bench/moto-server.log")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):  # noqa: S310 - loopback
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        else:
            raise RuntimeError("moto server did not answer within 60 s")
        self._resources = self._create_resources()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None

    def client(self, service: str) -> Any:
        session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )
        return session.client(service, endpoint_url=self.endpoint_url)

    def _create_resources(self) -> Resources:
        """Create every SNS topic, KMS key and DynamoDB table the template declares, plus a user pool."""
        template = load_template()
        values: dict[str, str] = {}
        for logical_id, resource in template.get("Resources", {}).items():
            if logical_id.startswith("Fn::ForEach::"):
                continue  # the loop makes log groups, roles and permissions: nothing the benchmark needs
            kind, properties = resource.get("Type"), resource.get("Properties", {})
            if kind == "AWS::SNS::Topic":
                values[logical_id] = self.client("sns").create_topic(Name=f"sms-otp-bench-{logical_id}")["TopicArn"]
            elif kind == "AWS::KMS::Key":
                arn = self.client("kms").create_key(Description=f"sms-otp-bench {logical_id}")["KeyMetadata"]["Arn"]
                values.update({logical_id: arn.rsplit("/", 1)[1], f"{logical_id}.Arn": arn})
            elif kind == "AWS::DynamoDB::Table":
                name = f"sms-otp-bench-{logical_id}"
                self.client("dynamodb").create_table(
                    TableName=name,
                    KeySchema=properties["KeySchema"],
                    AttributeDefinitions=properties["AttributeDefinitions"],
                    BillingMode="PAY_PER_REQUEST",
                )
                values.update({logical_id: name, f"{logical_id}.Arn": f"arn:aws:dynamodb:{REGION}:123456789012:table/{name}"})
        cognito = self.client("cognito-idp")
        pool_id = cognito.create_user_pool(PoolName="sms-otp-bench-users", UsernameAttributes=["phone_number"])["UserPool"]["Id"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="sms-otp-bench-app",
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        user = cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=PHONE_NUMBER,
            UserAttributes=[{"Name": "phone_number", "Value": PHONE_NUMBER}],
            MessageAction="SUPPRESS",
        )["User"]
        values.update({"UserPool": pool_id, "UserPoolClient": client_id})
        self._prime_limits(values.get("LimitsTable"))
        return Resources(
            topic_arn=values.get("TestModeTopic", ""),
            key_arn=values.get("SmsKey.Arn", ""),
            user_pool_id=pool_id,
            client_id=client_id,
            username=user["Username"],
            template_values=values,
        )

    def _prime_limits(self, table_name: str | None) -> None:
        """Give the signed-in user a limits item, as a sign-in by code leaves one, so Post Authentication's
        reset takes its real path (an update) rather than the nothing-to-reset one."""
        if not table_name:
            return
        try:
            from sms_otp.limits import subject_key  # noqa: PLC0415 - the layer's source, on PYTHONPATH (see the Makefile)
        except ImportError:
            return
        self.client("dynamodb").put_item(
            TableName=table_name,
            Item={"pk": {"S": subject_key(PHONE_NUMBER)}, "failed_rounds": {"N": "1"}, "locked_until": {"N": "0"}, "version": {"N": "1"}},
        )

    def aws_environment(self) -> dict[str, str]:
        """Variables that point an AWS SDK at this server with fake credentials, and at nothing else."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            # No instance-metadata lookups, ever.
            "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": str(self._home),
        }

    def function_environment(self, trigger: Trigger, *, log_level: str | None = None) -> dict[str, str]:
        """The complete environment of a child running ``trigger``: the template's variables,
        Lambda's own, and the local endpoint's. Nothing is inherited from this process."""
        resolver = Resolver(load_template(), resources=self.resources.template_values)
        environment = resolver.function_environment(trigger.function)
        memory = str(resolver.function_property(trigger.function, "MemorySize") or 512)
        environment.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": f"sms-otp-bench-{trigger.key}",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory,
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
                "LAMBDA_TASK_ROOT": "/var/task",
                "_HANDLER": f"{trigger.module}.lambda_handler",
                "LANG": "en_US.UTF-8",
                "TZ": ":UTC",
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                **self.aws_environment(),
            }
        )
        if log_level is not None:
            environment["POWERTOOLS_LOG_LEVEL"] = log_level
        return environment

    @contextlib.contextmanager
    def process_environment(self) -> Iterator[None]:
        """Point this process's AWS SDKs at the server for the duration (the Encryption SDK reads the environment)."""
        saved = dict(os.environ)
        for name in [name for name in os.environ if name.startswith("AWS_")]:
            del os.environ[name]
        os.environ.update(self.aws_environment())
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def cognito_ciphertext(self, plaintext: str) -> str:
        """Encrypt ``plaintext`` the way Cognito encrypts a Custom SMS Sender code (suite 0x0378,
        one data key wrapped by the KMS key, encryption context with the pool id), base64."""
        import aws_encryption_sdk  # noqa: PLC0415 - only the parent needs it, and only here
        import botocore.session  # noqa: PLC0415
        from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy  # noqa: PLC0415

        with self.process_environment():
            provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
                key_ids=[self.resources.key_arn], botocore_session=botocore.session.Session()
            )
            client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
            ciphertext, _header = client.encrypt(
                source=plaintext.encode(),
                key_provider=provider,
                encryption_context={"userpool-id": self.resources.user_pool_id},
                algorithm=Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
            )
        return base64.b64encode(ciphertext).decode("ascii")


# ---------------------------------------------------------------- events ---


def sample_event(name: str) -> dict[str, Any]:
    with (EVENTS_DIR / f"{name}.json").open() as handle:
        event: dict[str, Any] = json.load(handle)
    return event


def fresh_code(now: int | None = None) -> tuple[str, Any]:
    """A code and its IssuedCode issued now, made by the package's own code module."""
    from sms_otp.codes import IssuedCode, generate_code  # noqa: PLC0415 - the layer's source, on PYTHONPATH (see the Makefile)

    code = generate_code(6)
    return code, IssuedCode.issue(code, issued_at=int(time.time() if now is None else now))


# Area codes whose 555-01xx numbers are reserved for fiction; the pool keeps only those the package accepts.
_AREA_CODES = (
    *(201, 202, 206, 210, 212, 213, 214, 215, 216, 225, 239, 248, 267, 281, 303, 305, 310, 312, 404, 503),
    *(602, 617, 646, 702, 713, 307, 313, 314, 315, 316, 317, 318, 319, 320, 321, 330, 334, 336, 337, 347),
)


def phone_number_pool() -> list[str]:
    """Distinct valid numbers, one per message: the per-number send limits then never refuse a benchmark send."""
    candidates = [f"+1{area}555{line:04d}" for area in _AREA_CODES for line in range(100, 200)]
    try:
        from sms_otp.phone_numbers import validate_destination  # noqa: PLC0415 - the layer's source
    except ImportError:
        return candidates
    pool = []
    for number in candidates:
        try:
            validate_destination(number, frozenset())
        except Exception:  # noqa: BLE001, S112 - any refusal just leaves the number out
            continue
        pool.append(number)
    return pool


class EventFactory:
    """Valid events for each trigger: codes issued now, ids of the moto resources, real ciphertexts,
    and for the triggers that send, a phone number never used before in this run."""

    def __init__(self, server: MotoServer) -> None:
        self._server = server
        self._ciphertext: str | None = None
        self._numbers = iter(phone_number_pool())

    @property
    def ciphertext(self) -> str:
        # One ciphertext serves every run: decrypting it is repeatable, like a Lambda retry.
        if self._ciphertext is None:
            self._ciphertext = self._server.cognito_ciphertext("731904")
        return self._ciphertext

    def fresh_numbers(self, count: int) -> list[str]:
        numbers = [next(self._numbers, "") for _ in range(count)]
        if "" in numbers:
            raise RuntimeError("the pool of fictional phone numbers is used up; lower the iterations")
        return numbers

    def event(self, name: str) -> dict[str, Any]:
        resources = self._server.resources
        event = sample_event(name)
        request = event.setdefault("request", {})
        if name.startswith("define_auth_challenge"):
            _code, issued = fresh_code()
            for entry in request.get("session", []):
                if isinstance(entry.get("challengeMetadata"), str):
                    entry["challengeMetadata"] = issued.to_metadata()
        elif name == "verify_auth_challenge":
            code, issued = fresh_code()
            request["privateChallengeParameters"] = issued.to_private_parameters()
            request["challengeAnswer"] = code
        elif name == "post_authentication":
            event["userPoolId"] = resources.user_pool_id
            event["userName"] = resources.username
            event["callerContext"]["clientId"] = resources.client_id
        elif name.startswith("custom_sms_sender"):
            event["userPoolId"] = resources.user_pool_id
            if request.get("code") is not None:
                request["code"] = self.ciphertext
        if sends_message(name):
            request.setdefault("userAttributes", {})["phone_number"] = self.fresh_numbers(1)[0]
        return event


def sends_message(event_name: str) -> bool:
    """Whether invoking the trigger with this event sends a message (and so counts against the number's limits)."""
    return event_name == "create_auth_challenge" or event_name.startswith("custom_sms_sender")
