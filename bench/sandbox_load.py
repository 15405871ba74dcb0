"""The sandbox under load: the real stack deployed into the emulator, its first sign-in, then many people at once.

For each layer variant, a fresh emulator on 127.0.0.1 gets the sandbox's build, deployed with
limits loose enough for the load (``LOAD_OVERRIDES``). Then:

- the first sign-in after the deploy: one fresh number signs up, then InitiateAuth, the code read
  from the test topic's inbox, RespondToAuthChallenge, until the tokens;
- ``people`` fresh numbers at once, each signing in ``sign_ins`` times one after another: how many
  sign-ins complete within ``DEADLINE_SECONDS`` each, and how long InitiateAuth took to answer
  (the first answer a person waits for) and the whole sign-in.

The variants: *lean*, the layer as ``build_layer.py`` builds it; *full*, the same build whose layer
keeps every SDK model, all of Powertools and the native extensions' symbol tables. The emulator
unpacks a function's layer for every new worker, so the layer's size is paid at each one.

Everything is bounded: each call has a timeout, each person stops starting sign-ins after
``PHASE_LIMIT_SECONDS``, and the emulator stops with the run.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

import build_layer
from bench.artifacts import ROOT, package_size
from bench.common import table
from sms_otp_client.auth import Challenge, PasswordlessClient, SignInError, Tokens
from sms_otp_client.emulator import Emulator
from sms_otp_client.inbox import InboxTimeoutError, TestModeInbox
from sms_otp_client.sandbox import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_KEY,
    SandboxDeployment,
    build,
    build_dir,
    build_folder_lock,
    deploy,
    emulator_python,
    machine_architecture,
    sandbox_environment,
)

VARIANTS = ("lean", "full")
LAYER_FOLDER = "SmsOtpLayer"
# A sign-in counts as completed when its tokens come within this many seconds of its InitiateAuth.
DEADLINE_SECONDS = 30.0
# No person starts a sign-in after this many seconds of the concurrent phase.
PHASE_LIMIT_SECONDS = 240.0
CREATE_SOURCE = "CreateAuthChallenge_Authentication"
# The sandbox's own limits ([sandbox] in samconfig.toml: 10 s between texts to a number, 100 texts an
# hour for the stack, 5 a number) would refuse most of the load: these let every sign-in send its text.
LOAD_OVERRIDES = {
    "StackMessagesPerHour": "100000",
    "MinSecondsBetweenMessages": "0",
    "MaxMessagesPerHour": "100",
    "MaxMessagesPerDay": "1000",
}
# The full layer leaves out only what the layer has always left out: pip's scripts, boto3's examples, type stubs.
FULL_LAYER_UNUSED_FILES = ("bin", "boto3/examples", "*-stubs", "**/*.pyi")
# +1 202 555 0100 to 0199: valid numbers reserved for fiction.
NUMBERS = tuple(f"+120255501{n:02d}" for n in range(100))


@dataclass(frozen=True, slots=True)
class SignInTiming:
    """One sign-in: whether its tokens came in time, and when each answer came (seconds after InitiateAuth was sent)."""

    person: int
    completed: bool
    first_answer_seconds: float | None
    total_seconds: float | None
    error: str | None = None
    # Codes of earlier sign-ins read before this one's own (they were delivered after those gave up).
    stale_codes: int = 0


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``values`` (``fraction`` 0.5 for the median, 1.0 for the maximum); None when empty."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError("fraction must be in (0, 1]")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def summarize(timings: Sequence[SignInTiming], *, planned: int) -> dict[str, Any]:
    """How many of ``planned`` sign-ins completed, and the first answers' and whole sign-ins' p50, p90 and maximum."""
    first_answers = [t.first_answer_seconds for t in timings if t.first_answer_seconds is not None]
    totals = [t.total_seconds for t in timings if t.completed and t.total_seconds is not None]
    first_of_each: dict[int, float] = {}
    for timing in timings:  # in the order they ended: a person's first sign-in comes before their others
        if timing.first_answer_seconds is not None:
            first_of_each.setdefault(timing.person, timing.first_answer_seconds)
    errors: dict[str, int] = {}
    for timing in timings:
        if timing.error:
            errors[timing.error] = errors.get(timing.error, 0) + 1
    return {
        "planned": planned,
        "started": len(timings),
        "completed": sum(1 for t in timings if t.completed),
        "first_answer": {name: percentile(first_answers, fraction) for name, fraction in (("p50", 0.5), ("p90", 0.9), ("max", 1.0))},
        "sign_in": {name: percentile(totals, fraction) for name, fraction in (("p50", 0.5), ("p90", 0.9), ("max", 1.0))},
        # Each person's first sign-in: the one that waits for new workers.
        "first_wave": {name: percentile(list(first_of_each.values()), fraction) for name, fraction in (("p50", 0.5), ("max", 1.0))},
        "stale_codes": sum(t.stale_codes for t in timings),
        "errors": errors,
    }


def sign_in(client: PasswordlessClient, inbox: TestModeInbox, number: str, person: int) -> SignInTiming:
    """One sign-in of ``number``, bounded by ``DEADLINE_SECONDS`` (the calls' own timeouts bound the rest).

    A sign-in given up on may still have its text delivered later, into the same inbox: the inbox is
    emptied first, and a code that turns out wrong (an earlier sign-in's, arriving late) is followed by
    the next text, within the deadline and Cognito's attempts.
    """
    inbox.drain()
    started = time.monotonic()
    first_answer: float | None = None
    stale_codes = 0
    try:
        answered: Tokens | Challenge = client.start(number)
        first_answer = time.monotonic() - started
        while isinstance(answered, Challenge):
            remaining = DEADLINE_SECONDS - (time.monotonic() - started)
            if remaining <= 0:
                error = "late first answer" if first_answer > DEADLINE_SECONDS else "late code"
                return SignInTiming(
                    person, completed=False, first_answer_seconds=first_answer, total_seconds=None, error=error, stale_codes=stale_codes
                )
            code = inbox.wait_for_message(trigger_source=CREATE_SOURCE, timeout_seconds=remaining).code
            answered = client.answer(number, answered, code)
            stale_codes += isinstance(answered, Challenge)
    except InboxTimeoutError:
        # Its message names the number: the name of the failure is enough.
        return SignInTiming(person, completed=False, first_answer_seconds=first_answer, total_seconds=None, error="no text in time")
    except SignInError as failure:
        error = f"SignInError: {failure}"[:100]
        return SignInTiming(
            person, completed=False, first_answer_seconds=first_answer, total_seconds=None, error=error, stale_codes=stale_codes
        )
    total = time.monotonic() - started
    late = total > DEADLINE_SECONDS
    return SignInTiming(person, not late, first_answer, total, "late" if late else None, stale_codes)


def cognito_client(deployment: SandboxDeployment, pool_size: int) -> Any:
    """A Cognito client that gives up on an answer after the deadline and never retries (a retry would hide a slow answer)."""
    session = boto3.session.Session(
        aws_access_key_id=SANDBOX_ACCESS_KEY, aws_secret_access_key=SANDBOX_SECRET_KEY, region_name=deployment.region
    )
    config = Config(connect_timeout=5, read_timeout=DEADLINE_SECONDS, retries={"max_attempts": 1}, max_pool_connections=pool_size)
    return session.client("cognito-idp", endpoint_url=deployment.endpoint_url, config=config)


def open_inbox(deployment: SandboxDeployment, number: str) -> TestModeInbox:
    assert deployment.outputs.test_mode_topic_arn is not None, "the sandbox runs in test mode"  # noqa: S101 - samconfig.toml's [sandbox]
    return TestModeInbox.create(
        sqs=deployment.client("sqs"), sns=deployment.client("sns"), topic_arn=deployment.outputs.test_mode_topic_arn, recipient=number
    )


def first_sign_in(deployment: SandboxDeployment, number: str) -> dict[str, Any]:
    """The first sign-in after the deploy, its sign-up apart."""
    client = PasswordlessClient(cognito_client(deployment, 2), deployment.outputs.user_pool_client_id)
    inbox = open_inbox(deployment, number)
    try:
        started = time.monotonic()
        client.sign_up(number)
        sign_up_seconds = time.monotonic() - started
        timing = sign_in(client, inbox, number, person=0)
    finally:
        inbox.delete()
    return {"sign_up_seconds": sign_up_seconds, **asdict(timing)}


def concurrent_sign_ins(deployment: SandboxDeployment, numbers: Sequence[str], sign_ins: int) -> dict[str, Any]:
    """Every number signs up, then all sign in ``sign_ins`` times each at once; the summary of those sign-ins."""
    client = PasswordlessClient(cognito_client(deployment, 2 * len(numbers)), deployment.outputs.user_pool_client_id)
    inboxes = [open_inbox(deployment, number) for number in numbers]
    timings: list[SignInTiming] = []
    lock = threading.Lock()
    try:
        for number in numbers:
            client.sign_up(number)
        barrier = threading.Barrier(len(numbers))
        phase_started = time.monotonic()

        def person(index: int) -> None:
            barrier.wait()
            for _ in range(sign_ins):
                if time.monotonic() - phase_started > PHASE_LIMIT_SECONDS:
                    return
                timing = sign_in(client, inboxes[index], numbers[index], index)
                with lock:
                    timings.append(timing)

        threads = [threading.Thread(target=person, args=(index,), name=f"person-{index}") for index in range(len(numbers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - phase_started
    finally:
        for inbox in inboxes:
            inbox.delete()
    return {"people": len(numbers), "sign_ins_each": sign_ins, "seconds": seconds, **summarize(timings, planned=len(numbers) * sign_ins)}


def full_layer_build(lean: Path, target: Path, architecture: str) -> Path:
    """A copy of the build at ``lean`` whose layer keeps every SDK model, all of Powertools and the symbol tables."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(lean, target, symlinks=True, ignore=shutil.ignore_patterns(LAYER_FOLDER))
    site = target / LAYER_FOLDER / "python"
    build_layer.install_requirements(site, architecture)
    shutil.copytree(build_layer.HERE / build_layer.PACKAGE, site / build_layer.PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    for name in build_layer.UNUSED_DISTRIBUTIONS:
        build_layer.remove_distribution(site, name)
    for pattern in FULL_LAYER_UNUSED_FILES:
        for path in site.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    build_layer.compile_bytecode(site)
    return target


def prepare_builds(work: Path, variants: Sequence[str], progress: Callable[[str], None]) -> dict[str, Path]:
    """The sandbox's build, copied out of the shared build folder (another sandbox may rebuild it meanwhile), and its full variant."""
    architecture = machine_architecture()
    lean = work / "lean"
    with build_folder_lock(progress):
        progress("sam build of the sandbox")
        # sam build reaches no endpoint; the environment only hides the user's AWS configuration.
        build(sandbox_environment("http://127.0.0.1:1", "us-east-1"), architecture)
        shutil.rmtree(lean, ignore_errors=True)
        shutil.copytree(build_dir(architecture), lean, symlinks=True)
    builds = {"lean": lean}
    if "full" in variants:
        progress("the full layer (every SDK model, nothing stripped)")
        builds["full"] = full_layer_build(lean, work / "full", architecture)
    return {variant: builds[variant] for variant in variants}


def load_average() -> str:
    """The machine's 1, 5 and 15-minute load averages: other jobs share it."""
    source = Path("/proc/loadavg")
    return " ".join(source.read_text().split()[:3]) if source.is_file() else "unknown"


def run_variant(built: Path, work: Path, name: str, *, people: int, sign_ins: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """A fresh emulator, the deploy, the first sign-in and the concurrent phase for one build."""
    numbers = iter(NUMBERS)
    result: dict[str, Any] = {"layer": package_size(built / LAYER_FOLDER), "load_before": load_average()}
    with Emulator(emulator_python(), log_path=work / f"emulator-{name}.log") as emulator:
        progress(f"{name}: sam deploy into the emulator at {emulator.endpoint_url}")
        started = time.monotonic()
        deployment = deploy(emulator, machine_architecture(), overrides=LOAD_OVERRIDES, built=built)
        result["deploy_seconds"] = time.monotonic() - started
        progress(f"{name}: the first sign-in")
        result["first"] = first_sign_in(deployment, next(numbers))
        progress(f"{name}: {people} people signing in {sign_ins} times each")
        result["concurrent"] = concurrent_sign_ins(deployment, list(itertools.islice(numbers, people)), sign_ins)
    result["load_after"] = load_average()
    return result


def run_sandbox_load(
    *, variants: Sequence[str], people: int, sign_ins: int, repeats: int, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Each variant ``repeats`` times, interleaved (lean, full, lean, full...)."""
    if people + 1 > len(NUMBERS):
        raise ValueError(f"at most {len(NUMBERS) - 1} people")
    work = ROOT / ".bench" / "sandbox-load"
    work.mkdir(parents=True, exist_ok=True)
    builds = prepare_builds(work, variants, progress)
    runs = []
    for repeat in range(1, repeats + 1):
        for variant in variants:
            measured = run_variant(builds[variant], work, f"{variant}-{repeat}", people=people, sign_ins=sign_ins, progress=progress)
            runs.append({"variant": variant, "repeat": repeat, **measured})
    return {"overrides": LOAD_OVERRIDES, "deadline_seconds": DEADLINE_SECONDS, "cpus": os.cpu_count(), "runs": runs}


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render_sandbox_load(data: dict[str, Any]) -> str:
    """The table of every run, with the overrides the stack was deployed with."""
    rows = [
        [
            f"{run['variant']} #{run['repeat']}",
            f"{run['layer']['unzipped_bytes'] / 2**20:.1f}",
            _seconds(run["deploy_seconds"]),
            _seconds(run["first"]["total_seconds"]) + ("" if run["first"]["completed"] else " (failed)"),
            f"{run['concurrent']['completed']}/{run['concurrent']['planned']}",
            _seconds(run["concurrent"]["first_answer"]["p50"]),
            _seconds(run["concurrent"]["first_answer"]["max"]),
            _seconds(run["concurrent"]["first_wave"]["max"]),
            _seconds(run["concurrent"]["sign_in"]["p50"]),
            _seconds(run["concurrent"]["sign_in"]["max"]),
            f"{run['load_before']} -> {run['load_after']}",
        ]
        for run in data["runs"]
    ]
    overrides = " ".join(f"{name}={value}" for name, value in data["overrides"].items())
    text = table(
        f"The sandbox in the emulator: first sign-in, then people at once (completed: tokens within {data['deadline_seconds']:.0f} s)",
        [
            "layer",
            "MiB",
            "deploy s",
            "first sign-in s",
            "completed",
            "1st answer p50",
            "max",
            "1st wave max",
            "sign-in p50",
            "max",
            "load average",
        ],
        rows,
    )
    return text + f"   Deployed with {overrides} on top of samconfig.toml's [sandbox] (the sandbox's limits would refuse the load).\n"
