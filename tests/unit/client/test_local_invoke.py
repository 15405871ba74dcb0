"""What `sam local invoke` gets from the client: env vars, made events, Cognito-style ciphertexts, SAM config, base image."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import aws_encryption_sdk
import boto3
import pytest
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy

from sms_otp.core.errors import CodeDecryptionError
from sms_otp.core.settings import Settings
from sms_otp.sending.custom_sms import CodeDecryptor
from sms_otp.sign_in.custom_auth import define_auth_challenge, verify_auth_challenge
from sms_otp_client import base_image, docker_engine
from sms_otp_client.base_image import RECIPE_LABEL, LoadedImage, Recipe, decide_official_tag, load_base_image, official_tag, project_tag
from sms_otp_client.local_invoke import (
    EVENTS_DIR,
    EventTarget,
    PoolUser,
    cognito_style_ciphertext,
    emulator_host_entry,
    env_vars,
    make_events,
    sam_local_config,
    stack_parameter,
)
from sms_otp_client.stack import StackOutputs
from tests.unit.conftest import REGION

pytestmark = pytest.mark.unit

POOL_ID = "us-east-1_LOCALPOOL"
CLIENT_ID = "localclient0123456789abcdef"
NOW = 1_800_000_000
PHONE = "+12025550160"
SENDER_SAMPLES_WITH_A_CODE = sorted(
    path.stem for path in EVENTS_DIR.glob("custom_sms_sender_*.json") if json.loads(path.read_text())["request"]["code"] is not None
)


def outputs(*, test_mode: bool) -> StackOutputs:
    return StackOutputs(
        user_pool_id=POOL_ID,
        user_pool_arn=f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{POOL_ID}",
        user_pool_client_id=CLIENT_ID,
        custom_sms_sender_function_name="sender",
        sms_key_arn="arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000001",
        test_mode_topic_arn="arn:aws:sns:us-east-1:123456789012:test-topic" if test_mode else None,
        limits_table_name="limits-table",
    )


# ------------------------------------------------------------------ env vars ---


@pytest.mark.parametrize("test_mode", [True, False])
def test_env_vars_name_the_stacks_resources_and_follow_its_test_mode(test_mode: bool) -> None:
    # GIVEN a stack's outputs / WHEN its --env-vars file is made
    document = env_vars(outputs(test_mode=test_mode))

    # THEN every function gets the stack's table, key and topic, in test mode exactly when the stack is
    assert document == {
        "Parameters": {
            "TEST_MODE": "true" if test_mode else "false",
            "TEST_MODE_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:test-topic" if test_mode else "",
            "LIMITS_TABLE_NAME": "limits-table",
            "SMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000001",
        }
    }


# ------------------------------------------------------------- ciphertexts ---


def test_a_cognito_style_ciphertext_is_what_the_sender_decrypts(kms_key_arn: str) -> None:
    # GIVEN a code encrypted by the client as Cognito would, for one pool
    ciphertext = cognito_style_ciphertext(
        "482913", kms_client=boto3.client("kms", region_name=REGION), key_arn=kms_key_arn, user_pool_id=POOL_ID
    )

    # WHEN its message is read
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
    plaintext, header = client.decrypt(
        source=base64.b64decode(ciphertext), key_provider=aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[kms_key_arn])
    )

    # THEN it has Cognito's suite, one data key and the pool as context, and the sender decrypts it for that pool only
    assert plaintext == b"482913"
    assert header.algorithm == Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384
    assert len(header.encrypted_data_keys) == 1
    assert header.encryption_context["userpool-id"] == POOL_ID
    decryptor = CodeDecryptor(kms_key_arn)
    assert decryptor.decrypt(ciphertext, POOL_ID) == "482913"
    with pytest.raises(CodeDecryptionError):
        decryptor.decrypt(ciphertext, "us-east-1_OTHERPOOL")


# ------------------------------------------------------------------ events ---


class RecordingEncrypt:
    def __init__(self) -> None:
        self.plaintexts: list[str] = []

    def __call__(self, plaintext: str) -> str:
        self.plaintexts.append(plaintext)
        return f"ciphertext-{len(self.plaintexts)}"


USER = PoolUser(username="7d0f3a1e-user", sub="7d0f3a1e-sub", phone_number=PHONE)


def target(*, otp_length: int = 6, user: PoolUser | None = USER) -> EventTarget:
    return EventTarget(user_pool_id=POOL_ID, client_id=CLIENT_ID, otp_length=otp_length, phone_number=PHONE, user=user)


def test_the_events_that_need_making_are_made() -> None:
    # GIVEN a stack with a user / WHEN its events are made
    made = make_events(target(), encrypt=RecordingEncrypt(), now=NOW)

    # THEN they are the time- and stack-dependent samples, and a wrong answer for Verify
    assert sorted(made) == sorted(
        [
            "verify_auth_challenge",
            "verify_auth_challenge_wrong_answer",
            "define_auth_challenge_wrong_answer",
            "post_authentication",
            *SENDER_SAMPLES_WITH_A_CODE,
        ]
    )
    # AND each names the stack's pool and app client, and the user
    for event in made.values():
        assert event["userPoolId"] == POOL_ID
        assert event["callerContext"]["clientId"] == CLIENT_ID
        assert event["request"]["userAttributes"]["phone_number"] == PHONE
        assert event["userName"] == USER.username
        assert event["request"]["userAttributes"]["sub"] == USER.sub


def test_post_authentication_is_made_only_for_a_user_of_the_pool() -> None:
    # GIVEN no user with that phone number / WHEN the events are made
    made = make_events(target(user=None), encrypt=RecordingEncrypt(), now=NOW)

    # THEN there is nothing for Post Authentication to mark
    assert "post_authentication" not in made


@pytest.mark.parametrize("otp_length", [6, 8])
def test_the_made_verify_events_answer_rightly_and_wrongly_now(otp_length: int) -> None:
    # GIVEN Verify events made at NOW for a stack's code length
    made = make_events(target(otp_length=otp_length), encrypt=RecordingEncrypt(), now=NOW)
    settings = Settings(otp_length=otp_length)

    # WHEN Verify checks them a little later
    for name, expected in (("verify_auth_challenge", True), ("verify_auth_challenge_wrong_answer", False)):
        event = made[name]
        verify_auth_challenge(event, settings=settings, clock=lambda: NOW + 30)

        # THEN the right code is accepted and the other refused
        assert event["response"] == {"answerCorrect": expected}, name


def test_the_made_wrong_answer_session_is_asked_again() -> None:
    # GIVEN Define's wrong-answer session, made at NOW
    event = make_events(target(), encrypt=RecordingEncrypt(), now=NOW)["define_auth_challenge_wrong_answer"]

    # WHEN Define decides a little later
    define_auth_challenge(event, settings=Settings(), clock=lambda: NOW + 30)

    # THEN it asks for the code again
    assert event["response"] == {"challengeName": "CUSTOM_CHALLENGE", "issueTokens": False, "failAuthentication": False}


def test_each_made_sender_event_carries_a_fresh_ciphertext() -> None:
    # GIVEN an encrypter that records what it is given / WHEN the sender events are made
    encrypt = RecordingEncrypt()
    made = make_events(target(), encrypt=encrypt, now=NOW)

    # THEN each code is the encrypter's output for a code of its own (a temporary password for invitations)
    codes = [made[name]["request"]["code"] for name in SENDER_SAMPLES_WITH_A_CODE]
    assert sorted(codes) == sorted(f"ciphertext-{number}" for number in range(1, len(SENDER_SAMPLES_WITH_A_CODE) + 1))
    by_source = dict(zip((made[name]["triggerSource"] for name in SENDER_SAMPLES_WITH_A_CODE), codes, strict=True))
    invitation = encrypt.plaintexts[int(by_source.pop("CustomSMSSender_AdminCreateUser").split("-")[1]) - 1]
    assert "&lt;" in invitation
    for ciphertext in by_source.values():
        code = encrypt.plaintexts[int(ciphertext.split("-")[1]) - 1]
        assert code.isdigit()
        assert len(code) == 6


def test_a_pool_user_is_found_by_phone_number() -> None:
    # GIVEN a pool whose usernames are phone numbers, with one user
    class Cognito:
        class exceptions:  # noqa: N801 - boto3's attribute name
            class UserNotFoundException(Exception):  # noqa: N818 - boto3's name
                pass

        def admin_get_user(self, *, UserPoolId: str, Username: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
            if Username != PHONE:
                raise self.exceptions.UserNotFoundException
            return {"Username": "uuid-1", "UserAttributes": [{"Name": "sub", "Value": "sub-1"}, {"Name": "phone_number", "Value": PHONE}]}

    # WHEN users are looked up / THEN the one with the number is found, another number is nobody
    assert PoolUser.find(Cognito(), POOL_ID, PHONE) == PoolUser(username="uuid-1", sub="sub-1", phone_number=PHONE)
    assert PoolUser.find(Cognito(), POOL_ID, "+12025550161") is None


def test_a_stack_parameter_is_read_as_deployed() -> None:
    # GIVEN a stack deployed with OtpLength=8
    class CloudFormation:
        def describe_stacks(self, *, StackName: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
            return {
                "Stacks": [
                    {
                        "Parameters": [
                            {"ParameterKey": "Stage", "ParameterValue": "dev"},
                            {"ParameterKey": "OtpLength", "ParameterValue": "8"},
                        ]
                    }
                ]
            }

    # WHEN parameters are read / THEN the deployed value comes back, and nothing for a parameter not there
    assert stack_parameter(CloudFormation(), "stack", "OtpLength") == "8"
    assert stack_parameter(CloudFormation(), "stack", "MaxAttempts") is None


# --------------------------------------------------------------- SAM config ---


def test_the_emulator_is_named_with_its_port() -> None:
    assert emulator_host_entry("http://10.213.7.1:45123") == "aws-emulator-45123:10.213.7.1"


@pytest.mark.parametrize("official_is_ours", [True, False])
def test_the_sandbox_sam_config_runs_on_the_offline_image(official_is_ours: bool, tmp_path: Path) -> None:
    # GIVEN the base image, under the official name or not
    image = LoadedImage(project_tag=project_tag("x86_64"), official_tag_is_ours=official_is_ours)

    # WHEN the SAM config file for the sandbox is written
    text = sam_local_config(
        template=tmp_path / "template.yaml",
        env_vars_path=tmp_path / "env.json",
        architecture="x86_64",
        region="us-east-1",
        image_options=image.sam_options(),
        add_host="aws-emulator-45123:10.213.7.1",
    )

    # THEN invoke and start-lambda both get the build, env vars, emulator host and image, and never pull
    config = tomllib.loads(text)
    for command in ("local_invoke", "local_start_lambda"):
        parameters = config["default"][command]["parameters"]
        assert parameters["template_file"] == str(tmp_path / "template.yaml")
        assert parameters["env_vars"] == str(tmp_path / "env.json")
        assert parameters["add_host"] == ["aws-emulator-45123:10.213.7.1"]
        assert "FunctionArchitecture=x86_64" in parameters["parameter_overrides"]
        assert parameters["skip_pull_image"] is True
        assert parameters["language_extensions"] is True
        assert parameters.get("invoke_image") == (None if official_is_ours else [project_tag("x86_64")])


# --------------------------------------------------------------- base image ---


@pytest.mark.parametrize(
    ("labels", "ours"),
    [(None, True), ({RECIPE_LABEL: "0123abcd"}, True), ({}, False), ({"com.amazonaws.lambda.platform.kernel": "k"}, False)],
    ids=["name free", "our image", "unlabelled image", "real official image"],
)
def test_the_official_name_is_taken_only_when_free_or_ours(labels: dict[str, str] | None, ours: bool) -> None:
    assert decide_official_tag(labels) is ours


def test_the_recipe_hash_changes_with_what_the_image_installs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the recipe as it is
    recipe_dir = tmp_path / "recipe"
    shutil.copytree(base_image.RECIPE_DIR, recipe_dir)
    monkeypatch.setattr(base_image, "RECIPE_DIR", recipe_dir)
    before = Recipe("x86_64").digest()

    # WHEN the bootstrap changes / THEN so does the hash; another architecture has its own
    assert Recipe("x86_64").digest() == before
    (recipe_dir / "bootstrap").write_text((recipe_dir / "bootstrap").read_text() + "\n# changed\n")
    assert Recipe("x86_64").digest() != before
    assert Recipe("arm64").digest() != Recipe("x86_64").digest()


class FakeDocker:
    """Images by reference, with their labels; records imports and tags."""

    def __init__(self, images: dict[str, dict[str, str]]) -> None:
        self.images = images
        self.calls: list[tuple[str, ...]] = []

    def image_labels(self, reference: str) -> dict[str, str] | None:
        return self.images.get(reference)

    def run(self, *arguments: str, **_options: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(arguments)
        if arguments[0] == "import":
            label = next(change for change in arguments if change.startswith("LABEL "))
            self.images[arguments[-1]] = dict([label.removeprefix("LABEL ").split("=", 1)])
        if arguments[0] == "tag":
            self.images[arguments[2]] = self.images[arguments[1]]
        return subprocess.CompletedProcess(arguments, 0, "", "")


@pytest.fixture
def cached_tarball(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tarball = tmp_path / "rootfs.tar"
    tarball.write_bytes(b"")
    monkeypatch.setattr(base_image, "rootfs_tarball", lambda _recipe, log=None: tarball)  # noqa: ARG005
    return tarball


@pytest.mark.usefixtures("cached_tarball")
def test_the_base_image_is_imported_once_per_recipe_and_named_as_sam_expects() -> None:
    # GIVEN an engine with no base image
    docker = FakeDocker({})

    # WHEN it is loaded twice
    first = load_base_image(docker, "x86_64")  # type: ignore[arg-type]
    second = load_base_image(docker, "x86_64")  # type: ignore[arg-type]

    # THEN it was imported once, labelled with the recipe, and also carries the official name
    assert [call[0] for call in docker.calls].count("import") == 1
    assert docker.images[project_tag("x86_64")] == {RECIPE_LABEL: Recipe("x86_64").digest()}
    assert docker.images[official_tag("x86_64")] == docker.images[project_tag("x86_64")]
    assert first == second == LoadedImage(project_tag("x86_64"), official_tag_is_ours=True)
    assert first.sam_options() == ["--skip-pull-image"]


@pytest.mark.usefixtures("cached_tarball")
def test_a_base_image_of_an_older_recipe_is_replaced() -> None:
    docker = FakeDocker({project_tag("x86_64"): {RECIPE_LABEL: "older-recipe"}})
    load_base_image(docker, "x86_64")  # type: ignore[arg-type]
    assert docker.images[project_tag("x86_64")] == {RECIPE_LABEL: Recipe("x86_64").digest()}


@pytest.mark.usefixtures("cached_tarball")
def test_a_real_official_image_is_never_shadowed() -> None:
    # GIVEN a user's own official image (no label of ours)
    real = {"com.amazonaws.lambda.platform.kernel": "k"}
    docker = FakeDocker({official_tag("x86_64"): real})

    # WHEN the base image is loaded
    loaded = load_base_image(docker, "x86_64")  # type: ignore[arg-type]

    # THEN the official name still means the real image, and SAM is told to use ours by name
    assert docker.images[official_tag("x86_64")] is real
    assert not any(call[0] == "tag" for call in docker.calls)
    assert loaded.sam_options() == ["--skip-pull-image", "--invoke-image", project_tag("x86_64")]


def run_bootstrap(tmp_path: Path, hosts: str) -> dict[str, str]:
    """Run the image's bootstrap with a hosts file and a stand-in python3 that prints its environment."""
    bootstrap = tmp_path / "bootstrap"
    bootstrap.write_text(
        (base_image.RECIPE_DIR / "bootstrap").read_text().replace("hosts_file=/etc/hosts", f"hosts_file={tmp_path / 'hosts'}")
    )
    bootstrap.chmod(0o755)
    (tmp_path / "hosts").write_text(hosts)
    fake_python = tmp_path / "bin" / "python3"
    fake_python.parent.mkdir()
    fake_python.write_text("#!/bin/sh\nexec env -0\n")
    fake_python.chmod(0o755)
    environment = {
        "PATH": f"{fake_python.parent}:/usr/bin:/bin",
        "_HANDLER": "create_auth_challenge.lambda_handler",
        "AWS_ACCESS_KEY_ID": "AKIAHOSTKEY",
        "AWS_SECRET_ACCESS_KEY": "host-secret",
        "AWS_SESSION_TOKEN": "host-token",
    }
    result = subprocess.run([str(bootstrap)], env=environment, capture_output=True, check=True)  # noqa: S603
    return dict(item.split("=", 1) for item in result.stdout.decode().split("\0") if item)


