"""What ``sam local invoke`` needs from a deployed stack: an ``--env-vars`` file and events made for it.

Most files in ``events/`` show what they are for as they are. A few cannot,
because what they hold depends on the time or on the stack:

- ``verify_auth_challenge.json``: its code was issued in the past, so it is expired and the
  answer is wrong whatever it is;
- ``define_auth_challenge_wrong_answer.json``: its session holds that expired code, so Define
  fails the sign-in instead of asking again;
- ``custom_sms_sender_*.json`` (all but the account take-over notification, which has no
  code): the code must be a ciphertext made under the stack's KMS key for its user pool;
- ``post_authentication.json``: it marks a phone verified for a user who exists in the
  stack's pool, through an app client of that pool.

:func:`make_events` writes these again for a stack, under the same names, plus
``verify_auth_challenge_wrong_answer.json``. The static files stay as references
for the shape of each event.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy
from aws_encryption_sdk.key_providers.kms import KMSMasterKey

from sms_otp.sign_in.codes import IssuedCode, generate_code
from sms_otp_client.sandbox import PROJECT_ROOT, SandboxDeployment, build_dir
from sms_otp_client.stack import StackOutputs

EVENTS_DIR = PROJECT_ROOT / "events"
LOCAL_INVOKE_DIR = PROJECT_ROOT / "local-invoke"
# The phone number of the sample events.
SAMPLE_PHONE_NUMBER = "+14155550123"
# The template's default OtpLength, for a stack that does not report it.
DEFAULT_OTP_LENGTH = 6
# Cognito's own codes (sign-up, MFA, forgot password...) have six digits.
COGNITO_CODE_LENGTH = 6
# What Cognito puts in a Custom SMS Sender ciphertext's encryption context (the sender checks it:
# sms_otp.sending.custom_sms, which this module does not import, so that importing it loads no Powertools;
# a unit test decrypts what this makes with the sender's own decryptor).
USER_POOL_CONTEXT_KEY = "userpool-id"
# Cognito's suite for Custom SMS Sender codes: signed, not key-committing.
COGNITO_ALGORITHM = Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384

Event = dict[str, Any]
Encrypt = Callable[[str], str]


def env_vars(outputs: StackOutputs) -> dict[str, dict[str, str]]:
    """The ``--env-vars`` file of a stack: the names of its resources, and test mode as deployed.

    Under ``Parameters``, SAM gives each function the values of the variables the
    template declares for it. Test mode follows the stack: a stack with a test topic
    sends every message there, and so must its functions run locally.
    """
    return {
        "Parameters": {
            "TEST_MODE": "true" if outputs.test_mode_topic_arn else "false",
            "TEST_MODE_TOPIC_ARN": outputs.test_mode_topic_arn or "",
            "LIMITS_TABLE_NAME": outputs.limits_table_name or "",
            "SMS_KEY_ARN": outputs.sms_key_arn,
        }
    }


def cognito_style_ciphertext(plaintext: str | bytes, *, kms_client: Any, key_arn: str, user_pool_id: str) -> str:
    """Encrypt ``plaintext`` as Cognito encrypts a Custom SMS Sender code, and return it in base64.

    The AWS Encryption SDK's signed, non-committing suite
    AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 (0x0378; hence the commitment policy
    FORBID_ENCRYPT_ALLOW_DECRYPT, the only one that may produce it), one data key
    wrapped by ``key_arn`` through ``kms_client``, and the encryption context
    ``{"userpool-id": user_pool_id}``. This is the one implementation: the tests
    and the benchmark use it too.
    """
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    ciphertext, header = client.encrypt(
        source=plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext,
        key_provider=KMSMasterKey(key_id=key_arn, client=kms_client),
        encryption_context={USER_POOL_CONTEXT_KEY: user_pool_id},
        algorithm=COGNITO_ALGORITHM,
    )
    if header.algorithm != COGNITO_ALGORITHM or len(header.encrypted_data_keys) != 1:
        raise RuntimeError("the Encryption SDK did not produce Cognito's message format")
    return base64.b64encode(ciphertext).decode("ascii")


def different_code(code: str) -> str:
    """A code of the same length that is not ``code``."""
    while True:
        candidate = generate_code(len(code))
        if candidate != code:
            return candidate


def temporary_password() -> str:
    """A temporary password as Cognito sends one to the Custom SMS Sender: with ``<`` escaped as ``&lt;``."""
    return f"{secrets.token_urlsafe(8)}&lt;{secrets.randbelow(10)}"


@dataclass(frozen=True, slots=True)
class PoolUser:
    """A user of the stack's pool, as Cognito names it in trigger events."""

    username: str
    sub: str
    phone_number: str

    @classmethod
    def find(cls, cognito: Any, user_pool_id: str, phone_number: str) -> PoolUser | None:
        """The user whose phone number (a username attribute of this pool) is ``phone_number``; ``None`` if none."""
        try:
            user = cognito.admin_get_user(UserPoolId=user_pool_id, Username=phone_number)
        except cognito.exceptions.UserNotFoundException:
            return None
        attributes = {item["Name"]: item["Value"] for item in user.get("UserAttributes", [])}
        return cls(username=user["Username"], sub=attributes.get("sub", user["Username"]), phone_number=phone_number)


