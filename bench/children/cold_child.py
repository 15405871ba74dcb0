"""One cold start, in a fresh interpreter with only the built function and layer on its path.

``trigger`` mode imports the handler module and runs one invocation; ``baseline``
mode imports only what the trigger cannot do without (Powertools' Logger, plus
boto3 clients and the Encryption SDK for the triggers that call AWS) and logs one
line, optionally also making the trigger's AWS calls (``baseline_calls``).
The clock starts on the very first line; everything before it is interpreter start-up,
which the parent measures as the process's wall time.
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402 - after the clock starts, on purpose
import sys  # noqa: E402


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


def run_trigger(spec: dict[str, object]) -> dict[str, object]:
    import importlib  # noqa: PLC0415

    module = importlib.import_module(str(spec["module"]))
    imported = time.perf_counter()
    with open(str(spec["event_file"])) as handle:
        event = json.load(handle)
    result: dict[str, object] = {}
    try:
        module.lambda_handler(event, LambdaContext())
    except Exception as error:  # noqa: BLE001 - reported to the parent, which decides
        result["error"] = f"{type(error).__name__}: {error}"
    finished = time.perf_counter()
    response = event.get("response") if isinstance(event, dict) else None
    result.update({"imported": imported, "finished": finished, "response": response if isinstance(response, dict) else None})
    return result


def run_baseline(spec: dict[str, object]) -> dict[str, object]:
    from aws_lambda_powertools import Logger  # noqa: PLC0415

    logger = Logger()
    needs = list(spec.get("needs") or [])  # type: ignore[call-overload]
    clients: dict[str, object] = {}
    if any(service in needs for service in ("sns", "cognito-idp", "dynamodb")):
        import boto3  # noqa: PLC0415

        for service in ("sns", "cognito-idp", "dynamodb"):
            if service in needs:
                clients[service] = boto3.client(service)
    esdk_client = provider = None
    if "esdk" in needs:
        import aws_encryption_sdk  # noqa: PLC0415
        from aws_encryption_sdk.identifiers import CommitmentPolicy  # noqa: PLC0415

        esdk_client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
        provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[str(spec["key_arn"])])
    imported = time.perf_counter()
    result: dict[str, object] = {}
    try:
        if spec.get("baseline_calls"):
            if "phonenumbers" in list(spec.get("work_needs") or []):  # type: ignore[call-overload]
                import phonenumbers  # noqa: PLC0415

                phonenumbers.is_valid_number(phonenumbers.parse("+14155550123", None))
            if needs:
                _make_calls(spec, clients, esdk_client, provider)
        logger.info("baseline")
    except Exception as error:  # noqa: BLE001 - reported to the parent
        result["error"] = f"{type(error).__name__}: {error}"
    result.update({"imported": imported, "finished": time.perf_counter(), "response": None})
    return result


def _make_calls(spec: dict[str, object], clients: dict[str, object], esdk_client: object, provider: object) -> None:
    """The AWS calls one invocation of the trigger makes, with nothing of ours around them."""
    import base64  # noqa: PLC0415

    if esdk_client is not None:
        esdk_client.decrypt(source=base64.b64decode(str(spec["ciphertext"])), key_provider=provider)  # type: ignore[attr-defined]
    if "cognito-idp" in clients:
        cognito = clients["cognito-idp"]
        cognito.describe_user_pool_client(UserPoolId=spec["user_pool_id"], ClientId=spec["client_id"])  # type: ignore[attr-defined]
        cognito.admin_update_user_attributes(  # type: ignore[attr-defined]
            UserPoolId=spec["user_pool_id"],
            Username=spec["username"],
            UserAttributes=[{"Name": "phone_number_verified", "Value": "true"}],
        )
    if "dynamodb" in clients:
        _limits_calls(spec, clients["dynamodb"], reset="cognito-idp" in clients)
    if "sns" in clients:
        clients["sns"].publish(  # type: ignore[attr-defined]
            TopicArn=spec["topic_arn"],
            Subject="Test-mode SMS to +*******0123",
            Message="Your sign-in code is 123456. It expires in 3 minutes. Do not share it with anyone.",
            MessageAttributes={
                "recipient": {"DataType": "String", "StringValue": "+14155550123"},
                "trigger_source": {"DataType": "String", "StringValue": "bench"},
            },
        )


def _limits_calls(spec: dict[str, object], dynamodb: object, *, reset: bool) -> None:
    """The limit store's calls: a reset (Post Authentication), or what a sign-in code costs: one read of the budget's
    counters and the range's window, a consistent read and a conditional put of the number's item, and two counters."""
    table = spec["table_name"]
    if reset:
        dynamodb.update_item(  # type: ignore[attr-defined]
            TableName=table,
            Key={"pk": {"S": "bench#reset"}},
            UpdateExpression="SET failed_rounds = :zero, locked_until = :zero ADD version :one",
            ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
        )
        return
    key = f"bench#{time.time_ns()}"
    counters = [{"pk": {"S": f"bench#counter#{n}"}} for n in range(17)]
    dynamodb.batch_get_item(RequestItems={table: {"Keys": counters}})  # type: ignore[attr-defined]
    dynamodb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)  # type: ignore[attr-defined]
    dynamodb.put_item(  # type: ignore[attr-defined]
        TableName=table,
        Item={"pk": {"S": key}, "sent_at": {"L": [{"N": "1"}]}, "version": {"N": "1"}},
        ConditionExpression="attribute_not_exists(pk)",
    )
    for counter in counters[:2]:
        dynamodb.update_item(  # type: ignore[attr-defined]
            TableName=table, Key=counter, UpdateExpression="ADD sent :one", ExpressionAttributeValues={":one": {"N": "1"}}
        )


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    sys.path[:0] = list(spec["path"])
    result = run_trigger(spec) if spec["mode"] == "trigger" else run_baseline(spec)
    # After the clock stopped: what was loaded, for the layer-usage audit.
    result["started"] = STARTED
    result["modules"] = len(sys.modules)
    layer = str(spec["path"][-1]).rstrip("/") + "/"
    result["layer_top_level"] = sorted(
        {name.split(".")[0] for name, module in list(sys.modules.items()) if str(getattr(module, "__file__", "") or "").startswith(layer)}
    )
    with open(str(spec["result"]), "w") as handle:
        json.dump(result, handle)


main()
