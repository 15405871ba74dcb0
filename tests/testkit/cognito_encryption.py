"""Encrypting a code the way Cognito encrypts the codes it hands to a Custom SMS Sender.

The one implementation is the developer client's (``sms-otp make-events`` makes sample
events with it); this adapter gives the tests its shape with a default KMS client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from sms_otp_client.local_invoke import cognito_style_ciphertext

Encrypt = Callable[[bytes, str, str], str]
"""The ``encrypt_code`` fixture: ``encrypt_code(b"123456", key_arn, pool_id)``."""

# The Encryption SDK raises "Footer not read" from a destructor after a failed decrypt; that is its own noise.
ENCRYPTION_SDK_NOISE = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def cognito_ciphertext(plaintext: bytes | str, key_arn: str, user_pool_id: str, kms_client: Any = None) -> str:
    """``plaintext`` encrypted under ``key_arn`` for ``user_pool_id``, as Cognito sends it in ``request.code``.

    ``kms_client`` is the KMS client that wraps the data key: one built on an
    emulator's endpoint, say. By default a plain boto3 client in the key's
    region (which moto intercepts in the unit tier).
    """
    if kms_client is None:
        kms_client = boto3.client("kms", region_name=key_arn.split(":")[3])
    return cognito_style_ciphertext(plaintext, kms_client=kms_client, key_arn=key_arn, user_pool_id=user_pool_id)
