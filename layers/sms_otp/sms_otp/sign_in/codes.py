"""One-time codes: draw, hash with a salt, verify in constant time, expire.

A code never leaves this module in clear except to be sent. What Cognito keeps
between the Create and Verify triggers is an :class:`IssuedCode`: a random salt,
the HMAC-SHA256 of the code under that salt, and the time of issue.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SALT_BYTES = 16
# A clock step between Lambda hosts must not make a fresh code look issued in the future.
CLOCK_SKEW_SECONDS = 5
# Prefix of the challenge metadata, so a later round knows the entry was ours.
METADATA_PREFIX = "SMS_OTP"
_METADATA_VERSION = "v1"

# Longest answer looked at: a code with generous white space around it; anything longer is simply wrong.
MAX_ANSWER_CHARACTERS = 64

PRIVATE_HASH = "codeHash"
PRIVATE_SALT = "codeSalt"
PRIVATE_ISSUED_AT = "issuedAt"


def generate_code(length: int) -> str:
    """Draw a code uniformly from all ``10**length`` values, zero-padded to ``length`` digits."""
    if length < 1:
        raise ValueError("a code has at least one digit")
    return f"{secrets.randbelow(10**length):0{length}d}"


def _digest(salt: bytes, code: str) -> bytes:
    return hmac.new(salt, code.encode("ascii"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """The salted hash of a code and when it was issued; never the code itself."""

    salt: bytes
    digest: bytes
    issued_at: int

    @classmethod
    def issue(cls, code: str, issued_at: int) -> IssuedCode:
        """Hash ``code`` under a fresh random salt."""
        salt = secrets.token_bytes(SALT_BYTES)
        return cls(salt=salt, digest=_digest(salt, code), issued_at=issued_at)

    def is_expired(self, now: float, ttl_seconds: int) -> bool:
        """True once ``ttl_seconds`` have passed since issue, or if issue lies in the future."""
        return now >= self.issued_at + ttl_seconds or self.issued_at > now + CLOCK_SKEW_SECONDS

    def matches(self, answer: str) -> bool:
        """Compare the hash of ``answer`` with the stored hash in constant time."""
        return hmac.compare_digest(_digest(self.salt, answer), self.digest)

    def to_private_parameters(self) -> dict[str, str]:
        """The Create trigger's private challenge parameters, read back by Verify."""
        return {
            PRIVATE_HASH: _b64(self.digest),
            PRIVATE_SALT: _b64(self.salt),
            PRIVATE_ISSUED_AT: str(self.issued_at),
        }

    @classmethod
    def from_private_parameters(cls, parameters: object) -> IssuedCode | None:
        """Parse private challenge parameters; ``None`` when they are missing or malformed."""
        if not isinstance(parameters, dict):
            return None
        return cls._parse(parameters.get(PRIVATE_SALT), parameters.get(PRIVATE_HASH), parameters.get(PRIVATE_ISSUED_AT))

    def to_metadata(self) -> str:
        """Challenge metadata carrying the hash to later rounds of the same session (no code)."""
        return ":".join((METADATA_PREFIX, _METADATA_VERSION, str(self.issued_at), _b64(self.salt), _b64(self.digest)))

    @classmethod
    def from_metadata(cls, metadata: object) -> IssuedCode | None:
        """Parse metadata written by :meth:`to_metadata`; ``None`` for anything else."""
        if not isinstance(metadata, str):
            return None
        parts = metadata.split(":")
        if len(parts) != 5 or parts[0] != METADATA_PREFIX or parts[1] != _METADATA_VERSION:
            return None
        return cls._parse(parts[3], parts[4], parts[2])

    @classmethod
    def _parse(cls, salt: object, digest: object, issued_at: object) -> IssuedCode | None:
        if not (isinstance(salt, str) and isinstance(digest, str) and isinstance(issued_at, str)):
            return None
        if not (issued_at.isascii() and issued_at.isdigit()) or len(issued_at) > 12:
            return None
        try:
            salt_bytes, digest_bytes = _unb64(salt), _unb64(digest)
        except (binascii.Error, ValueError):
            return None
        if len(salt_bytes) != SALT_BYTES or len(digest_bytes) != hashlib.sha256().digest_size:
            return None
        return cls(salt=salt_bytes, digest=digest_bytes, issued_at=int(issued_at))


def normalize_answer(answer: object, length: int) -> str | None:
    """The answer as ``length`` ASCII digits, or ``None`` when it cannot be a code.

    Surrounding white space is forgiven (people paste codes); anything else,
    including non-ASCII digits such as Arabic-Indic ones, is refused.
    """
    if not isinstance(answer, str) or len(answer) > MAX_ANSWER_CHARACTERS:
        return None
    candidate = answer.strip()
    if len(candidate) != length or not candidate.isascii() or not candidate.isdigit():
        return None
    return candidate


def verify_answer(issued: IssuedCode, answer: object, *, length: int, now: float, ttl_seconds: int) -> bool:
    """True only for a well-formed answer that matches an unexpired code."""
    candidate = normalize_answer(answer, length)
    # Hash even a malformed answer so the time taken says nothing about why it failed.
    matches = issued.matches(candidate if candidate is not None else "0" * length)
    return candidate is not None and matches and not issued.is_expired(now, ttl_seconds)
