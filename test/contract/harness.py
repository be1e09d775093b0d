"""A stand-in for Spring Cloud Data Flow, for the contract suite.

It does to a generated task what SCDF does, against a real database: insert the
``<prefix>EXECUTION`` row before launch (START_TIME and EXIT_CODE null, TASK_NAME set), hand the
launch settings over in one of the four ways SCDF's deployers do, write EXTERNAL_EXECUTION_ID
after launch, and read the row back the way ``TaskExecutionResource`` shows it. Nothing here
is copied from SCDF or Spring; the facts come from shared/docs/scdf-task-contract.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import NullPool

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"

GENERATIONS: tuple[str, ...] = ("TASK_", "BOOT3_TASK_")
# Whose DDL made the tables: Spring Cloud Task's own schema files (2.4.x for TASK_, 3.0.x for
# BOOT3_TASK_), or the Flyway migrations of the SCDF 2.11.5 server. They differ in the form of
# `<prefix>SEQ`: on MariaDB, SCDF's TASK_SEQ is a table and its BOOT3_TASK_SEQ a sequence.
SCHEMA_SOURCES: tuple[str, ...] = ("spring-cloud-task", "scdf-2.11.5")
SHAPES: tuple[str, ...] = ("exec", "shell", "boot", "local")
COLUMNS: tuple[str, ...] = (
    "TASK_EXECUTION_ID",
    "START_TIME",
    "END_TIME",
    "TASK_NAME",
    "EXIT_CODE",
    "EXIT_MESSAGE",
    "ERROR_MESSAGE",
    "LAST_UPDATED",
    "EXTERNAL_EXECUTION_ID",
    "PARENT_EXECUTION_ID",
)
TIME_COLUMNS: tuple[str, ...] = ("START_TIME", "END_TIME", "LAST_UPDATED")

Row = dict[str, Any]

# The name SCDF's task definition has; the app is registered under the same name.
TASK_NAME = "contract-task"
# The ids the harness gives the rows it inserts as SCDF: far above those `<prefix>SEQ` hands
# out to scheduled runs in one session, so the two kinds never meet.
SCDF_IDS_FROM = 1_000_001
# How long one launch may take before the harness calls it hung.
RUN_TIMEOUT_S = 60.0


def task_clock() -> datetime:
    """The task's own wall clock: naive local time in the time zone the task runs in.

    Spring Cloud Task writes the JVM's local wall clock, whatever the database server's zone is.
    The task inherits the harness's TZ (``base_environment``), so this is the harness's local
    time. Run the suite under a non-UTC TZ (as CI does) to catch a task that writes UTC or the
    server's time instead.
    """
    return datetime.now()


# --- What SCDF shows ------------------------------------------------------------------------


def scdf_status(row: Mapping[str, Any] | None) -> str:
    """The status SCDF's ``TaskExecutionResource`` derives from a row (contract §3)."""
    if row is None:
        return "MISSING"
    if row["START_TIME"] is None:
        return "UNKNOWN"
    if row["END_TIME"] is None or row["EXIT_CODE"] is None:
        return "RUNNING"
    return "COMPLETE" if row["EXIT_CODE"] == 0 else "ERROR"


# --- Databases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSettings:
    """Where one real server is and how to log in (from SCDF_TEST_<SERVER>_* variables)."""

    host: str
    port: int
    database: str
    user: str
    password: str


def required_server_settings(prefix: str, default_port: int, what: str) -> ServerSettings:
    """A real server's settings from ``<prefix>_HOST``, ``_PORT``, ``_DATABASE``, ``_USER`` and
    ``_PASSWORD``, for a suite that cannot run without it: missing ones fail the test."""
    missing = [k for k in ("HOST", "DATABASE", "USER") if not os.environ.get(f"{prefix}_{k}")]
    if missing:
        import pytest

        pytest.fail(
            f"{', '.join(prefix + '_' + k for k in missing)} not set; {what} needs the real "
            "server (bash .ci/provision-databases.sh writes .cache/databases.env)",
            pytrace=False,
        )
    return ServerSettings(
        host=os.environ[f"{prefix}_HOST"],
        port=int(os.environ.get(f"{prefix}_PORT") or default_port),
        database=os.environ[f"{prefix}_DATABASE"],
        user=os.environ[f"{prefix}_USER"],
        password=os.environ.get(f"{prefix}_PASSWORD", ""),
    )


