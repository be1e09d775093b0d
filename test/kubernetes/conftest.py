"""Fixtures of the Kubernetes suite: the generated image in a real single-node cluster, and a
real SCDF 2.11.5 server with a Kubernetes platform account on it. One server, image and scratch
database per database, set up in parallel; the scenarios run on MariaDB, then on PostgreSQL.

The cluster is scripts/setup-kubernetes.sh's (test/kubernetes/run.sh starts it when it is not
running), read from the variables of .cache/kubernetes/env; both servers launch into its
namespace with its service account ``scdf`` (scripts/kubernetes/scdf-rbac.yaml), never as admin.
Database servers come from SCDF_TEST_MARIADB_HOST/PORT and SCDF_TEST_PG_HOST/PORT
(.cache/databases.env); the suite makes a scratch database and login on each, as root. podman's
settings come from .cache/containers.env (scripts/setup-containers.sh). Without a cluster, a
database server, Java, Maven, podman or root the scenarios skip, unless CI=true or
SCDF_TEST_REQUIRE_DATABASES=1: then they fail.

The server jar, the scratch databases and the Scdf REST client are the real-server suite's
(test/scdf-server); the server's platform differs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
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

from kube import CACHE, Kube, PodWatch
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
SETUP = ROOT / "scripts" / "setup-kubernetes.sh"
PLATFORM = "kubernetes"
EVIDENCE = CACHE / "evidence"
# The generated image's Python: the one the stand-in base image has.
PYTHON_VERSION = "3.13"
# The schedule the CronJob controller fires on its own clock, one a minute (see clock_schedule).
EVERY_MINUTE = "* * * * *"
CLOCK_GRACE = 20
# The secret a launch names in the generated docs/kubernetes.md. It stays until the end: SCDF
# launches later with the same secretKeyRefs unless told otherwise.
LAUNCH_SECRET = "task-db-login"


def required() -> bool:
    return (
        os.environ.get("SCDF_TEST_REQUIRE_DATABASES", "") == "1"
        or os.environ.get("CI", "").lower() == "true"
    )


def unavailable(reason: str) -> None:
    if required():
        pytest.fail(f"{reason}, but the Kubernetes tests are required here", pytrace=False)
    pytest.skip(reason)


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
    # The same image behind a shell-form entry point (see shell_form_image).
    shell_form_image: str

    @property
    def shell_form_task(self) -> str:
        return f"{self.task_name}-shellform"


def podman_build(context: Path, tag: str, what: str) -> None:
    # FROM python:3.13-slim-trixie resolves to the stand-in base scripts/setup-containers.sh
    # made with debootstrap (no Docker Hub here), not the official image.
    ca = os.environ["SCDF_TEST_BUILD_CA"]
    run(
        [
            *("podman", "build", "--network=host", "-q"),
            *("-v", f"{ca}:{ca}:ro"),
            *("-v", f"{os.environ['SCDF_TEST_BUILD_PIP_CONF']}:/etc/pip.conf:ro"),
            *("-t", tag, str(context)),
        ],
        what,
    )


def shell_form_image(image: str, derived: str) -> None:
    """``image`` started the way a shell-form ENTRYPOINT starts it, as ``derived``: a shell as
    PID 1 that runs python as its child. PID 1 without a handler never gets SIGTERM, and the
    child is not sent it: the task cannot see a stop, and the kubelet kills it at the grace. The
    generated Dockerfile's exec form is what prevents this; the image shows what happens
    without it."""
    with tempfile.TemporaryDirectory(prefix="shellform-") as context:
        (Path(context) / "Dockerfile").write_text(
            f"FROM {image}\n"
            # `; exit` keeps the shell from exec-ing python as its last command.
            'ENTRYPOINT ["/bin/sh", "-c", "python /app/python_task.py \\"$@\\"; exit $?", "sh"]\n',
            encoding="utf-8",
        )
        podman_build(Path(context), derived, f"podman build of {derived}")


def generate(kind: str, parent: Path) -> Project:
    """A generated project, and the names of its images (built by build_and_import)."""
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
    repository, tag = image.rsplit(":", 1)
    return Project(directory, name, image, f"{repository}-shellform:{tag}")


def build_and_import(project: Project) -> None:
    """The project's image, built with podman from its own Dockerfile, and its shell-form
    variant, both imported into the cluster's containerd (nothing is pulled there)."""
    podman_build(project.directory, project.image, f"podman build of {project.task_name}")
    shell_form_image(project.image, project.shell_form_image)
    run(
        ["bash", str(SETUP), "import-image", project.image, project.shell_form_image],
        f"importing {project.image} into containerd",
    )


