"""Attaching the triggers to an existing user pool, and giving the pool back: against a pool that resets what it is not sent.

The emulator keeps the settings that UpdateUserPool leaves out, whereas Cognito
resets them to their defaults; so these tests run against ``FakeUserPool``, which
resets them as AWS documents, and draw the pools from botocore's model of
DescribeUserPool (every field AWS can return) and from the emulator's habits.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sms_otp.existing_pool import user_pool_settings
from sms_otp.existing_pool.existing_user_pool import DescribedPools, ExistingPoolTriggers, ResourceEvent, UserPoolNotFoundError, record_key
from sms_otp.existing_pool.trigger_attachment import Attachment, AttachmentRefusedError, identity, parse_request
from sms_otp.existing_pool.user_pool_settings import READ_ONLY_FIELDS, WRITABLE_SETTINGS, writable_settings
from tests.testkit.user_pool_fakes import REGION, FakeUserPool, MemoryRecords, client_error, descriptions, function_arn, key_arn

pytestmark = pytest.mark.unit

STACK_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/sms-otp/8d5c1a30-0000-4000-8000-000000000001"
LOGICAL_ID = "ExistingUserPoolTriggers"
SENDER = {"LambdaArn": function_arn("sms-otp-CustomSmsSender"), "LambdaVersion": "V1_0"}
STACK_KEY = key_arn("11111111-2222-4333-8444-555555555555")
PASSWORDLESS_CONFIG = {
    "PreSignUp": function_arn("sms-otp-PreSignUp"),
    "DefineAuthChallenge": function_arn("sms-otp-DefineAuthChallenge"),
    "CreateAuthChallenge": function_arn("sms-otp-CreateAuthChallenge"),
    "VerifyAuthChallengeResponse": function_arn("sms-otp-VerifyAuthChallenge"),
    "PostAuthentication": function_arn("sms-otp-PostAuthentication"),
    "CustomSMSSender": SENDER,
    "KMSKeyID": STACK_KEY,
}
SENDER_CONFIG = {"CustomSMSSender": SENDER, "KMSKeyID": STACK_KEY}
CONFIGS = {"Passwordless": PASSWORDLESS_CONFIG, "CustomSmsSender": SENDER_CONFIG}
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def a_pool(**overrides: Any) -> dict[str, Any]:
    """A pool with distinctive settings of every kind, as DescribeUserPool returns it."""
    pool: dict[str, Any] = {
        "Id": f"{REGION}_Distinct1",
        "Name": "customers",
        "Arn": f"arn:aws:cognito-idp:{REGION}:123456789012:userpool/{REGION}_Distinct1",
        "Status": "Enabled",
        "UsernameAttributes": ["phone_number"],
        "AutoVerifiedAttributes": ["phone_number"],
        "EstimatedNumberOfUsers": 42,
        "SchemaAttributes": [{"Name": "phone_number", "AttributeDataType": "String", "Required": True, "Mutable": True}],
        "Policies": {
            "PasswordPolicy": {"MinimumLength": 14, "RequireSymbols": True, "TemporaryPasswordValidityDays": 2},
            "SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD"]},
        },
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True, "UnusedAccountValidityDays": 2},
        "MfaConfiguration": "OPTIONAL",
        "SmsConfiguration": {
            "SnsCallerArn": "arn:aws:iam::123456789012:role/customers-sms",
            "ExternalId": "customers",
            "SnsRegion": REGION,
        },
        "SmsAuthenticationMessage": "Your MFA code is {####}",
        "VerificationMessageTemplate": {"SmsMessage": "Customers: your code is {####}", "DefaultEmailOption": "CONFIRM_WITH_CODE"},
        "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
        "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_phone_number", "Priority": 1}]},
        "DeviceConfiguration": {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True},
        "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["phone_number"]},
        "UserPoolTags": {"team": "identity", "cost-centre": "42"},
        "DeletionProtection": "ACTIVE",
        "UserPoolTier": "ESSENTIALS",
        "LambdaConfig": {
            "PreTokenGeneration": function_arn("customers-pre-token"),
            "PreTokenGenerationConfig": {"LambdaArn": function_arn("customers-pre-token"), "LambdaVersion": "V2_0"},
        },
    }
    pool.update(overrides)
    return pool


def event(
    config: dict[str, Any], *, user_pool_id: Any = f"{REGION}_Distinct1", replace: str = "false", old: dict | None = None
) -> ResourceEvent:
    """A Create/Update/Delete request's parts, with the properties the template gives the custom resource."""
    mode = "Passwordless" if "PreSignUp" in config else "CustomSmsSender"
    properties = {"UserPoolId": user_pool_id, "Mode": mode, "LambdaConfig": config, "ReplaceExistingTriggers": replace}
    properties["ServiceTimeout"] = "120"
    return ResourceEvent(stack_id=STACK_ID, logical_id=LOGICAL_ID, properties=properties, old_properties=old or {})


