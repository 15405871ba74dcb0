"""Every AWS call each trigger makes, counted through the real handlers under moto, and what they cost.

A botocore event hook on every client (``before-parameter-build`` / ``after-call``) records each call's
operation, thread and interval, from the moment the code asks for it. The depth of a trigger's critical path counts calls one after
another: calls that overlap in time (run in threads) count once. Three scenarios, production
mode (TEST_MODE=false, SMS through SNS to the phone), a budget the runs cannot spend, every other setting at its default:

- a new user's sign-in: Pre sign-up, Define, Create (first round), Verify, Define, Post
  Authentication (which marks the phone verified);
- a returning user's sign-in: the same without Pre sign-up, on a verified phone;
- one code through the Custom SMS Sender (a sign-up code).

Each is run twice on the same containers: ``cold`` is the first invocation of each function (its
clients and caches built then), ``warm`` the second, with another phone number.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PRICES = Path(__file__).resolve().parent / "prices.json"
REGION = "us-east-1"
KEY_ALIAS = "alias/sms-otp-round-trips"
TABLE = "sms-otp-round-trips"
SCENARIOS: dict[str, tuple[tuple[str, str], ...]] = {
    # (trigger module, sample event)
    "new user": (
        ("pre_sign_up", "pre_sign_up"),
        ("define_auth_challenge", "define_auth_challenge_new_session"),
        ("create_auth_challenge", "create_auth_challenge"),
        ("verify_auth_challenge", "verify_auth_challenge"),
        ("define_auth_challenge", "define_auth_challenge_right_answer"),
        ("post_authentication", "post_authentication"),
    ),
    "returning user": (
        ("define_auth_challenge", "define_auth_challenge_new_session"),
        ("create_auth_challenge", "create_auth_challenge"),
        ("verify_auth_challenge", "verify_auth_challenge"),
        ("define_auth_challenge", "define_auth_challenge_right_answer"),
        ("post_authentication", "post_authentication"),
    ),
    "sender code": (("custom_sms_sender", "custom_sms_sender_sign_up"),),
}
# The template's memory for every function (Globals.Function.MemorySize).
MEMORY_MB = 512
MONTHLY_USERS = 10_000
SIGN_INS_PER_USER = 4


@dataclass(frozen=True, slots=True)
class Call:
    operation: str
    thread: int
    started: float
    ended: float


def critical_path_depth(calls: list[Call]) -> int:
    """The most calls one after another: a call counts after another only if it started once that one ended."""
    ordered = sorted(calls, key=lambda call: call.started)
    depths: list[int] = []
    for index, call in enumerate(ordered):
        before = [depths[earlier] for earlier in range(index) if ordered[earlier].ended <= call.started]
        depths.append(1 + max(before, default=0))
    return max(depths, default=0)


@dataclass
class Recorder:
    """Records every AWS call of every client built while it is installed."""

    calls: list[Call] = field(default_factory=list)
    # Each call waits this long before moto answers, as a call across a region's network would: calls that run
    # side by side then overlap whatever the machine's load, so the critical path's depth does not depend on timing.
    latency_seconds: float = 0.01
    _open: dict[int, tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def asked(self, model: Any, **_: Any) -> None:
        # A call starts when the code asks for it: a thread's first serialisation of an operation, slow under load,
        # is inside the interval, so calls asked for side by side overlap however the machine is loaded.
        with self._lock:
            self._open[threading.get_ident()] = (f"{model.service_model.service_name}:{model.name}", time.perf_counter())

    def before(self, **_: Any) -> None:
        time.sleep(self.latency_seconds)

    def after(self, **_: Any) -> None:
        ended = time.perf_counter()
        with self._lock:
            operation, started = self._open.pop(threading.get_ident())
            self.calls.append(Call(operation, threading.get_ident(), started, ended))

    def take(self) -> list[Call]:
        with self._lock:
            taken, self.calls = self.calls, []
        return taken

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Hook every client botocore creates (boto3's and the Encryption SDK's own session alike)."""
        import botocore.session  # noqa: PLC0415 - after the environment is set

        create_client = botocore.session.Session.create_client
        recorder = self

        def hooked(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = create_client(session, *args, **kwargs)
            client.meta.events.register("before-parameter-build.*.*", recorder.asked)
            client.meta.events.register("before-call.*.*", recorder.before)
            client.meta.events.register("after-call.*.*", recorder.after)
            return client

        botocore.session.Session.create_client = hooked
        try:
            yield
        finally:
            botocore.session.Session.create_client = create_client


def environment(key_arn: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "round-trips",
        "AWS_SECRET_ACCESS_KEY": "round-trips",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "TEST_MODE": "false",
        "LIMITS_TABLE_NAME": TABLE,
        # Every scenario of every repeat texts a fresh +1 number: a budget that would refuse none of them (the calls
        # an admitted text makes do not depend on the budget's size).
        "STACK_MESSAGES_PER_HOUR": "1000000",
        "SMS_KEY_ARN": key_arn,
        "POWERTOOLS_SERVICE_NAME": "cognito-sms-otp",
        "POWERTOOLS_METRICS_NAMESPACE": "CognitoSmsOtp",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    }


def _event(name: str, phone_number: str, pool_id: str, client_id: str, ciphertext: str, *, verified: bool) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    event.update(userPoolId=pool_id, userName=phone_number)
    event["callerContext"]["clientId"] = client_id
    attributes = event["request"].setdefault("userAttributes", {})
    attributes["phone_number"] = phone_number
    if "phone_number_verified" in attributes:
        attributes["phone_number_verified"] = "true" if verified else "false"
    if name.startswith("custom_sms_sender"):
        event["request"]["code"] = ciphertext
    return event


def run(repeats: int = 1, latency_seconds: float = 0.01) -> dict[str, Any]:
    """Count the calls (and time the invocations) of every scenario, cold then warm, under moto in this process."""
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    from tests.testkit.cognito_encryption import cognito_ciphertext  # noqa: PLC0415
    from tests.testkit.lambda_context import FakeLambdaContext  # noqa: PLC0415
    from tests.testkit.template import create_limits_table  # noqa: PLC0415

    saved = dict(os.environ)
    # The layer caches its clients per container: load it afresh, as a new container would, so that every client it
    # builds is one the recorder hooks; and put back the modules as they were, for whoever imported them before.
    saved_modules = dict(sys.modules)
    for name in [name for name in sys.modules if name == "sms_otp" or name.startswith("sms_otp.")]:
        del sys.modules[name]
    boto3.DEFAULT_SESSION = None
    results: dict[str, Any] = {}
    try:
        os.environ.update(environment("pending"))
        with mock_aws():
            key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
            os.environ.update(environment(key_arn))
            create_limits_table(boto3.client("dynamodb", region_name=REGION), TABLE)
            cognito = boto3.client("cognito-idp", region_name=REGION)
            pool_id = cognito.create_user_pool(PoolName="round-trips", UsernameAttributes=["phone_number"])["UserPool"]["Id"]
            flows = ["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
            client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="rt", ExplicitAuthFlows=flows)["UserPoolClient"][
                "ClientId"
            ]
            numbers = iter(f"+1202555{line:04d}" for line in range(100, 200))
            recorder = Recorder(latency_seconds=latency_seconds)
            with recorder.installed():
                handlers: dict[str, Callable[..., Any]] = {}
                for module in {module for steps in SCENARIOS.values() for module, _ in steps}:
                    sys.modules.pop(module, None)
                    handlers[module] = importlib.import_module(module).lambda_handler
                for phase in ("cold", *(["warm"] * repeats)):
                    for scenario, steps in SCENARIOS.items():
                        phone_number = next(numbers)
                        attributes = [{"Name": "phone_number", "Value": phone_number}]
                        cognito.admin_create_user(
                            UserPoolId=pool_id, Username=phone_number, UserAttributes=attributes, MessageAction="SUPPRESS"
                        )
                        ciphertext = cognito_ciphertext("731904", key_arn, pool_id) if scenario == "sender code" else ""
                        recorder.take()
                        for module, event_name in steps:
                            event = _event(event_name, phone_number, pool_id, client_id, ciphertext, verified=scenario == "returning user")
                            started = time.perf_counter()
                            handlers[module](event, FakeLambdaContext())
                            elapsed_ms = (time.perf_counter() - started) * 1000
                            calls = recorder.take()
                            entry = (
                                results.setdefault(phase, {})
                                .setdefault(scenario, {})
                                .setdefault(f"{module}:{event_name}", {"calls": [], "depth": 0, "ms": []})
                            )
                            entry["calls"] = [call.operation for call in sorted(calls, key=lambda call: call.started)]
                            entry["depth"] = critical_path_depth(calls)
                            entry["ms"].append(elapsed_ms)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        boto3.DEFAULT_SESSION = None
        for name in [name for name in sys.modules if name not in saved_modules]:
            del sys.modules[name]
        sys.modules.update(saved_modules)
    return results


# ---------------------------------------------------------------- cost ---


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def request_cost(operation: str, prices: dict[str, Any]) -> float:
    """The price of one call (US dollars), from the price table's per-operation units."""
    service, name = operation.split(":")
    table = prices["requests"]
    if service == "dynamodb":
        units = table["dynamodb_units"].get(name, {"read": 0, "write": 0})
        return float(units["read"] * table["dynamodb_read_unit"]["price"] + units["write"] * table["dynamodb_write_unit"]["price"])
    if service == "kms":
        return float(table["kms_request"]["price"])
    return 0.0  # SNS Publish to a phone is the SMS itself (kept apart); Cognito admin calls are free


def lambda_cost(milliseconds: float, prices: dict[str, Any], memory_mb: int = MEMORY_MB) -> float:
    lambda_prices = prices["lambda"]
    billed_ms = max(1, int(milliseconds + 0.999))
    return float(lambda_prices["request"]["price"] + billed_ms / 1000 * memory_mb / 1024 * lambda_prices["arm64_gb_second"]["price"])


def cost_table(results: dict[str, Any], prices: dict[str, Any], phase: str = "warm") -> dict[str, dict[str, float]]:
    """Per scenario: AWS calls, their cost, Lambda's cost, all per 1,000 (US dollars), SMS apart."""
    table = {}
    for scenario, steps in results[phase].items():
        calls = sum(len(step["calls"]) for step in steps.values())
        requests = sum(request_cost(operation, prices) for step in steps.values() for operation in step["calls"])
        compute = sum(lambda_cost(statistics.median(step["ms"]), prices) for step in steps.values())
        table[scenario] = {"calls": calls, "requests_per_1000": requests * 1000, "lambda_per_1000": compute * 1000}
        table[scenario]["total_per_1000"] = table[scenario]["requests_per_1000"] + table[scenario]["lambda_per_1000"]
    return table


def monthly(table: dict[str, dict[str, float]], prices: dict[str, Any]) -> dict[str, float]:
    """A month of MONTHLY_USERS each signing in SIGN_INS_PER_USER times: one new-user sign-in each, the rest returning."""
    sign_ins = MONTHLY_USERS * SIGN_INS_PER_USER
    new, returning = MONTHLY_USERS, sign_ins - MONTHLY_USERS
    stack = (new * table["new user"]["total_per_1000"] + returning * table["returning user"]["total_per_1000"]) / 1000
    sms = sign_ins * prices["sms"]["us_transactional"]["price"]
    return {"sign_ins": sign_ins, "stack_per_sign_ins": stack, "sms": sms}
