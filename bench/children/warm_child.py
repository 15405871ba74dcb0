"""Warm latency: import once, then time thousands of invocations in this process.

Modes:
- ``handler``: the trigger's ``lambda_handler`` with a fresh copy of the event each time
  (the copy is made outside the timed region).
- ``decryptor``: only the package's ``CodeDecryptor.decrypt``, built once, as the handler does.
- ``reference``: the public AWS sample's pattern, building the Encryption SDK client and the
  KMS key provider inside every invocation, then decrypting.
Every AWS call goes to the local endpoint named by AWS_ENDPOINT_URL.
"""

import base64
import gc
import importlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any


class LambdaContext:
    """The attributes Powertools reads from Lambda's context object."""

    function_name = "sms-otp-bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sms-otp-bench"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/sms-otp-bench"
    log_stream_name = "2025/01/01/[$LATEST]bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 5000


class _Body:
    """The ``raw`` of a replayed botocore response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self._body


def _operation(request: Any) -> str:
    target = request.headers.get("X-Amz-Target")
    if target:
        return target.decode() if isinstance(target, bytes) else str(target)
    body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
    for part in body.split(b"&"):
        if part.startswith(b"Action="):
            return part[len(b"Action=") :].decode()
    return str(request.url)


def install_replay(counts: dict[str, int]) -> None:
    """Answer every AWS call after the first of its kind from memory: the first successful response of each
    operation comes from the local endpoint and is replayed from then on, so what is left to time is our code
    and botocore's own work (serialize, sign, parse), without the network or the endpoint's latency."""
    from botocore.awsrequest import AWSResponse  # noqa: PLC0415
    from botocore.endpoint import Endpoint  # noqa: PLC0415

    original = Endpoint._send
    recorded: dict[str, tuple[str, int, dict[str, str], bytes]] = {}

    def send(self: Any, request: Any) -> Any:
        key = _operation(request)
        if key in recorded:
            url, status, headers, body = recorded[key]
            counts["replayed"] += 1
            return AWSResponse(url, status, headers, _Body(body))
        response = original(self, request)
        if response.status_code < 300:
            recorded[key] = (response.url, response.status_code, dict(response.headers), response.content)
            counts["recorded"] += 1
        return response

    Endpoint._send = send


def _limits_cleanup(table: str) -> Callable[[str], None]:
    """Deletes a number's limits items after its invocation, outside the clock, so that the table, and moto's
    time to answer, stay the same through the run."""
    if not table:
        return lambda _number: None
    try:
        import boto3  # noqa: PLC0415

        from sms_otp.custom_sms import TRIGGER_SOURCES  # noqa: PLC0415
        from sms_otp.limits import sender_subject, subject_key  # noqa: PLC0415
    except ImportError:
        return lambda _number: None
    client = boto3.client("dynamodb")

    def forget(number: str) -> None:
        # Sign-in codes and the Custom SMS Sender's messages are counted under keys of their own.
        for subject in (number, *(sender_subject(source, number) for source in TRIGGER_SOURCES)):
            client.delete_item(TableName=table, Key={"pk": {"S": subject_key(subject)}})

    return forget


def _with_fresh_decryptor(module: Any, key_arn: str) -> Callable[[object, object], object]:
    """The AWS sample's pattern inside our own handler: a new Encryption SDK client and KMS key
    provider in every invocation (the handler looks its module's DECRYPTOR up at call time)."""
    decryptor_class, plain_handler = module.CodeDecryptor, module.lambda_handler

    def handler(event: object, context: object) -> object:
        module.DECRYPTOR = decryptor_class(key_arn)
        return plain_handler(event, context)

    return handler


def handler_call(spec: dict[str, object]) -> tuple[Callable[[], object], Callable[[], None]]:
    """(call, prepare): prepare copies the event outside the clock, call invokes the handler."""
    module = importlib.import_module(str(spec["module"]))
    handler = module.lambda_handler
    if spec.get("fresh_decryptor"):
        handler = _with_fresh_decryptor(module, str(spec["key_arn"]))
    raw = json.dumps(spec["event"])
    context = LambdaContext()
    state: dict[str, object] = {}
    # Triggers that send get a number of their own each time, as real sign-ins from many people do.
    numbers = iter(list(spec.get("phone_numbers") or []))  # type: ignore[call-overload]
    forget = _limits_cleanup(str(spec.get("limits_table") or ""))

    def prepare() -> None:
        previous = state.get("event")
        if previous is not None:
            forget(previous["request"]["userAttributes"]["phone_number"])  # type: ignore[index]
        event = json.loads(raw)
        number = next(numbers, None)
        if number is not None:
            event["request"]["userAttributes"]["phone_number"] = number
        state["event"] = event

    def call() -> object:
        return handler(state["event"], context)

    return call, prepare


def decryptor_call(spec: dict[str, object]) -> tuple[Callable[[], object], Callable[[], None]]:
    from sms_otp.custom_sms import CodeDecryptor  # noqa: PLC0415 - from the built layer, on the path set in main

    decryptor = CodeDecryptor(str(spec["key_arn"]))
    ciphertext, pool = str(spec["ciphertext"]), str(spec["user_pool_id"])

    def call() -> object:
        return decryptor.decrypt(ciphertext, pool)

    return call, lambda: None


def reference_call(spec: dict[str, object]) -> tuple[Callable[[], object], Callable[[], None]]:
    import aws_encryption_sdk  # noqa: PLC0415
    from aws_encryption_sdk.identifiers import CommitmentPolicy  # noqa: PLC0415

    key_arn, ciphertext = str(spec["key_arn"]), str(spec["ciphertext"])

    def call() -> object:
        # As the AWS sample does: a new client and key provider in every invocation.
        client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
        provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_arn])
        plaintext, _header = client.decrypt(source=base64.b64decode(ciphertext), key_provider=provider)
        return plaintext

    return call, lambda: None


MODES = {"handler": handler_call, "decryptor": decryptor_call, "reference": reference_call}


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    sys.path[:0] = list(spec["path"])
    counts = {"recorded": 0, "replayed": 0}
    if spec.get("replay"):
        install_replay(counts)
    call, prepare = MODES[spec["mode"]](spec)
    result: dict[str, object] = {"aws_calls": counts}
    last: object = None
    for _ in range(int(spec["warmup"])):
        prepare()
        last = call()
    samples: list[int] = []
    clock = time.perf_counter_ns
    gc.collect()
    started = time.perf_counter()
    for _ in range(int(spec["iterations"])):
        prepare()
        before = clock()
        last = call()
        samples.append(clock() - before)
    result["elapsed_s"] = time.perf_counter() - started
    result["samples_ns"] = samples
    if isinstance(last, dict):
        response = last.get("response")
        result["response"] = response if isinstance(response, dict) and spec.get("keep_response") else None
    with open(str(spec["result"]), "w") as handle:
        json.dump(result, handle)


main()
