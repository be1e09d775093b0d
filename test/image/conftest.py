"""Fixtures of the image suite: real servers, and the generated image built for each of them.

Every scenario runs against PostgreSQL and MariaDB (the session-scoped ``backend`` fixture, from
SCDF_TEST_PG_* / SCDF_TEST_MARIADB_*, which .ci/provision-databases.sh writes). The image of the
project generated for that database is built once per session with podman, from the generated
Dockerfile as it is. Both servers and the engine are required: missing, they fail the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import build, podman
from harness import (
    Backend,
    MariadbBackend,
    PostgresBackend,
    ServerSettings,
    required_server_settings,
)

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "lib" / "bin" / "create-scdf-task.js"
# The stand-in base (Debian trixie) has Python 3.13: the project's lock is made for it.
PYTHON_VERSION = "3.13"
BACKENDS: dict[str, tuple[type[Backend], str, int]] = {
    "postgresql": (PostgresBackend, "SCDF_TEST_PG", 5432),
    "mariadb": (MariadbBackend, "SCDF_TEST_MARIADB", 3306),
}


def server_settings(name: str) -> ServerSettings:
    prefix, default_port = BACKENDS[name][1:]
    return required_server_settings(prefix, default_port, f"{name}: the image suite")


@pytest.fixture(scope="session", params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    instance = BACKENDS[request.param][0](server_settings(request.param))  # type: ignore[call-arg]
    instance.open()
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def engine_ready() -> None:
    if shutil.which("podman") is None or not os.environ.get("CONTAINERS_CONF"):
        pytest.fail("no podman set up: run the suite with test/image/run.sh", pytrace=False)
    podman("image", "exists", os.environ.get("SCDF_TEST_PYTHON_BASE", "?"))


_images: dict[str, str] = {}


@pytest.fixture
def image(backend: Backend, engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The image of a project generated for the backend's database, built once a session."""
    database = backend.project or backend.name
    if database not in _images:
        work = tmp_path_factory.mktemp(f"image-{database}")
        name = f"image-suite-{database}"
        generated = subprocess.run(
            [
                *("node", str(BIN), name, "--database", database),
                *("--python-version", PYTHON_VERSION, "--defaults"),
            ],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        if generated.returncode != 0:
            raise AssertionError(
                f"generating {name} failed:\n{generated.stdout}\n{generated.stderr}"
            )
        tag = f"localhost/scdf-image-suite/{database}:test"
        build(str(work / name), tag)
        _images[database] = tag
    return _images[database]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for tag in _images.values():
        podman("rmi", "--force", tag, check=False)
    # Nothing here may skip: a skipped image case is a case not shown.
    if any(counts["skipped"] for counts in _RESULTS.values()) and session.exitstatus == 0:
        session.exitstatus = 1


# --- one summary line per database ------------------------------------------------------------

_RESULTS: dict[str, Counter[str]] = defaultdict(Counter)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call" or (report.when == "setup" and not report.passed):
        callspec = getattr(item, "callspec", None)
        name = str((callspec.params if callspec is not None else {}).get("backend", "-"))
        _RESULTS[name][report.outcome] += 1
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.section("image suite (podman, stand-in Python base), per database")
    for name in sorted(_RESULTS):
        counts = _RESULTS[name]
        line = ", ".join(f"{counts[k]} {k}" for k in ("passed", "failed", "skipped") if counts[k])
        terminalreporter.write_line(f"{name}: {line}")