@dataclass(frozen=True, slots=True)
class EventTarget:
    """What a made event says about the stack and the person."""

    user_pool_id: str
    client_id: str
    otp_length: int
    phone_number: str
    user: PoolUser | None = None


def load_sample(name: str) -> Event:
    """``events/<name>.json``."""
    event: Event = json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return event


def _for_target(sample: Event, target: EventTarget) -> Event:
    event = copy.deepcopy(sample)
    event["userPoolId"] = target.user_pool_id
    event["callerContext"]["clientId"] = target.client_id
    attributes = event["request"].get("userAttributes") or {}
    if "phone_number" in attributes:
        attributes["phone_number"] = target.phone_number
        if target.user is not None:
            event["userName"] = target.user.username
            attributes["sub"] = target.user.sub
    return event


def make_events(target: EventTarget, *, encrypt: Encrypt, now: int, sample: Callable[[str], Event] = load_sample) -> dict[str, Event]:
    """The events that cannot be used as they are, made for ``target`` at time ``now``.

    ``encrypt`` makes a Custom SMS Sender ciphertext (see :func:`cognito_style_ciphertext`).
    Post Authentication is made only for a user who exists in the pool.
    """
    made: dict[str, Event] = {}

    code = generate_code(target.otp_length)
    issued = IssuedCode.issue(code, issued_at=now)
    for name, answer in (("verify_auth_challenge", code), ("verify_auth_challenge_wrong_answer", different_code(code))):
        event = _for_target(sample("verify_auth_challenge"), target)
        event["request"]["privateChallengeParameters"] = issued.to_private_parameters()
        event["request"]["challengeAnswer"] = answer
        made[name] = event

    event = _for_target(sample("define_auth_challenge_wrong_answer"), target)
    for entry in event["request"]["session"]:
        entry["challengeMetadata"] = issued.to_metadata()
    made["define_auth_challenge_wrong_answer"] = event

    for path in sorted(EVENTS_DIR.glob("custom_sms_sender_*.json")):
        event = _for_target(sample(path.stem), target)
        if event["request"].get("code") is None:
            continue
        is_invitation = event["triggerSource"] == "CustomSMSSender_AdminCreateUser"
        plaintext = temporary_password() if is_invitation else generate_code(COGNITO_CODE_LENGTH)
        event["request"]["code"] = encrypt(plaintext)
        made[path.stem] = event

    if target.user is not None:
        made["post_authentication"] = _for_target(sample("post_authentication"), target)
    return made


