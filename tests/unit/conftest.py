"""Unit tier: fake credentials, no network, AWS mocked by moto, Powertools logs captured.

The environment is set here, at import and before any test module is
collected, because the trigger modules read their settings when they are
imported (``SETTINGS = load_settings()``) and Powertools reads its service name,
log level and metrics namespace when ``sms_otp.core.observability`` is imported.
Once collection is over the original environment comes back (``pytest`` and
``pytest -m e2e`` collect this tier too, and the e2e tier must not inherit fake
credentials), and every unit test gets the unit environment again through an
autouse fixture.
"""

from __future__ import annotations

import os

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
TEST_MODE_TOPIC_NAME = "sms-otp-test-mode"
TEST_MODE_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{TEST_MODE_TOPIC_NAME}"
LIMITS_TABLE_NAME = "sms-otp-limits"
# Valid in form only: tests that decrypt point SMS_KEY_ARN at a moto key and reload the trigger.
PLACEHOLDER_KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/00000000-0000-4000-8000-000000000000"

# Anything from the developer's shell that could reach a real account or change what we test.
REMOVED_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SNS",
    "AWS_ENDPOINT_URL_KMS",
    "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
    "AWS_LAMBDA_LOG_LEVEL",
    "MOTO_ACCOUNT_ID",
    "POWERTOOLS_DEV",
    "POWERTOOLS_LOGGER_LOG_EVENT",
    "POWERTOOLS_METRICS_DISABLED",
    "SMS_SENDER_ID",
    "SMS_ORIGINATION_NUMBER",
    "ALLOWED_COUNTRY_CODES",
    "MIN_SECONDS_BETWEEN_MESSAGES",
    "MAX_MESSAGES_PER_HOUR",
    "MAX_MESSAGES_PER_DAY",
    "LOCKOUT_THRESHOLD",
    "LOCKOUT_BASE_SECONDS",
    "LOCKOUT_MAX_SECONDS",
    "STACK_MESSAGES_PER_HOUR",
    "PUMPING_MIN_SENDS",
    "PUMPING_MIN_CONVERSION_PERCENT",
    "PUMPING_COOL_OFF_SECONDS",
    "PASSWORD_SIGN_IN",
    "KNOWN_NUMBERS_SHARE_PERCENT",
    "FRESH_COUNTRY_SHARE_PERCENT",
    "MAX_ATTRIBUTE_CODES_PER_ACCOUNT_PER_DAY",
    "TRUST_PHONE_NUMBER_VERIFIED",
)
UNIT_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "TEST_MODE": "true",
    "TEST_MODE_TOPIC_ARN": TEST_MODE_TOPIC_ARN,
    "OTP_LENGTH": "6",
    "OTP_TTL_SECONDS": "180",
    "MAX_ATTEMPTS": "3",
    "SMS_KEY_ARN": PLACEHOLDER_KMS_KEY_ARN,
    "LIMITS_TABLE_NAME": LIMITS_TABLE_NAME,
    "POWERTOOLS_SERVICE_NAME": "sms-otp",
    "POWERTOOLS_METRICS_NAMESPACE": "SmsOtpUnitTests",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

_ENVIRONMENT_BEFORE = dict(os.environ)
for _name in REMOVED_VARIABLES:
    os.environ.pop(_name, None)
os.environ.update(UNIT_ENVIRONMENT)

# Imported after the environment on purpose (see the module docstring). moto must
# also come before any boto3 client is built so its hook is on every client.
import importlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.backends import get_backend  # noqa: E402

from sms_otp.core.observability import logger, metrics  # noqa: E402
from tests.testkit.cognito_encryption import Encrypt, cognito_ciphertext  # noqa: E402
from tests.testkit.template import create_limits_table  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    # Define Auth Challenge and a successful Pre sign-up count nothing; Powertools warns about that on every flush.
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collection needed the unit environment; give the original back before any test runs."""
    os.environ.clear()
    os.environ.update(_ENVIRONMENT_BEFORE)


@pytest.fixture(autouse=True)
def _unit_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every unit test runs with fake credentials and the settings the tests assume."""
    for name in REMOVED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in UNIT_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


class NetworkBlockedError(RuntimeError):
    """A unit test tried to open a network connection."""


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every unit test runs with sockets refusing to connect: moto and stubs only."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise NetworkBlockedError("unit tests must not open network connections; mock AWS with moto or a Stubber")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def loopback_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """For a test that needs a local server: sockets may connect to 127.0.0.1, and to nothing else."""
    import _socket

    def connect_to_loopback_only(self: socket.socket, address: object) -> None:
        if not (isinstance(address, tuple) and address and address[0] == "127.0.0.1"):
            raise NetworkBlockedError("only 127.0.0.1 is reachable in this test")
        _socket.socket.connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect_to_loopback_only)


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    """Metrics counted by one test (pure functions call ``count``) must not reach the next."""
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh moto world (every service, account 123456789012, us-east-1) with the stack's limits table, built from template.yaml."""
    # A default boto3 session built earlier (by another tier) may hold other credentials and config.
    boto3.DEFAULT_SESSION = None
    with mock_aws():
        create_limits_table(boto3.client("dynamodb", region_name=REGION), LIMITS_TABLE_NAME)
        yield
    boto3.DEFAULT_SESSION = None


