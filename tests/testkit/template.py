"""template.yaml as data: the single source of truth the tests build their resources from."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml
from cfnlint.template import Template as CfnLintTemplate
from cfnlint.template.transforms._language_extensions import language_extension

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"
# cfn-lint expands the language extensions for a region; nothing in the template depends on which.
REGION = "us-east-1"


@functools.cache
def load_template() -> dict[str, Any]:
    """The template as plain JSON data, parsed with cfn-lint's loader (``!Ref X`` becomes ``{"Ref": "X"}``)."""
    template: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE_PATH))))
    return template


def expand_language_extensions(template: dict[str, Any]) -> dict[str, Any]:
    """``Fn::ForEach`` and the other language extensions expanded, as cfn-lint does; the transform is then done."""
    transforms = template.get("Transform", [])
    transforms = transforms if isinstance(transforms, list) else [transforms]
    if LANGUAGE_EXTENSIONS not in transforms:
        return template
    errors, expanded = language_extension(CfnLintTemplate(None, copy.deepcopy(template), regions=[REGION]))
    assert not errors, [str(error) for error in errors]
    plain: dict[str, Any] = json.loads(json.dumps(expanded))
    plain["Transform"] = [name for name in transforms if name != LANGUAGE_EXTENSIONS]
    return plain


@functools.cache
def _expanded_template() -> dict[str, Any]:
    return expand_language_extensions(load_template())


def resource_properties(logical_id: str) -> dict[str, Any]:
    """The ``Properties`` of one resource of the template, those a ``Fn::ForEach`` makes included (its lookups resolved)."""
    properties: dict[str, Any] = _expanded_template()["Resources"][logical_id]["Properties"]
    return properties


def create_limits_table(dynamodb_client: Any, table_name: str) -> None:
    """Create the limits table with the key schema, billing mode and TTL the template gives ``LimitsTable``."""
    properties = resource_properties("LimitsTable")
    dynamodb_client.create_table(
        TableName=table_name,
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        BillingMode=properties["BillingMode"],
    )
    ttl = properties.get("TimeToLiveSpecification")
    if ttl is not None:
        dynamodb_client.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]}
        )


def write_expanded_template(path: Path) -> None:
    """Write the template with its language extensions expanded, as JSON: what scanners that know no ``Fn::ForEach`` read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(expand_language_extensions(load_template()), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    import sys

    write_expanded_template(Path(sys.argv[1]))
