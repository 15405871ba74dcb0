"""template.yaml as CloudFormation creates it: every resource, IAM grant and invoke permission, pinned by a snapshot.

The template goes through the transforms it declares: ``AWS::LanguageExtensions`` as
cfn-lint expands it (the expansion ``sam validate --lint`` checks), then the SAM
translator. This is done for every combination of the parameters that decide what is
created and granted for a new pool (TestMode, EnableTracing, PasswordSignIn; the others
keep their defaults), and for both modes of attaching to an existing pool (with and
without TestMode), with the template's conditions evaluated and ``Fn::If`` resolved.

The result is compared with ``template_snapshot.json``, one line per value: the default
combination in full, every other one as what differs from it. Only what cannot change
what is deployed or allowed is normalised:

- where an IAM statement is written: a role's ``Grants`` are the statements of its inline
  policies plus those of every ``AWS::IAM::Policy`` that names it, one per effect, action
  and resource (``Allow sns:Publish on *``) with its conditions, without policy names or
  ``Sid``. Its managed policies stay as they are;
- the hash SAM appends to a layer version's logical ID;
- ``Fn::Sub`` with a map of plain strings, and ``Fn::FindInMap`` on literal keys,
  written out as the string they make.

Everything else (types, properties, assume-role documents, conditions of statements,
environment variables, references) is compared as written.

After a change to the template's resources or IAM that you mean, regenerate the
snapshot from the repository's root and review its diff:

    .venv/bin/python -m tests.unit.template.test_template_snapshot
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml
from samtranslator.metrics.metrics import Metrics
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from tests.testkit.template import REGION, expand_language_extensions

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "template.yaml"
SNAPSHOT = Path(__file__).with_name("template_snapshot.json")
# Parameters that decide which resources exist and what they may do.
VARIED_PARAMETERS = ("TestMode", "EnableTracing", "PasswordSignIn")
EXISTING_POOL_ID = "us-east-1_Example12"
EXISTING_POOL_MODES = ("CustomSmsSender", "Passwordless")
# SAM names a layer version after the layer and a hash of its properties.
_LAYER_VERSION_HASH = re.compile(r"^(?P<layer>[A-Za-z0-9]+?)[0-9a-f]{10}$")
_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def combinations() -> list[dict[str, str]]:
    """Every combination of the varied parameters for a new pool, then each mode on an existing pool, as parameter overrides."""
    new_pool = [dict(zip(VARIED_PARAMETERS, values, strict=True)) for values in itertools.product(("false", "true"), repeat=3)]
    existing_pool = [
        {"ExistingUserPoolId": EXISTING_POOL_ID, "ExistingPoolTriggers": mode, "TestMode": test_mode}
        for mode, test_mode in itertools.product(EXISTING_POOL_MODES, ("false", "true"))
    ]
    return new_pool + existing_pool


def combination_name(overrides: Mapping[str, str]) -> str:
    return ",".join(f"{name}={value}" for name, value in overrides.items())


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain data, with CloudFormation's short tags in their long form."""
    loaded: dict[str, Any] = json.loads(json.dumps(load_cfn_yaml(str(path))))
    return loaded


def _with_s3_code_locations(template: dict[str, Any]) -> dict[str, Any]:
    """The local code paths as the S3 locations ``sam deploy`` would upload them to (SAM accepts only those)."""
    located = copy.deepcopy(template)
    sections = [located.get("Globals", {}).get("Function", {})]
    sections += [resource.get("Properties", {}) for resource in located["Resources"].values()]
    for properties in sections:
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://deployment-bucket/{properties[key].strip('/')}"
    return located


