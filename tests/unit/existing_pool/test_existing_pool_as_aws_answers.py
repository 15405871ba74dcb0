"""Existing pools as AWS answers them, where the emulator accepts whatever it is sent.

Each case runs against ``FakeUserPool``, which answers as the service model's own
documentation says: a Lite pool refusing the Essentials settings, a link-style pool
refusing the legacy verification messages, a broken SMS role, dynamic client
registration turned on by a configuration without its status, settings the SDK does
not know. The requests the custom resource is handed are held to what its
environment says, and a record it did not write is never acted on.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sms_otp.existing_pool.attachment_records import record_key
from sms_otp.existing_pool.existing_user_pool import DescribedPools, ExistingPoolTriggers, ResourceEvent
from sms_otp.existing_pool.stack_resources import StackResources
from sms_otp.existing_pool.trigger_attachment import AttachmentRefusedError
from tests.testkit.user_pool_fakes import REGION, FakeUserPool, MemoryRecords, function_arn, key_arn
from tests.unit.existing_pool.pool_kit import (
    LOGICAL_ID,
    PASSWORDLESS_CONFIG,
    SENDER_CONFIG,
    STACK_ID,
    STACK_KEY,
    a_pool,
    event,
    settings_of,
    triggers_for,
)

pytestmark = pytest.mark.unit

POOL_ID = f"{REGION}_Distinct1"
LITE = {"UserPoolTier": "LITE", "AcrConfiguration": {"urn:amazon:cognito:acr:1fa": {"AcrValue": "urn:amazon:cognito:acr:1fa"}}}
LINK = {
    "VerificationMessageTemplate": {
        "SmsMessage": "Customers: your code is {####}",
        "EmailMessage": "Your code is {####}",
        "EmailSubject": "Your code",
        "EmailMessageByLink": "Click {##Verify Email##}",
        "EmailSubjectByLink": "Verify",
        "DefaultEmailOption": "CONFIRM_WITH_LINK",
    },
    "SmsVerificationMessage": "Customers: your code is {####}",
    "EmailVerificationMessage": "Your code is {####}",
    "EmailVerificationSubject": "Your code",
}
DCR = {"DcrConfiguration": {"EnableStatus": "Disabled"}}
VARIANTS = {
    "Essentials": {},
    "Lite": LITE,
    "link-style": LINK,
    "dynamic client registration off": DCR,
    "Lite and link-style": {**LITE, **LINK},
}


def one_sentence(refusal: pytest.ExceptionInfo[AttachmentRefusedError]) -> str:
    text = str(refusal.value)
    assert len(text) <= 256
    assert text.endswith(".")
    assert text.count(". ") == 0
    return text


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("config", [PASSWORDLESS_CONFIG, SENDER_CONFIG], ids=["Passwordless", "CustomSmsSender"])
def test_attach_update_and_delete_give_every_variant_back_exactly(variant: str, config: dict[str, Any]) -> None:
    # GIVEN a pool of this variant, answering as AWS documents it
    pool = FakeUserPool(a_pool(**copy.deepcopy(VARIANTS[variant])), software_token_mfa=True)
    before = settings_of(pool)
    triggers, records = triggers_for(pool)

    # WHEN the stack attaches, is updated with a new function, and is deleted
    created = event(config)
    triggers.attach(created)
    renamed = {**config, "CustomSMSSender": {**config["CustomSMSSender"], "LambdaArn": function_arn("sms-otp-CustomSmsSender-v2")}}
    updated = event(renamed, old=dict(created.properties))
    triggers.attach(updated)
    attached = pool.description["LambdaConfig"]
    triggers.detach(updated)

    # THEN every write was accepted, the stack's slots were set, and the pool is back as it was
    assert {slot: attached[slot] for slot in renamed} == renamed
    assert settings_of(pool) == before
    assert records.items == {}
    # AND no request held what the pool keeps by itself, or what its tier or verification style refuses
    for request in pool.updates:
        assert "DcrConfiguration" not in request
        assert "UserPoolTier" not in request


def test_a_lite_pool_is_never_sent_the_essentials_settings() -> None:
    # GIVEN a Lite pool whose description reports the effective sign-in policy and ACR names
    description = a_pool(**copy.deepcopy(LITE))
    description["Policies"]["PasswordPolicy"]["PasswordHistorySize"] = 0
    pool = FakeUserPool(description, software_token_mfa=True)
    triggers, _ = triggers_for(pool)

    # WHEN the stack attaches; THEN it attached, and the request held none of them
    triggers.attach(event(SENDER_CONFIG))
    (request,) = pool.updates
    assert "AcrConfiguration" not in request
    assert "SignInPolicy" not in request["Policies"]
    assert "PasswordHistorySize" not in request["Policies"]["PasswordPolicy"]


def test_a_link_style_pool_is_never_sent_the_legacy_verification_messages() -> None:
    pool = FakeUserPool(a_pool(**copy.deepcopy(LINK)), software_token_mfa=True)
    triggers, _ = triggers_for(pool)
    triggers.attach(event(SENDER_CONFIG))
    (request,) = pool.updates
    assert not {"EmailVerificationMessage", "EmailVerificationSubject", "SmsVerificationMessage"} & set(request)
    assert request["VerificationMessageTemplate"] == LINK["VerificationMessageTemplate"]


def test_the_fake_turns_dynamic_client_registration_on_when_its_status_is_left_out() -> None:
    # GIVEN a pool with DCR off; WHEN a write sends the configuration without its status (what the code never does)
    pool = FakeUserPool(a_pool(**copy.deepcopy(DCR)), software_token_mfa=True)
    pool.update_user_pool(UserPoolId=POOL_ID, DcrConfiguration={"OpenDcrEnabled": False})
    # THEN it is on, as the model documents; and a write that leaves it out keeps it
    assert pool.description["DcrConfiguration"]["EnableStatus"] == "Enabled"
    pool.update_user_pool(UserPoolId=POOL_ID)
    assert pool.description["DcrConfiguration"]["EnableStatus"] == "Enabled"


# ------------------------------------------------------------ the SMS role ---


def test_a_pool_reporting_an_sms_role_failure_is_refused_before_anything_changes() -> None:
    pool = FakeUserPool(a_pool(), software_token_mfa=True)
    pool.sms_role_broken = True
    triggers, records = triggers_for(pool)
    with pytest.raises(AttachmentRefusedError, match="reports an SMS configuration failure") as refusal:
        triggers.attach(event(SENDER_CONFIG))
    assert "customers-sms" in one_sentence(refusal)
    assert pool.updates == []
    assert records.items == {}


def test_a_delete_after_the_sms_role_broke_says_how_to_unblock_it() -> None:
    # GIVEN an attached pool whose SMS role broke since
    pool = FakeUserPool(a_pool(), software_token_mfa=True)
    triggers, records = triggers_for(pool)
    triggers.attach(event(SENDER_CONFIG))
    pool.sms_role_broken = True

    # WHEN the stack is deleted; THEN it fails with what to do, and the record stays for the next try
    with pytest.raises(AttachmentRefusedError, match="fix the role and delete again, or delete the stack retaining") as refusal:
        triggers.detach(event(SENDER_CONFIG))
    one_sentence(refusal)
    assert records.items
    pool.sms_role_broken = False
    triggers.detach(event(SENDER_CONFIG))
    assert "CustomSMSSender" not in pool.description["LambdaConfig"]


def test_a_pool_with_another_sms_role_than_the_stacks_parameter_is_refused_naming_it() -> None:
    pool = FakeUserPool(a_pool(), software_token_mfa=True)
    triggers, _ = triggers_for(pool)
    triggers.sms_role = None
    with pytest.raises(AttachmentRefusedError, match=r"deployed with ExistingPoolSmsRoleArn=arn:aws:iam::123456789012:role/customers-sms"):
        triggers.attach(event(SENDER_CONFIG))
    assert pool.updates == []


def test_a_pool_with_a_key_of_its_own_needs_it_as_the_stacks_parameter() -> None:
    own_key = key_arn("99999999-2222-4333-8444-555555555555")
    email_sender = {"LambdaArn": function_arn("customers-email"), "LambdaVersion": "V1_0"}
    pool = FakeUserPool(a_pool(LambdaConfig={"CustomEmailSender": email_sender, "KMSKeyID": own_key}), software_token_mfa=True)
    triggers, _ = triggers_for(pool)
    triggers.pool_key = None
    with pytest.raises(AttachmentRefusedError, match=f"deployed with ExistingPoolKmsKeyArn={own_key}"):
        triggers.attach(event(SENDER_CONFIG, replace="true"))
    assert pool.updates == []


def test_passwordless_mode_needs_a_pool_that_verifies_phone_numbers_itself() -> None:
    # GIVEN a pool whose users sign in by phone, but which sends no code to confirm a phone number
    pool = FakeUserPool(a_pool(AutoVerifiedAttributes=["email"]), software_token_mfa=True)
    triggers, _ = triggers_for(pool)

    # WHEN Passwordless mode attaches; THEN it is refused, while CustomSmsSender mode attaches
    with pytest.raises(AttachmentRefusedError, match="phone_number is not in AutoVerifiedAttributes") as refusal:
        triggers.attach(event(PASSWORDLESS_CONFIG))
    one_sentence(refusal)
    assert pool.updates == []
    triggers.attach(event(SENDER_CONFIG))


# ------------------------------------------------------------ settings the SDK does not know ---


def test_an_unknown_setting_refuses_attach_with_the_remedy_and_delete_still_finishes() -> None:
    # GIVEN an attached pool that has since gained a setting this SDK does not know
    pool = FakeUserPool(a_pool(), software_token_mfa=True)
    triggers, records = triggers_for(pool)
    triggers.attach(event(SENDER_CONFIG))
    pool.raw_extra = {"PasskeyConfiguration": {"Enabled": True}}
    writes = len(pool.updates)

    # WHEN the stack is updated, then deleted
    with pytest.raises(AttachmentRefusedError, match="build the layer with a newer botocore and deploy again") as refusal:
        triggers.attach(event(SENDER_CONFIG, replace="true"))
    one_sentence(refusal)
    assert len(pool.updates) == writes
    triggers.detach(event(SENDER_CONFIG))

    # THEN the delete finished, the pool has its own triggers, and the setting it did not know came through as it was
    assert "CustomSMSSender" not in pool.description["LambdaConfig"]
    assert pool.raw_extra == {"PasskeyConfiguration": {"Enabled": True}}
    assert records.items == {}


# ------------------------------------------------------------ crafted requests ---


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"LambdaConfig": {**PASSWORDLESS_CONFIG, "VerifyAuthChallengeResponse": function_arn("always-true")}}, "LambdaConfig"),
        (
            {"LambdaConfig": {**SENDER_CONFIG, "CustomSMSSender": {"LambdaArn": function_arn("collector"), "LambdaVersion": "V1_0"}}},
            "LambdaConfig",
        ),
        ({"LambdaConfig": {**SENDER_CONFIG, "KMSKeyID": key_arn("77777777-2222-4333-8444-555555555555")}}, "LambdaConfig"),
        ({"Mode": "CustomSmsSender", "LambdaConfig": SENDER_CONFIG}, "mode"),
        ({"UserPoolId": f"{REGION}_Another12"}, "another user pool"),
    ],
)
def test_a_request_for_anything_but_the_stacks_own_values_is_refused_with_nothing_written(change: dict[str, Any], why: str) -> None:
    # GIVEN the function of a Passwordless stack (its environment names its functions, key and pool)
    pool = FakeUserPool(a_pool(LambdaConfig={}), software_token_mfa=True)
    records = MemoryRecords()
    stack = StackResources(
        stack_id=STACK_ID,
        user_pool_id=POOL_ID,
        mode="Passwordless",
        lambda_config=dict(PASSWORDLESS_CONFIG),
        pool_sms_role_arn="arn:aws:iam::123456789012:role/customers-sms",
    )
    function = ExistingPoolTriggers(pools=DescribedPools(pool), records=records, stack=stack, region=REGION, log=lambda *_a, **_k: None)
    crafted = event(PASSWORDLESS_CONFIG)
    crafted = ResourceEvent(stack_id=STACK_ID, logical_id=LOGICAL_ID, properties={**crafted.properties, **change}, old_properties={})

    # WHEN someone invokes it with a crafted request; THEN it is refused, and nothing was read into the record or written
    with pytest.raises(AttachmentRefusedError, match=why) as refusal:
        function.attach(crafted)
    one_sentence(refusal)
    assert pool.updates == []
    assert records.items == {}
    # AND a request of another stack is refused too
    with pytest.raises(AttachmentRefusedError, match="another stack"):
        function.attach(
            ResourceEvent(
                stack_id=STACK_ID + "x", logical_id=LOGICAL_ID, properties=event(PASSWORDLESS_CONFIG).properties, old_properties={}
            )
        )


def test_without_a_record_delete_empties_exactly_the_slots_holding_the_stacks_own_values() -> None:
    # GIVEN a pool holding the stack's functions and key beside its own, and no record (lost, or never sealed)
    own = {"PreTokenGeneration": function_arn("customers-pre-token"), "PostConfirmation": function_arn("customers-welcome")}
    pool = FakeUserPool(
        a_pool(LambdaConfig={**own, **PASSWORDLESS_CONFIG, "PreSignUp": function_arn("customers-pre-sign-up")}), software_token_mfa=True
    )
    triggers, _ = triggers_for(pool)

    # WHEN the stack is deleted
    triggers.detach(event(PASSWORDLESS_CONFIG))

    # THEN only the stack's own slots were emptied; the pool's own triggers, the one in a stack slot included, stay
    assert pool.description["LambdaConfig"] == {**own, "PreSignUp": function_arn("customers-pre-sign-up")}


# ------------------------------------------------------------ senders and their key ---


@pytest.mark.parametrize(
    ("slot", "since"),
    [
        ("CustomSMSSender", {"LambdaArn": function_arn("customers-sms-sender"), "LambdaVersion": "V1_0"}),
        ("CustomEmailSender", {"LambdaArn": function_arn("customers-email"), "LambdaVersion": "V1_0"}),
    ],
)
def test_a_sender_set_since_on_the_stacks_key_refuses_delete_with_what_to_do(slot: str, since: dict[str, str]) -> None:
    # GIVEN the stack attached, then someone pointed a sender of their own at the stack's key
    pool = FakeUserPool(a_pool(LambdaConfig={}), software_token_mfa=True)
    triggers, records = triggers_for(pool)
    triggers.attach(event(SENDER_CONFIG))
    pool.description["LambdaConfig"][slot] = since
    writes = len(pool.updates)

    # WHEN the stack is deleted; THEN it is refused with the remedy, and nothing was written
    with pytest.raises(AttachmentRefusedError, match=f"{slot} was set after this stack attached") as refusal:
        triggers.detach(event(SENDER_CONFIG))
    assert "give it a key of its own" in one_sentence(refusal)
    assert len(pool.updates) == writes
    # AND once it has a key of its own, the delete finishes and leaves that sender and key alone
    pool.description["LambdaConfig"]["KMSKeyID"] = key_arn("88888888-2222-4333-8444-555555555555")
    triggers.detach(event(SENDER_CONFIG))
    assert pool.description["LambdaConfig"][slot] == since
    assert records.items == {}


def test_the_stack_cannot_be_moved_to_another_pool_while_attached() -> None:
    pool = FakeUserPool(a_pool(), software_token_mfa=True)
    triggers, records = triggers_for(pool)
    created = event(SENDER_CONFIG)
    triggers.attach(created)
    assert record_key(STACK_ID, LOGICAL_ID, POOL_ID) in records.items
    moved = event(SENDER_CONFIG, user_pool_id=f"{REGION}_Another12", old=dict(created.properties))
    with pytest.raises(AttachmentRefusedError, match="cannot move to another") as refusal:
        triggers.attach(moved)
    one_sentence(refusal)
    assert SENDER_CONFIG["KMSKeyID"] == STACK_KEY


def test_a_delete_naming_another_pool_gives_back_nothing_and_refuses_if_that_pool_has_a_record() -> None:
    # GIVEN the function of a stack attached to its pool
    pool = FakeUserPool(a_pool(), software_token_mfa=True)
    records = MemoryRecords()
    stack = StackResources(
        stack_id=STACK_ID,
        user_pool_id=POOL_ID,
        mode="CustomSmsSender",
        lambda_config=dict(SENDER_CONFIG),
        pool_sms_role_arn="arn:aws:iam::123456789012:role/customers-sms",
    )
    function = ExistingPoolTriggers(pools=DescribedPools(pool), records=records, stack=stack, region=REGION, log=lambda *_a, **_k: None)
    other = f"{REGION}_Another12"
    request = ResourceEvent(
        stack_id=STACK_ID, logical_id=LOGICAL_ID, properties={**event(SENDER_CONFIG).properties, "UserPoolId": other}, old_properties={}
    )

    # WHEN a delete names another pool (the cleanup of an attach there that never wrote); THEN nothing happens
    function.detach(request)
    assert pool.updates == []

    # AND when that pool has a record (a crafted request), it is refused
    records.put(record_key(STACK_ID, LOGICAL_ID, other), object())
    with pytest.raises(AttachmentRefusedError, match=f"names user pool {other}, not this stack's") as refusal:
        function.detach(request)
    one_sentence(refusal)
    assert pool.updates == []
