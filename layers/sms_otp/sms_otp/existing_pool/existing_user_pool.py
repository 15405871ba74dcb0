"""The custom resource that attaches the stack's triggers to an existing user pool, and gives the pool back on delete.

Create and Update attach; Delete detaches. Each reads the pool (``DescribeUserPool``),
merges or restores its ``LambdaConfig`` (:mod:`sms_otp.existing_pool.trigger_attachment`) and writes it
back with every other writable setting unchanged (:mod:`sms_otp.existing_pool.user_pool_settings`).

What the stack replaced is kept in the stack's DynamoDB table (the limits table, which
both modes deploy and which CloudFormation deletes only after this resource), under a
key made of the stack, the resource and the pool: CloudFormation hands a custom
resource neither its earlier answers nor its data again, and a key that does not
depend on the physical ID also finds the record after a create that failed half-way.
The record is written before the pool is changed, so that a failure after the change
still leaves rollback what it needs.

After writing, the pool is read again: if any other setting did not survive (a setting
this code does not know, a service that reset one anyway), the pool is written back as
it was and the operation fails with the names of those settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.core.errors import aws_error_code
from sms_otp.core.observability import logger
from sms_otp.existing_pool.trigger_attachment import (
    Attachment,
    AttachmentRefusedError,
    attach,
    check_pool_fits,
    detach,
    owned_identities,
    parse_request,
)
from sms_otp.existing_pool.user_pool_settings import settings_changed, unknown_fields, update_request

RECORD_KEY_PREFIX = "existing-user-pool#"
MAX_REASON_LENGTH = 256  # crhelper keeps the end of a longer reason; the start is what matters


def shorten(reason: str) -> str:
    """A reason that fits CloudFormation's status reason, cut at the end if it must be."""
    return reason if len(reason) <= MAX_REASON_LENGTH else reason[: MAX_REASON_LENGTH - 3] + "..."


def reason_for(error: Exception, *, function_name: str) -> str:
    """The one sentence CloudFormation shows for a failure: ours as written, AWS's with its code, anything else generic."""
    if isinstance(error, AttachmentRefusedError):
        return shorten(str(error))
    if isinstance(error, ClientError):
        operation = getattr(error, "operation_name", "an AWS call")
        message = str(error.response.get("Error", {}).get("Message", ""))
        return shorten(f"{operation} failed ({aws_error_code(error)}): {message}")
    if isinstance(error, BotoCoreError):
        return shorten(f"An AWS call failed ({type(error).__name__}); the log of {function_name} has the details.")
    return shorten(f"Unexpected error ({type(error).__name__}); the log of {function_name} has the details.")


def record_key(stack_id: str, logical_id: str, user_pool_id: str) -> str:
    """The table key of the record of what one stack's resource replaced in one pool."""
    return f"{RECORD_KEY_PREFIX}{stack_id}#{logical_id}#{user_pool_id}"


class UserPoolNotFoundError(AttachmentRefusedError):
    """The pool does not exist (in this account and region)."""