def triggers_for(pool: FakeUserPool) -> tuple[ExistingPoolTriggers, MemoryRecords]:
    records = MemoryRecords()
    return ExistingPoolTriggers(pools=DescribedPools(pool), records=records, region=REGION, log=lambda *_args, **_kwargs: None), records


def settings_of(pool: FakeUserPool) -> dict[str, Any]:
    return writable_settings(pool.describe_user_pool(UserPoolId=pool.description["Id"])["UserPool"])


# ------------------------------------------------------------ the writable list ---


def test_the_writable_list_is_update_user_pools_parameters_in_the_shipped_model() -> None:
    # GIVEN botocore's model of UpdateUserPool and DescribeUserPool (the version the layer pins)
    from tests.testkit.user_pool_fakes import UPDATE_SHAPE, USER_POOL_SHAPE

    # THEN the list holds exactly UpdateUserPool's parameters, and every described field is writable or read-only
    assert set(WRITABLE_SETTINGS) == set(UPDATE_SHAPE.members) - {"UserPoolId"}
    described_writable = {user_pool_settings.DESCRIBED_AS.get(name, name) for name in WRITABLE_SETTINGS}
    assert set(USER_POOL_SHAPE.members) == described_writable | set(READ_ONLY_FIELDS)
    assert not described_writable & set(READ_ONLY_FIELDS)


def test_the_fake_pool_resets_what_update_user_pool_is_not_given() -> None:
    # GIVEN a pool with distinctive settings
    pool = FakeUserPool(a_pool(), software_token_mfa=True)

    # WHEN UpdateUserPool is sent the LambdaConfig alone
    pool.update_user_pool(UserPoolId=pool.description["Id"], LambdaConfig={"PreSignUp": function_arn("x")})

    # THEN every other setting is back to its default (the trap these tests are about); the tier stays
    assert set(settings_of(pool)) == {"LambdaConfig", "UserPoolTier"}


# ------------------------------------------------------------ the round trip ---


@PROPERTY_SETTINGS
@given(drawn=descriptions(), mode=st.sampled_from(sorted(CONFIGS)))
def test_attach_then_detach_gives_back_every_writable_setting(drawn: tuple[dict[str, Any], bool], mode: str) -> None:
    # GIVEN any pool DescribeUserPool can describe (AWS's model, or the emulator's habits), users who sign in by phone
    description, software_token_mfa = drawn
    description["UsernameAttributes"] = ["phone_number"]
    pool = FakeUserPool(description, software_token_mfa=software_token_mfa)
    before = settings_of(pool)
    mfa_before = pool.get_user_pool_mfa_config(UserPoolId=description["Id"])
    triggers, records = triggers_for(pool)

    # WHEN the stack attaches (replacing whatever holds its slots) and is deleted
    request = event(CONFIGS[mode], user_pool_id=description["Id"], replace="true")
    triggers.attach(request)
    attached = settings_of(pool)
    triggers.detach(request)

    # THEN while attached every other setting and trigger was as before, the stack's slots set
    assert {name: value for name, value in attached.items() if name != "LambdaConfig"} == {
        name: value for name, value in before.items() if name != "LambdaConfig"
    }
    assert attached["LambdaConfig"] == {**before.get("LambdaConfig", {}), **CONFIGS[mode]}
    # AND afterwards every writable setting is as it was, MFA included, and nothing is remembered
    assert settings_of(pool) == before
    assert pool.get_user_pool_mfa_config(UserPoolId=description["Id"]) == mfa_before
    assert records.items == {}


