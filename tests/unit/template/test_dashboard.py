"""The operations dashboard and the alarms against the metrics the code emits.

What the code emits is read from the code itself: every call of the counting functions of
``sms_otp.core.observability`` in the layer and the triggers, by AST, with the dimensions each
function gives its metric. A metric someone adds is then caught until a widget or an alarm
shows it, and a widget or an alarm that names a metric nobody emits fails at once.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.testkit.template import load_template, resource_properties

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
SOURCES = (ROOT / "layers" / "sms_otp" / "sms_otp", ROOT / "src")
OBSERVABILITY = ROOT / "layers" / "sms_otp" / "sms_otp" / "core" / "observability.py"
NAMESPACE = "CognitoSmsOtp"
SERVICE = "cognito-sms-otp"
# What each counting function of sms_otp.core.observability emits: a metric named by its argument
# (None) or a fixed name, with these dimensions. count() carries the invocation's trigger.
COUNTING_FUNCTIONS: dict[str, tuple[tuple[str | None, frozenset[str]], ...]] = {
    "count": ((None, frozenset({"service", "trigger"})),),
    "count_for_alarm": ((None, frozenset({"service"})),),
    "count_refusal": (("SendRefusals", frozenset({"reason", "service"})), ("SendRefusals", frozenset({"service"}))),
    "count_range_stopped": (
        ("PumpingRangesStopped", frozenset({"number_range", "service"})),
        ("PumpingRangesStopped", frozenset({"service"})),
    ),
}
Metric = tuple[str, frozenset[str]]


def _called_name(call: ast.Call) -> str | None:
    function = call.func
    if isinstance(function, ast.Name):
        return function.id
    if isinstance(function, ast.Attribute):
        return function.attr
    return None


def _metric_names(argument: ast.expr, where: str) -> list[str]:
    """The names an argument can take: a string, or a conditional between strings."""
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return [argument.value]
    if isinstance(argument, ast.IfExp):
        return _metric_names(argument.body, where) + _metric_names(argument.orelse, where)
    raise AssertionError(f"{where}: a metric's name must be a string written out (or a choice between two), not {ast.unparse(argument)}")


def modules() -> list[Path]:
    return sorted(path for source in SOURCES for path in source.rglob("*.py"))


@functools.cache
def emitted_metrics() -> frozenset[Metric]:
    """Every metric the code emits: its name and the names of its dimensions."""
    emitted: set[Metric] = set()
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = _called_name(node)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if name in ("add_metric", "single_metric") and path != OBSERVABILITY:
                raise AssertionError(f"{where}: emit metrics through sms_otp.core.observability's counting functions")
            if name not in COUNTING_FUNCTIONS or (path == OBSERVABILITY and not node.args):
                continue
            for fixed, dimensions in COUNTING_FUNCTIONS[name]:
                names = [fixed] if fixed else _metric_names(node.args[0] if node.args else node.keywords[0].value, where)
                emitted.update((metric, dimensions) for metric in names)
    return frozenset(emitted)


def triggers_in_code() -> set[str]:
    """The trigger names the handlers give ``cognito_trigger`` (the values of the ``trigger`` dimension)."""
    found = set()
    for path in (ROOT / "src" / "triggers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _called_name(node) == "cognito_trigger" and node.args:
                assert isinstance(node.args[0], ast.Constant)
                found.add(str(node.args[0].value))
    return found


def _written_out(value: Any, *, passwordless: bool) -> str:
    """The dashboard body as CloudFormation would write it: references become placeholders, conditions chosen."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_written_out(part, passwordless=passwordless) for part in parts)
    if "Fn::Sub" in value:
        return re.sub(r"\$\{([^}!]+)\}", lambda match: "1000" if match.group(1) == "StackMessagesPerHour" else "ref", value["Fn::Sub"])
    if "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        assert condition == "DeploysPasswordlessTriggers", condition
        return _written_out(when_true if passwordless else when_false, passwordless=passwordless)
    raise AssertionError(f"unexpected function in the dashboard body: {value}")


