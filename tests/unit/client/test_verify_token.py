"""The token verification example of your-app.md, against tokens signed by a key of the test's own.

The pool's JWKS is this key's public half, handed to PyJWT's JWKS client in
place of the HTTP fetch; everything else is the example as your-app.md shows it.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from verify_token import CognitoTokenVerifier

pytestmark = pytest.mark.unit

REGION = "eu-west-1"
POOL_ID = "eu-west-1_Example1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
CLIENT_ID = "4example0client0id0abcdefg"
KEY_ID = "pool-key-1"
POOL_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_fetches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The addresses PyJWT's JWKS client fetches; each answers the pool key's JWKS."""
    jwk = {**RSAAlgorithm.to_jwk(POOL_KEY.public_key(), as_dict=True), "kid": KEY_ID, "alg": "RS256", "use": "sig"}
    fetched: list[str] = []

    def fetch_data(client: jwt.PyJWKClient) -> dict[str, Any]:
        fetched.append(client.uri)
        return {"keys": [jwk]}

    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", fetch_data)
    return fetched


@pytest.fixture
def verifier(jwks_fetches: list[str]) -> CognitoTokenVerifier:
    return CognitoTokenVerifier(region=REGION, user_pool_id=POOL_ID, app_client_id=CLIENT_ID)


def id_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "a-user",
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "token_use": "id",
        "iat": now,
        "exp": now + 3600,
        "phone_number": "+14155550123",
    }
    return {name: value for name, value in {**claims, **changes}.items() if value is not None}


def access_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"sub": "a-user", "iss": ISSUER, "client_id": CLIENT_ID, "token_use": "access", "iat": now, "exp": now + 3600}
    return {name: value for name, value in {**claims, **changes}.items() if value is not None}


def sign(claims: dict[str, Any], *, key: rsa.RSAPrivateKey = POOL_KEY, kid: str = KEY_ID) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_the_keys_come_from_the_pools_jwks_url_once(verifier: CognitoTokenVerifier, jwks_fetches: list[str]):
    # GIVEN a verifier built from the region and pool id only
    # WHEN it checks two tokens
    verifier.verify(sign(id_claims()), token_use="id")
    verifier.verify(sign(access_claims()), token_use="access")

    # THEN it fetched the keys once, from the pool's well-known JWKS address
    assert jwks_fetches == [f"{ISSUER}/.well-known/jwks.json"]


@pytest.mark.parametrize(
    ("claims", "token_use"),
    [pytest.param(id_claims(), "id", id="ID token"), pytest.param(access_claims(), "access", id="access token")],
)
def test_a_token_of_the_pool_for_the_app_client_is_accepted(verifier: CognitoTokenVerifier, claims: dict[str, Any], token_use: Any):
    # GIVEN a token signed by the pool's key for this app client
    # WHEN it is verified as what it is
    verified = verifier.verify(sign(claims), token_use=token_use)

    # THEN its claims come back
    assert verified == claims


@pytest.mark.parametrize(
    ("token", "token_use", "error"),
    [
        pytest.param(sign(id_claims(aud="another-client")), "id", jwt.InvalidAudienceError, id="ID token for another app client"),
        pytest.param(
            sign(access_claims(client_id="another-client")), "access", jwt.InvalidTokenError, id="access token for another app client"
        ),
        pytest.param(sign(id_claims(token_use="access")), "id", jwt.InvalidTokenError, id="access token_use where an ID token is wanted"),
        pytest.param(sign(access_claims(token_use="id")), "access", jwt.InvalidTokenError, id="ID token_use where access is wanted"),
        pytest.param(sign(id_claims(iss=ISSUER.replace(POOL_ID, "eu-west-1_Another"))), "id", jwt.InvalidIssuerError, id="another pool"),
        pytest.param(sign(id_claims(exp=int(time.time()) - 1)), "id", jwt.ExpiredSignatureError, id="expired"),
        pytest.param(sign(id_claims(exp=None)), "id", jwt.MissingRequiredClaimError, id="no expiry"),
        pytest.param(sign(access_claims(token_use=None)), "access", jwt.MissingRequiredClaimError, id="no token_use"),
        pytest.param(sign(id_claims(), key=OTHER_KEY), "id", jwt.InvalidSignatureError, id="signed by another key"),
        pytest.param(sign(id_claims(), key=OTHER_KEY, kid="unknown"), "id", jwt.PyJWKClientError, id="unknown key id"),
        pytest.param(
            jwt.encode(id_claims(), "", algorithm="none", headers={"kid": KEY_ID}), "id", jwt.InvalidAlgorithmError, id="unsigned"
        ),
    ],
)
def test_a_token_that_fails_a_check_is_refused(verifier: CognitoTokenVerifier, token: str, token_use: Any, error: type[Exception]):
    # GIVEN a token that fails one check
    # WHEN it is verified
    # THEN PyJWT's error for that check is raised (every one is a jwt.PyJWTError, for a 401)
    with pytest.raises(error) as refusal:
        verifier.verify(token, token_use=token_use)
    assert isinstance(refusal.value, jwt.PyJWTError)
