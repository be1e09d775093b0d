"""Fixtures of the Kubernetes suite: the generated image, a real SCDF 2.11.5 server with a
Kubernetes platform account, the mock Kubernetes API it talks to and the stand-in kubelet that
runs its pods with podman. One of each per database, all set up in parallel; the scenarios run
on MariaDB, then on PostgreSQL.

Database servers come from SCDF_TEST_MARIADB_HOST/PORT and SCDF_TEST_PG_HOST/PORT
(.cache/databases.env); the suite makes a scratch database and login on each, as root. podman's
settings come from .cache/containers.env (scripts/setup-containers.sh). Without a database
server, Java, Maven, podman or root the scenarios skip, unless CI=true or
SCDF_TEST_REQUIRE_DATABASES=1: then they fail.

The server jar, the scratch databases and the Scdf REST client are the real-server suite's
(test/scdf-server); the server's platform differs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from cluster import CACHE, FABRIC8, Kubelet, MockApi, mock_api_jar
from scdf_rest import Scdf, ShellFile, shell_options, shell_words
from servers import ROOT, ScratchDatabase, server_jar

DATABASES = ("mariadb", "postgresql")
# Settings prefix and default port of each database server, and the port of its SCDF server
# (the real-server suite uses 19393/19394).
SETTINGS = {
    "mariadb": ("SCDF_TEST_MARIADB", 3306, 19493),
    "postgresql": ("SCDF_TEST_PG", 5432, 19494),
}
BIN = ROOT / "lib" / "bin" / "create-scdf-task.js"
PLATFORM = "kubernetes"
NAMESPACE = "scdf-tasks"
# Where the platform account's pods take the database login from.
DB_SECRET = "scdf-db"
EVIDENCE = CACHE / "evidence"
# The generated image's Python: the one the stand-in base image has.
PYTHON_VERSION = "3.13"


def required() -> bool:
    return (
        os.environ.get("SCDF_TEST_REQUIRE_DATABASES", "") == "1"
        or os.environ.get("CI", "").lower() == "true"
    )


def unavailable(reason: str) -> None:
    if required():
        pytest.fail(f"{reason}, but the Kubernetes tests are required here", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(command: list[str], what: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise AssertionError(
            f"{what} failed ({result.returncode}):\n"
            f"{result.stdout[-6000:]}\n{result.stderr[-4000:]}"
        )
    return result


@dataclass(frozen=True)
class Project:
    directory: Path
    task_name: str
    image: str


def generate_and_build(kind: str, parent: Path) -> Project:
    """A generated project and its image, built with podman from the project's own Dockerfile."""
    name = f"k8s-{kind}"
    run(
        [
            *("node", str(BIN), name, "--database", kind),
            *("--python-version", PYTHON_VERSION, "--defaults"),
        ],
        f"generating {name}",
        cwd=parent,
    )
    directory = parent / name
    register = ShellFile(directory / "scdf" / "register.shell").commands[0]
    uri = shell_options(shell_words(register))["uri"]
    assert isinstance(uri, str), register
    assert uri.startswith("docker:"), register
    image = uri.removeprefix("docker:")
    # FROM python:3.13-slim-trixie resolves to the stand-in base scripts/setup-containers.sh
    # made with debootstrap (no Docker Hub here), not the official image.
    ca = os.environ["SCDF_TEST_BUILD_CA"]
    run(
        [
            *("podman", "build", "--network=host", "-q"),
            *("-v", f"{ca}:{ca}:ro"),
            *("-v", f"{os.environ['SCDF_TEST_BUILD_PIP_CONF']}:/etc/pip.conf:ro"),
            *("-t", image, str(directory)),
        ],
        f"podman build of {name}",
    )
    return Project(directory, name, image)


