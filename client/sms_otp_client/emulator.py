"""The local AWS emulator (ministack), started on a free port and always stopped.

It listens on 127.0.0.1, or on another address of this machine when something
else must reach it: Docker's bridge gateway, for functions run by ``sam local``.

The emulator runs in its own process group so that stopping it also stops the
Lambda worker processes it starts; its temporary files live in one directory
that is removed on stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


class EmulatorError(Exception):
    """The emulator could not be started."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class Emulator:
    """A ministack process bound to one address of this machine (127.0.0.1 unless told otherwise)."""

    def __init__(
        self, python: Path, *, region: str = "us-east-1", log_path: Path | None = None, host: str = LOOPBACK, scratch: Path | None = None
    ) -> None:
        self._python = python
        self._scratch = scratch
        self.region = region
        self.host = host
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._work_dir: Path | None = None
        self.port = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_seconds: float = 60.0) -> None:
        """Start the emulator and wait until it answers its health check."""
        if not self._python.exists():
            raise EmulatorError(f"The emulator's interpreter {self._python} does not exist: run `make sandbox` to create it")
        self._work_dir = Path(tempfile.mkdtemp(prefix="sms-otp-emulator-", dir=self._scratch))
        self.port = free_port(self.host)
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self._work_dir),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self._work_dir),
            "GATEWAY_PORT": str(self.port),
            "BIND_HOST": self.host,
            # Where the functions it runs send their AWS calls: itself (its default is 127.0.0.1).
            "AWS_ENDPOINT_URL": self.endpoint_url,
            # Without this the emulator also opens an MQTT listener on 0.0.0.0:8883.
            "IOT_MTLS_ENABLED": "0",
            "MINISTACK_REGION": self.region,
            "PERSIST_STATE": "0",
            "STATE_DIR": str(self._work_dir / "state"),
            "LAMBDA_EXECUTOR": "local",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        log_file = (self._log_path or self._work_dir / "emulator.log").open("wb")
        self._process = subprocess.Popen(  # noqa: S603 - fixed argument list, our own interpreter
            [str(self._python), "-m", "ministack"],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only a prctl call, before exec
        )
        log_file.close()
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                status = self._process.returncode
                raise self._failed(f"The emulator exited with status {status}")
            if self._healthy():
                return
            time.sleep(0.1)
        raise self._failed(f"The emulator did not answer within {timeout_seconds:.0f} seconds")

    def _failed(self, reason: str) -> EmulatorError:
        """Stop what is left and describe the failure with the end of the emulator's log."""
        log_path = self._log_path or (self._work_dir / "emulator.log" if self._work_dir else None)
        tail = ""
        if log_path is not None and log_path.exists():
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        self.stop()
        return EmulatorError(f"{reason}. The end of its log:\n{tail}" if tail else reason)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/_ministack/health", timeout=1) as response:  # noqa: S310 - loopback URL we built
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Stop the emulator and every process it started; remove its temporary files."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if process is not None:
            # Workers exit when their stdin closes; make sure none outlives the emulator.
            _signal_group(process.pid, signal.SIGKILL)
        if self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, be sent SIGTERM if the process that started us dies.

    Covers what no handler can: the client killed with SIGKILL. Elsewhere a no-op.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
