"""podman, as the image suite uses it: build a generated project's image, run it as a deployer does.

No Docker daemon runs here; podman (runc, settings in CONTAINERS_CONF) builds and runs the images,
and Docker Hub cannot be reached, so the Dockerfile's ``FROM python:3.13-slim-trixie`` is a stand-in
base made with debootstrap (scripts/setup-containers.sh). Containers use the host's network, as
SCDF's local deployer does when told to (``docker.network=host``), to reach the databases on
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from harness import RUN_TIMEOUT_S, Outcome

BUILD_TIMEOUT_S = 600.0
PODMAN = shutil.which("podman") or "/usr/bin/podman"


def engine_env() -> dict[str, str]:
    return dict(os.environ)


def podman(
    *args: str, timeout: float = 120.0, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [PODMAN, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=engine_env(),
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def build(context: str, tag: str) -> None:
    """``docker build -t TAG .`` as a user runs it, plus only what this machine needs to reach
    PyPI: the host network and its CA bundle for pip, mounted for the build, never baked in."""
    ca = os.environ.get("SCDF_TEST_BUILD_CA", "/etc/ssl/certs/ca-certificates.crt")
    pip_conf = os.environ.get("SCDF_TEST_BUILD_PIP_CONF", "")
    if not pip_conf:
        raise AssertionError(
            "SCDF_TEST_BUILD_PIP_CONF not set: run the suite with test/image/run.sh"
        )
    podman(
        "build",
        "--network=host",
        "-v",
        f"{ca}:{ca}:ro",
        "-v",
        f"{pip_conf}:/etc/pip.conf:ro",
        "-t",
        tag,
        context,
        timeout=BUILD_TIMEOUT_S,
    )


@dataclass
class Container:
    """One ``docker run`` of the image, in the foreground, as the local deployer runs it."""

    proc: subprocess.Popen[str]
    name: str
    argv: list[str]
    started_at: float
    outcome: Outcome | None = field(default=None)

    def wait(self, timeout: float = RUN_TIMEOUT_S) -> Outcome:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            podman("kill", self.name, check=False)
            out, err = self.proc.communicate()
            raise AssertionError(f"container still running after {timeout:.0f} s:\n{err}") from None
        self.outcome = Outcome(
            self.proc.returncode, out, err, time.monotonic() - self.started_at, self.argv
        )
        return self.outcome

    def running(self) -> bool:
        state = podman("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return state.stdout.strip() == "true"

    def stop(self, grace: int) -> float:
        """``docker stop -t GRACE``: SIGTERM to PID 1, SIGKILL after the grace. Seconds taken."""
        begun = time.monotonic()
        podman("stop", "-t", str(grace), self.name, timeout=grace + 30)
        return time.monotonic() - begun

    def kill(self, signal_name: str) -> None:
        podman("kill", "-s", signal_name, self.name)

    def exec(self, *command: str) -> str:
        return podman("exec", self.name, *command).stdout


@contextlib.contextmanager
def run(
    image: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    options: Sequence[str] = (),
) -> Iterator[Container]:
    """Start the image with ``argv`` after its entry point and ``env`` in its environment.

    Each variable is passed as ``-e NAME`` with its value in podman's own environment, as the
    Docker CLI takes it, so that no value (the password among them) is on a command line.
    """
    name = f"scdf-image-test-{secrets.token_hex(4)}"
    command = [PODMAN, "run", "--rm", "--network=host", "--name", name, *options]
    for key in env:
        command += ["-e", key]
    command += [image, *argv]
    proc = subprocess.Popen(
        command,
        env={**engine_env(), **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    container = Container(proc, name, list(argv), time.monotonic())
    try:
        yield container
    finally:
        if proc.poll() is None:
            podman("kill", name, check=False)
            proc.communicate()