@dataclass
class KubernetesDataFlowServer:
    """SCDF 2.11.5 with one Kubernetes platform account, ``kubernetes``, on the mock API."""

    jar: Path
    database: ScratchDatabase
    port: int
    api_url: str
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    def command(self) -> list[str]:
        account = f"--spring.cloud.dataflow.task.platform.kubernetes.accounts.{PLATFORM}"
        refs = [
            (f"{account}.secretKeyRefs[{i}].{key}", value)
            for i, env in enumerate(("SPRING_DATASOURCE_USERNAME", "SPRING_DATASOURCE_PASSWORD"))
            for key, value in (
                ("envVarName", env),
                ("secretName", DB_SECRET),
                ("dataKey", env.rsplit("_", 1)[1].lower()),
            )
        ]
        return [
            *("java", "-Xmx1g", "-jar", str(self.jar)),
            "--server.address=127.0.0.1",
            f"--server.port={self.port}",
            f"--spring.datasource.url={self.database.jdbc_url}",
            f"--spring.datasource.username={self.database.user}",
            f"--spring.datasource.driver-class-name={self.database.driver_class}",
            "--spring.cloud.dataflow.features.tasks-enabled=true",
            "--spring.cloud.dataflow.features.streams-enabled=false",
            "--spring.cloud.dataflow.features.schedules-enabled=true",
            # The login reaches the pods from a Kubernetes secret, never as an argument.
            "--spring.cloud.dataflow.task.use-kubernetes-secrets-for-db-credentials=true",
            f"{account}.fabric8.masterUrl={self.api_url}",
            f"{account}.namespace={NAMESPACE}",
            *(f"{key}={value}" for key, value in refs),
        ]

    def start(self, timeout: float = 240) -> None:
        env = {
            **os.environ,
            "TZ": "UTC",
            # In the environment, not on the command line that `ps` shows.
            "SPRING_DATASOURCE_PASSWORD": self.database.password,
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"SCDF server exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/about", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(1)
        self.stop()
        raise AssertionError(f"SCDF server not up after {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, 15)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()

    def log_tail(self, lines: int = 80) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:]).replace(self.database.password, "<password>")


@dataclass(frozen=True)
class Cluster:
    kind: str
    server: KubernetesDataFlowServer
    scdf: Scdf
    api: MockApi
    kubelet: Kubelet
    project: Project
    database: ScratchDatabase
    engine: Engine

    @property
    def task(self) -> str:
        return self.project.task_name


def save_evidence(kind: str, api: MockApi) -> Path:
    """Every pod, job and CronJob SCDF's deployer created, as it sent them, one file each."""
    target = EVIDENCE / kind
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for n, write in enumerate(api.writes(FABRIC8), 1):
        if write["method"] != "POST" or not write["body"]:
            continue
        body = json.loads(write["body"])
        name = body.get("metadata", {}).get("name", "unnamed")
        path = target / f"{n:03d}-{body.get('kind', 'Object')}-{name}.json"
        path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    return target


@pytest.fixture(scope="session")
def jars() -> tuple[Path, Path]:
    missing = [tool for tool in ("java", "mvn", "podman") if shutil.which(tool) is None]
    if missing:
        unavailable(f"{' and '.join(missing)} not installed")
    if "SCDF_TEST_BUILD_PIP_CONF" not in os.environ:
        unavailable("no container settings: run scripts/setup-containers.sh (as root)")
    return server_jar(), mock_api_jar()


def missing(kind: str) -> str | None:
    """Why ``kind``'s cluster cannot be set up here, or None."""
    prefix = SETTINGS[kind][0]
    if not os.environ.get(f"{prefix}_HOST", ""):
        return f"{kind}: no database server configured ({prefix}_HOST unset)"
    if os.geteuid() != 0:
        return f"{kind}: a scratch database and podman need root"
    return None


