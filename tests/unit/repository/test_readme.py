"""The docs say what the repository does: parameter tables as the template's, pinned versions as the layer's, texts as the code's."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path
from typing import Any

import pytest

from tests.testkit.template import load_template

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
DEPLOYING = (ROOT / "docs" / "deploying.md").read_text(encoding="utf-8")
TEMPLATE = load_template()
TEMPLATE_PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]
# Beyond this many allowed values the table gives the first and the last, and how many there are.
LISTED_VALUES = 5


def _parameter_rows() -> dict[str, list[dict[str, str]]]:
    """The rows of deploying.md's parameter tables (one per group), by parameter name (a list, to catch a name listed twice)."""
    section = DEPLOYING.split("\n## Parameters\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[dict[str, str]]] = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            name, default, allowed, description = (cell.strip() for cell in line.strip().strip("|").split(" | "))
            rows.setdefault(name.strip("`"), []).append({"default": default, "allowed": allowed, "description": description})
    return rows


ROWS = _parameter_rows()


def _backticked(text: str) -> list[str]:
    return re.findall(r"`([^`]*)`", text)


def test_the_table_lists_every_template_parameter_once() -> None:
    assert sorted(ROWS) == sorted(TEMPLATE_PARAMETERS)
    assert [name for name, rows in ROWS.items() if len(rows) > 1] == []


@pytest.mark.parametrize("name", sorted(TEMPLATE_PARAMETERS))
def test_the_default_is_the_templates(name: str) -> None:
    default = str(TEMPLATE_PARAMETERS[name].get("Default", ""))
    assert ROWS[name][0]["default"] == (f"`{default}`" if default else "empty")


@pytest.mark.parametrize("name", sorted(TEMPLATE_PARAMETERS))
def test_the_allowed_values_are_the_templates(name: str) -> None:
    # GIVEN a parameter's constraint in the template, and the table's "Allowed" cell
    parameter, allowed = TEMPLATE_PARAMETERS[name], ROWS[name][0]["allowed"]
    # THEN the cell says the same thing
    if "AllowedValues" in parameter:
        values = [str(value) for value in parameter["AllowedValues"]]
        if len(values) <= LISTED_VALUES:
            assert _backticked(allowed) == values
        else:
            assert _backticked(allowed) == [values[0], values[-1]]
            assert f"the {len(values)} values" in allowed
    elif "AllowedPattern" in parameter:
        # The constraint's own words, less the "or empty" that the Default column already says.
        constraint = re.sub(r", or empty.*$", "", parameter["ConstraintDescription"])
        assert allowed.replace("`", "") == constraint
        assert all(re.fullmatch(parameter["AllowedPattern"], example) for example in _backticked(allowed))
    else:
        assert allowed == f"{parameter['MinValue']} to {parameter['MaxValue']}"


def _pins() -> dict[str, str]:
    lines = (ROOT / "layers" / "sms_otp" / "requirements.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def test_the_pinned_sdk_versions_the_docs_name_are_the_layers() -> None:
    # GIVEN the performance page's sentence about the SDK the layer ships
    performance = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    named = re.search(r"The layer ships boto3 (\S+) and botocore (\S+), both pinned", performance.replace("\n", " "))
    assert named is not None
    # THEN both are pinned in the layer's requirements, at those versions
    assert (_pins()["boto3"], _pins()["botocore"]) == named.groups()


@pytest.mark.parametrize(("package", "version"), sorted(_pins().items()))
def test_the_tests_run_against_the_layers_pinned_versions(package: str, version: str) -> None:
    assert importlib.metadata.version(package) == version


@pytest.mark.parametrize("rule", sorted(TEMPLATE["Rules"]))
def test_every_template_rule_is_named_with_its_refusal(rule: str) -> None:
    # GIVEN a rule of the template / THEN deploying.md names it beside the parameters it refuses
    section = DEPLOYING.split("\n## Parameters\n", 1)[1].split("\n## Outputs\n", 1)[0]
    assert f"`{rule}`" in section


@pytest.mark.parametrize("output", sorted(TEMPLATE["Outputs"]))
def test_every_output_is_named(output: str) -> None:
    section = DEPLOYING.split("\n## Outputs\n", 1)[1].split("\n## ", 1)[0]
    assert f"`{output}`" in section


def test_every_text_the_stack_sends_is_quoted_by_its_trigger_source() -> None:
    # Imported here: the layer's modules build Powertools' logger and metrics on import, under the unit tier's environment.
    from sms_otp.sending.custom_sms import TRIGGER_SOURCES, sms_text
    from sms_otp.sign_in.custom_auth import sign_in_message

    # GIVEN the text of each trigger source, with placeholders for the code and the phone number
    texts = {source: sms_text(source, "<code>", "<phone number>") for source in TRIGGER_SOURCES}
    texts["CreateAuthChallenge_Authentication"] = sign_in_message("<code>", 180)

    # THEN the overview's table has a row for each source with that text, and no other row
    overview = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+_\w+)` \| [^|]+ \| `([^`]+)`", overview, re.MULTILINE))
    assert rows == texts


def test_every_refusal_a_person_can_read_is_in_the_table_of_sentences() -> None:
    # Imported here, as above.
    from sms_otp.core.errors import DeadlineExceededError, DeliveryError, UserFacingError
    from sms_otp.core.settings import LimitPolicy
    from sms_otp.limits.errors import BudgetExhaustedError, LimitStoreUnavailableError, RangeStoppedError
    from sms_otp.limits.policy import check_lockout, check_send
    from sms_otp.limits.record import SubjectState

    # GIVEN each refusal a sign-in can meet, as the code words it at the default settings
    policy = LimitPolicy()

    def sentence(refuse: Any) -> str:
        with pytest.raises(UserFacingError) as refusal:
            refuse()
        return str(refusal.value)

    refusals = {
        sentence(lambda: check_send(SubjectState(sent_at=(1000,)), policy, 1000)),
        sentence(lambda: check_lockout(SubjectState(locked_until=1000 + policy.lockout_base_seconds), 1000)),
        str(RangeStoppedError(policy.pumping_cool_off_seconds)),
        str(BudgetExhaustedError()),
        str(LimitStoreUnavailableError()),
        str(DeliveryError()),
        str(DeadlineExceededError(abandoned=False)),
    }
    # THEN your-app.md's table of what the person reads quotes each of them
    your_app = (ROOT / "docs" / "your-app.md").read_text(encoding="utf-8")
    section = your_app.split("| Limit | The person reads |", 1)[1].split("\n\n", 1)[0]
    quoted = set(re.findall(r"^\| [^|]+ \| ([^|]+?) \|$", section, re.MULTILINE))
    assert refusals <= quoted


def test_the_parameter_tables_follow_the_templates_groups() -> None:
    # GIVEN the template's parameter groups (AWS::CloudFormation::Interface), as the console shows them
    groups = TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    expected = [(group["Label"]["default"], group["Parameters"]) for group in groups]

    # WHEN deploying.md's parameter tables are read by the heading above each
    section = DEPLOYING.split("\n## Parameters\n", 1)[1].split("\n## ", 1)[0]
    tables = [
        (heading, re.findall(r"^\| `(\w+)` \|", body, re.MULTILINE))
        for heading, body in re.findall(r"^### ([^\n]+)\n(.*?)(?=^### |\Z)", section, re.MULTILINE | re.DOTALL)
    ]

    # THEN there is one table a group, under the group's label, with its parameters in its order
    assert [table for table in tables if table[1]] == expected
