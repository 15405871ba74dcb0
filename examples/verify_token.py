"""Verify a Cognito ID or access token in a backend, with PyJWT and the user pool's JWKS.

    verifier = CognitoTokenVerifier(region="us-east-1", user_pool_id="us-east-1_AbCdEf", app_client_id="1example23456789")
    claims = verifier.verify(token_from_the_authorization_header, token_use="access")

Any failure raises ``jwt.PyJWTError`` (answer 401): a bad signature or an unknown
key, another issuer, an ID token for another app client (``aud``), an access token
for another app client (``client_id``), the other kind of token (``token_use``),
or an expired one (``exp``).
"""

from __future__ import annotations

from typing import Any, Literal

import jwt

TokenUse = Literal["id", "access"]


class CognitoTokenVerifier:
    """Checks tokens issued by one user pool to one app client."""

    def __init__(self, *, region: str, user_pool_id: str, app_client_id: str, jwks_url: str | None = None) -> None:
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        self.app_client_id = app_client_id
        # The pool's public keys, fetched once and cached; a token signed by a key not yet
        # seen fetches them again. jwks_url is only for an emulator that serves them elsewhere.
        self._keys = jwt.PyJWKClient(jwks_url or f"{self.issuer}/.well-known/jwks.json", cache_keys=True)

    def verify(self, token: str, *, token_use: TokenUse) -> dict[str, Any]:
        """The token's claims once its signature, issuer, app client, kind and expiry are checked."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self._keys.get_signing_key_from_jwt(token),
            algorithms=["RS256"],
            issuer=self.issuer,
            # An ID token names the app client in `aud`; an access token has no `aud`, but `client_id`.
            audience=self.app_client_id if token_use == "id" else None,
            options={"require": ["exp", "iat", "iss", "token_use"]},
        )
        if claims["token_use"] != token_use:
            raise jwt.InvalidTokenError(f"This is not an {token_use} token.")
        if token_use == "access" and claims.get("client_id") != self.app_client_id:
            raise jwt.InvalidTokenError("This access token was issued to another app client.")
        return claims
