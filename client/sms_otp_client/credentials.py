"""Whether AWS credentials reach an account, asked before ``make deploy`` asks its questions.

``sam deploy --guided`` asks every question first and needs credentials only at
the end; this check (STS ``GetCallerIdentity``, which needs no permission)
fails in one sentence before the first question instead.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

# STS answers in every region; this one is asked when no region is configured yet (the guided deploy asks for it).
FALLBACK_REGION = "us-east-1"


class CredentialsError(Exception):
    """No usable AWS credentials; the message is one sentence that says what to do."""


def caller_identity(sts: Any) -> str:
    """The ARN the credentials sign in as; raises :class:`CredentialsError` when there are none or AWS refuses them."""
    try:
        identity = sts.get_caller_identity()
    except NoCredentialsError:
        raise CredentialsError(
            "No AWS credentials were found: configure them (aws configure, aws sso login, or AWS_PROFILE) and run make deploy again."
        ) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "an error")
        raise CredentialsError(
            f"AWS refused these credentials ({code}): they are wrong or expired; renew them (aws sso login, say) and run make deploy again."
        ) from None
    except BotoCoreError as error:
        raise CredentialsError(f"AWS credentials could not be checked: {str(error).rstrip('.')}.") from None
    return str(identity["Arn"])


def sts_client(session: Any, region: str | None) -> Any:
    """An STS client of ``session`` in ``region``, or in the configured one, or in :data:`FALLBACK_REGION`."""
    try:
        return session.client("sts", region_name=region)
    except NoRegionError:
        return session.client("sts", region_name=FALLBACK_REGION)
