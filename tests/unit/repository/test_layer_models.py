"""The SDK models the layer keeps: those of every client something in it builds, and no others."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import build_layer

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
SOURCES = (ROOT / "layers" / "sms_otp" / "sms_otp", ROOT / "src")
# Clients the libraries build themselves: the Encryption SDK's KMS key provider (Custom SMS Sender), the
# X-Ray SDK's sampling connector (EnableTracing=true), and crhelper's Lambda, EventBridge and CloudWatch Logs
# clients (built when the custom resource's container starts, whatever the request).
LIBRARY_CLIENTS = {"events", "kms", "lambda", "logs", "xray"}


def clients_the_code_builds() -> set[str]:
    """The service of every ``boto3.client(...)`` / ``create_client(...)`` call in the layer and the functions."""
    services = set()
    for path in sorted(path for source in SOURCES for path in source.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("client", "create_client"):
                argument = node.args[0] if node.args else next((k.value for k in node.keywords if k.keyword == "service_name"), None)
                assert isinstance(argument, ast.Constant), f"{path}:{node.lineno}: name the service as a string"
                services.add(str(argument.value))
    return services


def test_the_layer_keeps_the_model_of_every_client_something_builds_and_no_other() -> None:
    # GIVEN the clients the code builds, read from it, and those its libraries build
    needed = clients_the_code_builds() | LIBRARY_CLIENTS

    # THEN the build keeps exactly their models
    assert clients_the_code_builds() == {"cognito-idp", "dynamodb", "kms", "sns"}
    assert set(build_layer.SERVICE_MODELS) == needed


def _sdk_tree(site: Path, services: tuple[str, ...]) -> None:
    for service in services:
        (site / "botocore" / "data" / service / "2020-01-01").mkdir(parents=True)
        (site / "botocore" / "data" / service / "2020-01-01" / "service-2.json.gz").write_bytes(b"")
    (site / "botocore" / "data" / "endpoints.json").write_text("{}")
    (site / "boto3" / "data" / "s3").mkdir(parents=True)


def test_only_the_kept_services_models_remain_with_the_sdks_own_data_files(tmp_path: Path) -> None:
    # GIVEN an SDK with the models of three services, one of them kept
    _sdk_tree(tmp_path, ("sns", "ec2", "s3"))

    # WHEN removing the others
    build_layer.remove_unused_service_models(tmp_path, ("sns",))

    # THEN the kept model and the data files every client reads remain
    remaining = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file())
    assert remaining == ["botocore/data/endpoints.json", "botocore/data/sns/2020-01-01/service-2.json.gz"]
    assert not (tmp_path / "boto3" / "data" / "s3").exists()


def test_a_kept_service_without_a_model_stops_the_build(tmp_path: Path) -> None:
    # GIVEN an SDK without the model of a service the layer needs
    _sdk_tree(tmp_path, ("sns",))

    # WHEN / THEN the build stops, naming it
    with pytest.raises(build_layer.BuildError, match="no model for xray"):
        build_layer.remove_unused_service_models(tmp_path, ("sns", "xray"))
