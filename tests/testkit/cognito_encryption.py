"""Encrypting a code the way Cognito encrypts the codes it hands to a Custom SMS Sender.

The AWS Encryption SDK message Cognito sends: the signed, non-committing suite
AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 (0x0378), which only the commitment
policy FORBID_ENCRYPT_ALLOW_DECRYPT may produce, one data key wrapped by the
stack's KMS key, and the encryption context ``{"userpool-id": <pool id>}``;
base64-encoded.
"""

from __future__ import annotations

import base64
from typing import Any

import aws_encryption_sdk
import boto3
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy
from aws_encryption_sdk.key_providers.kms import KMSMasterKey, KMSMasterKeyConfig

COGNITO_ALGORITHM = Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384
USER_POOL_CONTEXT_KEY = "userpool-id"


def cognito_ciphertext(plaintext: bytes | str, key_arn: str, user_pool_id: str, kms_client: Any = None) -> str:
    """``plaintext`` encrypted under ``key_arn`` for ``user_pool_id``, as Cognito sends it in ``request.code``.

    ``kms_client`` is the KMS client that wraps the data key: one built on an
    emulator's endpoint, say. By default a plain boto3 client in the key's
    region (which moto intercepts in the unit tier).
    """
    if kms_client is None:
        kms_client = boto3.client("kms", region_name=key_arn.split(":")[3])
    master_key = KMSMasterKey(config=KMSMasterKeyConfig(key_id=key_arn, client=kms_client))
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    ciphertext, header = client.encrypt(
        source=plaintext.encode() if isinstance(plaintext, str) else plaintext,
        key_provider=master_key,
        encryption_context={USER_POOL_CONTEXT_KEY: user_pool_id},
        algorithm=COGNITO_ALGORITHM,
    )
    if header.algorithm != COGNITO_ALGORITHM or len(header.encrypted_data_keys) != 1:
        raise AssertionError("the Encryption SDK did not produce Cognito's message format")
    return base64.b64encode(ciphertext).decode("ascii")
