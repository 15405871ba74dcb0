"""The layer build's decisions that ``sam build`` does not make for it: the target architecture and what to leave out."""

from __future__ import annotations

from pathlib import Path

import pytest

import build_layer

pytestmark = pytest.mark.unit

# As sam build writes it: one function build definition, and one per layer with the architecture it resolved.
BUILD_GRAPH = """
[function_build_definitions.c3d78fdf-9d42-4665-9009-8797c8359c1c]
codeuri = "/project/src/triggers"
runtime = "python3.13"
architecture = "x86_64"
functions = ["PreSignUpFunction"]

[layer_build_definitions.0c6d2f1e-5c35-4bd2-9a4e-54d0d1a0f0aa]
layer_name = "OtherLayer"
architecture = "x86_64"
layer = "OtherLayer"

[layer_build_definitions.b3d536f8-2324-4d4f-aef9-0f7962d3205f]
layer_name = "SmsOtpLayer"
build_method = "makefile"
architecture = "arm64"
layer = "SmsOtpLayer"
"""


@pytest.fixture
def artifacts_dir(tmp_path: Path) -> Path:
    """<.aws-sam>/build/SmsOtpLayer, with sam's build.toml in <.aws-sam>."""
    (tmp_path / "build.toml").write_text(BUILD_GRAPH)
    directory = tmp_path / "build" / "SmsOtpLayer"
    directory.mkdir(parents=True)
    return directory


def test_the_architecture_is_the_one_sam_resolved_for_this_layer(artifacts_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN sam's build graph, where the functions and another layer are x86_64 and this layer arm64
    monkeypatch.delenv(build_layer.ARCHITECTURE_VARIABLE, raising=False)

    # WHEN the layer build asks for its architecture
    architecture = build_layer.sam_architecture(artifacts_dir, "SmsOtpLayer")

    # THEN it is this layer's
    assert architecture == "arm64"


def test_the_variable_overrides_the_build_graph(artifacts_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the variable set, as a container build would pass it
    monkeypatch.setenv(build_layer.ARCHITECTURE_VARIABLE, "x86_64")

    # WHEN / THEN it wins
    assert build_layer.sam_architecture(artifacts_dir, "SmsOtpLayer") == "x86_64"


def test_no_guess_when_sam_recorded_nothing(artifacts_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a layer the build graph does not know (a build of that resource alone, in a fresh folder)
    monkeypatch.delenv(build_layer.ARCHITECTURE_VARIABLE, raising=False)

    # WHEN / THEN the build stops and says how to proceed, rather than build for this machine
    with pytest.raises(build_layer.BuildError, match=build_layer.ARCHITECTURE_VARIABLE):
        build_layer.sam_architecture(artifacts_dir.parent / "NewLayer", "NewLayer")


def test_an_unknown_architecture_is_refused(tmp_path: Path) -> None:
    # GIVEN an architecture Lambda does not have / WHEN installing / THEN nothing is fetched
    with pytest.raises(build_layer.BuildError, match="unknown architecture 'sparc'"):
        build_layer.install_requirements(tmp_path, "sparc")


def test_a_removed_distribution_leaves_nothing_and_touches_nothing_else(tmp_path: Path) -> None:
    # GIVEN an installed distribution beside another package
    for relative in ("pycparser/__init__.py", "pycparser/ply/lex.py", "pycparser-3.12.dist-info/METADATA", "cffi/__init__.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("")
    record = "pycparser/__init__.py,,\npycparser/ply/lex.py,,\npycparser-3.12.dist-info/METADATA,,\npycparser-3.12.dist-info/RECORD,,\n"
    (tmp_path / "pycparser-3.12.dist-info" / "RECORD").write_text(record)

    # WHEN removing it
    build_layer.remove_distribution(tmp_path, "pycparser")

    # THEN every file and folder of it is gone, and the other package is intact
    assert sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*")) == ["cffi", "cffi/__init__.py"]