def test_the_bootstrap_sends_aws_calls_to_an_emulator_named_in_the_hosts_file(tmp_path: Path) -> None:
    # GIVEN a container whose hosts file names the emulator (--add-host aws-emulator-45123:10.213.7.1)
    environment = run_bootstrap(tmp_path, "127.0.0.1\tlocalhost\n10.213.7.1\taws-emulator-45123\n")

    # THEN the runtime starts with the SDK pointed at it, with throw-away credentials instead of the host's
    assert environment["AWS_ENDPOINT_URL"] == "http://aws-emulator-45123:45123"
    assert environment["AWS_ACCESS_KEY_ID"] == "emulator"
    assert environment["AWS_SECRET_ACCESS_KEY"] == "emulator"
    assert "AWS_SESSION_TOKEN" not in environment
    assert environment["PYTHONPATH"].split(":")[0] == "/var/task"


def test_the_bootstrap_calls_aws_without_an_emulator(tmp_path: Path) -> None:
    # GIVEN a container with no emulator in its hosts file
    environment = run_bootstrap(tmp_path, "127.0.0.1\tlocalhost\n10.213.7.1\tsomething-else\n")

    # THEN the SDK calls AWS with the credentials SAM passed
    assert "AWS_ENDPOINT_URL" not in environment
    assert environment["AWS_ACCESS_KEY_ID"] == "AKIAHOSTKEY"
    assert environment["AWS_SESSION_TOKEN"] == "host-token"


