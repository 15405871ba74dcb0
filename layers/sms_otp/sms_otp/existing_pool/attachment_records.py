"""The record of what the stack replaced in a pool, sealed so that a planted record is refused.

The record lives in the stack's table, where the stack's other roles are denied its
items; but anyone with ``dynamodb:PutItem`` on the table could still write one, and a
delete writes what the record says into the pool. So the record is stored encrypted
with the stack's own KMS key under an encryption context naming its purpose and its
table key: KMS's authenticated encryption refuses a record that was not written by a
principal allowed to encrypt with that key for that purpose (the custom resource's
role), or that was moved from another key.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from sms_otp.core.errors import aws_error_code
from sms_otp.existing_pool.trigger_attachment import Attachment, AttachmentRefusedError

RECORD_KEY_PREFIX = "existing-user-pool#"
# The encryption context's purpose: the role may encrypt and decrypt with the stack's key for it only.
RECORD_PURPOSE = "existing-user-pool-record"
_FORGED_CODES = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})


class RecordNotTrustedError(AttachmentRefusedError):
    """The record exists but was not sealed by this stack: it is not acted on."""


def record_key(stack_id: str, logical_id: str, user_pool_id: str) -> str:
    """The table key of the record of what one stack's resource replaced in one pool."""
    return f"{RECORD_KEY_PREFIX}{stack_id}#{logical_id}#{user_pool_id}"


def _not_trusted(key: str) -> RecordNotTrustedError:
    return RecordNotTrustedError(
        f"The record under {key[:120]} was not written by this stack, so nothing was changed: delete that item from the "
        "stack's table and try again (the stack then gives back only the slots holding its own functions and key)."
    )


class AttachmentRecords:
    """What the stack replaced in each pool, one sealed item per stack, resource and pool, in the stack's table."""

    def __init__(self, dynamodb: Any, kms: Any, table_name: str, key_arn: str) -> None:
        self._dynamodb = dynamodb
        self._kms = kms
        self._table_name = table_name
        self._key_arn = key_arn

    def _context(self, key: str) -> dict[str, str]:
        return {"purpose": RECORD_PURPOSE, "record": key}

    def get(self, key: str) -> Attachment | None:
        """The record under ``key``, read consistently; ``None`` when there is none; refused when not sealed by this stack."""
        item = self._dynamodb.get_item(TableName=self._table_name, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
        if not item:
            return None
        sealed = item.get("sealed", {}).get("B")
        if not sealed:
            raise _not_trusted(key)
        try:
            plaintext = self._kms.decrypt(CiphertextBlob=sealed, EncryptionContext=self._context(key), KeyId=self._key_arn)["Plaintext"]
        except ClientError as error:
            if aws_error_code(error) in _FORGED_CODES:
                raise _not_trusted(key) from None
            raise
        return Attachment.from_json(bytes(plaintext).decode())

    def put(self, key: str, attachment: Attachment) -> None:
        """Seal ``attachment`` and write it under ``key``, replacing any record there."""
        sealed = self._kms.encrypt(KeyId=self._key_arn, Plaintext=attachment.to_json().encode(), EncryptionContext=self._context(key))
        self._dynamodb.put_item(TableName=self._table_name, Item={"pk": {"S": key}, "sealed": {"B": sealed["CiphertextBlob"]}})

    def delete(self, key: str) -> None:
        """Remove the record under ``key`` (nothing to do when there is none)."""
        self._dynamodb.delete_item(TableName=self._table_name, Key={"pk": {"S": key}})
