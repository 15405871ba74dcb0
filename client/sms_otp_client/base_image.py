"""The offline Lambda base image: Lambda's python3.13 runtime stood in for by Debian and PyPI.

``sam local invoke`` runs zip functions on ``public.ecr.aws/lambda/python:3.13-<arch>``,
which SAM pulls from the internet. Where that is impossible, this module builds a
compatible image from Debian trixie (whose ``python3`` is 3.13), the runtime interface
client ``awslambdaric`` from PyPI, and the ``bootstrap`` next to this file, then loads
it into Docker:

- under the project's own name, ``cognito-sms-otp/lambda-python:3.13-<arch>``, always;
- under the name SAM looks for, for ``sam local invoke --skip-pull-image``, only when
  that name is free or already ours: a real official image is never shadowed.

Building the root file system (``debootstrap``) takes a minute or two and needs root;
its tarball is cached under ``~/.cache/sms-otp`` and named by the recipe's hash, so it
is built again only when the recipe changes. Every image carries that hash as a label.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from sms_otp_client.docker_engine import Docker, LocalContainerError, ensure_packages, memory_directory

RECIPE_DIR = Path(__file__).resolve().parent / "lambda_base_image"
RECIPE_LABEL = "cognito-sms-otp.lambda-base.recipe"
PROJECT_REPOSITORY = "cognito-sms-otp/lambda-python"
OFFICIAL_REPOSITORY = "public.ecr.aws/lambda/python"
PYTHON_VERSION = "3.13"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
_DEBIAN_ARCHITECTURES = {"x86_64": "amd64", "arm64": "arm64"}
_WHEEL_PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}


class BaseImageError(LocalContainerError):
    """The base image could not be built or loaded; the message says why in one sentence."""


@dataclass(frozen=True, slots=True)
class Recipe:
    """What goes into the image; its hash names the cached build and labels the image."""

    architecture: str
    # Debian 13 ships Python 3.13, the functions' runtime.
    suite: str = "trixie"
    variant: str = "minbase"
    packages: tuple[str, ...] = ("python3",)
    # Nothing a function needs: package lists and caches, documentation, translations.
    pruned: tuple[str, ...] = ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale")
    entrypoint: str = "/var/runtime/bootstrap"
    environment: tuple[tuple[str, str], ...] = (
        ("LANG", "C.UTF-8"),
        ("TZ", ":/etc/localtime"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
    )

    def digest(self) -> str:
        """SHA-256 of the recipe and of the files it installs (first 16 hex digits)."""
        hasher = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode())
        for name in ("bootstrap", "requirements.txt"):
            hasher.update(name.encode() + b"\0" + (RECIPE_DIR / name).read_bytes())
        return hasher.hexdigest()[:16]

    def docker_changes(self) -> list[str]:
        """The ``docker import --change`` instructions that make the tarball an image."""
        return [
            f"ENTRYPOINT {json.dumps([self.entrypoint])}",
            "WORKDIR /var/task",
            *(f"ENV {name}={value}" for name, value in self.environment),
            f"LABEL {RECIPE_LABEL}={self.digest()}",
        ]


def project_tag(architecture: str) -> str:
    return f"{PROJECT_REPOSITORY}:{PYTHON_VERSION}-{architecture}"


def official_tag(architecture: str) -> str:
    """The image SAM runs zip functions of this runtime on (``--skip-pull-image`` uses it as found)."""
    return f"{OFFICIAL_REPOSITORY}:{PYTHON_VERSION}-{architecture}"


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sms-otp"


@dataclass(frozen=True, slots=True)
class LoadedImage:
    """Where the base image is, and how ``sam local`` should be told to use it."""

    project_tag: str
    # True when the official name points at this image: plain `--skip-pull-image` then uses it.
    official_tag_is_ours: bool

    def sam_options(self) -> list[str]:
        """``sam local invoke`` / ``start-lambda`` options that run the functions on this image."""
        if self.official_tag_is_ours:
            return ["--skip-pull-image"]
        return ["--skip-pull-image", "--invoke-image", self.project_tag]


def decide_official_tag(existing_labels: Mapping[str, str] | None) -> bool:
    """Whether the official name may point at our image, given the labels of the image it names now.

    ``None`` means the name is free. An image without our label is a real official
    image a user pulled: it is left alone.
    """
    return existing_labels is None or RECIPE_LABEL in existing_labels


def load_base_image(docker: Docker, architecture: str, *, log: Path | None = None) -> LoadedImage:
    """Make sure the engine has the base image of the current recipe; build its tarball if needed."""
    recipe = Recipe(architecture)
    tag = project_tag(architecture)
    labels = docker.image_labels(tag)
    if labels is None or labels.get(RECIPE_LABEL) != recipe.digest():
        tarball = rootfs_tarball(recipe, log=log)
        changes = [argument for change in recipe.docker_changes() for argument in ("--change", change)]
        with tarball.open("rb") as source:
            result = docker.run("import", *changes, "-", tag, stdin=source, timeout=300)
        if result.returncode != 0:
            raise BaseImageError(f"docker import of the base image failed: {_last_line(result.stderr)}")
    official = official_tag(architecture)
    ours = decide_official_tag(docker.image_labels(official))
    if ours:
        result = docker.run("tag", tag, official)
        if result.returncode != 0:
            raise BaseImageError(f"docker tag {official} failed: {_last_line(result.stderr)}")
    return LoadedImage(project_tag=tag, official_tag_is_ours=ours)


def rootfs_tarball(recipe: Recipe, *, log: Path | None = None) -> Path:
    """The cached root file system of ``recipe`` as a tarball; built (as root) when missing."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    tarball = directory / f"lambda-python{PYTHON_VERSION}-{recipe.architecture}-{recipe.digest()}.tar"
    # One build at a time on a machine: another checkout may be building the same recipe.
    with (directory / "lambda-base.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.exists():
            _build_rootfs_tarball(recipe, tarball, log=log)
    return tarball


def _build_rootfs_tarball(recipe: Recipe, tarball: Path, *, log: Path | None) -> None:
    if os.geteuid() != 0:
        raise BaseImageError("Building the offline Lambda base image needs root (for debootstrap); with internet, use the official image")
    debian_architecture = _DEBIAN_ARCHITECTURES.get(recipe.architecture)
    if debian_architecture is None:
        raise BaseImageError(f"No base image recipe for the architecture {recipe.architecture!r}")
    ensure_packages({"debootstrap": "debootstrap"})
    mirror = os.environ.get("SMS_OTP_DEBIAN_MIRROR", DEFAULT_MIRROR)
    log_path = log or Path(os.devnull)
    # The root file system is built in memory where possible: thousands of small files, removed once packed.
    with memory_directory("lambda-base-") as work, log_path.open("ab") as output:
        rootfs = work / "rootfs"
        _run_logged(
            [
                "debootstrap",
                f"--variant={recipe.variant}",
                f"--arch={debian_architecture}",
                f"--include={','.join(recipe.packages)}",
                recipe.suite,
                str(rootfs),
                mirror,
            ],
            output,
            what=f"debootstrap {recipe.suite}",
        )
        for relative in recipe.pruned:
            for child in (rootfs / relative).glob("*"):
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        runtime = rootfs / "var" / "runtime"
        _run_logged(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                "--no-compile",
                "--no-deps",
                "--only-binary=:all:",
                f"--platform={_WHEEL_PLATFORMS[recipe.architecture]}",
                f"--python-version={PYTHON_VERSION}",
                "--implementation=cp",
                f"--target={runtime}",
                "--requirement",
                str(RECIPE_DIR / "requirements.txt"),
            ],
            output,
            what="pip install awslambdaric",
        )
        shutil.copy2(RECIPE_DIR / "bootstrap", runtime / "bootstrap")
        (runtime / "bootstrap").chmod(0o755)
        partial = tarball.with_suffix(".partial")
        try:
            _run_logged(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], output, what="tar of the root file system")
            partial.replace(tarball)
        finally:
            partial.unlink(missing_ok=True)


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no message"


def _run_logged(command: Sequence[str], output: BinaryIO, *, what: str) -> None:
    result = subprocess.run(list(command), stdout=output, stderr=subprocess.STDOUT, check=False)  # noqa: S603 - fixed programs
    if result.returncode != 0:
        where = f"; its output is in {output.name}" if output.name != os.devnull else ""
        raise BaseImageError(f"{what} failed (exit {result.returncode}){where}")
