"""Attaching the triggers to a user pool the stack does not own (the custom resource).

- ``user_pool_settings``: which settings ``UpdateUserPool`` takes, and a request that keeps them all.
- ``trigger_attachment``: merging the pool's ``LambdaConfig`` with the stack's triggers, and giving it back.
- ``existing_user_pool``: the custom resource's steps against Cognito and the record of the original.
- ``cfn_custom_resource``: crhelper, answering a local emulator's plain-HTTP response URL too.

Stands on :mod:`sms_otp.core` alone.
"""
