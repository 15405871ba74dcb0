"""Custom resource: attach the stack's triggers to an existing user pool on create and update; give the pool back on delete."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3

from sms_otp.core.time_budget import CUSTOM_RESOURCE_CONFIG
from sms_otp.existing_pool.attachment_records import AttachmentRecords
from sms_otp.existing_pool.cfn_custom_resource import CustomResource, run_for_cloudformation
from sms_otp.existing_pool.existing_user_pool import DescribedPools, ExistingPoolTriggers, ResourceEvent, reason_for
from sms_otp.existing_pool.stack_resources import StackResources

# sleep_on_delete=0: crhelper would otherwise wait two minutes before answering a delete.
helper = CustomResource(json_logging=False, log_level="INFO", boto_level="ERROR", sleep_on_delete=0)
TRIGGERS: ExistingPoolTriggers | None = None
try:
    STACK = StackResources.from_env(os.environ)
    TRIGGERS = ExistingPoolTriggers(
        pools=DescribedPools(boto3.client("cognito-idp", config=CUSTOM_RESOURCE_CONFIG)),
        records=AttachmentRecords(
            boto3.client("dynamodb", config=CUSTOM_RESOURCE_CONFIG),
            boto3.client("kms", config=CUSTOM_RESOURCE_CONFIG),
            os.environ["LIMITS_TABLE_NAME"],
            STACK.sms_key_arn,
        ),
        stack=STACK,
        region=os.environ["AWS_REGION"],
    )
except Exception as error:  # noqa: BLE001 - crhelper answers every request FAILED with it, rather than leaving the stack waiting
    helper.init_failure(error)


def _triggers() -> ExistingPoolTriggers:
    assert TRIGGERS is not None  # noqa: S101 - crhelper answers before calling us when the set-up failed
    return TRIGGERS


@helper.create
@helper.update
def attach(event: dict[str, Any], context: Any) -> str:
    """Attach the triggers; the physical ID is the pool's ID."""
    describe = functools.partial(reason_for, function_name=context.function_name)
    return run_for_cloudformation(lambda: _triggers().attach(ResourceEvent.from_event(event)), describe_failure=describe)


@helper.delete
def detach(event: dict[str, Any], context: Any) -> None:
    """Give the pool back its own triggers and KMS key."""
    describe = functools.partial(reason_for, function_name=context.function_name)
    run_for_cloudformation(lambda: _triggers().detach(ResourceEvent.from_event(event)), describe_failure=describe)


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    """Every request is answered (crhelper also answers FAILED just before the Lambda timeout)."""
    helper(event, context)
