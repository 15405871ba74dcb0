"""Docker's engine for ``sam local``: the one already running, or one started here and stopped after.

SAM finds the engine through ``DOCKER_HOST`` or the default socket. A function's
container reaches the host at its bridge's gateway address, so an emulator for
the functions' AWS calls listens there. An engine is usable when it answers and
its default bridge has a gateway that is an address of this machine (a Linux
engine; Docker Desktop's bridge lives in its own virtual machine).

When no usable engine runs and we are root, :class:`PrivateEngine` starts one that
touches nothing of another's: its own socket, data and run directories (removed
afterwards), its own bridge on a free private /24, and no iptables rules
(``--iptables=false``; containers reach the gateway without NAT). Stopping it stops
every process it started, by process id, and removes its bridge.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Private /24s for bridges of engines started here: 10.213.N.0/24, bridge "smsotpN".
_BRIDGE_NETWORK_PREFIX = "10.213"
_BRIDGE_NAME_PREFIX = "smsotp"
# Scratch data in memory, where the machine has twice this available: an engine's base image,
# SAM's images with the layer and the containers' layers take well under half of it.
_MEMORY_FILE_SYSTEM_BYTES = 3 * 1024**3


class LocalContainerError(Exception):
    """Containers cannot be run here; the message says why, in one sentence."""


class Docker:
    """The ``docker`` command line, for one engine."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        self.environment = dict(environment)

    def run(self, *arguments: str, stdin: IO[bytes] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``docker ARGUMENTS``; the result holds its exit status and its output as text."""
        result = subprocess.run(  # noqa: S603 - the docker CLI with arguments we build
            [program("docker"), *arguments],
            env=self.environment,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            check=False,
            timeout=timeout,
        )
        output, errors = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
        return subprocess.CompletedProcess(result.args, result.returncode, output, errors)

    def image_labels(self, reference: str) -> dict[str, str] | None:
        """The labels of an image, ``{}`` for none, ``None`` when there is no such image."""
        result = self.run("image", "inspect", "--format", "{{json .Config.Labels}}", reference)
        if result.returncode != 0:
            return None
        labels = json.loads(result.stdout or "null")
        return {str(key): str(value) for key, value in labels.items()} if isinstance(labels, dict) else {}

    def container_ids(self, *filters: str) -> set[str]:
        """Ids of the containers (running or not) that match every ``--filter``."""
        arguments = [argument for item in filters for argument in ("--filter", item)]
        result = self.run("ps", "--all", "--quiet", "--no-trunc", *arguments)
        return set(result.stdout.split()) if result.returncode == 0 else set()

    def bridge_gateway(self) -> str | None:
        """The IPv4 gateway of the default bridge network, if it has one."""
        result = self.run("network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}")
        if result.returncode != 0:
            return None
        for entry in json.loads(result.stdout or "null") or []:
            gateway = entry.get("Gateway") if isinstance(entry, dict) else None
            if isinstance(gateway, str) and gateway and ipaddress.ip_address(gateway).version == 4:
                return gateway
        return None


@dataclass(frozen=True, slots=True)
class DockerEngine:
    """A usable engine: how to reach it, and where its containers reach this machine."""

    docker_host: str | None
    gateway: str

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) with ``DOCKER_HOST`` set for this engine."""
        environment = dict(os.environ if base is None else base)
        if self.docker_host is None:
            environment.pop("DOCKER_HOST", None)
        else:
            environment["DOCKER_HOST"] = self.docker_host
        return environment

    def docker(self) -> Docker:
        """The ``docker`` command line, pointed at this engine."""
        return Docker(self.environment())


def program(name: str) -> str:
    """The full path of a program on PATH."""
    path = shutil.which(name)
    if path is None:
        raise LocalContainerError(f"{name} is not installed")
    return path


def is_local_address(address: str) -> bool:
    """Whether a socket can listen on ``address`` on this machine."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


def usable_engine(environment: Mapping[str, str]) -> tuple[DockerEngine | None, str]:
    """The engine ``environment`` points at if it is usable, else ``None`` and the reason."""
    if shutil.which("docker") is None:
        return None, "the docker command is not installed"
    docker = Docker(environment)
    try:
        info = docker.run("info", "--format", "{{.ServerVersion}}", timeout=20)
    except subprocess.TimeoutExpired:
        return None, "Docker's engine did not answer within 20 seconds"
    if info.returncode != 0:
        return None, "Docker's engine is not running"
    gateway = docker.bridge_gateway()
    if gateway is None:
        return None, "Docker's engine has no default bridge with an IPv4 gateway (is it started with --bridge=none?)"
    if not is_local_address(gateway):
        return None, f"the bridge gateway {gateway} is not an address of this machine (Docker Desktop runs containers in a VM)"
    return DockerEngine(docker_host=environment.get("DOCKER_HOST") or None, gateway=gateway), ""


@contextlib.contextmanager
def docker_engine(log_path: Path | None = None) -> Iterator[DockerEngine]:
    """A usable engine for the duration of the block: the configured one, or (as root) one started here."""
    engine, reason = usable_engine(os.environ)
    if engine is not None:
        yield engine
        return
    if os.geteuid() != 0:
        raise LocalContainerError(f"Cannot run containers: {reason}. Start Docker (or run as root, which starts an engine here)")
    private = PrivateEngine(log_path=log_path)
    try:
        yield private.start()
    finally:
        private.stop()


class PrivateEngine:
    """A ``dockerd`` of our own (root only), with its own socket, directories and bridge."""

    def __init__(self, *, log_path: Path | None = None) -> None:
        self._log_path = log_path
        self._work_dir: Path | None = None
        self._bridge: str | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_seconds: float = 60.0) -> DockerEngine:
        """Install docker.io if it is missing, create a bridge, start dockerd and wait until it answers."""
        ensure_packages({"dockerd": "docker.io", "docker": "docker.io"})
        self._work_dir = Path(tempfile.mkdtemp(prefix="sms-otp-docker-"))
        _mount_memory_file_system(self._work_dir / "data")
        self._bridge, gateway = _create_bridge()
        docker_host = f"unix://{self._work_dir / 'docker.sock'}"
        log_path = self._log_path or self._work_dir / "dockerd.log"
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - fixed program and arguments
                [
                    program("dockerd"),
                    f"--host={docker_host}",
                    f"--data-root={self._work_dir / 'data'}",
                    f"--exec-root={self._work_dir / 'run'}",
                    f"--pidfile={self._work_dir / 'dockerd.pid'}",
                    f"--bridge={self._bridge}",
                    "--iptables=false",
                    "--log-level=warn",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        engine = DockerEngine(docker_host=docker_host, gateway=gateway)
        docker = engine.docker()
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self.stop()
                raise LocalContainerError(f"dockerd exited with status {self._process.returncode}; its log: {log_path}")
            if docker.run("info", "--format", "{{.ServerVersion}}", timeout=10).returncode == 0:
                return engine
            time.sleep(0.2)
        self.stop()
        raise LocalContainerError(f"dockerd did not answer within {timeout_seconds:.0f} seconds; its log: {log_path}")

    def stop(self) -> None:
        """Stop dockerd and every process it started, remove its bridge and its directories."""
        process, self._process = self._process, None
        work_dir = self._work_dir
        if process is not None:
            started = _descendants(process.pid)
            if process.poll() is None:
                # dockerd stops its containers and its containerd on SIGTERM.
                stop_process(process, signal.SIGTERM, grace_seconds=30)
            leftovers = started | (_processes_mentioning(str(work_dir)) if work_dir else set())
            for pid in sorted(leftovers):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        if work_dir is not None:
            for mount_point in _mounts_under(work_dir):
                subprocess.run(["umount", "--lazy", mount_point], capture_output=True, check=False)  # noqa: S603, S607
            shutil.rmtree(work_dir, ignore_errors=True)
            self._work_dir = None
        if self._bridge is not None:
            subprocess.run(["ip", "link", "delete", self._bridge], capture_output=True, check=False)  # noqa: S603, S607
            self._bridge = None


def stop_process(process: subprocess.Popen[Any], polite: signal.Signals, *, grace_seconds: float) -> None:
    """Ask ``process`` to stop with the signal ``polite``, and kill it if it has not within ``grace_seconds``."""
    process.send_signal(polite)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def memory_directory(prefix: str) -> Iterator[Path]:
    """A temporary directory, in memory when we are root and there is room; unmounted and removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        _mount_memory_file_system(directory)
        yield directory
    finally:
        for mount_point in [*_mounts_under(directory), str(directory)]:
            subprocess.run(["umount", "--lazy", mount_point], capture_output=True, check=False)  # noqa: S603, S607
        shutil.rmtree(directory, ignore_errors=True)


def _mount_memory_file_system(directory: Path) -> None:
    """Mount a tmpfs on ``directory`` when we are root and there is room; else leave it on disk.

    Writing and removing hundreds of megabytes of small files (images, unpacked
    layers) is most of what an engine's or an emulator's start and stop take.
    """
    directory.mkdir(exist_ok=True)
    if os.geteuid() != 0 or _available_memory_bytes() < _MEMORY_FILE_SYSTEM_BYTES * 2:
        return
    subprocess.run(  # noqa: S603
        ["mount", "-t", "tmpfs", "-o", f"size={_MEMORY_FILE_SYSTEM_BYTES},mode=0700", "tmpfs", str(directory)],  # noqa: S607
        capture_output=True,
        check=False,
    )


def _available_memory_bytes() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def ensure_packages(commands: Mapping[str, str]) -> None:
    """Install the Debian packages of the missing ``commands`` (command -> package) with apt-get, as root."""
    missing = sorted({package for command, package in commands.items() if shutil.which(command) is None})
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise LocalContainerError(f"{', '.join(missing)} is not installed: install it (apt-get install {' '.join(missing)}) and run again")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            raise LocalContainerError(f"`{' '.join(command)}` failed: {lines[-1] if lines else result.returncode}")


def networks_in_use() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks of this machine's addresses and routes."""
    networks: list[ipaddress.IPv4Network] = []
    for command in (["ip", "-json", "-4", "address"], ["ip", "-json", "-4", "route"]):
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        entries: list[dict[str, Any]] = json.loads(result.stdout or "[]") if result.returncode == 0 else []
        for entry in entries:
            for info in entry.get("addr_info", []):
                networks.append(ipaddress.IPv4Interface(f"{info['local']}/{info['prefixlen']}").network)
            destination = entry.get("dst")
            if isinstance(destination, str) and destination != "default":
                networks.append(ipaddress.IPv4Network(destination, strict=False))
    return networks


def free_bridge_networks(in_use: list[ipaddress.IPv4Network]) -> list[tuple[str, ipaddress.IPv4Interface]]:
    """Candidate (bridge name, gateway interface) pairs whose /24 overlaps nothing in use, in random order."""
    candidates = []
    for third in random.sample(range(256), 256):
        network = ipaddress.IPv4Network(f"{_BRIDGE_NETWORK_PREFIX}.{third}.0/24")
        if not any(network.overlaps(used) for used in in_use):
            candidates.append((f"{_BRIDGE_NAME_PREFIX}{third}", ipaddress.IPv4Interface(f"{network[1]}/{network.prefixlen}")))
    return candidates


def _create_bridge() -> tuple[str, str]:
    ensure_packages({"ip": "iproute2"})
    for name, interface in free_bridge_networks(networks_in_use()):
        # The name comes with the network, so a bridge another run just made makes this fail: try the next.
        if subprocess.run(["ip", "link", "add", name, "type", "bridge"], capture_output=True, check=False).returncode != 0:  # noqa: S603, S607
            continue
        for command in (["ip", "address", "add", str(interface), "dev", name], ["ip", "link", "set", name, "up"]):
            result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
            if result.returncode != 0:
                subprocess.run(["ip", "link", "delete", name], capture_output=True, check=False)  # noqa: S603, S607
                raise LocalContainerError(f"`{' '.join(command)}` failed: {result.stderr.strip()}")
        return name, str(interface.ip)
    raise LocalContainerError(f"No free private network for a Docker bridge in {_BRIDGE_NETWORK_PREFIX}.0.0/16")


def _descendants(root: int) -> set[int]:
    """Process ids below ``root`` in the process tree, right now."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _processes_mentioning(text: str) -> set[int]:
    """Process ids whose command line contains ``text`` (containerd's shims name the engine's run directory)."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if text.encode() in cmdline.read_bytes():
                found.add(int(cmdline.parent.name))
    found.discard(os.getpid())
    return found


def _mounts_under(directory: Path) -> list[str]:
    with contextlib.suppress(OSError):
        points = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        return sorted((point for point in points if point.startswith(f"{directory}/")), key=len, reverse=True)
    return []
