"""Fixtures of the fault suite: real servers, a Toxiproxy proxy in front of each, the projects.

Every scenario runs against PostgreSQL and MariaDB (the session-scoped ``backend`` fixture); the
servers come from SCDF_TEST_PG_* / SCDF_TEST_MARIADB_* (.ci/provision-databases.sh writes them)
and are required: a fault suite with no server has nothing to show, so it fails, never skips.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import (
    Backend,
    MariadbBackend,
    PostgresBackend,
    Project,
    ServerSettings,
    required_server_settings,
)
from toxiproxy import Proxy, Toxiproxy

BACKENDS: dict[str, tuple[type[Backend], str, int]] = {
    "postgresql": (PostgresBackend, "SCDF_TEST_PG", 5432),
    "mariadb": (MariadbBackend, "SCDF_TEST_MARIADB", 3306),
}

# A task body that leaves with the exit code it is given, through the generated run_task.
EXIT_CODE_TASK = '''"""Exits with --exit.code through the generated lifecycle."""
import sys

from util.task_lifecycle import TaskContext, run_task


def task(context: TaskContext) -> None:
    sys.exit(int(context.get("exit.code") or "0"))


if __name__ == "__main__":
    run_task(task)
'''


def server_settings(name: str) -> ServerSettings:
    prefix, default_port = BACKENDS[name][1:]
    return required_server_settings(prefix, default_port, f"{name}: the fault suite")


def open_backend(name: str, kind: type[Backend] | None = None) -> Backend:
    """A scratch database with both table generations on server `name`; close() drops it."""
    backend = (kind or BACKENDS[name][0])(server_settings(name))  # type: ignore[call-arg]
    backend.open()
    return backend


@pytest.fixture(scope="session")
def toxiproxy() -> Toxiproxy:
    url = os.environ.get("SCDF_FAULTS_TOXIPROXY")
    if not url:
        pytest.fail("SCDF_FAULTS_TOXIPROXY is not set: run the suite with test/faults/run.sh")
    api = Toxiproxy(url)
    api.call("GET", "/proxies")  # answers, and is the API we expect
    return api


@pytest.fixture(scope="session", params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    instance = open_backend(request.param)
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def projects() -> Path:
    root = os.environ.get("SCDF_FAULTS_PROJECTS")
    if not root:
        pytest.fail("SCDF_FAULTS_PROJECTS is not set: run the suite with test/faults/run.sh")
    return Path(root)


@pytest.fixture
def project(projects: Path, backend: Backend) -> Project:
    directory = (projects / backend.name).resolve()
    (directory / "exit_code_task.py").write_text(EXIT_CODE_TASK, encoding="utf-8")
    return Project(directory, directory / ".venv" / "bin" / "python")


@pytest.fixture
def proxy(
    toxiproxy: Toxiproxy, backend: Backend, request: pytest.FixtureRequest
) -> Iterator[Proxy]:
    settings: ServerSettings = backend.settings  # type: ignore[attr-defined]
    name = f"faults-{os.getpid()}-{request.node.name}"[:120]
    with toxiproxy.proxy(name, f"{settings.host}:{settings.port}") as created:
        yield created


# --- one summary line per database ------------------------------------------------------------

_RESULTS: dict[str, Counter[str]] = defaultdict(Counter)


def _database_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    return str(params.get("backend") or params.get("server") or "-")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _RESULTS[_database_of(item)][report.outcome] += 1
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.section("fault suite, per database")
    for name in sorted(_RESULTS):
        counts = _RESULTS[name]
        line = ", ".join(f"{counts[k]} {k}" for k in ("passed", "failed", "skipped") if counts[k])
        terminalreporter.write_line(f"{name}: {line}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Nothing here may skip: a skipped fault case is a fault case not shown.
    if any(counts["skipped"] for counts in _RESULTS.values()) and session.exitstatus == 0:
        session.exitstatus = 1