def dashboard(*, passwordless: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(_written_out(resource_properties("OperationsDashboard")["DashboardBody"], passwordless=passwordless))
    return body


def dashboard_metrics(body: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of every metric the widgets name, SEARCH expressions included."""
    named = []
    for widget in body["widgets"]:
        for entry in widget["properties"]["metrics"]:
            if isinstance(entry[0], dict):
                search = re.fullmatch(r"SEARCH\('\{([^}]*)\} MetricName=\"(\w+)\"(.*)', '\w+', \d+\)", entry[0]["expression"])
                if search:
                    namespace, *dimensions = search.group(1).split(",")
                    values = dict(re.findall(r'(\w+)="([^"]*)"', search.group(3)))
                    named.append((namespace, search.group(2), {name: values.get(name, "*") for name in dimensions}))
                continue
            namespace, metric, *rest = [item for item in entry if not isinstance(item, dict)]
            named.append((namespace, metric, dict(zip(rest[::2], rest[1::2], strict=True))))
    return named


def alarm_metrics() -> list[tuple[str, dict[str, str]]]:
    template = load_template()
    alarm_names = template["Resources"]["Fn::ForEach::AlarmsOnMetrics"][1]
    properties = template["Resources"]["Fn::ForEach::AlarmsOnMetrics"][2]["${Alarm}Alarm"]["Properties"]
    assert properties["Namespace"] == NAMESPACE
    dimensions = {dimension["Name"]: dimension["Value"] for dimension in properties["Dimensions"]}
    return [(template["Mappings"]["AlarmsOnMetrics"][alarm]["MetricName"], dimensions) for alarm in alarm_names]


def shown_metrics() -> set[Metric]:
    shown = {(name, frozenset(dimensions)) for namespace, name, dimensions in dashboard_metrics(dashboard()) if namespace == NAMESPACE}
    return shown | {(name, frozenset(dimensions)) for name, dimensions in alarm_metrics()}


def test_the_code_emits_the_metrics_the_dashboard_and_the_alarms_read() -> None:
    # GIVEN the metrics the code emits, read from its calls of the counting functions
    emitted = emitted_metrics()

    # WHEN / THEN every custom metric a widget or an alarm names is one of them, with the same dimensions
    assert sorted(shown_metrics() - emitted) == []


def test_every_metric_the_code_emits_is_on_the_dashboard_or_an_alarm() -> None:
    # GIVEN the metrics the code emits / WHEN compared with those the dashboard and the alarms read
    # THEN none is paid for and never looked at
    assert sorted(emitted_metrics() - shown_metrics()) == []


def test_the_dashboards_dimension_values_are_the_stacks() -> None:
    # GIVEN the custom metrics the widgets name
    named = [(name, dimensions) for namespace, name, dimensions in dashboard_metrics(dashboard()) if namespace == NAMESPACE]

    # THEN each is the service's, and a trigger named is one a handler declares
    assert {dimensions["service"] for _, dimensions in named} == {SERVICE}
    assert {dimensions["trigger"] for _, dimensions in named if "trigger" in dimensions} - {"*"} <= triggers_in_code()
    assert {dimensions["service"] for _, dimensions in alarm_metrics()} == {SERVICE}


def test_the_dashboard_shows_what_an_operator_reads() -> None:
    # GIVEN the dashboard of a stack with its own pool
    body = dashboard()
    titles = " / ".join(widget["properties"]["title"] for widget in body["widgets"])
    named = dashboard_metrics(body)

    # THEN it has the views operations need, on the metrics they come from
    for words in ("Texts sent, by source", "budget used", "Refusals by the limits, by reason", "ranges stopped", "retries and failures"):
        assert words in titles
    for words in ("Undelivered-SMS queue depth", "Duration p95 per trigger", "Sign-in completion rate"):
        assert words in titles
    assert ("CognitoSmsOtp", "SendRefusals", {"reason": "*", "service": SERVICE}) in named
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "ref"}) in named
    durations = [metric for metric in named if metric[:2] == ("AWS/Lambda", "Duration")]
    assert len(durations) == len(triggers_in_code()) == 6


def test_an_existing_pool_with_the_sender_only_gets_the_senders_duration_alone() -> None:
    # GIVEN the dashboard where only the Custom SMS Sender is deployed
    named = dashboard_metrics(dashboard(passwordless=False))

    # THEN it is still valid JSON and names no function that does not exist
    assert [metric for metric in named if metric[:2] == ("AWS/Lambda", "Duration")] == [("AWS/Lambda", "Duration", {"FunctionName": "ref"})]


def test_the_dashboard_is_a_parameter_on_by_default() -> None:
    template = load_template()
    assert template["Parameters"]["Dashboard"]["Default"] == "true"
    assert template["Conditions"]["CreatesDashboard"] == {"Fn::Equals": [{"Ref": "Dashboard"}, "true"]}
    assert template["Resources"]["OperationsDashboard"]["Condition"] == "CreatesDashboard"
