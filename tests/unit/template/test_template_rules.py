"""The template's Rules refuse parameter sets that cannot work, before CloudFormation creates or changes anything.

CloudFormation evaluates Rules itself; neither SAM nor cfn-lint does with the
values of a deployment (cfn-lint reads Rules only to learn which Conditions can
hold together). So this module evaluates them the way the Rules reference
describes: a rule whose ``RuleCondition`` holds must have every ``Assert`` true,
built only from the rule functions. The e2e tier checks the same refusals
against the emulator's CloudFormation, which enforces Rules on CreateStack.
"""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.testkit.template import load_template

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = load_template()
SAMCONFIG: dict[str, Any] = tomllib.loads((ROOT / "samconfig.toml").read_text())

# For each rule, a parameter set it must refuse (on top of the template's defaults).
REFUSED = {
    "TestModeIsNotForProduction": {"Stage": "prod", "TestMode": "true", "AllowedCountryCodes": "1,44"},
    "MfaNeedsPasswordSignIn": {"MfaConfiguration": "OPTIONAL", "PasswordSignIn": "false"},
    "ProductionNamesItsCountries": {"Stage": "prod", "TestMode": "false", "AllowedCountryCodes": ""},
}


class RuleFunctionError(Exception):
    """A function CloudFormation does not allow in Rules, or a malformed one."""


def evaluate(node: Any, parameters: dict[str, str]) -> Any:
    """The value of a rule expression; parameters are strings, as CloudFormation passes them to Rules."""
    if not isinstance(node, dict):
        return [evaluate(item, parameters) for item in node] if isinstance(node, list) else node
    if len(node) != 1:
        raise RuleFunctionError(f"not a function: {node}")
    ((function, arguments),) = node.items()
    values = [evaluate(argument, parameters) for argument in arguments] if isinstance(arguments, list) else None
    match function, values:
        case "Ref", None:
            result = parameters[arguments]
        case "Fn::Equals", [left, right]:
            result = str(left) == str(right)
        case "Fn::Not", [condition]:
            result = not _boolean(condition)
        case "Fn::And", [*conditions] if 2 <= len(conditions) <= 10:
            result = all(_boolean(condition) for condition in conditions)
        case "Fn::Or", [*conditions] if 2 <= len(conditions) <= 10:
            result = any(_boolean(condition) for condition in conditions)
        case "Fn::Contains", [list(strings), string]:
            result = str(string) in [str(item) for item in strings]
        case "Fn::EachMemberEquals", [list(strings), string]:
            result = all(str(item) == str(string) for item in strings)
        case "Fn::EachMemberIn", [list(checked), list(allowed)]:
            result = {str(item) for item in checked} <= {str(item) for item in allowed}
        case _:
            raise RuleFunctionError(f"{function} with {arguments!r} is not a rule function CloudFormation evaluates")
    return result


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise RuleFunctionError(f"{value!r} is not a condition")
    return value


def refusals(overrides: dict[str, str]) -> list[str]:
    """The AssertDescription of every assertion that fails for the template's defaults with ``overrides``."""
    parameters = {name: str(definition.get("Default", "")) for name, definition in TEMPLATE["Parameters"].items()}
    parameters.update(overrides)
    failed = []
    for rule in TEMPLATE["Rules"].values():
        if "RuleCondition" in rule and not _boolean(evaluate(rule["RuleCondition"], parameters)):
            continue
        failed += [
            assertion["AssertDescription"] for assertion in rule["Assertions"] if not _boolean(evaluate(assertion["Assert"], parameters))
        ]
    return failed


def _samconfig_overrides(environment: str) -> dict[str, str]:
    items = shlex.split(SAMCONFIG[environment]["deploy"]["parameters"]["parameter_overrides"])
    return dict(item.split("=", 1) for item in items)


def test_every_rule_has_a_parameter_set_it_must_refuse() -> None:
    assert set(REFUSED) == set(TEMPLATE["Rules"])


@pytest.mark.parametrize("rule", sorted(REFUSED))
def test_each_rule_refuses_its_parameter_set_with_its_own_message(rule: str) -> None:
    # GIVEN a parameter set the rule exists to refuse / WHEN the Rules are evaluated
    failed = refusals(REFUSED[rule])
    # THEN exactly that rule's message comes back
    assert failed == [assertion["AssertDescription"] for assertion in TEMPLATE["Rules"][rule]["Assertions"]]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="the template's defaults"),
        pytest.param(_samconfig_overrides("default"), id="samconfig default (make deploy)"),
        pytest.param(_samconfig_overrides("sandbox"), id="samconfig sandbox"),
        pytest.param({"Stage": "prod", "TestMode": "false", "AllowedCountryCodes": "1,44"}, id="production for named countries"),
        pytest.param({"Stage": "prod", "TestMode": "false", "AllowedCountryCodes": "*"}, id="production for every country, on purpose"),
        pytest.param({"Stage": "dev", "TestMode": "true"}, id="test mode outside production"),
        pytest.param({"Stage": "dev", "AllowedCountryCodes": ""}, id="every country outside production, by default"),
    ],
)
def test_parameter_sets_that_work_pass_every_rule(overrides: dict[str, str]) -> None:
    assert refusals(overrides) == []


def test_every_assertion_says_what_to_change() -> None:
    # GIVEN every assertion of every rule / THEN it has a message that names a parameter
    for name, rule in TEMPLATE["Rules"].items():
        for assertion in rule["Assertions"]:
            description = assertion.get("AssertDescription", "")
            assert any(parameter in description for parameter in TEMPLATE["Parameters"]), name


def test_production_without_a_country_list_is_refused_with_a_message_that_says_what_to_write() -> None:
    # GIVEN Stage=prod and no AllowedCountryCodes / WHEN the Rules are evaluated
    failed = refusals({"Stage": "prod"})

    # THEN the deployment is refused, and the message names the parameter and both ways out
    assert failed == [
        "Stage=prod needs AllowedCountryCodes; name the calling codes of your users' countries (such as 1,44), "
        "or write * to allow every country on purpose."
    ]


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        pytest.param({"Fn::If": ["IsProd", True, False]}, "Fn::If", id="a function Rules do not allow"),
        pytest.param({"Fn::Not": [{"Ref": "Stage"}]}, "'dev' is not a condition", id="a string where a condition belongs"),
        pytest.param({"Fn::And": [{"Fn::Equals": ["a", "a"]}]}, "Fn::And", id="Fn::And of one condition"),
    ],
)
def test_the_evaluator_refuses_what_cloudformation_refuses(expression: dict[str, Any], error: str) -> None:
    with pytest.raises(RuleFunctionError, match=error):
        _boolean(evaluate(expression, {"Stage": "dev"}))
