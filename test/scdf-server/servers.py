"""What the real-server suite sets up: the jars, the images, scratch databases, running servers.

- ``maven_jar`` builds a Maven module of this folder once and caches its jar under
  ``.cache/scdf-server/`` keyed by a hash of the module's files: ``server/`` (a Spring Boot 2.7.18
  app with ``@EnableDataFlowServer``, dependencies from Maven Central) and ``timestamp/`` (the
  timestamp task of ``composed-sequence.shell``, written here: SCDF's sample is on Docker Hub).
- ``build_image`` and ``timestamp_image`` build real images with podman (set up by
  scripts/setup-containers.sh, with stand-in bases made by debootstrap): the generated project's
  own Dockerfile, and the timestamp jar on Debian's JRE.
- ``ScratchDatabase`` creates a database and a login of its own on a running PostgreSQL or MariaDB
  server (as root, through the servers' own admin clients) and drops both afterwards. The
  login's password is full of characters that break hand-built URLs.
- ``DataFlowServer`` starts the jar on loopback, tasks on and streams and schedules off, against
  that database (SCDF's own Flyway migrations create the schema), with ``docker/docker`` first on
  its PATH (it logs SCDF's argv and runs podman) and the local platform's containers on the host
  network, and stops it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SERVER_MODULE = HERE / "server"
TIMESTAMP_MODULE = HERE / "timestamp"
DOCKER_DIR = HERE / "docker"
CACHE = ROOT / ".cache" / "scdf-server"

# The Composed Task Runner image SCDF hands to the local deployer for a composed launch. It is not
# on Maven Central nor reachable on Docker Hub: podman refuses to run it (exit 125), and the tests
# start the steps as the runner would.
CTR_IMAGE = "springcloud/spring-cloud-dataflow-composed-task-runner:2.11.5"
# The name composed-sequence.shell registers the timestamp app under.
TIMESTAMP_IMAGE = "springcloudtask/timestamp-task:2.0.2"
PODMAN = shutil.which("podman") or "/usr/bin/podman"
LOCAL_ACCOUNT = "spring.cloud.dataflow.task.platform.local.accounts.default"
# Where a task container launched with the volume-mounts deployer property sees
# DataFlowServer.shared.
SHARED_MOUNT = "/shared"

# '@ : / % # ? & = ; { }' each break a URL, a JDBC property list or an argv split built by hand;
# '%25' turns into '%' when a value is URL-decoded once too often (as .ci/provision-databases.sh).
PASSWORD_CHARACTERS = "@:/%25#?&=;{}"


def _module_hash(module: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in module.rglob("*") if p.is_file() and "target" not in p.parts):
        digest.update(str(path.relative_to(module)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def server_jar() -> Path:
    """The server's executable jar."""
    return maven_jar(SERVER_MODULE, "scdf-test-server")


def maven_jar(module: Path, name: str) -> Path:
    """A module's executable jar (its finalName is ``name``), built with Maven in a scratch copy
    unless cached."""
    jar = CACHE / f"{name}-{_module_hash(module)}.jar"
    if jar.exists():
        return jar
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{name}-build-") as build:
        shutil.copytree(module, build, dirs_exist_ok=True, ignore=shutil.ignore_patterns("target"))
        result = subprocess.run(
            ["mvn", "-B", "-q", "-DskipTests", "package"],
            cwd=build,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"mvn package of {module} failed ({result.returncode}):\n"
                f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
            )
        built = Path(build) / "target" / f"{name}.jar"
        partial = jar.with_suffix(".partial")
        shutil.copyfile(built, partial)
        partial.replace(jar)
    return jar


# --- images ----------------------------------------------------------------------------------