def transformed_template(template: dict[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """What CloudFormation processes after the template's transforms, for these parameter values."""
    expanded = _with_s3_code_locations(expand_language_extensions(template))
    metrics = Metrics()  # SAM's own usage metrics, published nowhere
    translator = Translator(None, Parser(), metrics=metrics, boto_session=boto3.session.Session(region_name=REGION))
    # The template names no AWS managed policy by its short name, so SAM needs no account's list of them.
    result: dict[str, Any] = translator.translate(expanded, parameter_values=dict(overrides), get_managed_policy_map=dict)
    metrics.publish()
    return result


class _Evaluator:
    """Evaluates the template's conditions for one set of parameter values and resolves what depends on them."""

    def __init__(self, template: dict[str, Any], overrides: Mapping[str, str]) -> None:
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
        self.parameters.update(overrides)
        self.mappings: dict[str, Any] = template.get("Mappings", {})
        self.expressions: dict[str, Any] = template.get("Conditions", {})
        self.conditions = {name: self.truth(expression) for name, expression in self.expressions.items()}

    def truth(self, expression: Any) -> bool:
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.truth(self.expressions[argument])
        if function == "Fn::Equals":
            left, right = (self.scalar(item) for item in argument)
            return left == right
        if function == "Fn::Not":
            return not self.truth(argument[0])
        if function == "Fn::And":
            return all(self.truth(item) for item in argument)
        if function == "Fn::Or":
            return any(self.truth(item) for item in argument)
        raise AssertionError(f"unsupported condition function {function}")

    def scalar(self, value: Any) -> str:
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return self.parameters[value["Ref"]]
        return str(value)

    def resolve(self, value: Any) -> Any:
        """``value`` with every ``Fn::If`` decided, ``AWS::NoValue`` removed and literal lookups written out."""
        if isinstance(value, list):
            return [resolved for item in value if (resolved := self.resolve(item)) is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if value == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return self.resolve(when_true if self.conditions[name] else when_false)
        if set(value) == {"Fn::FindInMap"} and all(isinstance(key, str) for key in value["Fn::FindInMap"]):
            mapping, top, second = value["Fn::FindInMap"]
            return self.mappings[mapping][top][second]
        resolved = {key: item for key, raw in value.items() if (item := self.resolve(raw)) is not _NO_VALUE}
        return _written_out_sub(resolved)


_NO_VALUE = object()


def _written_out_sub(value: dict[str, Any]) -> Any:
    """``Fn::Sub [text, {name: "plain"}]`` as the single string it makes, when every variable is a plain string."""
    if set(value) != {"Fn::Sub"} or not isinstance(value["Fn::Sub"], list):
        return value
    text, variables = value["Fn::Sub"]
    if not all(isinstance(item, str) for item in variables.values()):
        return value
    written = _SUB_VARIABLE.sub(lambda match: variables.get(match.group(1), match.group(0)), text)
    return {"Fn::Sub": written}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grant_name(effect: str, action: str, resource: Any) -> str:
    """A grant's name in a role's ``Grants``: ``Allow sns:Publish on *``, the resource as JSON when it is a reference."""
    target = resource if isinstance(resource, str) else json.dumps(resource, sort_keys=True, separators=(",", ":"))
    return f"{effect} {action} on {target}"


def _grants(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """Statements split into one grant per action and resource, each named after them (its conditions as the value),
    without ``Sid``: the same permissions, written one way."""
    grants: dict[str, Any] = {}
    for statement in statements:
        rest = {key: item for key, item in statement.items() if key not in {"Sid", "Effect", "Action", "Resource"}}
        if not {"Effect", "Action", "Resource"} <= statement.keys():
            grants[json.dumps(statement, sort_keys=True)] = {}
            continue
        for action, resource in itertools.product(_as_list(statement["Action"]), _as_list(statement["Resource"])):
            name = grant_name(statement["Effect"], action, resource)
            assert grants.get(name, rest) == rest, f"{name} is granted twice with different conditions"
            grants[name] = rest
    return dict(sorted(grants.items()))


def _fold_policies_into_roles(resources: dict[str, Any]) -> dict[str, Any]:
    """Each role with ``Grants``: its inline statements and those of the ``AWS::IAM::Policy`` resources naming it."""
    statements: dict[str, list[dict[str, Any]]] = {}
    folded = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Policy":
            folded[logical_id] = resource
            continue
        properties = resource["Properties"]
        # Users or groups would be principals the roles' view cannot show.
        assert set(properties) == {"PolicyName", "PolicyDocument", "Roles"}, f"{logical_id}: {sorted(properties)}"
        for role in properties["Roles"]:
            statements.setdefault(role["Ref"], []).extend(_as_list(properties["PolicyDocument"]["Statement"]))
    for logical_id, resource in folded.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        properties = resource["Properties"]
        inline = [statement for policy in properties.pop("Policies", []) for statement in _as_list(policy["PolicyDocument"]["Statement"])]
        properties["Grants"] = _grants(inline + statements.pop(logical_id, []))
    assert not statements, f"policies attached to roles the template does not create: {sorted(statements)}"
    return folded


def _without_generated_hashes(resources: dict[str, Any], source_ids: set[str]) -> dict[str, Any]:
    """Layer versions named ``<Layer>#version`` instead of ``<Layer><hash>``, references included."""
    text = json.dumps(resources, sort_keys=True)
    for logical_id in resources:
        match = _LAYER_VERSION_HASH.match(logical_id)
        if logical_id not in source_ids and match and match.group("layer") in source_ids:
            text = re.sub(rf"\b{logical_id}\b", f"{match.group('layer')}#version", text)
    renamed: dict[str, Any] = json.loads(text)
    return renamed


def normalise(transformed: dict[str, Any], overrides: Mapping[str, str], source_ids: set[str]) -> dict[str, Any]:
    """The resources of a transformed template that exist for these parameter values, in the form the snapshot compares."""
    evaluator = _Evaluator(transformed, overrides)
    resources = {}
    for logical_id, resource in transformed["Resources"].items():
        condition = resource.get("Condition")
        if condition is not None and not evaluator.conditions[condition]:
            continue
        resources[logical_id] = evaluator.resolve({key: item for key, item in resource.items() if key != "Condition"})
    return _without_generated_hashes(_fold_policies_into_roles(resources), source_ids)


def normalised_resources(template: dict[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """The resources CloudFormation would create from ``template`` for these parameter values, normalised."""
    return normalise(transformed_template(template, overrides), overrides, _source_ids(template))


def _source_ids(template: dict[str, Any]) -> set[str]:
    return {key for key in template["Resources"] if not key.startswith("Fn::ForEach::")}


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of ``value`` by its path (``/Resource/Properties/Key/0``), so that a diff names the value that changed."""
    if isinstance(value, dict) and value:
        return {leaf: item for key, child in value.items() for leaf, item in flatten(child, f"{path}/{key}").items()}
    if isinstance(value, list) and value:
        return {leaf: item for index, child in enumerate(value) for leaf, item in flatten(child, f"{path}/{index}").items()}
    return {path: value}


DEFAULTS = dict.fromkeys(VARIED_PARAMETERS, "false")
BASE = combination_name(DEFAULTS)
_ABSENT = "<absent>"


def snapshot_of(template: dict[str, Any]) -> dict[str, Any]:
    """The default combination's values in full, and for every other combination what differs from them."""
    values = {combination_name(overrides): flatten(normalised_resources(template, overrides)) for overrides in combinations()}
    base = values[BASE]
    snapshot: dict[str, Any] = {BASE: base}
    for name, leaves in values.items():
        if name != BASE:
            changed = {path: item for path, item in leaves.items() if base.get(path, _ABSENT) != item}
            snapshot[name] = {"changed": changed, "removed": sorted(base.keys() - leaves.keys())}
    return snapshot


def recorded_values(snapshot: dict[str, Any], name: str) -> dict[str, Any]:
    """One combination's values as the snapshot records them."""
    values: dict[str, Any] = dict(snapshot[BASE])
    if name != BASE:
        difference = snapshot[name]
        for path in difference["removed"]:
            del values[path]
        values.update(difference["changed"])
    return values


def _differences(actual: dict[str, Any], expected: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    paths = sorted(path for path in actual.keys() | expected.keys() if actual.get(path, _ABSENT) != expected.get(path, _ABSENT))
    return {path: actual.get(path, _ABSENT) for path in paths}, {path: expected.get(path, _ABSENT) for path in paths}


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SNAPSHOT.read_text())
    return loaded


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.mark.parametrize("overrides", combinations(), ids=combination_name)
def test_transformed_resources_match_the_snapshot(template: dict[str, Any], snapshot: dict[str, Any], overrides: dict[str, str]) -> None:
    # GIVEN the template and one combination of the parameters that shape it
    # WHEN it is transformed as CloudFormation would and normalised
    actual = normalised_resources(template, overrides)

    # THEN every resource, grant and permission is as the snapshot records
    changed, recorded = _differences(flatten(actual), recorded_values(snapshot, combination_name(overrides)))
    assert changed == recorded


EXISTING_POOL_ARN = {"Fn::Sub": "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/${ExistingUserPoolId}"}
ATTACH_FUNCTION = "ExistingUserPoolTriggersFunction"


@pytest.mark.parametrize("overrides", combinations(), ids=combination_name)
def test_each_trigger_logs_to_its_own_group_and_is_invoked_by_the_pool_only(template: dict[str, Any], overrides: dict[str, str]) -> None:
    # GIVEN the resources CloudFormation would create for one combination
    resources = normalised_resources(template, overrides)
    functions = [logical_id for logical_id, r in resources.items() if r["Type"] == "AWS::Lambda::Function"]
    triggers = [logical_id.removesuffix("Function") for logical_id in functions if logical_id != ATTACH_FUNCTION]
    sender_only = overrides.get("ExistingPoolTriggers") == "CustomSmsSender"
    assert len(triggers) == (1 if sender_only else 6)
    assert (ATTACH_FUNCTION in functions) is ("ExistingUserPoolId" in overrides)
    pool_arn = EXISTING_POOL_ARN if "ExistingUserPoolId" in overrides else {"Fn::GetAtt": ["UserPool", "Arn"]}

    for trigger in triggers:
        # THEN its role holds no managed policy, writes only its own log group, and X-Ray only with tracing on
        role = resources[f"{trigger}Role"]["Properties"]
        assert "ManagedPolicyArns" not in role
        own_group = {"Fn::GetAtt": [f"{trigger}LogGroup", "Arn"]}
        assert {name: item for name, item in role["Grants"].items() if " logs:" in name} == {
            grant_name("Allow", "logs:CreateLogStream", own_group): {},
            grant_name("Allow", "logs:PutLogEvents", own_group): {},
        }
        tracing = {name: item for name, item in role["Grants"].items() if " xray:" in name}
        tracing_actions = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
        expected_tracing: dict[str, Any] = {grant_name("Allow", action, "*"): {} for action in tracing_actions}
        assert tracing == (expected_tracing if overrides.get("EnableTracing") == "true" else {})
        # AND only Cognito, for this pool in this account, may invoke it
        assert resources[f"{trigger}Permission"]["Properties"] == {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [f"{trigger}Function", "Arn"]},
            "Principal": "cognito-idp.amazonaws.com",
            "SourceAccount": {"Ref": "AWS::AccountId"},
            "SourceArn": pool_arn,
        }


def _parent(resources: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    target: Any = resources
    for key in path[:-1]:
        target = target[key]
    return target


def _pop(resources: dict[str, Any], *path: str | int) -> None:
    del _parent(resources, path)[path[-1]]


def _set(resources: dict[str, Any], value: Any, *path: str | int) -> None:
    _parent(resources, path)[path[-1]] = value


_DECRYPT = ("CustomSmsSenderDecryptPolicy", "Properties", "PolicyDocument", "Statement", 0)
_PRE_SIGN_UP_LOGS = ("PreSignUpRole", "Properties", "Policies", 0, "PolicyDocument", "Statement", 0)
# Changes that widen what is allowed, made to the transformed template before it is normalised.
WIDENINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "logs on every log group": lambda r: _set(r, "*", *_PRE_SIGN_UP_LOGS, "Resource"),
    "the basic execution managed policy": lambda r: _set(
        r, ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"], "PreSignUpRole", "Properties", "ManagedPolicyArns"
    ),
    "invoke from any account": lambda r: _pop(r, "PreSignUpPermission", "Properties", "SourceAccount"),
    "decrypt without the pool's encryption context": lambda r: _pop(r, *_DECRYPT, "Condition"),
    "decrypt with any key": lambda r: _set(r, "*", *_DECRYPT, "Resource"),
    "decrypt granted to another role": lambda r: r["CustomSmsSenderDecryptPolicy"]["Properties"]["Roles"].append({"Ref": "PreSignUpRole"}),
}


@pytest.mark.parametrize("widening", WIDENINGS)
def test_a_wider_grant_differs_from_the_snapshot(template: dict[str, Any], snapshot: dict[str, Any], widening: str) -> None:
    # GIVEN the transformed template with one grant widened
    transformed = transformed_template(template, DEFAULTS)
    WIDENINGS[widening](transformed["Resources"])

    # WHEN it is normalised like the real one
    actual = normalise(transformed, DEFAULTS, _source_ids(template))

    # THEN the comparison with the snapshot catches it
    changed, recorded = _differences(flatten(actual), recorded_values(snapshot, BASE))
    assert changed != recorded


def main() -> None:
    """Write the snapshot from a template (the repository's, unless told otherwise)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="template to record (default: template.yaml)")
    arguments = parser.parse_args()
    SNAPSHOT.write_text(json.dumps(snapshot_of(load_template(arguments.template)), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
