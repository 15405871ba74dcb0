"""Attaching the stack's triggers to a user pool it does not own, and giving the pool back as it was.

The pool's ``LambdaConfig`` is merged, never replaced: the slots the stack needs are
set, every other trigger of the pool is kept. What each of those slots held before
(and the KMS key, which ``CustomSMSSender`` shares with ``CustomEmailSender``) is
remembered as the *original*, written once, when the stack first takes the slot, and
never from a value the stack set itself. Detaching puts the original back in every
slot that still holds the stack's function, and leaves alone a slot that someone has
changed since.

Everything here is pure: the current ``LambdaConfig``, what the stack wants and what it
remembers go in; the new ``LambdaConfig`` and what to remember come out, or a refusal
whose one sentence CloudFormation shows in the stack's events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sms_otp.core.errors import SmsOtpError

KMS_KEY_SLOT = "KMSKeyID"
CUSTOM_SMS_SENDER = "CustomSMSSender"
CUSTOM_EMAIL_SENDER = "CustomEmailSender"
# The LambdaConfig slots the stack may take (Passwordless mode takes them all; CustomSmsSender mode the last two).
STACK_SLOTS: tuple[str, ...] = (
    "PreSignUp",
    "DefineAuthChallenge",
    "CreateAuthChallenge",
    "VerifyAuthChallengeResponse",
    "PostAuthentication",
    CUSTOM_SMS_SENDER,
    KMS_KEY_SLOT,
)
MODES = ("CustomSmsSender", "Passwordless")
# A user pool ID is its region, an underscore and a suffix (UserPoolIdType: [\w-]+_[0-9a-zA-Z]+, at most 55).
_USER_POOL_ID = re.compile(r"^(?P<region>[a-z]{2}(-[a-z]+)+-[0-9])_[0-9a-zA-Z]+$")
_MAX_USER_POOL_ID = 55


class AttachmentRefusedError(SmsOtpError):
    """The pool cannot be attached to (or given back) as asked; the message is the one-sentence reason, nothing was changed."""


@dataclass(frozen=True, slots=True)
class AttachRequest:
    """What the custom resource's properties ask for."""

    user_pool_id: str
    mode: str
    lambda_config: dict[str, Any]
    replace_existing_triggers: bool


def _flag(value: Any, name: str) -> bool:
    # CloudFormation hands a custom resource every scalar property as a string.
    if value in (True, "true", "True"):
        return True
    if value in (False, "false", "False", None):
        return False
    raise AttachmentRefusedError(f"{name} must be true or false, not {value!r}.")


def user_pool_region(user_pool_id: Any) -> str:
    """The region a user pool ID names; a malformed ID is refused with its one-sentence reason."""
    match = _USER_POOL_ID.match(user_pool_id) if isinstance(user_pool_id, str) and len(user_pool_id) <= _MAX_USER_POOL_ID else None
    if match is None:
        raise AttachmentRefusedError(f"ExistingUserPoolId {str(user_pool_id)[:60]!r} is not a user pool ID (such as us-east-1_AbC123xyz).")
    return match.group("region")


def parse_request(properties: Mapping[str, Any], *, region: str) -> AttachRequest:
    """The custom resource's properties, checked: a pool ID of this region, a known mode, only the stack's slots."""
    user_pool_id = properties.get("UserPoolId")
    pool_region = user_pool_region(user_pool_id)
    if pool_region != region:
        raise AttachmentRefusedError(
            f"User pool {user_pool_id} is in {pool_region} but this stack is in {region}: deploy the stack in the pool's region."
        )
    mode = properties.get("Mode")
    if mode not in MODES:
        raise AttachmentRefusedError(f"ExistingPoolTriggers must be one of {', '.join(MODES)}, not {mode!r}.")
    lambda_config = properties.get("LambdaConfig")
    if not isinstance(lambda_config, dict) or not lambda_config or set(lambda_config) - set(STACK_SLOTS):
        raise AttachmentRefusedError(f"LambdaConfig must name only the stack's triggers ({', '.join(STACK_SLOTS)}).")
    return AttachRequest(
        user_pool_id=str(user_pool_id),
        mode=str(mode),
        lambda_config=dict(lambda_config),
        replace_existing_triggers=_flag(properties.get("ReplaceExistingTriggers"), "ReplaceExistingTriggers"),
    )


def identity(value: Any) -> str:
    """What a slot's value points at: a function or key ARN (``LambdaArn`` for the sender structures)."""
    if isinstance(value, dict):
        return str(value.get("LambdaArn", json.dumps(value, sort_keys=True)))
    return str(value)


