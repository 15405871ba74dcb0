"""Attaching the triggers to a user pool the stack does not own (the custom resource).

- ``user_pool_settings``: which settings ``UpdateUserPool`` takes, and a request that keeps them all.
- ``trigger_attachment``: merging the pool's ``LambdaConfig`` with the stack's triggers, and giving it back.
- ``pool_checks``: what a pool must be before the stack writes to it.
- ``stack_resources``: what the function may write, from its environment; requests held to it.
- ``attachment_records``: the record of the original, sealed with the stack's key.
- ``existing_user_pool``: the custom resource's steps against Cognito and the record of the original.
- ``cfn_custom_resource``: crhelper, answering a local emulator's plain-HTTP response URL too.

Stands on :mod:`sms_otp.core` alone.
"""