# ------------------------------------------------------------ Docker engine ---


def test_a_bridge_network_is_chosen_clear_of_the_machines_networks() -> None:
    # GIVEN networks in use, one of them inside the range bridges are taken from
    import ipaddress

    in_use = [ipaddress.IPv4Network("10.213.5.0/24"), ipaddress.IPv4Network("192.0.2.0/24"), ipaddress.IPv4Network("10.213.128.0/17")]

    # WHEN candidates are listed
    candidates = docker_engine.free_bridge_networks(in_use)

    # THEN none overlaps, each bridge is named after its network, and its gateway is the network's first address
    assert candidates
    assert all(not interface.network.overlaps(used) for _name, interface in candidates for used in in_use)
    for name, interface in candidates:
        assert name == f"smsotp{interface.network.network_address.packed[2]}"
        assert interface.ip == interface.network.network_address + 1


def test_without_a_usable_engine_and_without_root_the_reason_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no running engine, and an ordinary user
    monkeypatch.setattr(docker_engine, "usable_engine", lambda _environment: (None, "Docker's engine is not running"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)

    # WHEN an engine is asked for / THEN it fails with the reason and what to do, in one line
    with pytest.raises(docker_engine.LocalContainerError) as raised, docker_engine.docker_engine():
        pass
    assert "Docker's engine is not running" in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("handler", "returncode"),
    [
        pytest.param("signal.SIG_DFL", -signal.SIGINT, id="stops when asked"),
        pytest.param("signal.SIG_IGN", -signal.SIGKILL, id="killed after the grace"),
    ],
)
def test_a_process_is_asked_to_stop_then_killed_after_its_grace(handler: str, returncode: int) -> None:
    # GIVEN a running process that either lets SIGINT end it or ignores it, and says when it is ready
    script = f"import signal, time; signal.signal(signal.SIGINT, {handler}); print('ready', flush=True); time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)  # noqa: S603 - this interpreter
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    # WHEN it is stopped with SIGINT and a short grace
    docker_engine.stop_process(process, signal.SIGINT, grace_seconds=2)
    # THEN it has ended: by the signal it was sent, or killed once the grace ran out
    assert process.returncode == returncode
    process.stdout.close()