def bring_up(kind: str, jars: tuple[Path, Path], work: Path, stack: ExitStack) -> Cluster:
    """Image, scratch database, mock API, kubelet and server of one database; each registered
    on ``stack`` to be stopped or removed, in reverse order, when it closes."""
    prefix, default_port, scdf_port = SETTINGS[kind]
    host = os.environ[f"{prefix}_HOST"]
    project = generate_and_build(kind, work)
    database = ScratchDatabase(kind, host, int(os.environ.get(f"{prefix}_PORT") or default_port))
    database.create()
    stack.callback(database.drop)
    engine = database.engine()
    stack.callback(engine.dispose)
    api = MockApi(jars[1], free_port(), work / "api")
    stack.callback(api.stop)
    api.start()
    # Saved last thing before the API stops: everything SCDF sent, also when a scenario failed.
    stack.callback(save_evidence, kind, api)
    api.create_secret(
        NAMESPACE, DB_SECRET, {"username": database.user, "password": database.password}
    )
    kubelet = Kubelet(api, NAMESPACE)
    stack.callback(kubelet.stop)
    kubelet.start()
    server = KubernetesDataFlowServer(jars[0], database, scdf_port, api.url, work)
    stack.callback(server.stop)
    server.start()
    scdf = Scdf(server.url)
    ShellFile(project.directory / "scdf" / "register.shell").run(scdf)
    return Cluster(kind, server, scdf, api, kubelet, project, database, engine)


@dataclass
class Clusters:
    """The clusters of the session, each set up in a thread of its own: the next database's
    server starts (a minute or two of JVM start-up and migrations) while the scenarios of the
    current one run."""

    jars: tuple[Path, Path]
    factory: pytest.TempPathFactory
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2))
    started: dict[str, tuple[Future[Cluster], ExitStack]] = field(default_factory=dict)

    def start(self, kind: str) -> None:
        if kind in self.started:
            return
        stack = ExitStack()
        work = self.factory.mktemp(kind)

        def up() -> Cluster:
            try:
                return bring_up(kind, self.jars, work, stack)
            except BaseException:
                stack.close()
                raise

        self.started[kind] = (self.pool.submit(up), stack)

    def take(self, kind: str) -> Cluster:
        self.start(kind)
        return self.started[kind][0].result()

    def close(self, kind: str) -> None:
        future, stack = self.started.pop(kind)
        with contextlib.suppress(BaseException):
            future.result()  # its failure was reported where it was taken
        stack.close()

    def close_all(self) -> None:
        for kind in list(self.started):
            self.close(kind)
        self.pool.shutdown()


@pytest.fixture(scope="session")
def clusters(
    jars: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Clusters]:
    if not BIN.exists():
        pytest.fail(f"{BIN} missing: run the suite through test/kubernetes/run.sh", pytrace=False)
    every = Clusters(jars, tmp_path_factory)
    try:
        yield every
    finally:
        every.close_all()


@pytest.fixture(scope="session", params=DATABASES)
def cluster(request: pytest.FixtureRequest, clusters: Clusters) -> Iterator[Cluster]:
    kind: str = request.param
    reason = missing(kind)
    if reason:
        unavailable(reason)
    clusters.start(kind)
    wanted = {
        item.callspec.params["cluster"]
        for item in request.session.items
        if hasattr(item, "callspec") and "cluster" in item.callspec.params
    }
    for later in DATABASES[DATABASES.index(kind) + 1 :]:
        if later in wanted and missing(later) is None:
            clusters.start(later)
    try:
        yield clusters.take(kind)
    finally:
        clusters.close(kind)


def pytest_report_header() -> list[str]:
    return [f"kubernetes suite: python {sys.version.split()[0]}, evidence in {EVIDENCE}"]


# --- per-database summary ---------------------------------------------------------------------

_outcomes: dict[str, dict[str, str]] = {kind: {} for kind in DATABASES}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    kind = next((k for k in DATABASES if report.nodeid.endswith(f"[{k}]")), None)
    if kind is None:
        return
    seen = _outcomes[kind]
    if report.failed:
        seen[report.nodeid] = "failed"
    elif report.skipped and seen.get(report.nodeid) != "failed":
        seen[report.nodeid] = "skipped"
    elif report.when == "call" and report.passed:
        seen.setdefault(report.nodeid, "passed")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.section("SCDF 2.11.5 on Kubernetes (mock API, stand-in kubelet): per database")
    for kind, seen in _outcomes.items():
        counts = {o: list(seen.values()).count(o) for o in ("passed", "failed", "skipped")}
        terminalreporter.write_line(
            f"kubernetes {kind}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped"
        )
