"""One cold start, in a fresh interpreter whose path holds only the built function and layer.

``trigger``: import the handler module and run one invocation. ``baseline``: import only what
the trigger cannot do without (Powertools' Logger, plus the boto3 clients and the Encryption SDK
client and key provider it uses, and any library the spec names) and log one line. The clock starts on the first line; what
comes before it is the interpreter's start-up, which the parent sees in the process's wall time.
The CPU time this process spent over the same span is reported too: unlike the clock, it hardly
moves when other processes compete for the machine.

Usage: python -I -S -B cold.py '<spec as JSON>'
"""

import time

STARTED = time.perf_counter()
STARTED_CPU = time.process_time()

import importlib  # noqa: E402 - after the clock starts, on purpose
import json  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
from typing import Any  # noqa: E402


def run_trigger(spec: dict[str, Any]) -> Any:
    module = importlib.import_module(spec["module"])
    imported = time.perf_counter()
    fields = dict(spec["context"])
    remaining = fields.pop("remaining_time_in_millis")
    context = types.SimpleNamespace(**fields, get_remaining_time_in_millis=lambda: remaining)
    return imported, module.lambda_handler(spec["event"], context)


def run_baseline(spec: dict[str, Any]) -> Any:
    from aws_lambda_powertools import Logger  # noqa: PLC0415

    logger = Logger()
    if spec["clients"]:
        import boto3  # noqa: PLC0415

        for service in spec["clients"]:
            boto3.client(service)
    if spec["encryption_sdk"]:
        import aws_encryption_sdk  # noqa: PLC0415
        from aws_encryption_sdk.identifiers import CommitmentPolicy  # noqa: PLC0415

        aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
        aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[spec["key_arn"]])
    for library in spec["libraries"]:
        importlib.import_module(library)
    imported = time.perf_counter()
    logger.info("baseline")
    return imported, None


def main() -> None:
    spec = json.loads(sys.argv[1])
    sys.path[:0] = spec["path"]
    imported, response = (run_trigger if spec["mode"] == "trigger" else run_baseline)(spec)
    finished, finished_cpu = time.perf_counter(), time.process_time()
    result = {
        "import_ms": (imported - STARTED) * 1000,
        "total_ms": (finished - STARTED) * 1000,
        "cpu_ms": (finished_cpu - STARTED_CPU) * 1000,
        "response": response,
    }
    with open(spec["result"], "w") as handle:
        json.dump(result, handle, default=str)


main()