@dataclass
class KubernetesDataFlowServer:
    """SCDF 2.11.5 with one Kubernetes platform account, ``kubernetes``, on the cluster."""

    jar: Path
    database: ScratchDatabase
    port: int
    kube: Kube
    token: str
    db_secret: str
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
                ("secretName", self.db_secret),
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
            # SCDF outside the cluster, as the generated docs/kubernetes.md tells: the API, its
            # CA, the namespace; the service account's token is in the environment (start()).
            f"{account}.fabric8.masterUrl={self.kube.api_url}",
            f"{account}.fabric8.caCertFile={self.kube.ca_file}",
            f"{account}.namespace={self.kube.namespace}",
            # This cluster has no pod network (no CNI, no kube-proxy): pods reach the database
            # servers on the host's loopback.
            f"{account}.hostNetwork=true",
            *(f"{key}={value}" for key, value in refs),
        ]

    def start(self, timeout: float = 240) -> None:
        account = f"spring.cloud.dataflow.task.platform.kubernetes.accounts.{PLATFORM}"
        env = {
            # The admin kubeconfig of the tests' environment would otherwise be what fabric8's
            # Config.autoConfigure reads first: SCDF gets only its service account's token.
            **{k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "HOME")},
            "HOME": str(self.workdir),
            "TZ": "UTC",
            # In the environment, not on the command line that `ps` shows.
            "SPRING_DATASOURCE_PASSWORD": self.database.password,
            "SPRING_APPLICATION_JSON": json.dumps({f"{account}.fabric8.oauthToken": self.token}),
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
        tail = "\n".join(text.splitlines()[-lines:])
        return tail.replace(self.database.password, "<password>").replace(self.token, "<token>")


@dataclass(frozen=True)
class ClockSchedule:
    """A schedule made at set-up for the CronJob controller to fire on its own clock (the first
    run starts at the next full minute): its name, and when it was made."""

    name: str
    made: float  # time.monotonic()


@dataclass(frozen=True)
class Cluster:
    kind: str
    server: KubernetesDataFlowServer
    scdf: Scdf
    kube: Kube
    pods: PodWatch
    project: Project
    database: ScratchDatabase
    engine: Engine
    clock: ClockSchedule
    since: float  # time.time() at set-up: where this cluster's audit records start
    # The CronJobs SCDF made, as stored when made (unscheduled ones are gone by the end).
    cronjobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return self.project.task_name


def schedule(
    c: Cluster,
    name: str,
    arguments: str,
    *given: str,
    expression: str = "0 2 * * *",
    **props: str,
) -> dict[str, Any]:
    """`task schedule create` (SchedulerTemplate.schedule: --expression becomes the property
    scheduler.cron.expression); the CronJob it made, as the API server stored it."""
    pairs = [f"scheduler.cron.expression={expression}", *given]
    pairs += [f"{k}={v}" for k, v in props.items()]
    form = {
        "scheduleName": name,
        "taskDefinitionName": c.task,
        "properties": ",".join(pairs),
        "arguments": arguments,
        "platform": PLATFORM,
    }
    c.scdf.request("POST", "/tasks/schedules", form)
    cronjob: dict[str, Any] = c.kube.request("GET", c.kube.batch(f"cronjobs/{name}"))
    c.cronjobs[name] = cronjob
    return cronjob


def clock_properties(project: Project, name: str) -> list[str]:
    """The clock schedule's properties: the generated docs/kubernetes.md's schedule properties
    for a schedule called ``name`` (labelled and named after itself so that SCDF can stop it,
    Forbid), plus single instance and a grace."""
    guide = (project.directory / "docs" / "kubernetes.md").read_text()
    [line] = [x for x in guide.splitlines() if x.startswith("task schedule create ")]
    options = shell_options(shell_words(line))
    given, nightly = options["properties"], options["name"]
    assert isinstance(given, str), line
    assert isinstance(nightly, str), line
    task = project.task_name
    return [
        given.replace(nightly, name),
        f"app.{task}.spring.cloud.task.single-instance-enabled=true",
        f"deployer.{task}.kubernetes.terminationGracePeriodSeconds={CLOCK_GRACE}",
    ]


def save_evidence(c: Cluster) -> Path:
    """Every pod, Job and CronJob of the task as the cluster held them (what SCDF's deployer
    created, with the API server's defaults), one file each; deleted pods as last seen. And the
    server's log, the password and the token masked."""
    target = EVIDENCE / c.kind
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    found: dict[str, dict[str, Any]] = {}
    for run in c.pods.runs.values():
        found[f"Pod-{run.name}"] = run.pod
    for name, cronjob in c.cronjobs.items():
        found[f"CronJob-{name}"] = cronjob
    with contextlib.suppress(AssertionError, OSError):
        for kind, path in (("Job", c.kube.batch("jobs")), ("CronJob", c.kube.batch("cronjobs"))):
            for item in c.kube.items(path):
                if item["metadata"]["name"].startswith(f"{c.task}-"):
                    found[f"{kind}-{item['metadata']['name']}"] = item
    (target / "server.log").write_text(c.server.log_tail(lines=1_000_000) + "\n")
    for name, body in sorted(found.items()):
        body["metadata"].pop("managedFields", None)  # the API server's bookkeeping
        (target / f"{name}.json").write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    return target