def write_json(path: Path, document: Any) -> None:
    """Write ``document`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def stack_parameter(cloudformation: Any, stack_name: str, name: str) -> str | None:
    """The value a stack was deployed with for template parameter ``name`` (``None`` if not given)."""
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    for parameter in stack.get("Parameters", []):
        if parameter.get("ParameterKey") == name:
            value = parameter.get("ResolvedValue") or parameter.get("ParameterValue")
            return str(value) if value is not None else None
    return None


# --------------------------------------------- the sandbox, for sam local ---

# The host name the offline base image's bootstrap looks for; it carries the emulator's port.
EMULATOR_HOST_PREFIX = "aws-emulator-"
# Local invocations of every sample in a row send several messages to one number within
# seconds: lift the interval and hourly limits for them (the limits have tests of their own).
BURST_LIMIT_OVERRIDES = ("MinSecondsBetweenMessages=0", "MaxMessagesPerHour=100", "MaxMessagesPerDay=1000")


def emulator_host_entry(endpoint_url: str) -> str:
    """The ``--add-host`` value through which the offline base image sends AWS calls to ``endpoint_url``."""
    parsed = urllib.parse.urlsplit(endpoint_url)
    if parsed.hostname is None or parsed.port is None:
        raise ValueError(f"the emulator's URL needs a host and a port: {endpoint_url}")
    return f"{EMULATOR_HOST_PREFIX}{parsed.port}:{parsed.hostname}"


def sam_local_config(
    *,
    template: Path,
    env_vars_path: Path,
    architecture: str,
    region: str,
    image_options: Sequence[str],
    add_host: str,
) -> str:
    """A SAM configuration file for ``sam local invoke`` and ``start-lambda`` against the sandbox."""
    parameters: dict[str, Any] = {
        "template_file": str(template),
        "env_vars": str(env_vars_path),
        "parameter_overrides": [f"FunctionArchitecture={architecture}", *BURST_LIMIT_OVERRIDES],
        "add_host": [add_host],
        "region": region,
        "skip_pull_image": "--skip-pull-image" in image_options,
        # The template's Fn::ForEach blocks, expanded by SAM CLI (as samconfig.toml asks for every command).
        "language_extensions": True,
    }
    if "--invoke-image" in image_options:
        parameters["invoke_image"] = [image_options[image_options.index("--invoke-image") + 1]]
    lines = [
        "# Written by `sms-otp sandbox --local-invoke`: `sam local invoke --config-file THIS_FILE ...`",
        "# runs the sandbox's functions on the offline base image, their AWS calls going to the emulator.",
        "version = 0.1",
    ]
    for command in ("local_invoke", "local_start_lambda"):
        lines += ["", f"[default.{command}.parameters]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in parameters.items()]
    return "\n".join(lines) + "\n"


def write_env_vars(outputs: StackOutputs, path: Path) -> Path:
    """Write the ``--env-vars`` file of the stack with ``outputs`` to ``path``."""
    write_json(path, env_vars(outputs))
    return path


def write_made_events(client: Callable[[str], Any], stack_name: str, phone_number: str, directory: Path, *, now: int) -> list[Path]:
    """Make the events of :func:`make_events` for a deployed stack and write them to ``directory``.

    ``client`` gives boto3 clients for the stack's account and region. The code
    length is the stack's ``OtpLength``; the user is whoever has ``phone_number``.
    """
    cloudformation = client("cloudformation")
    outputs = StackOutputs.load(cloudformation, stack_name)
    otp_length = int(stack_parameter(cloudformation, stack_name, "OtpLength") or DEFAULT_OTP_LENGTH)
    user = PoolUser.find(client("cognito-idp"), outputs.user_pool_id, phone_number)
    kms = client("kms")

    def encrypt(plaintext: str) -> str:
        return cognito_style_ciphertext(plaintext, kms_client=kms, key_arn=outputs.sms_key_arn, user_pool_id=outputs.user_pool_id)

    target = EventTarget(outputs.user_pool_id, outputs.user_pool_client_id, otp_length, phone_number, user)
    written = []
    for name, event in make_events(target, encrypt=encrypt, now=now).items():
        write_json(directory / f"{name}.json", event)
        written.append(directory / f"{name}.json")
    return written


def prepare_sandbox(
    deployment: SandboxDeployment,
    *,
    image_options: Sequence[str],
    architecture: str,
    phone_number: str,
    directory: Path,
    now: int,
    template: Path | None = None,
) -> Path:
    """Write what ``sam local`` needs for the sandbox to ``directory``: env vars, made events, a SAM config file.

    ``template`` is the sandbox's build for ``architecture`` unless given. Returns the config file,
    for ``sam local invoke --config-file``.
    """
    template = template or build_dir(architecture) / "template.yaml"
    env_vars_path = write_env_vars(deployment.outputs, directory / "env.json")
    write_made_events(deployment.client, deployment.stack_name, phone_number, directory / "events", now=now)
    config = directory / "samconfig.toml"
    config.write_text(
        sam_local_config(
            template=template,
            env_vars_path=env_vars_path,
            architecture=architecture,
            region=deployment.region,
            image_options=image_options,
            add_host=emulator_host_entry(deployment.endpoint_url),
        ),
        encoding="utf-8",
    )
    return config
