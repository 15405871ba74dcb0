"""Each function's environment variables, read from template.yaml (the single source of truth).

The template's intrinsic functions are resolved the way CloudFormation would with
the sandbox's parameter overrides (test mode on, tracing off), with the test topic
and the KMS key replaced by the ones the benchmark created on its local endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from bench.common import ACCOUNT_ID, REGION, ROOT

TEMPLATE = ROOT / "template.yaml"
# The sandbox's overrides (samconfig.toml [sandbox]); the benchmark runs in test mode, as the sandbox does.
DEFAULT_OVERRIDES = {
    "Stage": "dev",
    "TestMode": "true",
    "OtpLength": "6",
    "OtpTtlSeconds": "180",
    "MaxAttempts": "3",
    "EnableTracing": "false",
    # Raised from its default so that thousands of benchmark sends in one hour are never refused;
    # every other limit keeps its default, and every send goes to a number of its own.
    "StackMessagesPerHour": "1000000",
}


class TemplateError(Exception):
    """The template holds something this resolver does not understand."""


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML loader that turns CloudFormation's short tags (!Ref, !If...) into their long form."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - YAML has no other node kind
        raise TemplateError(f"unexpected node for !{tag_suffix}")
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_Loader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return loaded


@dataclass
class Resolver:
    """Evaluates Ref, GetAtt, If, Sub and the condition functions for one deployment."""

    template: dict[str, Any]
    overrides: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_OVERRIDES))
    # Values for resources: {"TestModeTopic": arn, "SmsKey.Arn": arn}.
    resources: Mapping[str, str] = field(default_factory=dict)

    def parameter(self, name: str) -> str:
        if name in self.overrides:
            return str(self.overrides[name])
        parameters = self.template.get("Parameters", {})
        if name not in parameters:
            raise TemplateError(f"unknown parameter {name}")
        default = parameters[name].get("Default", "")
        return str(default).lower() if isinstance(default, bool) else str(default)

    def ref(self, name: str) -> str:
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID, "AWS::Partition": "aws", "AWS::StackName": "sms-otp-bench"}
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name in self.resources:
            return self.resources[name]
        raise TemplateError(f"no value for !Ref {name}")

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"unknown condition {name}")
        return self.truth(conditions[name])

    def truth(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            ((function, argument),) = expression.items()
            if function == "Fn::Equals":
                return str(self.resolve(argument[0])) == str(self.resolve(argument[1]))
            if function == "Fn::Not":
                return not self.truth(argument[0])
            if function == "Fn::And":
                return all(self.truth(item) for item in argument)
            if function == "Fn::Or":
                return any(self.truth(item) for item in argument)
            if function == "Condition":
                return self.condition(str(argument))
        raise TemplateError(f"cannot evaluate condition {expression!r}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function in {"Ref", "Condition"} or function.startswith("Fn::"):
                return self._intrinsic(function, argument)
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def _intrinsic(self, function: str, argument: Any) -> Any:
        if function == "Ref":
            return self.ref(str(argument))
        if function == "Fn::GetAtt":
            key = ".".join(argument)
            if key in self.resources:
                return self.resources[key]
            raise TemplateError(f"no value for !GetAtt {key}")
        if function == "Fn::If":
            name, if_true, if_false = argument
            return self.resolve(if_true if self.condition(name) else if_false)
        if function == "Fn::Sub" and isinstance(argument, str):
            return self._sub(argument)
        raise TemplateError(f"unsupported intrinsic {function}")

    def _sub(self, text: str) -> str:
        result, rest = "", text
        while "${" in rest:
            before, _, after = rest.partition("${")
            name, _, rest = after.partition("}")
            result += before + (self.resources[name] if name in self.resources else self.ref(name))
        return result + rest

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """Globals' variables merged with the function's own, as strings (Lambda's environment is strings)."""
        global_variables = self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        resource = self.template["Resources"].get(logical_id)
        if resource is None:
            raise TemplateError(f"the template has no resource {logical_id}")
        own = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        merged = {**global_variables, **own}
        return {name: _as_string(self.resolve(value)) for name, value in merged.items()}

    def function_property(self, logical_id: str, name: str) -> Any:
        """A function property, falling back to Globals (Handler, MemorySize, Timeout...)."""
        properties = self.template["Resources"][logical_id].get("Properties", {})
        if name in properties:
            return self.resolve(properties[name])
        return self.resolve(self.template.get("Globals", {}).get("Function", {}).get(name))


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
