"""Fixtures of the real-server suite: generated projects, and one SCDF 2.11.5 server per database.

The session-scoped ``deployment`` fixture runs every scenario in test_real_server.py against a
real SCDF server on MariaDB, then against one on PostgreSQL; each server starts once.

Database servers come from SCDF_TEST_MARIADB_HOST/PORT and SCDF_TEST_PG_HOST/PORT (what
.ci/provision-databases.sh writes to .cache/databases.env); the suite makes its own scratch
database and login on each, as root. Without a server, Java, Maven or root the scenarios skip,
unless real servers are required (SCDF_TEST_REQUIRE_DATABASES=1 or CI=true): then they fail, and
so does the session if anything skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from scdf_rest import Scdf, ShellFile, shell_options, shell_words
from servers import (
    ROOT,
    DataFlowServer,
    ScratchDatabase,
    build_image,
    running_server,
    server_jar,
    timestamp_image,
)

DATABASES = ("mariadb", "postgresql")
# Settings prefix and default port of each database server, and the port of its SCDF server.
SETTINGS = {
    "mariadb": ("SCDF_TEST_MARIADB", 3306, 19393),
    "postgresql": ("SCDF_TEST_PG", 5432, 19394),
}
BIN = ROOT / "lib" / "bin" / "create-scdf-task.js"
# The stand-in base image (Debian trixie) has Python 3.13: the project's lock is made for it.
PYTHON_VERSION = "3.13"


def servers_required() -> bool:
    return (
        os.environ.get("SCDF_TEST_REQUIRE_DATABASES", "") == "1"
        or os.environ.get("CI", "").lower() == "true"
    )


def unavailable(reason: str) -> None:
    if servers_required():
        pytest.fail(f"{reason}, but the real-server tests are required here", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Project:
    """A project made by the generator's bin, and its image built with podman."""

    directory: Path
    task_name: str
    image: str

    def file(self, relative: str) -> Path:
        return self.directory / relative


@dataclass(frozen=True)
class Deployment:
    kind: str
    server: DataFlowServer
    scdf: Scdf
    project: Project
    database: ScratchDatabase
    engine: Engine


def _generate(kind: str, parent: Path) -> Project:
    name = f"real-{kind}"
    result = subprocess.run(
        # The project's lock is for its Python version: the one that runs its venv.
        [
            *("node", str(BIN), name, "--database", kind),
            *("--python-version", PYTHON_VERSION, "--defaults"),
        ],
        cwd=parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"generating {name} failed:\n{result.stdout}\n{result.stderr}")
    directory = parent / name
    # The image the generated register.shell registers (docker:<image>).
    register = ShellFile(directory / "scdf" / "register.shell").commands[0]
    uri = shell_options(shell_words(register))["uri"]
    assert isinstance(uri, str), register
    assert uri.startswith("docker:"), register
    image = uri.removeprefix("docker:")
    # The image SCDF will run, built from the generated Dockerfile as the project's README says.
    build_image(directory, image)
    return Project(directory, name, image)


@pytest.fixture(scope="session")
def jar() -> Path:
    missing = [tool for tool in ("java", "mvn", "podman") if shutil.which(tool) is None]
    if missing:
        unavailable(f"{' and '.join(missing)} not installed")
    return server_jar()


@pytest.fixture(scope="session", params=DATABASES)
def deployment(
    request: pytest.FixtureRequest, jar: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    kind: str = request.param
    prefix, default_port, scdf_port = SETTINGS[kind]
    host = os.environ.get(f"{prefix}_HOST", "")
    if not host:
        unavailable(f"{kind}: no database server configured ({prefix}_HOST unset)")
    if os.geteuid() != 0:
        unavailable(f"{kind}: making a scratch database and login needs root")
    if not BIN.exists():
        pytest.fail(f"{BIN} missing: run the suite through test/scdf-server/run.sh", pytrace=False)
    work = tmp_path_factory.mktemp(kind)
    project = _generate(kind, work)
    database = ScratchDatabase(kind, host, int(os.environ.get(f"{prefix}_PORT") or default_port))
    database.create()
    timestamp_image()
    server = DataFlowServer(jar, database, scdf_port, work)
    engine = database.engine()
    try:
        with running_server(server):
            yield Deployment(kind, server, Scdf(server.url), project, database, engine)
    finally:
        engine.dispose()
        database.drop()


# --- per-database summary ---------------------------------------------------------------------

_kind_of: dict[str, str] = {}
_outcome: dict[str, str] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "deployment" in callspec.params:
            _kind_of[item.nodeid] = callspec.params["deployment"]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid not in _kind_of:
        return
    if report.failed:
        _outcome[report.nodeid] = "failed"
    elif report.skipped and _outcome.get(report.nodeid) != "failed":
        _outcome[report.nodeid] = "skipped"
    elif report.when == "call" and report.passed and report.nodeid not in _outcome:
        _outcome[report.nodeid] = "passed"


def _tallies() -> dict[str, Counter[str]]:
    tallies: dict[str, Counter[str]] = {kind: Counter() for kind in DATABASES}
    for nodeid, kind in _kind_of.items():
        tallies[kind][_outcome.get(nodeid, "not run")] += 1
    return tallies


def _problems() -> list[str]:
    if not servers_required() or not _kind_of:
        return []
    problems = []
    for kind, t in _tallies().items():
        if not sum(t.values()):
            problems.append(f"{kind}: no scenario collected")
        elif t["skipped"] or t["not run"]:
            problems.append(f"{kind}: {t['skipped']} skipped, {t['not run']} not run")
    return problems


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _problems() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _kind_of:
        return
    terminalreporter.section("SCDF 2.11.5 server: per database")
    for kind, t in _tallies().items():
        run = t["passed"] + t["failed"]
        terminalreporter.write_line(
            f"scdf-server {kind}: {run} run, {t['passed']} passed, {t['failed']} failed, "
            f"{t['skipped']} skipped (real SCDF 2.11.5 server, local deployer, podman)"
        )
    for problem in _problems():
        terminalreporter.write_line(
            f"scdf-server FAILED: real servers required, but {problem}", red=True
        )
