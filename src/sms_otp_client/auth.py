"""Passwordless sign-in against the stack's app client: sign up, start CUSTOM_AUTH, answer.

Cognito errors are turned into one clear sentence by :func:`explain`.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

CUSTOM_CHALLENGE = "CUSTOM_CHALLENGE"
_TRIGGER_ERROR_MARKER = "failed with error "


class SignInError(Exception):
    """A sign-in step failed; the message is one sentence meant for a person."""


@dataclass(frozen=True, slots=True)
class Challenge:
    """A code challenge waiting for an answer."""

    session: str
    destination: str
    delivery_medium: str


@dataclass(frozen=True, slots=True)
class Tokens:
    """What a successful sign-in returns."""

    id_token: str
    access_token: str
    refresh_token: str | None
    expires_in: int

    def id_token_claims(self) -> dict[str, Any]:
        """The ID token's claims (decoded for display; the signature is not checked here)."""
        return decode_jwt_claims(self.id_token)


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """Decode the payload of a JWT without verifying it."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if not isinstance(claims, dict):
        raise ValueError("the token's payload is not an object")
    return claims


def random_password(length: int = 40) -> str:
    """A password nobody will ever type: Cognito's SignUp requires one even for passwordless users."""
    alphabet = string.ascii_letters + string.digits + "-_.!@#%^*"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(c in "-_.!@#%^*" for c in candidate)
        ):
            return candidate


def explain(error: Exception) -> str:
    """One sentence describing a Cognito or connection error."""
    if isinstance(error, EndpointConnectionError):
        return f"Cannot reach the AWS endpoint ({error.kwargs.get('endpoint_url', 'unknown')}); is it running?"
    if isinstance(error, BotoCoreError):
        return f"The AWS SDK failed: {error}"
    if not isinstance(error, ClientError):
        return str(error)
    code = error.response.get("Error", {}).get("Code", "")
    message = str(error.response.get("Error", {}).get("Message", ""))
    if code in ("UserLambdaValidationException", "InvalidLambdaResponseException") and _TRIGGER_ERROR_MARKER in message:
        # "<Trigger> failed with error <text>": the text is the trigger's user-facing message.
        return message.split(_TRIGGER_ERROR_MARKER, 1)[1].strip().rstrip(".") + "."
    if code == "NotAuthorizedException":
        if "attempts" in message.lower():
            return "Too many wrong codes: start signing in again to get a new code."
        if "session" in message.lower():
            return "The sign-in session has expired: start signing in again to get a new code."
        return "Sign-in failed: the code was wrong too many times, or the session ended. Start again to get a new code."
    if code == "CodeMismatchException":
        return "That code is not right."
    if code == "ExpiredCodeException":
        return "That code has expired: start signing in again to get a new code."
    if code in ("TooManyRequestsException", "LimitExceededException", "TooManyFailedAttemptsException"):
        return "Too many requests for now: wait a little and try again."
    if code == "UsernameExistsException":
        return "That phone number already has an account: sign in instead."
    if code == "UserNotFoundException":
        return "No account uses that phone number: sign up first."
    if code == "InvalidParameterException":
        return f"Cognito refused the request: {message.rstrip('.')}."
    if code == "ResourceNotFoundException":
        return f"The user pool or app client does not exist: {message.rstrip('.')}."
    return f"Cognito answered {code or 'an error'}: {message.rstrip('.')}."


class PasswordlessClient:
    """Talks to the user pool's app client the way an application would."""

    def __init__(self, cognito: Any, client_id: str) -> None:
        self._cognito = cognito
        self._client_id = client_id

    def sign_up(self, phone_number: str) -> bool:
        """Create the account (random password, never used); return whether Cognito confirmed it."""
        try:
            response = self._cognito.sign_up(
                ClientId=self._client_id,
                Username=phone_number,
                Password=random_password(),
                UserAttributes=[{"Name": "phone_number", "Value": phone_number}],
            )
        except (ClientError, BotoCoreError) as error:
            raise SignInError(explain(error)) from None
        return bool(response.get("UserConfirmed"))

    def start(self, phone_number: str) -> Challenge:
        """Start CUSTOM_AUTH: Cognito sends a code and returns the first challenge."""
        try:
            response = self._cognito.initiate_auth(
                ClientId=self._client_id, AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": phone_number}
            )
        except (ClientError, BotoCoreError) as error:
            raise SignInError(explain(error)) from None
        return _challenge(response)

    def answer(self, phone_number: str, challenge: Challenge, code: str) -> Tokens | Challenge:
        """Answer a challenge: tokens when right, another challenge when wrong with attempts left."""
        try:
            response = self._cognito.respond_to_auth_challenge(
                ClientId=self._client_id,
                ChallengeName=CUSTOM_CHALLENGE,
                Session=challenge.session,
                ChallengeResponses={"USERNAME": phone_number, "ANSWER": code},
            )
        except (ClientError, BotoCoreError) as error:
            raise SignInError(explain(error)) from None
        result = response.get("AuthenticationResult")
        if result:
            return Tokens(
                id_token=result["IdToken"],
                access_token=result["AccessToken"],
                refresh_token=result.get("RefreshToken"),
                expires_in=int(result.get("ExpiresIn", 0)),
            )
        return _challenge(response)


def _challenge(response: dict[str, Any]) -> Challenge:
    if response.get("ChallengeName") != CUSTOM_CHALLENGE or "Session" not in response:
        raise SignInError(f"Cognito asked for {response.get('ChallengeName') or 'nothing'} instead of a code challenge.")
    parameters = response.get("ChallengeParameters", {})
    return Challenge(
        session=response["Session"],
        destination=parameters.get("CODE_DELIVERY_DESTINATION", "your phone"),
        delivery_medium=parameters.get("CODE_DELIVERY_DELIVERY_MEDIUM", "SMS"),
    )