@dataclass(frozen=True, slots=True)
class Attachment:
    """What the stack remembers about one pool it attached to.

    ``original``: each slot the stack has taken, with what it held before (``None``: empty).
    ``owned``: the identities of every value the stack has set, so it recognises its own.
    ``email_sender``: the identity of the pool's Custom Email Sender when the stack first
    attached (``None``: none), which decrypts with the key the stack gives back.
    """

    original: dict[str, Any] = field(default_factory=dict)
    owned: frozenset[str] = frozenset()
    email_sender: str | None = None

    def __post_init__(self) -> None:
        # Detaching writes every original back: a record naming any other slot (a Pre Token
        # Generation, say) would hand the pool a trigger the stack never took from it.
        foreign = sorted(set(self.original) - set(STACK_SLOTS))
        if foreign:
            raise AttachmentRefusedError(
                f"The record of what the stack replaced names slots it never takes ({', '.join(foreign)}); nothing was changed."
            )

    def to_json(self) -> str:
        """The record as stored in the table."""
        return json.dumps({"original": self.original, "owned": sorted(self.owned), "email_sender": self.email_sender}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Attachment:
        """A record as stored by :meth:`to_json`."""
        data = json.loads(text)
        return cls(original=dict(data["original"]), owned=frozenset(data["owned"]), email_sender=data.get("email_sender"))


def _restore(config: dict[str, Any], slot: str, before: Any, owned: frozenset[str]) -> None:
    """Put ``before`` back in ``slot`` if the slot still holds the stack's value; a value set by someone else stays."""
    present = config.get(slot)
    if present is not None and identity(present) not in owned:
        return
    if before is None:
        config.pop(slot, None)
    else:
        config[slot] = before


def attach(current: Mapping[str, Any], request: AttachRequest, remembered: Attachment) -> tuple[dict[str, Any], Attachment]:
    """The pool's new ``LambdaConfig`` with the stack's slots set, and what to remember; or a refusal.

    A slot that holds a function the stack did not set is refused unless
    ``replace_existing_triggers``; so is replacing the KMS key of a pool whose
    Custom Email Sender decrypts with it. Slots the stack held before but no longer
    wants (a change of mode) get their original back.
    """
    wanted = request.lambda_config
    owned = remembered.owned | {identity(value) for value in wanted.values()}
    config = dict(current)
    original = dict(remembered.original)
    taken: list[str] = []
    for slot, value in wanted.items():
        present = current.get(slot)
        if slot not in original:
            # First time the stack takes this slot: what is there now is the original
            # (unless it is the stack's own value, in which case the original is lost: empty).
            original[slot] = None if present is None or identity(present) in owned else present
        if present is not None and identity(present) not in owned and slot != KMS_KEY_SLOT:
            taken.append(slot)
        config[slot] = value
    for slot in [slot for slot in original if slot not in wanted]:
        _restore(config, slot, original.pop(slot), owned)
    if taken and not request.replace_existing_triggers:
        raise AttachmentRefusedError(
            f"User pool {request.user_pool_id} already has its own {', '.join(taken)} trigger(s); deploy with "
            "ReplaceExistingTriggers=true to replace them."
        )
    present_key = current.get(KMS_KEY_SLOT)
    if (
        KMS_KEY_SLOT in wanted
        and present_key is not None
        and identity(present_key) not in owned
        and current.get(CUSTOM_EMAIL_SENDER) is not None
        and not request.replace_existing_triggers
    ):
        raise AttachmentRefusedError(
            f"User pool {request.user_pool_id} has a Custom Email Sender that decrypts with its KMS key, which the Custom SMS "
            "Sender's key would replace (they share KMSKeyID); let it decrypt with this stack's key, then deploy with "
            "ReplaceExistingTriggers=true."
        )
    email_sender = remembered.email_sender if remembered.original else _identity_or_none(current.get(CUSTOM_EMAIL_SENDER))
    return config, Attachment(original=original, owned=owned, email_sender=email_sender)


def _identity_or_none(value: Any) -> str | None:
    return None if value is None else identity(value)


def detach(current: Mapping[str, Any], remembered: Attachment, *, user_pool_id: str) -> dict[str, Any]:
    """The pool's ``LambdaConfig`` with every slot the stack took given back its original; or a refusal.

    The senders and the key are one unit: the key goes back only if every sender left
    in the pool is one the pool had when the stack attached (and so decrypts with the
    key given back). A sender set since, on the stack's key, would be left with the
    wrong key or none: that is refused, with what to do.
    """
    config = dict(current)
    for slot, before in remembered.original.items():
        if slot != KMS_KEY_SLOT:
            _restore(config, slot, before, remembered.owned)
    if KMS_KEY_SLOT not in remembered.original:
        return config
    present_key = current.get(KMS_KEY_SLOT)
    if present_key is not None and identity(present_key) not in remembered.owned:
        return config  # someone else set the key since: theirs stays, with the senders that use it
    had_at_attach = {
        CUSTOM_SMS_SENDER: _identity_or_none(remembered.original.get(CUSTOM_SMS_SENDER)),
        CUSTOM_EMAIL_SENDER: remembered.email_sender,
    }
    if CUSTOM_SMS_SENDER not in remembered.original:
        had_at_attach[CUSTOM_SMS_SENDER] = _identity_or_none(current.get(CUSTOM_SMS_SENDER))
    newer = [slot for slot, had in had_at_attach.items() if config.get(slot) is not None and identity(config[slot]) != had]
    if newer and present_key is not None:
        raise AttachmentRefusedError(
            f"User pool {user_pool_id}'s {' and '.join(newer)} was set after this stack attached and decrypts with the stack's "
            "KMS key, which leaves with the stack: give it a key of its own (LambdaConfig.KMSKeyID), then delete the stack again."
        )
    _restore(config, KMS_KEY_SLOT, remembered.original[KMS_KEY_SLOT], remembered.owned)
    return config


def own_slots_only(current: Mapping[str, Any], own: frozenset[str]) -> Attachment:
    """What to give back when the record is lost: every slot holding one of the stack's own values, emptied."""
    return Attachment(original={slot: None for slot in STACK_SLOTS if slot in current and identity(current[slot]) in own}, owned=own)
