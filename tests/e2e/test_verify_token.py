"""The token verification example of your-app.md, against tokens the emulator's Cognito issued and its JWKS.

The emulator serves each pool's public keys at ``<endpoint>/<pool id>/.well-known/jwks.json``
(AWS: ``<issuer>/.well-known/jwks.json``) and signs ID and access tokens with two keys
of that pool, as AWS does; the issuer in the tokens is AWS's.
"""

from __future__ import annotations

import jwt
import pytest

from sms_otp_client.auth import PasswordlessClient, Tokens
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import SandboxDeployment
from verify_token import CognitoTokenVerifier

pytestmark = pytest.mark.e2e


def emulator_verifier(sandbox: SandboxDeployment, app_client_id: str) -> CognitoTokenVerifier:
    pool_id = sandbox.outputs.user_pool_id
    return CognitoTokenVerifier(
        region=sandbox.region,
        user_pool_id=pool_id,
        app_client_id=app_client_id,
        jwks_url=f"{sandbox.endpoint_url}/{pool_id}/.well-known/jwks.json",
    )


@pytest.fixture
def tokens(client: PasswordlessClient, signed_up: str, inbox: TestModeInbox) -> Tokens:
    challenge = client.start(signed_up)
    result = client.answer(signed_up, challenge, inbox.wait_for_message().code)
    assert isinstance(result, Tokens)
    return result


def test_the_pools_tokens_verify_against_its_jwks(sandbox: SandboxDeployment, signed_up: str, tokens: Tokens):
    # GIVEN tokens from a sign-in, and a verifier for the stack's pool and app client
    verifier = emulator_verifier(sandbox, sandbox.outputs.user_pool_client_id)

    # WHEN each is verified as what it is
    id_claims = verifier.verify(tokens.id_token, token_use="id")
    access_claims = verifier.verify(tokens.access_token, token_use="access")

    # THEN both pass, signed by two different keys of the pool, and name the person and the app client
    assert id_claims["phone_number"] == signed_up
    assert access_claims["client_id"] == sandbox.outputs.user_pool_client_id
    assert id_claims["sub"] == access_claims["sub"]
    assert jwt.get_unverified_header(tokens.id_token)["kid"] != jwt.get_unverified_header(tokens.access_token)["kid"]


def test_the_pools_tokens_are_refused_as_the_other_kind_or_for_another_app_client(sandbox: SandboxDeployment, tokens: Tokens):
    # GIVEN tokens from a sign-in
    verifier = emulator_verifier(sandbox, sandbox.outputs.user_pool_client_id)
    other_client = emulator_verifier(sandbox, "another0app0client0id0abcd")

    # WHEN they are verified as the other kind of token, or for another app client
    # THEN each is refused
    with pytest.raises(jwt.PyJWTError):
        verifier.verify(tokens.id_token, token_use="access")
    with pytest.raises(jwt.PyJWTError):
        verifier.verify(tokens.access_token, token_use="id")
    with pytest.raises(jwt.InvalidAudienceError):
        other_client.verify(tokens.id_token, token_use="id")
    with pytest.raises(jwt.InvalidTokenError, match="another app client"):
        other_client.verify(tokens.access_token, token_use="access")
