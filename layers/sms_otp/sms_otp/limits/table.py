"""The limits' DynamoDB primitives: batched reads, a number's versioned write, and capped counters."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from sms_otp.core.errors import SmsOtpError, aws_error_code
from sms_otp.core.observability import count_for_alarm, logger
from sms_otp.core.time_budget import DYNAMODB_CONFIG
from sms_otp.limits.errors import LimitStoreUnavailableError

if TYPE_CHECKING:
    from sms_otp.core.time_budget import Deadline
    from sms_otp.limits.record import SubjectState

WRITE_ATTEMPTS = 64
"""A lost race means another invocation just made progress on the same item; the request is refused
(fail closed) after this many, or when its deadline passes."""


class LostRaceError(SmsOtpError):
    """Another invocation changed the item first."""


@functools.cache
def dynamodb_client() -> Any:
    """The container's DynamoDB client, built on first use."""
    return boto3.client("dynamodb", config=DYNAMODB_CONFIG)


@dataclass(frozen=True, slots=True)
class LimitTable:
    """The limits' table: every request the store makes, each answering by its deadline."""

    name: str
    client: Any

    def read_items(self, keys: list[str], deadline: Deadline, *, consistent: bool = False) -> dict[str, dict[str, Any]]:
        """The items of ``keys`` that exist, by key, in one BatchGetItem (keys DynamoDB leaves unread are asked again).

        ``consistent``: every item as its last write left it (a number's item, whose version a write is conditional on).
        """
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {self.name: {"Keys": [{"pk": {"S": key}} for key in keys], "ConsistentRead": consistent}}
        for _attempt in range(WRITE_ATTEMPTS):
            response = deadline.call(self.client.batch_get_item, RequestItems=request)
            for item in response.get("Responses", {}).get(self.name, []):
                found[item["pk"]["S"]] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
        logger.error("The limit store left keys unread; nothing is sent")
        count_for_alarm("LimitStoreFailures")
        raise LimitStoreUnavailableError()

    def get(self, key: str, deadline: Deadline) -> dict[str, Any] | None:
        """The item under ``key`` (a consistent read), or ``None``."""
        response = deadline.call(self.client.get_item, TableName=self.name, Key={"pk": {"S": key}}, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def put_subject(self, key: str, before: SubjectState, after: SubjectState, now: int, deadline: Deadline) -> None:
        """Write ``after`` if the item is still ``before`` (by its version); raise :class:`LostRaceError` if not."""
        put: dict[str, Any] = {"TableName": self.name, "Item": after.to_item(key, now)}
        if before.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :version"
            put["ExpressionAttributeValues"] = {":version": {"N": str(before.version)}}
        try:
            deadline.call(self.client.put_item, **put)
        except ClientError as error:
            if aws_error_code(error) == "ConditionalCheckFailedException":
                raise LostRaceError() from None
            raise

    def count_under_cap(self, key: str, cap: int, expires_at: int, deadline: Deadline) -> bool:
        """Add one to the counter ``key`` if it is still below ``cap``; False when it is full.

        The cap holds against every concurrent send: DynamoDB applies one item's updates one at a time.
        """
        try:
            deadline.call(
                self.client.update_item,
                TableName=self.name,
                Key={"pk": {"S": key}},
                UpdateExpression="ADD sent :one SET expires_at = :expires_at",
                ConditionExpression="attribute_not_exists(sent) OR sent < :cap",
                ExpressionAttributeValues={":one": {"N": "1"}, ":cap": {"N": str(cap)}, ":expires_at": {"N": str(expires_at)}},
            )
        except ClientError as error:
            if aws_error_code(error) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def take_one_back(self, counter_key: str, deadline: Deadline) -> None:
        """One send less in a counter (the budget, a range's bucket), never below zero."""
        try:
            deadline.call(
                self.client.update_item,
                TableName=self.name,
                Key={"pk": {"S": counter_key}},
                UpdateExpression="ADD sent :minus_one",
                ConditionExpression="sent > :zero",
                ExpressionAttributeValues={":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
            )
        except ClientError as error:
            if aws_error_code(error) != "ConditionalCheckFailedException":
                raise
