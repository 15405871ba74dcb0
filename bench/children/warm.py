"""Warm latency: import once, then time each of many invocations in this process.

``handler``: the trigger's ``lambda_handler``, each time on a fresh copy of the event (and, for
the triggers that send, a phone number of its own, whose limits items are deleted afterwards),
made and cleaned up outside the clock.
``reference``: the AWS sample's Custom SMS Sender pattern, which builds the Encryption SDK client
and KMS key provider inside every invocation, then decrypts.

Usage: python -I -S -B warm.py '<spec as JSON>'
"""

import base64
import copy
import gc
import importlib
import json
import os
import sys
import time
import types
from collections.abc import Callable
from typing import Any

Call = tuple[Callable[[], object], Callable[[], None]]


def handler_calls(spec: dict[str, Any]) -> Callable[[int], Call]:
    handler = importlib.import_module(spec["module"]).lambda_handler
    fields = dict(spec["context"])
    remaining = fields.pop("remaining_time_in_millis")
    numbers = spec["phone_numbers"]
    forget = forget_number() if numbers else None

    def prepare(index: int) -> Call:
        event = copy.deepcopy(spec["event"])
        # A request id of its own: each call is a new invocation, never a retry the sender would skip.
        invocation = {**fields, "aws_request_id": f"{fields['aws_request_id']}-{index}"}
        context = types.SimpleNamespace(**invocation, get_remaining_time_in_millis=lambda: remaining)
        if forget is None:
            return lambda: handler(event, context), lambda: None
        event["request"]["userAttributes"]["phone_number"] = numbers[index]
        return lambda: handler(event, context), lambda: forget(numbers[index])

    return prepare


def forget_number() -> Callable[[str], None]:
    """Delete a number's limits items after its invocation, outside the clock: the table stays as
    small as in the first invocation, and so does the moto server's time to answer."""
    import boto3  # noqa: PLC0415

    from sms_otp.limits.keys import sender_subject, subject_key  # noqa: PLC0415
    from sms_otp.sending.custom_sms import TRIGGER_SOURCES  # noqa: PLC0415

    client, table = boto3.client("dynamodb"), os.environ["LIMITS_TABLE_NAME"]

    def forget(number: str) -> None:
        # Sign-in codes, and each of the Custom SMS Sender's trigger sources, are counted under keys of their own.
        for subject in (number, *(sender_subject(source, number) for source in TRIGGER_SOURCES)):
            client.delete_item(TableName=table, Key={"pk": {"S": subject_key(subject)}})

    return forget


def reference_calls(spec: dict[str, Any]) -> Callable[[int], Call]:
    import aws_encryption_sdk  # noqa: PLC0415
    from aws_encryption_sdk.identifiers import CommitmentPolicy  # noqa: PLC0415

    ciphertext = base64.b64decode(spec["ciphertext"])

    def call() -> object:
        client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
        provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[spec["key_arn"]])
        return client.decrypt(source=ciphertext, key_provider=provider)

    return lambda _index: (call, lambda: None)


def main() -> None:
    spec = json.loads(sys.argv[1])
    sys.path[:0] = spec["path"]
    prepare = (handler_calls if spec["mode"] == "handler" else reference_calls)(spec)
    warmup, iterations = spec["warmup"], spec["iterations"]
    samples = []
    for index in range(warmup + iterations):
        if index == warmup:
            gc.collect()
        call, after = prepare(index)
        before = time.perf_counter_ns()
        call()
        elapsed = time.perf_counter_ns() - before
        after()
        if index >= warmup:
            samples.append(elapsed)
    with open(spec["result"], "w") as handle:
        json.dump({"samples_ns": samples}, handle)


main()
