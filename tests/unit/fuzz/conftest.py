"""Fixtures of the fuzz tests: the hidden code, the outbox, and each trigger cold-started as Lambda would."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest

from sms_otp.sign_in.codes import IssuedCode, generate_code
from sms_otp.sign_in.custom_auth import LatencyMimic
from tests.testkit.cognito_encryption import Encrypt

from .mutations import Hidden
from .oracles import Outbox
from .strategies import OTHER_POOL_ID, POOL_ID, SETTINGS

TEMPORARY_PASSWORD = "Tmp&lt;Pa55&gt;w0rd"


@pytest.fixture
def hidden() -> Hidden:
    code = generate_code(SETTINGS.otp_length)
    return Hidden(code=code, issued=IssuedCode.issue(code, issued_at=int(time.time())))


@pytest.fixture
def outbox(sns_outbox: Any) -> Outbox:
    return Outbox(sns_outbox)


@pytest.fixture
def define_handler(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("define_auth_challenge")


@pytest.fixture
def verify_handler(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("verify_auth_challenge")


@pytest.fixture
def pre_sign_up_handler(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("pre_sign_up")


@pytest.fixture
def create_handler(sns_outbox: Any, load_handler: Callable[..., ModuleType], monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """create_auth_challenge cold-started against moto, test mode on; the unknown-user path does not sleep."""
    module = load_handler("create_auth_challenge")
    monkeypatch.setattr(module, "LATENCY", LatencyMimic(sleep=lambda _seconds: None))
    return module


@pytest.fixture
def sender_handler(
    sns_outbox: Any,
    kms_key_arn: str,
    new_kms_key: Callable[[], str],
    encrypt_code: Encrypt,
    load_handler: Callable[..., ModuleType],
    hidden: Hidden,
) -> ModuleType:
    """custom_sms_sender cold-started against a moto key, and the ciphertexts Cognito (or someone else) could send."""
    other_key_arn = new_kms_key()
    made = {
        "code": (hidden.code, kms_key_arn, POOL_ID),
        "password": (TEMPORARY_PASSWORD, kms_key_arn, POOL_ID),
        "other-pool": (hidden.code, kms_key_arn, OTHER_POOL_ID),
        "other-key": (hidden.code, other_key_arn, POOL_ID),
    }
    for source, (plaintext, key_arn, pool_id) in made.items():
        hidden.ciphertexts[source] = base64.b64decode(encrypt_code(plaintext.encode(), key_arn, pool_id))
        if key_arn == kms_key_arn:
            hidden.genuine[hidden.ciphertexts[source]] = (pool_id, plaintext)
    hidden.ciphertexts["not-text"] = base64.b64decode(encrypt_code(b"\xff\xfe\x00" + hidden.code.encode(), kms_key_arn, POOL_ID))
    return load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn)


@dataclass(frozen=True)
class FuzzPool:
    pool_id: str
    client_id: str
    username: str


@pytest.fixture
def fuzz_pool(aws: None) -> FuzzPool:
    """A moto pool with a code-only app client and a user whose phone is unverified."""
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    pool_id = idp.create_user_pool(PoolName="sms-otp-fuzz")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="code-only", ExplicitAuthFlows=["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    username = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=[{"Name": "phone_number", "Value": "+14155550123"}, {"Name": "phone_number_verified", "Value": "false"}],
        MessageAction="SUPPRESS",
    )
    return FuzzPool(pool_id, client_id, username)


@pytest.fixture
def post_auth_handler(fuzz_pool: FuzzPool, sns_outbox: Any, load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("post_authentication")