@PROPERTY_SETTINGS
@given(drawn=descriptions(), mode=st.sampled_from(sorted(CONFIGS)))
def test_read_only_fields_are_never_sent(drawn: tuple[dict[str, Any], bool], mode: str) -> None:
    # GIVEN any pool
    description, software_token_mfa = drawn
    description["UsernameAttributes"] = ["phone_number"]
    pool = FakeUserPool(description, software_token_mfa=software_token_mfa)
    triggers, _ = triggers_for(pool)

    # WHEN the stack attaches and detaches
    request = event(CONFIGS[mode], user_pool_id=description["Id"], replace="true")
    triggers.attach(request)
    triggers.detach(request)

    # THEN every request held writable settings only (the fake also checks them against botocore's model)
    for request in pool.updates:
        assert set(request) <= {"UserPoolId", *WRITABLE_SETTINGS}
        assert not set(request) & set(READ_ONLY_FIELDS)


@PROPERTY_SETTINGS
@given(drawn=descriptions(emulator_habits=False), mode=st.sampled_from(sorted(CONFIGS)))
def test_a_slot_held_by_another_function_is_refused_and_nothing_changes(drawn: tuple[dict[str, Any], bool], mode: str) -> None:
    # GIVEN any pool, without ReplaceExistingTriggers
    description, software_token_mfa = drawn
    description["UsernameAttributes"] = ["phone_number"]
    pool = FakeUserPool(description, software_token_mfa=software_token_mfa)
    before = copy.deepcopy(pool.description)
    triggers, records = triggers_for(pool)
    current = description.get("LambdaConfig") or {}
    wanted = CONFIGS[mode]
    taken = [
        slot
        for slot in wanted
        if slot != "KMSKeyID" and current.get(slot) is not None and identity(current[slot]) != identity(wanted[slot])
    ]
    email_key_replaced = (
        current.get("CustomEmailSender") is not None and current.get("KMSKeyID") is not None and current["KMSKeyID"] != STACK_KEY
    )

    if not (taken or email_key_replaced):
        # WHEN the stack attaches where nothing of the pool's own is in the way; THEN it attaches
        triggers.attach(event(wanted, user_pool_id=description["Id"]))
        assert pool.description["LambdaConfig"] == {**current, **wanted}
        return

    # WHEN the stack attaches where a slot holds another function (or a Custom Email Sender's key would go)
    with pytest.raises(AttachmentRefusedError) as refusal:
        triggers.attach(event(wanted, user_pool_id=description["Id"]))

    # THEN it is refused with a sentence that names the slots and fits CloudFormation's status reason; nothing was written
    assert all(slot in str(refusal.value) for slot in taken)
    assert len(str(refusal.value)) <= 256
    assert pool.updates == []
    assert pool.description == before
    assert records.items == {}