class Backend:
    """One database the suite runs against: a scratch database (or file) it owns for a session.

    Subclasses differ in the few ways the servers differ: how SQLAlchemy reaches them, the JDBC
    URLs SCDF hands out for them, and whether their time columns keep fractions of a second.
    """

    name: str = ""
    driver_class: str = ""
    project: str = ""  # which generated project (by --database) runs against this backend

    def __init__(self, schema: str = SCHEMA_SOURCES[0]) -> None:
        self.schema = schema
        self.user = "scdf"
        self.password = ""
        self._engine: Engine | None = None

    # per-backend differences
    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def jdbc_url(self, shape: str) -> str:
        """The datasource URL SCDF would hand the task; may vary by launch shape."""
        raise NotImplementedError

    def unreachable_jdbc_url(self, shape: str) -> str:
        """A datasource URL pointing at a database that is not there."""
        raise NotImplementedError

    def fractional(self, generation: str, column: str) -> bool:
        """Whether this column keeps fractions of a second in this table generation."""
        raise NotImplementedError

    def next_sequence_value(self, prefix: str) -> int:
        """The id ``<prefix>SEQ`` hands out next, read without taking it."""
        raise NotImplementedError

    def normalise(self, column: str, value: Any) -> Any:
        return value

    # shared behaviour
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError(f"{self.name}: backend not opened")
        return self._engine

    def create_schema(self) -> None:
        for generation in GENERATIONS:
            path = SCHEMAS / self.schema / f"{self.name}-{generation}.sql"
            ddl = path.read_text(encoding="utf-8")
            with self.engine.begin() as conn:
                for statement in split_sql(ddl):
                    conn.exec_driver_sql(statement)

    def insert_scdf_row(self, prefix: str, execution_id: int, **overrides: Any) -> Row:
        """Insert the row as SCDF does before a launch, committed; return it as read back."""
        values: Row = {column: None for column in COLUMNS}
        values.update(
            TASK_EXECUTION_ID=execution_id,
            TASK_NAME=TASK_NAME,
            LAST_UPDATED=task_clock().replace(microsecond=0),
        )
        values.update(overrides)
        columns = ", ".join(COLUMNS)
        binds = ", ".join(f":{c}" for c in COLUMNS)
        with self.engine.begin() as conn:
            conn.execute(
                text(f"INSERT INTO {prefix}EXECUTION ({columns}) VALUES ({binds})"), values
            )
        row = self.read_row(prefix, execution_id)
        assert row is not None
        return row

    def set_external_execution_id(self, prefix: str, execution_id: int, value: str) -> None:
        """What SCDF does right after the platform accepted the launch (the pod name)."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    f"UPDATE {prefix}EXECUTION SET EXTERNAL_EXECUTION_ID = :v"
                    " WHERE TASK_EXECUTION_ID = :id"
                ),
                {"v": value, "id": execution_id},
            )

    def read_row(self, prefix: str, execution_id: int) -> Row | None:
        with self.engine.connect() as conn:
            result = conn.execute(
                text(
                    f"SELECT {', '.join(COLUMNS)} FROM {prefix}EXECUTION"
                    " WHERE TASK_EXECUTION_ID = :id"
                ),
                {"id": execution_id},
            )
            found = result.mappings().all()
        if not found:
            return None
        assert len(found) == 1
        return {c.upper(): self.normalise(c.upper(), v) for c, v in found[0].items()}

    def read_params(self, prefix: str, execution_id: int) -> list[str]:
        """The PARAMS rows of one execution, sorted (the table keeps no order)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT TASK_PARAM FROM {prefix}EXECUTION_PARAMS WHERE TASK_EXECUTION_ID = :id"
                ),
                {"id": execution_id},
            ).all()
        return sorted(r[0] for r in rows)

    def execution_ids(self, prefix: str, after: int = 0) -> list[int]:
        """Ids above ``after`` of this task's executions that the task created (not the harness
        playing SCDF), ascending."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT TASK_EXECUTION_ID FROM {prefix}EXECUTION WHERE TASK_NAME = :name"
                    " AND TASK_EXECUTION_ID > :after AND TASK_EXECUTION_ID < :scdf"
                    " ORDER BY TASK_EXECUTION_ID"
                ),
                {"name": TASK_NAME, "after": after, "scdf": SCDF_IDS_FROM},
            ).all()
        return [int(r[0]) for r in rows]

    def lock_rows(self, prefix: str) -> list[Row]:
        """The single-instance locks held, as Spring Integration's lock registry stores them."""
        with self.engine.connect() as conn:
            found = conn.execute(
                text(
                    f"SELECT LOCK_KEY, REGION, CLIENT_ID, CREATED_DATE FROM {prefix}LOCK"
                    " ORDER BY LOCK_KEY"
                )
            )
            rows = found.mappings().all()
        return [
            {
                c.upper(): self.normalise("CREATED_DATE", v) if c.upper() == "CREATED_DATE" else v
                for c, v in r.items()
            }
            for r in rows
        ]

    def insert_lock(self, prefix: str, key: str, client_id: str, created: datetime) -> None:
        """A lock row as a Java run (Spring Integration's DefaultLockRepository) leaves it."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO {prefix}LOCK (LOCK_KEY, REGION, CLIENT_ID, CREATED_DATE)"
                    " VALUES (:key, 'DEFAULT', :client, :created)"
                ),
                {"key": key, "client": client_id, "created": created},
            )

    def delete_locks(self, prefix: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {prefix}LOCK"))

    def datasource(self, shape: str, url: str | None = None) -> dict[str, str]:
        """The ``spring.datasource.*`` properties SCDF sets (TaskServiceUtils)."""
        props = {
            "spring.datasource.url": url or self.jdbc_url(shape),
            "spring.datasource.username": self.user,
            "spring.datasource.password": self.password,
            "spring.datasource.driverClassName": self.driver_class,
        }
        if not self.password:  # SCDF leaves an empty password out
            del props["spring.datasource.password"]
        if not self.user:
            del props["spring.datasource.username"]
        return props


def split_sql(script: str) -> list[str]:
    """Statements of a schema file: comments dropped, split on ';' (none occur in strings)."""
    lines = [ln for ln in script.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


class SqliteBackend(Backend):
    """SQLite in a temp file: the local stand-in. SCDF never hands out SQLite URLs, but the
    generated project's local runner uses it, so the same contract must hold there."""

    name = "sqlite"
    driver_class = "org.sqlite.JDBC"
    project = "postgresql"  # any generated project: SQLite needs no driver package

    def __init__(self, directory: Path, schema: str = SCHEMA_SOURCES[0]) -> None:
        super().__init__(schema)
        self.path = directory / "scdf.db"
        # No credentials, as the project's own local runner launches it: SQLAlchemy rejects a
        # SQLite URL with a user or password, and no SCDF server ever hands out SQLite URLs.
        self.user = ""
        self.password = ""

    def open(self) -> None:
        self._engine = create_engine(
            URL.create("sqlite+pysqlite", database=str(self.path)), poolclass=NullPool
        )
        with self.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        self.create_schema()

    def jdbc_url(self, shape: str) -> str:
        return f"jdbc:sqlite:{self.path}"

    def unreachable_jdbc_url(self, shape: str) -> str:
        return f"jdbc:sqlite:{self.path.parent / 'no-such-dir' / 'scdf.db'}"

    def fractional(self, generation: str, column: str) -> bool:
        return True  # stored as text: whatever the task writes is kept

    def next_sequence_value(self, prefix: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT ID FROM {prefix}SEQ")).scalar_one()) + 1

    def normalise(self, column: str, value: Any) -> Any:
        if column in (*TIME_COLUMNS, "CREATED_DATE") and isinstance(value, str):
            return datetime.fromisoformat(value)
        return value


class ServerBackend(Backend):
    """A real server: the harness creates a scratch database ``<database>_<random>`` on it for
    the session (so concurrent runs never share rows) and drops it afterwards."""

    sqlalchemy_driver: str = ""

    def __init__(self, settings: ServerSettings, schema: str = SCHEMA_SOURCES[0]) -> None:
        super().__init__(schema)
        self.settings = settings
        self.user = settings.user
        self.password = settings.password
        self.scratch = f"{settings.database}_{os.getpid()}_{secrets.token_hex(3)}"

    def _url(self, database: str) -> URL:
        s = self.settings
        return URL.create(
            self.sqlalchemy_driver,
            username=s.user,
            password=s.password,  # raw: URL.create escapes nothing by hand
            host=s.host,
            port=s.port,
            database=database,
        )

    def _admin_engine(self) -> Engine:
        """The login's own database, in autocommit: CREATE/DROP DATABASE refuse transactions."""
        return create_engine(
            self._url(self.settings.database),
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args=self.connect_args(),
        )

    def open(self) -> None:
        admin = self._admin_engine()
        try:
            with admin.connect() as conn:
                self._drop_abandoned(conn)
                conn.exec_driver_sql(f"CREATE DATABASE {self.scratch}")
        finally:
            admin.dispose()
        self._engine = create_engine(
            self._url(self.scratch), poolclass=NullPool, connect_args=self.connect_args()
        )
        self.create_schema()

    def close(self) -> None:
        super().close()
        admin = self._admin_engine()
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.scratch}")
        finally:
            admin.dispose()

    def connect_args(self) -> dict[str, Any]:
        return {"connect_timeout": 5}

    list_databases_sql: str = ""

    def _drop_abandoned(self, conn: Connection) -> None:
        """Drop scratch databases of sessions on this machine that died before their teardown
        (their pid is gone); leave those of other machines and of live sessions alone."""
        if self.settings.host not in ("127.0.0.1", "localhost", "::1"):
            return
        pattern = re.compile(rf"{re.escape(self.settings.database)}_(\d+)_[0-9a-f]{{6}}")
        for (name,) in conn.exec_driver_sql(self.list_databases_sql).all():
            found = pattern.fullmatch(name)
            if found and not Path(f"/proc/{found.group(1)}").exists():
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")

    def unreachable_jdbc_url(self, shape: str) -> str:
        return self.jdbc_url(shape).replace(f":{self.settings.port}/", f":{closed_port()}/", 1)

    def _hostport(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"


class PostgresBackend(ServerBackend):
    name = "postgresql"
    driver_class = "org.postgresql.Driver"
    project = "postgresql"
    sqlalchemy_driver = "postgresql+psycopg"
    list_databases_sql = "SELECT datname FROM pg_database"

    def jdbc_url(self, shape: str) -> str:
        return f"jdbc:postgresql://{self._hostport()}/{self.scratch}"

    def fractional(self, generation: str, column: str) -> bool:
        return True  # TIMESTAMP keeps microseconds

    def next_sequence_value(self, prefix: str) -> int:
        with self.engine.connect() as conn:
            last, called = conn.execute(
                text(f"SELECT last_value, is_called FROM {prefix}SEQ")
            ).one()
        return int(last) + 1 if called else int(last)


class MariadbBackend(ServerBackend):
    name = "mariadb"
    driver_class = "org.mariadb.jdbc.Driver"
    project = "mariadb"
    sqlalchemy_driver = "mysql+pymysql"
    list_databases_sql = "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"

    def jdbc_url(self, shape: str) -> str:
        # Both URL forms SCDF users configure against MariaDB; alternate them across the shapes
        # so every scenario runs with each. A jdbc:mysql: URL to a MariaDB server is the
        # MySQL-dialect check (there is no MySQL server package here).
        if shape in ("exec", "boot"):
            return f"jdbc:mariadb://{self._hostport()}/{self.scratch}"
        return f"jdbc:mysql://{self._hostport()}/{self.scratch}?permitMysqlScheme"

    def fractional(self, generation: str, column: str) -> bool:
        # Task 2.x: DATETIME; Task 3.x: DATETIME(6); LAST_UPDATED is a whole-second TIMESTAMP.
        return generation == "BOOT3_TASK_" and column != "LAST_UPDATED"

    def next_sequence_value(self, prefix: str) -> int:
        with self.engine.connect() as conn:
            kind = conn.execute(
                text(
                    "SELECT TABLE_TYPE FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :name"
                ),
                {"name": f"{prefix}SEQ"},
            ).scalar_one()
            if kind == "SEQUENCE":  # NOCACHE: the next value not cached is the next one
                query = f"SELECT next_not_cached_value FROM {prefix}SEQ"
                return int(conn.execute(text(query)).scalar_one())
            return int(conn.execute(text(f"SELECT ID FROM {prefix}SEQ")).scalar_one()) + 1


def closed_port() -> int:
    """A loopback TCP port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- Launch shapes ----------------------------------------------------------------------------


@dataclass
class Launch:
    """Everything SCDF decides about one launch, before a deployer turns it into a process."""

    properties: dict[str, str]
    arguments: list[str]  # the command-line arguments, executionid last

    def for_shape(self, shape: str) -> tuple[list[str], dict[str, str]]:
        """argv (after the program) and extra environment, as the deployer builds them."""
        if shape == "exec":  # Kubernetes default: every property as --key=value, then the args
            return [f"--{k}={v}" for k, v in self.properties.items()] + self.arguments, {}
        if shape == "shell":  # Kubernetes: nothing on argv; properties AND args as env vars
            env = {shell_env_name(k): v for k, v in self.properties.items()}
            for arg in self.arguments:
                key, sep, value = arg.removeprefix("--").partition("=")
                if sep:
                    env[shell_env_name(key)] = value
            return [], env
        if shape == "boot":  # Kubernetes: flat dotted JSON in SPRING_APPLICATION_JSON + args
            return list(self.arguments), {"SPRING_APPLICATION_JSON": json.dumps(self.properties)}
        if shape == "local":  # local deployer, docker: resource; its own extra properties
            props = dict(self.properties)
            props.update(
                {
                    "server.port": "20112",
                    "spring.jmx.default-domain": f"{TASK_NAME}-1",
                    "endpoints.shutdown.enabled": "true",
                }
            )
            return list(self.arguments), {
                "SPRING_APPLICATION_JSON": json.dumps(props),
                "deployerId": f"{TASK_NAME}-{secrets.token_hex(5)}",
            }
        raise ValueError(f"unknown launch shape {shape!r}")


def shell_env_name(key: str) -> str:
    """The Kubernetes deployer's env name for a key: dots to underscores, upper case, '-' kept."""
    return key.replace(".", "_").upper()


def scdf_launch(
    backend: Backend,
    shape: str,
    generation: str,
    execution_id: int | None,
    user_args: Sequence[str] = (),
    *,
    datasource_url: str | None = None,
) -> Launch:
    """The properties and arguments SCDF sends. For ``TASK_`` it launches as SCDF 2.10 does (no
    prefix at all: the task must default to TASK_); for ``BOOT3_TASK_`` as SCDF 2.11 does for an
    app registered with ``--bootVersion 3``. ``execution_id`` None: a scheduled launch
    (``DefaultSchedulerService.schedule``), the same properties and arguments without an id."""
    props: dict[str, str] = {
        "management.metrics.tags.service": "task-application",
        "management.metrics.tags.application": (
            "${spring.cloud.task.name:unknown}-${spring.cloud.task.executionid:unknown}"
        ),
        "spring.cloud.task.name": TASK_NAME,
        **backend.datasource(shape, datasource_url),
    }
    args = list(user_args)
    if generation == "BOOT3_TASK_":
        boot3 = {
            "spring.cloud.task.tablePrefix": "BOOT3_TASK_",
            "spring.batch.jdbc.table-prefix": "BOOT3_BATCH_",
            "spring.cloud.task.schemaTarget": "boot3",
            "spring.cloud.task.initialize-enabled": "false",
            "spring.cloud.deployer.bootVersion": "3",
        }
        props.update(boot3)
        args += [f"--app.{TASK_NAME}.{k}={v}" for k, v in boot3.items()]
    elif generation != "TASK_":
        raise ValueError(f"unknown generation {generation!r}")
    if execution_id is not None:
        args.append(f"--spring.cloud.task.executionid={execution_id}")
    return Launch(props, args)


# --- Running the task -------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    """A generated project and the interpreter of the venv made from its requirements."""

    directory: Path
    python: Path

    @property
    def entry_point(self) -> Path:
        return self.directory / "python_task.py"


@dataclass
class Outcome:
    """What one run of the task left behind."""

    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    argv: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def base_environment() -> dict[str, str]:
    """A container-like environment: none of the harness's variables (which hold the
    database password) leak into the task."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "TZ", "LANG") if k in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@contextlib.contextmanager
def started(project: Project, argv: Sequence[str], env: Mapping[str, str]) -> Iterator[Running]:
    """Start the task as a process the way the image does (``python python_task.py ...``)."""
    full_env = base_environment()
    full_env.update(env)
    command = [str(project.python), str(project.entry_point), *argv]
    proc = subprocess.Popen(
        command,
        cwd=project.directory,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = Running(proc, list(argv), time.monotonic())
    try:
        yield running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@dataclass
class Running:
    proc: subprocess.Popen[str]
    argv: list[str]
    started_at: float

    def wait(self, timeout: float = RUN_TIMEOUT_S) -> Outcome:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(
                f"task still running after {timeout:.0f} s; stderr:\n{err}"
            ) from None
        return Outcome(
            self.proc.returncode, out, err, time.monotonic() - self.started_at, self.argv
        )

    def terminate(self) -> None:
        """What Kubernetes does when SCDF stops an execution: delete the pod, i.e. SIGTERM."""
        self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """A run that dies without cleaning up (OOM kill, node loss): SIGKILL."""
        self.proc.kill()
        self.proc.communicate()


def wait_for(predicate: Any, what: str, timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until predicate() returns something truthy; fail with a message naming it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def secret_forms(secret: str) -> list[str]:
    """The password as it could leak: raw and URL-escaped (as a hand-built URL would carry it)."""
    return sorted({secret, quote(secret, safe=""), quote_plus(secret), quote(secret)})


def lock_clock(generation: str) -> datetime:
    """The clock a Java run of this generation writes CREATED_DATE of ``<prefix>LOCK`` with:
    Spring Integration 5.x (Spring Cloud Task 2.x, Boot 2, ``TASK_``) the JVM's local time,
    6.x (Spring Cloud Task 3.x, Boot 3, ``BOOT3_TASK_``) UTC."""
    if generation == "BOOT3_TASK_":
        return datetime.now(UTC).replace(tzinfo=None)
    return task_clock()


def java_name_uuid(value: str) -> str:
    """``java.util.UUID.nameUUIDFromBytes(value.getBytes(UTF_8))``: how Spring Integration's
    ``UUIDConverter`` turns a lock key or client id that is not a UUID into one (an MD5 digest
    with the version-3 and IETF variant bits set)."""
    digest = bytearray(hashlib.md5(value.encode("utf-8"), usedforsecurity=False).digest())
    digest[6] = (digest[6] & 0x0F) | 0x30
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


def pod_name() -> str:
    """An EXTERNAL_EXECUTION_ID as the Kubernetes deployer makes it."""
    return f"{TASK_NAME}-{secrets.token_hex(4)}"