def podman(*args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        [PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def build_image(context: Path, tag: str) -> None:
    """``docker build -t TAG CONTEXT`` as a user runs it, plus only what this machine needs to
    reach PyPI: the host network and its CA bundle for pip, mounted, never baked in."""
    ca = os.environ.get("SCDF_TEST_BUILD_CA", "/etc/ssl/certs/ca-certificates.crt")
    pip_conf = os.environ.get("SCDF_TEST_BUILD_PIP_CONF", "")
    if not pip_conf:
        raise AssertionError("SCDF_TEST_BUILD_PIP_CONF not set: run scripts/setup-containers.sh")
    mounts = ["-v", f"{ca}:{ca}:ro", "-v", f"{pip_conf}:/etc/pip.conf:ro"]
    podman("build", "--network=host", *mounts, "-t", tag, str(context))


def timestamp_image() -> str:
    """The timestamp app's image under the name the shell file registers, built unless the image
    there already holds this jar (a label carries the jar's name, which carries its hash)."""
    jar = maven_jar(TIMESTAMP_MODULE, "timestamp-task")
    label = "scdf-task-test.jar"
    with contextlib.suppress(AssertionError):
        held = podman("image", "inspect", "--format", f"{{{{ index .Labels \"{label}\" }}}}",
                      TIMESTAMP_IMAGE)  # fmt: skip
        if held.strip() == jar.name:
            return TIMESTAMP_IMAGE
    base = os.environ.get("SCDF_TEST_JRE_BASE", "")
    if not base:
        raise AssertionError("SCDF_TEST_JRE_BASE not set: run bash scripts/setup-containers.sh")
    with tempfile.TemporaryDirectory(prefix="timestamp-image-") as context:
        shutil.copyfile(jar, Path(context) / "app.jar")
        (Path(context) / "Dockerfile").write_text(
            f"FROM {base}\nCOPY app.jar /app.jar\nLABEL {label}={jar.name}\n"
            'USER 10001:10001\nENTRYPOINT ["java", "-jar", "/app.jar"]\n',
            encoding="utf-8",
        )
        podman("build", "-t", TIMESTAMP_IMAGE, context)
    return TIMESTAMP_IMAGE


# --- scratch databases ------------------------------------------------------------------------


@dataclass
class ScratchDatabase:
    kind: str  # "mariadb" | "postgresql"
    host: str
    port: int
    name: str = field(default_factory=lambda: f"scdf_server_{secrets.token_hex(4)}")
    # repr=False: test reports print fixtures, and the password must not show in them.
    password: str = field(
        default_factory=lambda: f"Df{secrets.token_hex(3)}{PASSWORD_CHARACTERS}x", repr=False
    )

    @property
    def user(self) -> str:
        return self.name

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:{self.kind}://{self.host}:{self.port}/{self.name}"

    @property
    def driver_class(self) -> str:
        return "org.mariadb.jdbc.Driver" if self.kind == "mariadb" else "org.postgresql.Driver"

    def _admin(self, sql: str) -> None:
        # SQL goes in on stdin: the password never shows on a command line.
        if self.kind == "mariadb":
            command = ["mariadb", "-uroot", "--batch"]
        else:
            command = [
                "runuser",
                "-u",
                "postgres",
                "--",
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-p",
                str(self.port),
                "-d",
                "postgres",
            ]
        result = subprocess.run(command, input=sql, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise AssertionError(f"{self.kind} admin SQL failed: {result.stderr.strip()}")

    def create(self) -> None:
        # Neither name nor password holds a quote or a backslash: plain literals are safe.
        if self.kind == "mariadb":
            self._admin(
                f"CREATE DATABASE `{self.name}`;\n"
                f"CREATE USER '{self.user}'@'%' IDENTIFIED BY '{self.password}';\n"
                f"CREATE USER '{self.user}'@'localhost' IDENTIFIED BY '{self.password}';\n"
                f"GRANT ALL ON `{self.name}`.* TO '{self.user}'@'%', '{self.user}'@'localhost';\n"
            )
        else:
            self._admin(
                f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}';\n"
                f"CREATE DATABASE {self.name} OWNER {self.user};\n"
            )

    def drop(self) -> None:
        if self.kind == "mariadb":
            self._admin(
                f"DROP DATABASE IF EXISTS `{self.name}`;\n"
                f"DROP USER IF EXISTS '{self.user}'@'%', '{self.user}'@'localhost';\n"
            )
        else:
            self._admin(
                f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE);\n"
                f"DROP ROLE IF EXISTS {self.user};\n"
            )

    def engine(self) -> Engine:
        """The scratch login's own connection, to read the raw rows."""
        driver = "mysql+pymysql" if self.kind == "mariadb" else "postgresql+psycopg"
        url = URL.create(driver, self.user, self.password, self.host, self.port, self.name)
        return create_engine(url, poolclass=NullPool)


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows as dicts with upper-case column names (PostgreSQL answers in lower case)."""
    with engine.connect() as connection:
        result = connection.execute(text(sql), params)
        return [{k.upper(): v for k, v in row._mapping.items()} for row in result]


# --- the server -------------------------------------------------------------------------------


@dataclass
class DataFlowServer:
    jar: Path
    database: ScratchDatabase
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    @property
    def docker_log(self) -> Path:
        return self.workdir / "docker-argv.jsonl"

    @property
    def shared(self) -> Path:
        """A host folder a task container can mount at SHARED_MOUNT, for files a task writes."""
        return self.workdir / "shared"

    @property
    def task_dirs(self) -> Path:
        """Where the local deployer puts each launch's stdout.log and stderr.log."""
        return self.workdir / "tmp"

    def start(self, timeout: float = 240) -> None:
        self.task_dirs.mkdir(parents=True, exist_ok=True)
        self.shared.mkdir(exist_ok=True)
        self.shared.chmod(0o777)
        env = {
            **os.environ,
            "PATH": f"{DOCKER_DIR}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "TZ": "UTC",
            "SCDF_TEST_DOCKER_LOG": str(self.docker_log),
            # In the environment, not on the command line that `ps` shows.
            "SPRING_DATASOURCE_PASSWORD": self.database.password,
        }
        command = [
            "java", "-Xmx1g", f"-Djava.io.tmpdir={self.task_dirs}", "-jar", str(self.jar),
            "--server.address=127.0.0.1", f"--server.port={self.port}",
            f"--spring.datasource.url={self.database.jdbc_url}",
            f"--spring.datasource.username={self.database.user}",
            f"--spring.datasource.driver-class-name={self.database.driver_class}",
            "--spring.cloud.dataflow.features.tasks-enabled=true",
            "--spring.cloud.dataflow.features.streams-enabled=false",
            "--spring.cloud.dataflow.features.schedules-enabled=false",
            f"--spring.cloud.dataflow.task.composed-task-runner.uri=docker:{CTR_IMAGE}",
            # The task reaches the database on 127.0.0.1 only from the host's network (the local
            # deployer's default is a bridge network). The platform account's own property: the
            # plain spring.cloud.deployer.local.docker.network does not reach task launches.
            f"--{LOCAL_ACCOUNT}.docker.network=host",
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise AssertionError(
                    f"SCDF server exited with {code} while starting:\n{self.log_tail()}"
                )
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/about", timeout=5) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(1)
        self.stop()
        raise AssertionError(f"SCDF server not up after {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = 80) -> str:
        text_ = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text_.splitlines()[-lines:]).replace(self.database.password, "<password>")

    def docker_runs(self) -> list[list[str]]:
        """argv of every `docker` the server ran, in order (written by the stand-in)."""
        if not self.docker_log.exists():
            return []
        lines = self.docker_log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["argv"] for line in lines]

    def task_outputs(self) -> dict[Path, str]:
        """stdout.log and stderr.log of every launch the local deployer still keeps."""
        return {
            path: path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(self.task_dirs.rglob("std*.log"))
        }


def docker_run_env(argv: list[str]) -> dict[str, str]:
    """The `-e NAME=value` settings of one `docker run` argv."""
    return dict(argv[i + 1].partition("=")[::2] for i, word in enumerate(argv[:-1]) if word == "-e")


def docker_run_image(argv: list[str]) -> tuple[str, list[str]]:
    """The image of one `docker run` argv and the arguments after it."""
    i = 1
    while argv[i].startswith("-"):
        i += 1 if argv[i] == "--rm" else 2
    return argv[i], argv[i + 1 :]


@contextlib.contextmanager
def running_server(server: DataFlowServer) -> Iterator[DataFlowServer]:
    try:  # start() inside: a server interrupted while starting is stopped too
        server.start()
        yield server
    finally:
        server.stop()
