"""template.yaml as data: the single source of truth the tests build their resources from."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"


@functools.cache
def load_template() -> dict[str, Any]:
    """The template as plain JSON data, parsed with cfn-lint's loader (``!Ref X`` becomes ``{"Ref": "X"}``)."""
    template: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE_PATH))))
    return template


def resource_properties(logical_id: str) -> dict[str, Any]:
    """The ``Properties`` of one resource of the template."""
    properties: dict[str, Any] = load_template()["Resources"][logical_id]["Properties"]
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
