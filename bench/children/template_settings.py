"""Each function of a built template as ``sam local invoke`` would run it, as JSON on stdout.

Runs on the SAM CLI's interpreter (.venv-sam) and resolves the template with SAM's own
providers: Fn::ForEach expanded, Globals merged, intrinsic functions resolved with the parameter overrides given,
which may also name the physical id of a resource (``{"LimitsTable": "name"}``) or its
attributes (``{"SmsKey": {"Arn": "arn"}}``).

Usage: python template_settings.py <built template.yaml> '<overrides as JSON>'
"""

import json
import sys

from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider


def main() -> None:
    template, overrides = sys.argv[1], json.loads(sys.argv[2])
    stacks, _ = SamLocalStackProvider.get_stacks(template, parameter_overrides=overrides, language_extensions_enabled=True)
    functions = {}
    for function in SamFunctionProvider(stacks, ignore_code_extraction_warnings=True).get_all():
        variables = (function.environment or {}).get("Variables", {})
        functions[function.name] = {
            "handler": function.handler,
            "code_dir": function.codeuri,
            "layer_dirs": [layer.codeuri for layer in function.layers],
            "memory_mb": function.memory,
            "environment": {name: str(value) for name, value in variables.items()},
        }
    json.dump(functions, sys.stdout)


main()
