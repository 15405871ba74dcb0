"""Passwordless sign-in against the stack's app client: sign up, start CUSTOM_AUTH, answer.

Cognito errors are turned into one clear sentence by :func:`explain`.
"""

from __future__ import annotations

import ast
import base64
import json
import secrets
import string
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    SSLError,
)

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


# Cognito error codes whose meaning does not depend on their message.
_SENTENCES = {
    "CodeMismatchException": "That code is not right.",
    "ExpiredCodeException": "That code has expired: start signing in again to get a new code.",
    "TooManyRequestsException": "Too many requests for now: wait a little and try again.",
    "LimitExceededException": "Too many requests for now: wait a little and try again.",
    "TooManyFailedAttemptsException": "Too many failed attempts for now: wait a little and try again.",
    "UsernameExistsException": "That phone number already has an account: sign in instead.",
    "UserNotFoundException": "No account uses that phone number: sign up first.",
    "ForbiddenException": "Too many requests from this address (the pool's web ACL blocked it): wait a few minutes and try again.",
}


def explain(error: Exception) -> str:
    """One sentence describing a Cognito, configuration or connection error."""
    if not isinstance(error, ClientError):
        return _sdk_error(error) if isinstance(error, BotoCoreError) else str(error)
    code = error.response.get("Error", {}).get("Code", "")
    message = str(error.response.get("Error", {}).get("Message", ""))
    trigger_message = _trigger_message(message) if code in ("UserLambdaValidationException", "InvalidLambdaResponseException") else None
    if trigger_message:
        return trigger_message
    if code == "NotAuthorizedException":
        return _not_authorized(message)
    if code in _SENTENCES:
        return _SENTENCES[code]
    return f"Cognito answered {code or 'an error'}: {message.rstrip('.')}."


def _sdk_error(error: BotoCoreError) -> str:
    """An error the AWS SDK raised before or instead of an answer: configuration, connection."""
    if isinstance(error, SSLError):
        endpoint = error.kwargs.get("endpoint_url", "the endpoint")
        return (
            f"No TLS connection could be made to {endpoint} (it does not speak https, or its certificate is not trusted):"
            " the sandbox's emulator speaks plain http, so write its URL with http://."
        )
    if isinstance(error, EndpointConnectionError):
        return f"Cannot reach the AWS endpoint ({error.kwargs.get('endpoint_url', 'unknown')}); is it running?"
    if isinstance(error, NoRegionError):
        return "No AWS region is configured: pass --region (such as --region us-east-1), or set AWS_REGION."
    if isinstance(error, NoCredentialsError):
        return "No AWS credentials were found: configure them (aws configure, or AWS_PROFILE) to reach a deployed stack."
    if isinstance(error, ProfileNotFound):
        return f"The AWS profile {error.kwargs.get('profile', '')!r} does not exist in your AWS configuration: check AWS_PROFILE."
    return f"The AWS SDK failed: {error}"


def _not_authorized(message: str) -> str:
    lowered = message.lower()
    if "signup is not permitted" in lowered:
        return "This pool does not let people sign up themselves: an administrator creates the accounts."
    if "attempts" in lowered:
        return "Too many wrong codes: start signing in again to get a new code."
    if "session" in lowered:
        return "The sign-in session has expired: start signing in again to get a new code."
    return "Sign-in failed: the code was wrong too many times, or the session ended. Start again to get a new code."


def _trigger_message(message: str) -> str | None:
    """The user-facing text a trigger raised, from Cognito's error message.

    Cognito says ``<Trigger> failed with error <text>``; the local emulator
    passes on the Lambda error payload instead (``{'errorMessage': '<text>', ...}``).
    """
    if _TRIGGER_ERROR_MARKER in message:
        return message.split(_TRIGGER_ERROR_MARKER, 1)[1].strip()
    start, end = message.find("{"), message.rfind("}")
    if start != -1 and end > start:
        try:
            payload = ast.literal_eval(message[start : end + 1])
        except (ValueError, SyntaxError):
            return None
        if isinstance(payload, dict) and isinstance(payload.get("errorMessage"), str):
            return str(payload["errorMessage"])
    return None


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