@pytest.mark.parametrize("setting", WRITABLE_SETTINGS)
def test_leaving_any_writable_setting_out_would_lose_it(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    # GIVEN a pool where every writable setting has a value, and the list missing one of them
    pool_description = a_pool()
    for name in WRITABLE_SETTINGS:
        described = user_pool_settings.DESCRIBED_AS.get(name, name)
        pool_description.setdefault(described, example_value(user_pool_settings_shape(name)))
    pool = FakeUserPool(pool_description, software_token_mfa=True)
    before = settings_of(pool)
    monkeypatch.setattr(user_pool_settings, "WRITABLE_SETTINGS", tuple(name for name in WRITABLE_SETTINGS if name != setting))
    triggers, _ = triggers_for(pool)

    if setting == "MfaConfiguration":
        # WHEN the stack attaches; THEN the MFA check after writing (GetUserPoolMfaConfig) catches it
        with pytest.raises(AttachmentRefusedError, match="did not keep the MFA configuration"):
            triggers.attach(event(SENDER_CONFIG, replace="true"))
        return

    # WHEN the stack attaches (the check after writing is blind to it: it compares the same list)
    triggers.attach(event(SENDER_CONFIG, replace="true"))
    monkeypatch.undo()

    # THEN the pool lost that setting, except the tier (kept when left out) and the LambdaConfig (always sent)
    after = settings_of(pool)
    if setting in ("UserPoolTier", "LambdaConfig"):
        assert after[setting] == {**before[setting], **SENDER_CONFIG} if setting == "LambdaConfig" else before[setting]
    else:
        assert after.get(setting) != before[setting]


def user_pool_settings_shape(name: str) -> Any:
    from tests.testkit.user_pool_fakes import UPDATE_SHAPE

    return UPDATE_SHAPE.members[name]


def example_value(shape: Any) -> Any:
    """A small valid value of a botocore shape: one of each structure's members (all required ones)."""
    if shape.type_name == "structure":
        names = list(shape.required_members) or list(shape.members)[:1]
        return {name: example_value(shape.members[name]) for name in names}
    if shape.type_name == "list":
        return [example_value(shape.member)]
    if shape.type_name == "map":
        return {"key": example_value(shape.value)}
    if shape.type_name == "string":
        return shape.enum[-1] if shape.enum else "x" * max(shape.metadata.get("min", 1), 8)
    if shape.type_name in ("integer", "long"):
        return max(shape.metadata.get("min", 1), 1)
    if shape.type_name == "boolean":
        return True
    raise AssertionError(shape.type_name)


# ------------------------------------------------------------ the traps ---


def test_the_temporary_password_validity_is_sent_once_and_kept() -> None:
    # GIVEN a pool whose description reports the temporary password's validity in both places
    pool = FakeUserPool(a_pool(), software_token_mfa=True)
    triggers, _ = triggers_for(pool)

    # WHEN the stack attaches
    triggers.attach(event(SENDER_CONFIG))

    # THEN the request held it in the password policy only (Cognito refuses both), and the pool still has it
    assert "UnusedAccountValidityDays" not in pool.updates[0]["AdminCreateUserConfig"]
    assert pool.description["Policies"]["PasswordPolicy"]["TemporaryPasswordValidityDays"] == 2
    assert pool.description["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True, "UnusedAccountValidityDays": 2}


@pytest.mark.parametrize(
    ("mfa", "sms", "software_token"), [("OPTIONAL", True, True), ("ON", False, True), ("ON", True, False), ("OFF", False, False)]
)
def test_mfa_survives_with_sms_or_authenticator_apps(mfa: str, sms: bool, software_token: bool) -> None:
    # GIVEN a pool with MFA in one of the states Cognito allows
    description = a_pool(MfaConfiguration=mfa)
    if not sms:
        del description["SmsConfiguration"]
    pool = FakeUserPool(description, software_token_mfa=software_token)
    triggers, _ = triggers_for(pool)

    # WHEN the stack attaches and is deleted
    triggers.attach(event(SENDER_CONFIG))
    attached_mfa = pool.description["MfaConfiguration"]
    triggers.detach(event(SENDER_CONFIG))

    # THEN MFA was never turned off, and the SMS configuration went along whenever there was one
    assert attached_mfa == mfa
    assert pool.description["MfaConfiguration"] == mfa
    assert all(("SmsConfiguration" in request) is sms for request in pool.updates)


def test_a_custom_email_senders_key_is_not_replaced_without_consent() -> None:
    # GIVEN a pool whose Custom Email Sender decrypts with the pool's own key
    email_sender = {"LambdaArn": function_arn("customers-email"), "LambdaVersion": "V1_0"}
    own_key = key_arn("99999999-2222-4333-8444-555555555555")
    pool = FakeUserPool(a_pool(LambdaConfig={"CustomEmailSender": email_sender, "KMSKeyID": own_key}), software_token_mfa=True)
    triggers, _ = triggers_for(pool)

    # WHEN the stack attaches its sender without ReplaceExistingTriggers
    with pytest.raises(AttachmentRefusedError, match="Custom Email Sender") as refusal:
        triggers.attach(event(SENDER_CONFIG))

    # THEN it is refused and nothing changed; with consent, the key is replaced and comes back on delete
    assert len(str(refusal.value)) <= 256
    assert pool.updates == []
    triggers.attach(event(SENDER_CONFIG, replace="true"))
    assert pool.description["LambdaConfig"] == {"CustomEmailSender": email_sender, **SENDER_CONFIG}
    triggers.detach(event(SENDER_CONFIG, replace="true"))
    assert pool.description["LambdaConfig"] == {"CustomEmailSender": email_sender, "KMSKeyID": own_key}


def test_a_replaced_trigger_comes_back_on_delete() -> None:
    # GIVEN a pool with a Pre sign-up trigger of its own
    own = {"PreSignUp": function_arn("customers-pre-sign-up"), "PostConfirmation": function_arn("customers-welcome")}
    pool = FakeUserPool(a_pool(LambdaConfig=own), software_token_mfa=True)
    triggers, _ = triggers_for(pool)

    # WHEN Passwordless mode is refused, then deployed with ReplaceExistingTriggers=true, then deleted
    with pytest.raises(
        AttachmentRefusedError, match=r"already has its own PreSignUp trigger\(s\); deploy with ReplaceExistingTriggers=true"
    ):
        triggers.attach(event(PASSWORDLESS_CONFIG))
    triggers.attach(event(PASSWORDLESS_CONFIG, replace="true"))
    attached = dict(pool.description["LambdaConfig"])
    triggers.detach(event(PASSWORDLESS_CONFIG, replace="true"))

    # THEN the stack's Pre sign-up ran meanwhile, the pool's other trigger stayed, and its own came back
    assert attached == {**PASSWORDLESS_CONFIG, "PostConfirmation": own["PostConfirmation"]}
    assert pool.description["LambdaConfig"] == own


def test_an_update_reapplies_from_the_original_never_from_what_the_stack_wrote() -> None:
    # GIVEN the stack attached to a pool with a Pre sign-up of its own (replaced with consent)
    own = {"PreSignUp": function_arn("customers-pre-sign-up")}
    pool = FakeUserPool(a_pool(LambdaConfig=own), software_token_mfa=True)
    triggers, records = triggers_for(pool)
    first = event(PASSWORDLESS_CONFIG, replace="true")
    triggers.attach(first)

    # WHEN the stack is updated with new functions (new ARNs), then to CustomSmsSender mode, then deleted
    renamed = {
        slot: (f"{value}-v2" if isinstance(value, str) and slot != "KMSKeyID" else value) for slot, value in PASSWORDLESS_CONFIG.items()
    }
    second = event(renamed, replace="true", old=dict(first.properties))
    triggers.attach(second)
    remembered = records.items[record_key(STACK_ID, LOGICAL_ID, f"{REGION}_Distinct1")]
    third = event(SENDER_CONFIG, replace="true", old=dict(second.properties))
    triggers.attach(third)
    after_mode_change = dict(pool.description["LambdaConfig"])
    triggers.detach(third)

    # THEN the original stayed the pool's own trigger throughout, the mode change gave back the five slots,
    # and the delete gave back the rest
    assert remembered.original["PreSignUp"] == own["PreSignUp"]
    assert after_mode_change == {**own, **SENDER_CONFIG}
    assert pool.description["LambdaConfig"] == own


def test_a_slot_changed_by_someone_else_meanwhile_is_left_alone_on_delete() -> None:
    # GIVEN the stack attached, then someone put another function in its Pre sign-up slot
    pool = FakeUserPool(a_pool(LambdaConfig={}), software_token_mfa=True)
    triggers, _ = triggers_for(pool)
    triggers.attach(event(PASSWORDLESS_CONFIG))
    pool.description["LambdaConfig"]["PreSignUp"] = function_arn("someone-elses")

    # WHEN the stack is deleted
    triggers.detach(event(PASSWORDLESS_CONFIG))

    # THEN that function stays; every slot the stack still held is empty again
    assert pool.description["LambdaConfig"] == {"PreSignUp": function_arn("someone-elses")}


def test_a_record_naming_a_slot_the_stack_never_takes_is_refused() -> None:
    # GIVEN a record of the pool's own triggers that names a slot outside the stack's (written by hand, say)
    planted = json.dumps({"original": {"PreTokenGeneration": function_arn("someone-elses"), "PreSignUp": None}, "owned": []})

    # WHEN it is read / THEN it is refused, so a delete can never put that function in the pool
    with pytest.raises(AttachmentRefusedError, match=r"names slots it never takes \(PreTokenGeneration\); nothing was changed"):
        Attachment.from_json(planted)
    assert Attachment.from_json('{"original": {"PreSignUp": null}, "owned": []}').original == {"PreSignUp": None}


def test_a_create_that_failed_at_update_user_pool_rolls_back_without_writing() -> None:
    # GIVEN a create whose UpdateUserPool failed (the record of the original was written first)
    pool = FakeUserPool(a_pool(), software_token_mfa=True)
    triggers, records = triggers_for(pool)
    pool.fail_next_update = client_error(
        "InvalidSmsRoleTrustRelationshipException", "Role does not have a trust relationship", "UpdateUserPool"
    )
    with pytest.raises(Exception, match="trust relationship"):
        triggers.attach(event(SENDER_CONFIG))
    assert records.items
    writes = len(pool.updates)

    # WHEN CloudFormation rolls back (Delete)
    triggers.detach(event(SENDER_CONFIG))

    # THEN nothing is written (the pool holds its own triggers already) and the record is gone
    assert len(pool.updates) == writes
    assert records.items == {}


def test_a_setting_the_service_did_not_keep_is_written_back_and_named() -> None:
    # GIVEN a pool whose UpdateUserPool silently drops the device configuration although it is sent
    original = a_pool()

    class DroppingPool(FakeUserPool):
        def update_user_pool(self, **request: Any) -> dict[str, Any]:
            answer = super().update_user_pool(**request)
            if request.get("LambdaConfig") != original["LambdaConfig"]:
                self.description.pop("DeviceConfiguration", None)
            return answer

    dropping = DroppingPool(original, software_token_mfa=True)
    triggers, _ = triggers_for(dropping)

    # WHEN the stack attaches
    with pytest.raises(AttachmentRefusedError, match=r"did not keep DeviceConfiguration .*written back as read"):
        triggers.attach(event(SENDER_CONFIG))

    # THEN the pool was written back with its own triggers and settings
    assert settings_of(dropping) == writable_settings(original)


class ChangingPool(FakeUserPool):
    """A pool whose UpdateUserPool, once armed, changes the LambdaConfig it was sent."""

    change: Any = None

    def update_user_pool(self, **request: Any) -> dict[str, Any]:
        answer = super().update_user_pool(**request)
        if self.change is not None:
            self.change(self.description.setdefault("LambdaConfig", {}))
        return answer


@pytest.mark.parametrize(
    ("when", "change", "refused"),
    [
        pytest.param("attach", lambda config: config.pop("CustomSMSSender", None), True, id="a slot the stack set is missing"),
        pytest.param("detach", lambda config: config.update(CustomSMSSender=SENDER), True, id="a slot the stack emptied is still set"),
        pytest.param("attach", lambda config: config.update(CustomMessage=function_arn("x")), False, id="the service adds a slot"),
    ],
)
def test_the_triggers_are_checked_after_writing(when: str, change: Any, refused: bool) -> None:
    # GIVEN a pool whose UpdateUserPool changes the triggers it is sent, on attach or on detach
    pool = ChangingPool(a_pool(LambdaConfig={}), software_token_mfa=True)
    triggers, _ = triggers_for(pool)
    if when == "detach":
        triggers.attach(event(SENDER_CONFIG))
    pool.change = change
    operation = triggers.attach if when == "attach" else triggers.detach

    # WHEN the stack writes; THEN a slot not as written is refused, while a slot the service adds beside them is not
    if refused:
        with pytest.raises(AttachmentRefusedError, match="did not keep LambdaConfig"):
            operation(event(SENDER_CONFIG))
    else:
        operation(event(SENDER_CONFIG))
        assert pool.description["LambdaConfig"]["CustomMessage"] == function_arn("x")


def test_settings_the_sdk_does_not_know_are_refused_before_any_write() -> None:
    # GIVEN a pool whose raw description holds a field botocore's model does not have (a newer service)
    pool = FakeUserPool(a_pool(), software_token_mfa=True, raw_extra={"PasskeyConfiguration": {"Enabled": True}})
    triggers, records = triggers_for(pool)

    # WHEN the stack attaches
    with pytest.raises(AttachmentRefusedError, match=r"does not know \(PasskeyConfiguration\)"):
        triggers.attach(event(SENDER_CONFIG))

    # THEN nothing was written
    assert pool.updates == []
    assert records.items == {}


# ------------------------------------------------------------ bad input ---


@pytest.mark.parametrize(
    ("user_pool_id", "reason"),
    [
        ("not-a-pool", "is not a user pool ID"),
        ("us-east-1_", "is not a user pool ID"),
        (None, "is not a user pool ID"),
        ("eu-west-1_AbC123xyz", "is in eu-west-1 but this stack is in us-east-1"),
        ("us-east-1_Missing99", "There is no user pool us-east-1_Missing99"),
    ],
)
def test_a_bad_pool_id_is_refused_with_its_reason_and_nothing_changes(user_pool_id: Any, reason: str) -> None:
    # GIVEN a pool that exists, and a stack pointed at another ID
    pool = FakeUserPool(a_pool(), software_token_mfa=True)
    triggers, records = triggers_for(pool)

    # WHEN the stack attaches
    with pytest.raises(AttachmentRefusedError, match=reason) as refusal:
        triggers.attach(event(SENDER_CONFIG, user_pool_id=user_pool_id))

    # THEN one sentence says why, and nothing was written anywhere
    assert len(str(refusal.value)) <= 256
    assert pool.updates == []
    assert records.items == {}


def test_passwordless_mode_needs_users_who_sign_in_by_phone() -> None:
    # GIVEN a pool whose users sign in by email
    pool = FakeUserPool(a_pool(UsernameAttributes=["email"], AliasAttributes=None), software_token_mfa=True)
    triggers, _ = triggers_for(pool)

    # WHEN Passwordless mode attaches; THEN it is refused with the reason, while CustomSmsSender mode attaches
    with pytest.raises(AttachmentRefusedError, match="sign in with their phone number") as refusal:
        triggers.attach(event(PASSWORDLESS_CONFIG))
    assert len(str(refusal.value)) <= 256
    assert pool.updates == []
    triggers.attach(event(SENDER_CONFIG))
    assert pool.description["LambdaConfig"]["CustomSMSSender"] == SENDER


def test_phone_number_as_an_alias_is_enough_for_passwordless_mode() -> None:
    pool = FakeUserPool(a_pool(UsernameAttributes=None, AliasAttributes=["email", "phone_number"]), software_token_mfa=True)
    triggers, _ = triggers_for(pool)
    triggers.attach(event(PASSWORDLESS_CONFIG))
    assert pool.description["LambdaConfig"]["DefineAuthChallenge"] == PASSWORDLESS_CONFIG["DefineAuthChallenge"]


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"Mode": "Everything"}, "ExistingPoolTriggers must be one of"),
        ({"LambdaConfig": {"CustomMessage": function_arn("x")}}, "LambdaConfig must name only"),
        ({"LambdaConfig": "nope"}, "LambdaConfig must name only"),
        ({"ReplaceExistingTriggers": "maybe"}, "ReplaceExistingTriggers must be true or false"),
    ],
)
def test_malformed_properties_are_refused(properties: dict[str, Any], reason: str) -> None:
    base = {
        "UserPoolId": f"{REGION}_Distinct1",
        "Mode": "CustomSmsSender",
        "LambdaConfig": SENDER_CONFIG,
        "ReplaceExistingTriggers": "false",
    }
    with pytest.raises(AttachmentRefusedError, match=reason):
        parse_request({**base, **properties}, region=REGION)


