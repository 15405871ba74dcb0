"""Import audit: which libraries a trigger loads, at import and after one invocation.

Run under ``-X importtime`` by the parent, which reads the import tree from stderr.
"""

import json
import sys


class LambdaContext:
    function_name = "sms-otp-bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sms-otp-bench"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 5000


def loaded(watched: list[str]) -> dict[str, bool]:
    return {name: name in sys.modules for name in watched}


def layer_modules(layer: str) -> list[str]:
    return sorted(
        {name.split(".")[0] for name, module in list(sys.modules.items()) if str(getattr(module, "__file__", "") or "").startswith(layer)}
    )


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    sys.path[:0] = list(spec["path"])
    layer = str(spec["path"][-1]).rstrip("/") + "/"
    before = set(sys.modules)
    module = __import__(spec["module"])
    result: dict[str, object] = {
        "after_import": loaded(spec["watched"]),
        "modules_after_import": len(set(sys.modules) - before),
        "layer_after_import": layer_modules(layer),
    }
    event = spec["event"]
    try:
        module.lambda_handler(event, LambdaContext())
    except Exception as error:  # noqa: BLE001 - reported to the parent
        result["error"] = f"{type(error).__name__}: {error}"
    result["after_invoke"] = loaded(spec["watched"])
    result["modules_after_invoke"] = len(set(sys.modules) - before)
    result["layer_after_invoke"] = layer_modules(layer)
    with open(str(spec["result"]), "w") as handle:
        json.dump(result, handle)


main()