# ---------------------------------------------------------------- SNS ---


@dataclass
class SnsOutbox:
    """The test-mode topic with an SQS queue subscribed, and moto's record of SMS sent."""

    topic_arn: str
    queue_url: str
    _received: list[dict[str, Any]] = field(default_factory=list)

    def topic_messages(self) -> list[dict[str, Any]]:
        """Every SNS notification published to the topic so far (the SQS bodies, parsed)."""
        sqs = boto3.client("sqs", region_name=REGION)
        while batch := sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            self._received.extend(json.loads(message["Body"]) for message in batch)
        return list(self._received)

    @staticmethod
    def sms_messages() -> list[tuple[str, str]]:
        """Every SMS published straight to a phone number, as ``(phone_number, text)``."""
        return list(get_backend("sns")[ACCOUNT_ID][REGION].sms_messages.values())

    def delete_topic(self) -> None:
        boto3.client("sns", region_name=REGION).delete_topic(TopicArn=self.topic_arn)


@pytest.fixture
def sns_outbox(aws: None) -> SnsOutbox:
    """Create the test-mode topic named in ``TEST_MODE_TOPIC_ARN`` and subscribe a queue to it."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name=TEST_MODE_TOPIC_NAME)["TopicArn"]
    assert topic_arn == TEST_MODE_TOPIC_ARN
    queue_url = sqs.create_queue(QueueName="test-mode-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return SnsOutbox(topic_arn=topic_arn, queue_url=queue_url)


# ---------------------------------------------------------------- KMS ---


@pytest.fixture
def new_kms_key(aws: None) -> Callable[[], str]:
    """Create a symmetric moto KMS key and return its ARN (call it again for a second key)."""

    def create() -> str:
        return str(boto3.client("kms", region_name=REGION).create_key(Description="Cognito custom sender key")["KeyMetadata"]["Arn"])

    return create


@pytest.fixture
def kms_key_arn(new_kms_key: Callable[[], str]) -> str:
    return new_kms_key()


@pytest.fixture
def encrypt_code() -> Encrypt:
    """``encrypt_code(b"123456", key_arn, pool_id)``: a ciphertext as Cognito sends it."""
    return cognito_ciphertext


# ---------------------------------------------------------------- triggers ---


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch) -> Callable[..., ModuleType]:
    """Import a trigger module afresh, after setting extra environment variables.

    ``load_handler("custom_sms_sender", SMS_KEY_ARN=arn)`` re-runs the module's
    cold start (settings, clients) with that environment; call it inside the
    moto context when the cold start builds clients.
    """

    def load(module_name: str, **environment: str) -> ModuleType:
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        if module_name in sys.modules:
            return importlib.reload(sys.modules[module_name])
        return importlib.import_module(module_name)

    return load


# ---------------------------------------------------------------- logs ---


class CapturedLogs:
    """What the functions printed: Powertools' JSON log lines, metrics, and anything else."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._out: list[str] = []
        self._err: list[str] = []

    def _drain(self) -> None:
        captured = self._capsys.readouterr()
        self._out.append(captured.out)
        self._err.append(captured.err)

    @property
    def stdout(self) -> str:
        self._drain()
        return "".join(self._out)

    @property
    def text(self) -> str:
        """Everything written to stdout and stderr."""
        self._drain()
        return "".join(self._out) + "".join(self._err)

    def records(self) -> list[dict[str, Any]]:
        """The Powertools log records (one JSON object a line), without the metrics lines."""
        records = []
        for line in self.stdout.splitlines():
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict) and "level" in parsed and "message" in parsed:
                records.append(parsed)
        return records


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at the moment of writing."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _write_logs_to_the_current_stdout() -> None:
    """Point the package logger's handler at whatever ``sys.stdout`` is when it writes.

    Powertools binds its handler to the ``sys.stdout`` of the moment the logger
    is built (at import). pytest swaps that stream between tests and between the
    set-up, call and teardown phases, and closes it at the end of a session (a
    mutation-testing run holds several sessions in one process).
    """
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(_CurrentStdout())


_write_logs_to_the_current_stdout()


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> CapturedLogs:
    """The package's Powertools logs (and anything else printed) during the test, through ``capsys``."""
    return CapturedLogs(capsys)


@pytest.fixture
def debug_logs(logs: CapturedLogs) -> Iterator[CapturedLogs]:
    """As ``logs``, with the package logger at DEBUG (the most talkative a deployment can make it)."""
    previous_level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        yield logs
    finally:
        logger.setLevel(previous_level)
