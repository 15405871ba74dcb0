"""The template's parameters as a person deploying it meets them: in groups, each with a label, in one order.

The console shows ``AWS::CloudFormation::Interface``'s groups and labels;
``sam deploy --guided`` shows neither and asks in the order of the Parameters
section. Both orders are the groups' order, so a parameter is met beside its
neighbours whichever way the stack is deployed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.testkit.template import load_template

pytestmark = pytest.mark.unit

TEMPLATE = load_template()
PARAMETERS: list[str] = list(TEMPLATE["Parameters"])
INTERFACE: dict[str, Any] = TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]
GROUPS: list[dict[str, Any]] = INTERFACE["ParameterGroups"]
LABELS: dict[str, dict[str, str]] = INTERFACE["ParameterLabels"]
GROUPED = [name for group in GROUPS for name in group["Parameters"]]
# The console gives a label one line; a longer one is a description.
LONGEST_LABEL = 50


def test_every_parameter_is_in_exactly_one_group() -> None:
    assert sorted(set(PARAMETERS) - set(GROUPED)) == []
    assert sorted(name for name, count in Counter(GROUPED).items() if count > 1) == []


def test_no_group_names_a_parameter_the_template_does_not_have() -> None:
    assert sorted(set(GROUPED) - set(PARAMETERS)) == []


def test_the_parameters_section_follows_the_groups() -> None:
    # GIVEN the order `sam deploy --guided` asks in (the section's) / THEN it is the order the console groups them in
    assert PARAMETERS == GROUPED


def test_every_group_has_a_label_of_its_own() -> None:
    labels = [group["Label"]["default"] for group in GROUPS]
    assert all(label.strip() for label in labels)
    assert len(set(labels)) == len(labels)
    assert all(set(group) == {"Label", "Parameters"} and group["Parameters"] for group in GROUPS)


@pytest.mark.parametrize("name", PARAMETERS)
def test_every_parameter_has_a_short_label(name: str) -> None:
    label = LABELS[name]["default"]
    assert label.strip() == label
    assert 0 < len(label) <= LONGEST_LABEL


def test_no_label_names_a_parameter_the_template_does_not_have() -> None:
    assert sorted(set(LABELS) - set(PARAMETERS)) == []