def remove_leftovers(c: Cluster) -> None:
    """The task's CronJobs, Jobs and pods, gone at once (no grace), and the per-launch secret:
    the next run starts clean."""
    c.kube.delete(c.kube.core(f"secrets/{LAUNCH_SECRET}"))
    for path in (c.kube.batch("cronjobs"), c.kube.batch("jobs"), c.kube.core("pods")):
        with contextlib.suppress(AssertionError, OSError):
            for item in c.kube.items(path):
                name = item["metadata"]["name"]
                if name.startswith(f"{c.task}-"):
                    c.kube.delete(
                        f"{path}/{name}", propagationPolicy="Background", gracePeriodSeconds="0"
                    )


@pytest.fixture(scope="session")
def jar() -> Path:
    missing = [tool for tool in ("java", "mvn", "podman") if shutil.which(tool) is None]
    if missing:
        unavailable(f"{' and '.join(missing)} not installed")
    if "SCDF_TEST_BUILD_PIP_CONF" not in os.environ:
        unavailable("no container settings: run scripts/setup-containers.sh (as root)")
    if "SCDF_TEST_K8S_API_URL" not in os.environ:
        unavailable("no Kubernetes cluster: run the suite through test/kubernetes/run.sh")
    return server_jar()


def missing(kind: str) -> str | None:
    """Why ``kind``'s cluster cannot be set up here, or None."""
    prefix = SETTINGS[kind][0]
    if not os.environ.get(f"{prefix}_HOST", ""):
        return f"{kind}: no database server configured ({prefix}_HOST unset)"
    if os.geteuid() != 0:
        return f"{kind}: a scratch database, podman and the cluster need root"
    return None


def bring_up(kind: str, jar: Path, work: Path, stack: ExitStack) -> Cluster:
    """Image, scratch database, secret, pod watch, server and clock schedule of one database;
    each registered on ``stack`` to be stopped or removed, in reverse order, when it closes."""
    prefix, default_port, scdf_port = SETTINGS[kind]
    host = os.environ[f"{prefix}_HOST"]
    since = time.time()
    kube = Kube.from_env()
    project = generate(kind, work)
    # The images build while the server starts: the server needs them only for launches.
    builder = ThreadPoolExecutor(1, thread_name_prefix=f"images-{kind}")
    images = builder.submit(build_and_import, project)
    builder.shutdown(wait=False)
    stack.callback(images.exception)  # closing waits for it, however it ends
    database = ScratchDatabase(kind, host, int(os.environ.get(f"{prefix}_PORT") or default_port))
    database.create()
    stack.callback(database.drop)
    engine = database.engine()
    stack.callback(engine.dispose)
    db_secret = f"scdf-db-{kind}"
    kube.put_secret(db_secret, {"username": database.user, "password": database.password})
    stack.callback(kube.delete, kube.core(f"secrets/{db_secret}"))
    pods = PodWatch(kube, f"{project.task_name}-")
    pods.start()
    stack.callback(pods.stop)
    token = Path(os.environ["SCDF_TEST_K8S_TOKEN_FILE"]).read_text().strip()
    server = KubernetesDataFlowServer(jar, database, scdf_port, kube, token, db_secret, work)
    stack.callback(server.stop)
    server.start()
    scdf = Scdf(server.url)
    ShellFile(project.directory / "scdf" / "register.shell").run(scdf)
    shell_form = project.shell_form_task
    scdf.request(
        "POST",
        f"/apps/task/{shell_form}",
        {"uri": f"docker:{project.shell_form_image}", "force": "true"},
    )
    scdf.request("POST", "/tasks/definitions", {"name": shell_form, "definition": shell_form})
    images.result()
    clock_name = f"{project.task_name}-minute"
    cluster = Cluster(
        kind,
        server,
        scdf,
        kube,
        pods,
        project,
        database,
        engine,
        ClockSchedule(clock_name, time.monotonic()),
        since,
    )
    # Closed first: what SCDF made, saved before it is removed, also when a scenario failed.
    stack.callback(remove_leftovers, cluster)
    stack.callback(save_evidence, cluster)
    # Made now, so that the minute it waits for passes while the other scenarios run.
    schedule(
        cluster,
        clock_name,
        "--work.seconds=600",
        *clock_properties(project, clock_name),
        expression=EVERY_MINUTE,
    )
    return cluster


@dataclass
class Clusters:
    """The clusters of the session, each set up in a thread of its own: the next database's
    server starts (a minute or two of JVM start-up and migrations) while the scenarios of the
    current one run."""

    jar: Path
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
                return bring_up(kind, self.jar, work, stack)
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
def clusters(jar: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clusters]:
    if not BIN.exists():
        pytest.fail(f"{BIN} missing: run the suite through test/kubernetes/run.sh", pytrace=False)
    every = Clusters(jar, tmp_path_factory)
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
    terminalreporter.section("SCDF 2.11.5 on a real single-node Kubernetes 1.34: per database")
    for kind, seen in _outcomes.items():
        counts = {o: list(seen.values()).count(o) for o in ("passed", "failed", "skipped")}
        terminalreporter.write_line(
            f"kubernetes {kind}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped"
        )
