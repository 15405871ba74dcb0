"""``check-triggers``: whether a pool the stack attached to still holds the stack's triggers.

Cognito has no conditional write: if the pool's own infrastructure code runs again
after the stack attached, it rewrites ``LambdaConfig`` and the stack's triggers are
gone, in silence (sign-ins by code stop; the Custom SMS Sender no longer gets codes).
This reads the pool and the stack's own functions and says which slots no longer
hold them. Run it after any change to the pool made outside the stack.
"""

from __future__ import annotations

from typing import Any

# The stack's function for each slot (its logical ID in template.yaml).
SLOT_FUNCTIONS = {
    "PreSignUp": "PreSignUpFunction",
    "DefineAuthChallenge": "DefineAuthChallengeFunction",
    "CreateAuthChallenge": "CreateAuthChallengeFunction",
    "VerifyAuthChallengeResponse": "VerifyAuthChallengeFunction",
    "PostAuthentication": "PostAuthenticationFunction",
    "CustomSMSSender": "CustomSmsSenderFunction",
}


def _slot_target(value: Any) -> str:
    return str(value.get("LambdaArn", "")) if isinstance(value, dict) else str(value or "")


def missing_triggers(cloudformation: Any, cognito: Any, stack_name: str, user_pool_id: str) -> list[str]:
    """The slots that should hold one of the stack's functions (or its key) and do not."""
    functions: dict[str, str] = {}
    key_arn = None
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] == "AWS::Lambda::Function":
                functions[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
            elif resource["LogicalResourceId"] == "SmsKey":
                key_arn = resource["PhysicalResourceId"]
    config = cognito.describe_user_pool(UserPoolId=user_pool_id)["UserPool"].get("LambdaConfig") or {}
    missing = [
        slot
        for slot, logical_id in SLOT_FUNCTIONS.items()
        if logical_id in functions and not _slot_target(config.get(slot)).endswith(f":function:{functions[logical_id]}")
    ]
    if key_arn is not None and not str(config.get("KMSKeyID") or "").endswith(key_arn.rsplit("/", 1)[-1]):
        missing.append("KMSKeyID")
    return missing
