"""Warm latency: import once, then time each of many invocations in this process.

``handler``: the trigger's ``lambda_handler``, each time on a fresh copy of the event (and, for
the triggers that send, a phone number of its own), made outside the clock.
``reference``: the AWS sample's Custom SMS Sender pattern, which builds the Encryption SDK client
and KMS key provider inside every invocation, then decrypts.

Usage: python -I -S -B warm.py '<spec as JSON>'
"""

import base64
import copy
import gc
import importlib
import json
import sys
import time
import types
from collections.abc import Callable
from typing import Any


def handler_calls(spec: dict[str, Any]) -> Callable[[int], Callable[[], object]]:
    handler = importlib.import_module(spec["module"]).lambda_handler
    fields = dict(spec["context"])
    remaining = fields.pop("remaining_time_in_millis")
    context = types.SimpleNamespace(**fields, get_remaining_time_in_millis=lambda: remaining)
    numbers = spec["phone_numbers"]

    def prepare(index: int) -> Callable[[], object]:
        event = copy.deepcopy(spec["event"])
        if numbers:
            event["request"]["userAttributes"]["phone_number"] = numbers[index]
        return lambda: handler(event, context)

    return prepare


def reference_calls(spec: dict[str, Any]) -> Callable[[int], Callable[[], object]]:
    import aws_encryption_sdk  # noqa: PLC0415
    from aws_encryption_sdk.identifiers import CommitmentPolicy  # noqa: PLC0415

    ciphertext = base64.b64decode(spec["ciphertext"])

    def call() -> object:
        client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
        provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[spec["key_arn"]])
        return client.decrypt(source=ciphertext, key_provider=provider)

    return lambda _index: call


def main() -> None:
    spec = json.loads(sys.argv[1])
    sys.path[:0] = spec["path"]
    prepare = (handler_calls if spec["mode"] == "handler" else reference_calls)(spec)
    warmup, iterations = spec["warmup"], spec["iterations"]
    for index in range(warmup):
        prepare(index)()
    gc.collect()
    samples = []
    for index in range(warmup, warmup + iterations):
        call = prepare(index)
        before = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - before)
    with open(spec["result"], "w") as handle:
        json.dump({"samples_ns": samples}, handle)


main()