def test_deleting_what_never_attached_or_a_pool_gone_meanwhile_succeeds() -> None:
    # GIVEN no record (a create refused before writing), then a record for a pool deleted since
    pool = FakeUserPool(a_pool(), software_token_mfa=True)
    triggers, records = triggers_for(pool)
    triggers.detach(event(SENDER_CONFIG, user_pool_id="not-a-pool"))
    triggers.detach(event(SENDER_CONFIG))
    triggers.attach(event(SENDER_CONFIG))
    pool.exists = False

    # WHEN the stack is deleted; THEN it succeeds and forgets the pool
    triggers.detach(event(SENDER_CONFIG))
    assert records.items == {}


def test_the_record_never_holds_the_stacks_own_values() -> None:
    # GIVEN a pool that already holds the stack's functions (a record lost, a retried create)
    pool = FakeUserPool(a_pool(LambdaConfig=dict(SENDER_CONFIG)), software_token_mfa=True)
    triggers, records = triggers_for(pool)

    # WHEN the stack attaches
    triggers.attach(event(SENDER_CONFIG))

    # THEN what it remembers as the original is empty, not its own sender
    (remembered,) = records.items.values()
    assert remembered == Attachment(original={"CustomSMSSender": None, "KMSKeyID": None}, owned=remembered.owned)
    assert set(remembered.owned) >= {identity(value) for value in SENDER_CONFIG.values()}


def test_a_missing_pool_is_told_apart_from_other_refusals() -> None:
    with pytest.raises(UserPoolNotFoundError, match="no user pool us-east-1_Distinct1 in this account's us-east-1 region"):
        DescribedPools(FakeUserPool(a_pool(Id=f"{REGION}_Other1234"))).describe(f"{REGION}_Distinct1")