class AttachmentRecords:
    """What the stack replaced in each pool, one item per stack, resource and pool, in the stack's table."""

    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._dynamodb = dynamodb
        self._table_name = table_name

    def get(self, key: str) -> Attachment | None:
        """The record under ``key``, read consistently; ``None`` when there is none."""
        item = self._dynamodb.get_item(TableName=self._table_name, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
        return Attachment.from_json(item["attachment"]["S"]) if item else None

    def put(self, key: str, attachment: Attachment) -> None:
        """Write ``attachment`` under ``key``, replacing any record there."""
        self._dynamodb.put_item(TableName=self._table_name, Item={"pk": {"S": key}, "attachment": {"S": attachment.to_json()}})

    def delete(self, key: str) -> None:
        """Remove the record under ``key`` (nothing to do when there is none)."""
        self._dynamodb.delete_item(TableName=self._table_name, Key={"pk": {"S": key}})


class DescribedPools:
    """``DescribeUserPool`` and ``GetUserPoolMfaConfig``, with a check that the SDK understood every field of the pool."""

    def __init__(self, cognito: Any) -> None:
        self.cognito = cognito
        self._raw_bodies: list[bytes] = []
        cognito.meta.events.register("after-call.cognito-idp.DescribeUserPool", self._keep_raw_body)

    def _keep_raw_body(self, http_response: Any, **_: Any) -> None:
        self._raw_bodies.append(bytes(http_response.content))

    def describe(self, user_pool_id: str) -> dict[str, Any]:
        """The pool, or a refusal if it does not exist or holds fields the SDK would drop."""
        self._raw_bodies.clear()
        try:
            pool: dict[str, Any] = self.cognito.describe_user_pool(UserPoolId=user_pool_id)["UserPool"]
        except ClientError as error:
            if aws_error_code(error) == "ResourceNotFoundException":
                region = self.cognito.meta.region_name
                raise UserPoolNotFoundError(f"There is no user pool {user_pool_id} in this account's {region} region.") from None
            raise
        raw = json.loads(self._raw_bodies[-1]).get("UserPool", {}) if self._raw_bodies else {}
        shape = self.cognito.meta.service_model.shape_for("UserPoolType")
        unknown = sorted(unknown_fields(raw, shape))
        if unknown:
            raise AttachmentRefusedError(
                f"User pool {user_pool_id} has settings this function's AWS SDK does not know ({', '.join(unknown[:5])}); "
                "UpdateUserPool would reset them, so nothing was changed: update the layer's boto3."
            )
        return pool

    def mfa_configuration(self, user_pool_id: str) -> dict[str, Any]:
        """The pool's MFA settings (``GetUserPoolMfaConfig``), which ``UpdateUserPool`` must not change."""
        response = self.cognito.get_user_pool_mfa_config(UserPoolId=user_pool_id)
        return {key: value for key, value in response.items() if key != "ResponseMetadata"}


@dataclass(frozen=True, slots=True)
class ResourceEvent:
    """The parts of a CloudFormation custom resource request this resource reads."""

    stack_id: str
    logical_id: str
    properties: Mapping[str, Any]
    old_properties: Mapping[str, Any]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ResourceEvent:
        """The parts of a CloudFormation request this resource reads (properties absent on Create are empty)."""
        return cls(
            stack_id=str(event["StackId"]),
            logical_id=str(event["LogicalResourceId"]),
            properties=event.get("ResourceProperties") or {},
            old_properties=event.get("OldResourceProperties") or {},
        )


class ExistingPoolTriggers:
    """Create/Update (attach) and Delete (detach) of the stack's triggers on a pool it does not own."""

    def __init__(self, *, pools: DescribedPools, records: AttachmentRecords, region: str, log: Callable[..., None] = logger.info) -> None:
        self._pools = pools
        self._cognito = pools.cognito
        self._records = records
        self._region = region
        self._log = log

    def attach(self, event: ResourceEvent) -> str:
        """Attach (Create or Update); the physical ID is the pool's ID, so another pool means a replacement."""
        request = parse_request(event.properties, region=self._region)
        pool = self._pools.describe(request.user_pool_id)
        check_pool_fits(pool, request)
        key = record_key(event.stack_id, event.logical_id, request.user_pool_id)
        remembered = self._records.get(key) or Attachment()
        if event.old_properties.get("UserPoolId") == request.user_pool_id:
            previous = owned_identities(event.old_properties.get("LambdaConfig"))
            remembered = Attachment(original=remembered.original, owned=remembered.owned | frozenset(previous))
        current = dict(pool.get("LambdaConfig") or {})
        config, attachment = attach(current, request, remembered)
        self._records.put(key, attachment)
        self._write(pool, current, config)
        self._log("Triggers attached", extra={"user_pool_id": request.user_pool_id, "slots": sorted(request.lambda_config)})
        return request.user_pool_id

    def detach(self, event: ResourceEvent) -> None:
        """Give the pool back its original triggers and key; nothing to do where nothing was attached."""
        user_pool_id = event.properties.get("UserPoolId")
        if not isinstance(user_pool_id, str):
            return
        key = record_key(event.stack_id, event.logical_id, user_pool_id)
        remembered = self._records.get(key)
        if remembered is None:
            # A create that failed before it changed anything, or a delete already done.
            return
        try:
            pool = self._pools.describe(user_pool_id)
        except UserPoolNotFoundError:
            # Deleted by its owner meanwhile: there is nothing left to give back.
            self._records.delete(key)
            return
        current = dict(pool.get("LambdaConfig") or {})
        self._write(pool, current, detach(current, remembered))
        self._records.delete(key)
        self._log("Triggers detached; the pool's own are back", extra={"user_pool_id": user_pool_id})

    def _write(self, pool: Mapping[str, Any], current: Mapping[str, Any], config: Mapping[str, Any]) -> None:
        """Write ``config`` with every other setting as described, then check they all survived; undo and refuse if not."""
        if dict(config) == dict(current):
            return
        user_pool_id = str(pool["Id"])
        mfa_before = self._pools.mfa_configuration(user_pool_id)
        self._cognito.update_user_pool(**update_request(pool, config))
        after = self._pools.describe(user_pool_id)
        lost = settings_changed(pool, after)
        # Every slot as written, and none that was taken out; a slot the service derives (such as
        # PreTokenGenerationConfig from PreTokenGeneration) may appear beside them.
        triggers = after.get("LambdaConfig") or {}
        if any(triggers.get(slot) != value for slot, value in config.items()) or any(
            slot in triggers for slot in current.keys() - config.keys()
        ):
            lost.append("LambdaConfig")
        if self._pools.mfa_configuration(user_pool_id) != mfa_before:
            lost.append("the MFA configuration")
        if lost:
            try:
                self._cognito.update_user_pool(**update_request(pool, current))
            except (ClientError, BotoCoreError) as error:
                raise AttachmentRefusedError(
                    f"UpdateUserPool did not keep {', '.join(lost)} of user pool {user_pool_id}, and writing back its settings "
                    f"as read failed too ({aws_error_code(error)}): check the pool."
                ) from error
            raise AttachmentRefusedError(
                f"UpdateUserPool did not keep {', '.join(lost)} of user pool {user_pool_id}; its settings were written back as read."
            )
