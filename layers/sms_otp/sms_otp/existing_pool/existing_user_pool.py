"""The custom resource that attaches the stack's triggers to an existing user pool, and gives the pool back on delete.

Create and Update attach; Delete detaches. Each reads the pool (``DescribeUserPool``),
merges or restores its ``LambdaConfig`` (:mod:`sms_otp.existing_pool.trigger_attachment`) and writes it
back with every other writable setting unchanged (:mod:`sms_otp.existing_pool.user_pool_settings`).

What the stack replaced is kept in the stack's DynamoDB table (the limits table, which
both modes deploy and which CloudFormation deletes only after this resource), under a
key made of the stack, the resource and the pool: CloudFormation hands a custom
resource neither its earlier answers nor its data again, and a key that does not
depend on the physical ID also finds the record after a create that failed half-way.
The record is written, sealed (:mod:`sms_otp.existing_pool.attachment_records`), before
the pool is changed, so that a failure after the change still leaves rollback what it
needs. What is written comes from the function's environment, never from the request
(:mod:`sms_otp.existing_pool.stack_resources`).

After writing, the pool is read again: if any other setting did not survive (a setting
this code does not know, a service that reset one anyway), the pool is written back as
it was and the operation fails with the names of those settings.

Attach refuses a pool holding settings the SDK does not know; delete must be able to
finish, so it carries them into UpdateUserPool's request as DescribeUserPool returned
them (and checks afterwards that they survived).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.core.errors import aws_error_code
from sms_otp.core.observability import logger
from sms_otp.existing_pool.attachment_records import record_key
from sms_otp.existing_pool.pool_checks import check_role_and_keys, check_sign_in_by_phone, check_sms_configuration
from sms_otp.existing_pool.stack_resources import LOGICAL_ID, StackResources
from sms_otp.existing_pool.trigger_attachment import (
    Attachment,
    AttachmentRefusedError,
    attach,
    detach,
    own_slots_only,
    parse_request,
    user_pool_region,
)
from sms_otp.existing_pool.user_pool_settings import carry_unknown as carry_unknown_fields
from sms_otp.existing_pool.user_pool_settings import not_sent, path_name, settings_changed, unknown_fields, update_request, value_at

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


class UserPoolNotFoundError(AttachmentRefusedError):
    """The pool does not exist (in this account and region)."""


@dataclass(frozen=True, slots=True)
class Described:
    """A ``DescribeUserPool`` result as botocore parsed it, the raw JSON, and where the raw holds fields botocore dropped."""

    pool: dict[str, Any]
    raw: dict[str, Any]
    unknown: list[tuple[str | int, ...]]

    @property
    def unknown_names(self) -> str:
        return ", ".join(sorted(path_name(path) for path in self.unknown)[:5])


class DescribedPools:
    """``DescribeUserPool`` and ``GetUserPoolMfaConfig``, with the fields the SDK does not know, and a way to carry them."""

    def __init__(self, cognito: Any) -> None:
        self.cognito = cognito
        self._raw_bodies: list[bytes] = []
        self._carry: Callable[[dict[str, Any]], None] | None = None
        cognito.meta.events.register("after-call.cognito-idp.DescribeUserPool", self._keep_raw_body)
        cognito.meta.events.register("before-call.cognito-idp.UpdateUserPool", self._carry_unknown)

    def _keep_raw_body(self, http_response: Any, **_: Any) -> None:
        self._raw_bodies.append(bytes(http_response.content))

    def _carry_unknown(self, params: dict[str, Any], **_: Any) -> None:
        if self._carry is not None:
            body = json.loads(params["body"] or b"{}")
            self._carry(body)
            params["body"] = json.dumps(body).encode()

    def describe(self, user_pool_id: str) -> Described:
        """The pool, or a refusal if it does not exist."""
        self._raw_bodies.clear()
        try:
            pool: dict[str, Any] = self.cognito.describe_user_pool(UserPoolId=user_pool_id)["UserPool"]
        except ClientError as error:
            if aws_error_code(error) == "ResourceNotFoundException":
                region = self.cognito.meta.region_name
                raise UserPoolNotFoundError(f"There is no user pool {user_pool_id} in this account's {region} region.") from None
            raise
        raw = json.loads(self._raw_bodies[-1]).get("UserPool", {}) if self._raw_bodies else {}
        unknown = list(unknown_fields(raw, self.cognito.meta.service_model.shape_for("UserPoolType")))
        return Described(pool=pool, raw=raw, unknown=unknown)

    def update(self, described: Described, config: Mapping[str, Any], *, carry_unknown: bool) -> None:
        """UpdateUserPool with every setting as described and ``config``; the unknown fields carried as read when asked."""
        request = update_request(described.pool, config)
        if carry_unknown and described.unknown:
            left_out = not_sent(described.pool)
            self._carry = lambda body: carry_unknown_fields(body, described.raw, described.unknown, left_out)
        try:
            self.cognito.update_user_pool(**request)
        finally:
            self._carry = None

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


def _unblock(user_pool_id: str) -> str:
    return f"or delete the stack retaining {LOGICAL_ID} and take the stack's triggers out of {user_pool_id} by hand"


class ExistingPoolTriggers:
    """Create/Update (attach) and Delete (detach) of the stack's triggers on a pool it does not own."""

    def __init__(
        self,
        *,
        pools: DescribedPools,
        records: Any,
        stack: StackResources,
        region: str,
        log: Callable[..., None] = logger.info,
    ) -> None:
        self._pools = pools
        self._records = records
        self._stack = stack
        self._region = region
        self._log = log

    def attach(self, event: ResourceEvent) -> str:
        """Attach (Create or Update); the physical ID is the pool's ID, so another pool means a replacement."""
        request = parse_request(event.properties, region=self._region)
        self._stack.check_event(stack_id=event.stack_id, logical_id=event.logical_id, properties=event.properties, deleting=False)
        old_pool = event.old_properties.get("UserPoolId")
        if isinstance(old_pool, str) and old_pool != request.user_pool_id:
            old_key = record_key(event.stack_id, event.logical_id, old_pool)
            if self._records.get(old_key) is not None:
                raise AttachmentRefusedError(
                    f"The stack is attached to user pool {old_pool} and cannot move to another; delete the stack and deploy "
                    "it onto the new pool."
                )
        described = self._pools.describe(request.user_pool_id)
        pool = described.pool
        if described.unknown:
            raise AttachmentRefusedError(
                f"User pool {request.user_pool_id} has settings this function's AWS SDK does not know ({described.unknown_names}); "
                "UpdateUserPool would reset them, so nothing was changed: build the layer with a newer botocore and deploy again."
            )
        if request.mode == "Passwordless":
            check_sign_in_by_phone(pool, request.user_pool_id)
        check_sms_configuration(pool, request.user_pool_id)
        check_role_and_keys(
            pool,
            request.user_pool_id,
            sms_role_arn=self._stack.pool_sms_role_arn,
            own_key_arns=frozenset({self._stack.sms_key_arn}),
            pool_key_arn=self._stack.pool_kms_key_arn,
        )
        key = record_key(event.stack_id, event.logical_id, request.user_pool_id)
        remembered = self._records.get(key) or Attachment(owned=self._stack.own_identities)
        current = dict(pool.get("LambdaConfig") or {})
        config, attachment = attach(current, request, remembered)
        self._records.put(key, attachment)
        self._write(described, current, config, carry_unknown=False)
        self._log("Triggers attached", extra={"user_pool_id": request.user_pool_id, "slots": sorted(request.lambda_config)})
        return request.user_pool_id

    def detach(self, event: ResourceEvent) -> None:
        """Give the pool back its original triggers and key; nothing to do where nothing was attached.

        A delete must be able to finish: settings the SDK does not know are carried as
        read rather than refused, and every refusal says how to unblock it.
        """
        user_pool_id = event.properties.get("UserPoolId")
        self._stack.check_event(stack_id=event.stack_id, logical_id=event.logical_id, properties=event.properties, deleting=True)
        try:
            user_pool_region(user_pool_id)
        except AttachmentRefusedError:
            return  # a create refused for its pool ID: nothing was ever written
        user_pool_id = str(user_pool_id)
        key = record_key(event.stack_id, event.logical_id, user_pool_id)
        remembered = self._records.get(key)
        if user_pool_id != self._stack.user_pool_id:
            if remembered is None:
                return  # the cleanup of an attach to another pool that never wrote: nothing to give back
            raise AttachmentRefusedError(f"The request names user pool {user_pool_id}, not this stack's; nothing was changed.")
        try:
            described = self._pools.describe(user_pool_id)
        except UserPoolNotFoundError:
            # Deleted by its owner meanwhile: there is nothing left to give back.
            self._records.delete(key)
            return
        current = dict(described.pool.get("LambdaConfig") or {})
        if remembered is None:
            # A create that failed before it changed anything, a delete already done, or a record lost:
            # only the slots that hold the stack's own functions and key are emptied.
            remembered = own_slots_only(current, self._stack.own_identities)
        if any(isinstance(part, int) for path in described.unknown for part in path):
            raise AttachmentRefusedError(
                f"User pool {user_pool_id} has settings this function's AWS SDK does not know inside a list "
                f"({described.unknown_names}); build the layer with a newer botocore and delete again, {_unblock(user_pool_id)}."
            )
        config = detach(current, remembered, user_pool_id=user_pool_id)
        try:
            self._write(described, current, config, carry_unknown=True)
        except ClientError as error:
            if aws_error_code(error) in ("InvalidSmsRoleAccessPolicyException", "InvalidSmsRoleTrustRelationshipException"):
                raise AttachmentRefusedError(
                    f"UpdateUserPool refused the pool's SMS role ({aws_error_code(error)}): fix the role and "
                    f"delete again, {_unblock(user_pool_id)}."
                ) from error
            raise
        self._records.delete(key)
        self._log("Triggers detached; the pool's own are back", extra={"user_pool_id": user_pool_id})

    def _write(self, described: Described, current: Mapping[str, Any], config: Mapping[str, Any], *, carry_unknown: bool) -> None:
        """Write ``config`` with every other setting as described, then check they all survived; undo and refuse if not."""
        if dict(config) == dict(current):
            return
        pool = described.pool
        user_pool_id = str(pool["Id"])
        mfa_before = self._pools.mfa_configuration(user_pool_id)
        self._pools.update(described, config, carry_unknown=carry_unknown)
        after = self._pools.describe(user_pool_id)
        lost = settings_changed(pool, after.pool)
        lost += [path_name(path) for path in described.unknown if value_at(after.raw, path) != value_at(described.raw, path)]
        # Every slot as written, and none that was taken out; a slot the service derives (such as
        # PreTokenGenerationConfig from PreTokenGeneration) may appear beside them.
        triggers = after.pool.get("LambdaConfig") or {}
        if any(triggers.get(slot) != value for slot, value in config.items()) or any(
            slot in triggers for slot in current.keys() - config.keys()
        ):
            lost.append("LambdaConfig")
        if self._pools.mfa_configuration(user_pool_id) != mfa_before:
            lost.append("the MFA configuration")
        if lost:
            try:
                self._pools.update(described, current, carry_unknown=carry_unknown)
            except (ClientError, BotoCoreError) as error:
                raise AttachmentRefusedError(
                    f"UpdateUserPool did not keep {', '.join(lost)} of user pool {user_pool_id}, and writing back its settings "
                    f"as read failed too ({aws_error_code(error)}): check the pool."
                ) from error
            raise AttachmentRefusedError(
                f"UpdateUserPool did not keep {', '.join(lost)} of user pool {user_pool_id}; its settings were written back as read."
            )
