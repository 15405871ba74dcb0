"""make build and make deploy work for a newcomer: SAM from .venv-sam, Python 3.13 found, guided only the first time.

The targets run in a copy of the Makefile with a stand-in for ``sam`` that
records how it was called and which ``python3.13`` it would find, so nothing
is built or deployed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
PYTHON313_REQUIRED = "Python 3.13 is required: put python3.13 on PATH or install it with pyenv (pyenv install 3.13)"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the Makefile and samconfig.toml, a stand-in sam, and a stand-in python3.13 in a folder of its own."""
    shutil.copy(ROOT / "Makefile", tmp_path)
    shutil.copy(ROOT / "samconfig.toml", tmp_path)
    (tmp_path / "sam").write_text('#!/bin/sh\necho "sam $*" >> calls\ncommand -v python3.13 >> calls\n')
    (tmp_path / "sam").chmod(0o755)
    (tmp_path / "python-3.13").mkdir()
    # A stand-in interpreter that answers the deploy target's question with the real one.
    (tmp_path / "python-3.13" / "python3.13").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (tmp_path / "python-3.13" / "python3.13").chmod(0o755)
    # A stand-in for the project's interpreter: records the call, and fails as told (no credentials).
    (tmp_path / "py").write_text(
        '#!/bin/sh\necho "py $*" >> calls\nif [ -n "$NO_CREDENTIALS" ]; then echo "error: No AWS credentials" >&2; exit 1; fi\n'
    )
    (tmp_path / "py").chmod(0o755)
    return tmp_path


def make(project: Path, *arguments: str) -> tuple[list[str], str]:
    """Run make in ``project`` with the stand-ins; the calls sam received, and what make printed."""
    command = ["make", "--no-print-directory", f"SAM={project / 'sam'}", f"PYTHON313={project / 'python-3.13' / 'python3.13'}"]
    command += [f"PY={project / 'py'}", "-o", ".venv/.installed"]
    result = subprocess.run([*command, *arguments], cwd=project, capture_output=True, text=True, check=True)  # noqa: S603
    calls = (project / "calls").read_text().splitlines() if (project / "calls").exists() else []
    return calls, result.stdout


def test_build_runs_sam_from_its_virtual_environment() -> None:
    # GIVEN the real Makefile / WHEN make build is dry-run
    output = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv-sam/.installed", "build"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # THEN it runs the SAM CLI installed in .venv-sam, not whatever sam is on PATH
    assert ".venv-sam/bin/sam build" in output.splitlines()


def test_build_puts_python313_first_on_path_for_sam(project: Path) -> None:
    # GIVEN a Python 3.13 the Makefile found outside PATH (a pyenv version that is not the global one)
    # WHEN make build runs
    calls, _ = make(project, "-o", ".venv-sam/.installed", "build")
    # THEN sam runs with that interpreter first on PATH, where SAM looks for the runtime's python3.13
    assert calls == ["sam build", f"{project / 'python-3.13'}//python3.13"]


def test_the_first_deploy_is_guided(project: Path) -> None:
    # GIVEN samconfig.toml as committed: no record of a guided deployment
    # WHEN make deploy runs (the build is done)
    calls, output = make(project, "-o", "build", "deploy")
    # THEN it checks the credentials, then runs sam deploy --guided, after saying what it will ask
    assert calls[:2] == ["py -m sms_otp_client check-credentials", "sam deploy --guided"]
    assert "sam deploy --guided asks for the stack name, region and parameters, and saves them in samconfig.toml" in output


def test_later_deploys_use_what_the_guided_one_saved(project: Path) -> None:
    # GIVEN samconfig.toml as sam deploy --guided leaves it: the region it asked for in [default]
    config = project / "samconfig.toml"
    config.write_text(config.read_text().replace("[default.deploy.parameters]\n", '[default.deploy.parameters]\nregion = "eu-west-1"\n'))
    # WHEN make deploy runs with options
    calls, output = make(project, "-o", "build", "deploy", "DEPLOY_ARGS=--no-confirm-changeset")
    # THEN it deploys from samconfig.toml without asking, with the options
    assert calls[:2] == ["py -m sms_otp_client check-credentials", "sam deploy --no-confirm-changeset"]
    assert "First deployment" not in output


def test_deploy_stops_on_a_samconfig_it_cannot_read(project: Path) -> None:
    # GIVEN a samconfig.toml that is not valid TOML
    (project / "samconfig.toml").write_text("[default\n")
    # WHEN make deploy runs / THEN it fails without deploying, rather than guessing
    with pytest.raises(subprocess.CalledProcessError):
        make(project, "-o", "build", "deploy")
    assert "sam deploy" not in (project / "calls").read_text()


def test_deploy_without_credentials_stops_before_the_first_question(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no AWS credentials (the check fails with its one sentence)
    monkeypatch.setenv("NO_CREDENTIALS", "1")
    # WHEN make deploy runs
    with pytest.raises(subprocess.CalledProcessError) as failed:
        make(project, "-o", "build", "deploy")
    # THEN the sentence is shown and sam deploy never starts asking
    assert "error: No AWS credentials" in failed.value.stderr
    assert (project / "calls").read_text().splitlines() == ["py -m sms_otp_client check-credentials"]


TARGETS_AND_THEIR_VENV = [("build", "sam"), ("validate", "sam"), ("deploy", "sam"), ("lint", "dev"), ("unit", "dev")]


@pytest.mark.parametrize(("target", "requirements"), TARGETS_AND_THEIR_VENV)
def test_targets_without_python313_say_so_in_one_line(target: str, requirements: str) -> None:
    # GIVEN no Python 3.13, and a virtual environment to (re)create
    result = subprocess.run(  # noqa: S603 - fixed arguments
        ["make", "--no-print-directory", target, "PYTHON313=", "-W", f"requirements-{requirements}.txt"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    # WHEN the target runs / THEN it stops with the clear message before doing anything
    assert result.returncode != 0
    assert result.stdout.strip() == PYTHON313_REQUIRED
    assert "command not found" not in result.stderr
