"""``make deploy`` checks AWS credentials first (``sms-otp check-credentials``): one sentence instead of 37 questions and a failure."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

from sms_otp_client import cli
from sms_otp_client.credentials import FALLBACK_REGION, CredentialsError, caller_identity, sts_client

pytestmark = pytest.mark.unit

ARN = "arn:aws:iam::123456789012:user/deployer"


class FakeSts:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure

    def get_caller_identity(self) -> dict[str, str]:
        if self.failure is not None:
            raise self.failure
        return {"Account": "123456789012", "Arn": ARN, "UserId": "AIDAEXAMPLE"}


def test_credentials_that_reach_an_account_name_who_they_are():
    # GIVEN credentials AWS accepts / WHEN checked / THEN the answer is the identity they sign in as
    assert caller_identity(FakeSts()) == ARN


@pytest.mark.parametrize(
    ("failure", "sentence"),
    [
        pytest.param(
            NoCredentialsError(),
            "No AWS credentials were found: configure them (aws configure, aws sso login, or AWS_PROFILE) and run make deploy again.",
            id="none",
        ),
        pytest.param(
            ClientError({"Error": {"Code": "ExpiredToken", "Message": "The security token included in the request is expired"}}, "Get"),
            "AWS refused these credentials (ExpiredToken): they are wrong or expired; "
            "renew them (aws sso login, say) and run make deploy again.",
            id="expired",
        ),
    ],
)
def test_missing_or_refused_credentials_are_one_sentence(failure: Exception, sentence: str):
    # GIVEN credentials that are missing or refused / WHEN checked / THEN the error is one sentence that says what to do
    with pytest.raises(CredentialsError) as refused:
        caller_identity(FakeSts(failure))
    assert str(refused.value) == sentence


def test_without_a_configured_region_the_check_asks_sts_in_a_fallback_region():
    # GIVEN a first deployment: no region configured yet (the guided deploy asks for it)
    regions: list[str | None] = []

    class Session:
        def client(self, service: str, region_name: str | None) -> Any:
            regions.append(region_name)
            if region_name is None:
                raise NoRegionError
            return service

    # WHEN the STS client is made / THEN it is made in the fallback region
    assert sts_client(Session(), None) == "sts"
    assert regions == [None, FALLBACK_REGION]


def test_the_command_exits_1_with_the_sentence_and_0_with_the_identity(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    # GIVEN no credentials, then good ones
    monkeypatch.setattr(cli, "sts_client", lambda *_: FakeSts(NoCredentialsError()))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["check-credentials"])
    assert exit_.value.code == 1
    assert capsys.readouterr().err.startswith("error: No AWS credentials were found")

    monkeypatch.setattr(cli, "sts_client", lambda *_: FakeSts())
    assert cli.main(["check-credentials"]) == 0
    assert capsys.readouterr().out == f"AWS credentials: {ARN}\n"
