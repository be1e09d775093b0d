"""The generated task under real faults: Toxiproxy between it and real PostgreSQL and MariaDB.

Each case asserts the row SCDF would read, the process exit code and how long the task took.
The task runs with short bounds so that the suite stays quick; the README lists the defaults.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import open_backend
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from harness import (
    Backend,
    Outcome,
    PostgresBackend,
    Project,
    Running,
    scdf_launch,
    scdf_status,
    started,
    wait_for,
)
from toxiproxy import Proxy, Toxiproxy

PREFIX = "TASK_"
DEADLINE = 8.0  # task.db.connect-deadline: one whole start or end write, retries included
CONNECT = 1.0  # task.db.connect-timeout
STATEMENT = 2.0  # task.db.statement-timeout
GRACE = 2.0  # task.db.stop-grace
#: The last attempt of a write may overrun the deadline by the driver's shortest connect
#: timeout: libpq rounds it up to 2 s, and no connect can be cut from outside.
OVERRUN = 2.0
#: Upper bounds allow for the task's own start-up (Python, SQLAlchemy, the driver), measured
#: per server at the start of the session (`slack`), twice over, since one start on a busy
#: 2-core machine can take twice another, plus this for the machine's jitter. The bounds still
#: tell a bounded wait (seconds) from the hangs they guard against (minutes).
STARTUP_FACTOR = 2
JITTER = 1.5
BOUNDS = [
    f"--task.db.connect-deadline={DEADLINE:g}",
    f"--task.db.connect-timeout={CONNECT:g}",
    f"--task.db.statement-timeout={STATEMENT:g}",
    f"--task.db.stop-grace={GRACE:g}",
]

_ids = itertools.count(1000)
_startup: dict[str, float] = {}


@pytest.fixture
def slack(project: Project, backend: Backend) -> float:
    """Seconds a task with no fault needs from launch to exit on this machine, plus jitter."""
    if backend.name not in _startup:
        runs = []
        for _ in range(2):
            with launched(project, backend, None, script="exit_code_task.py") as (_, running):
                outcome = running.wait()
            assert outcome.returncode == 0, outcome.stderr
            runs.append(outcome.elapsed)
        _startup[backend.name] = max(runs)
    return STARTUP_FACTOR * _startup[backend.name] + JITTER


def proxied_url(backend: Backend, proxy: Proxy) -> str:
    settings = backend.settings  # type: ignore[attr-defined]
    return backend.jdbc_url("exec").replace(
        f"{settings.host}:{settings.port}", f"127.0.0.1:{proxy.port}", 1
    )


@contextmanager
def launched(
    project: Project,
    backend: Backend,
    proxy: Proxy | None,
    user_args: Sequence[str] = ("--work.seconds=0",),
    script: str = "python_task.py",
    *,
    url: str | None = None,
    overrides: dict[str, str] | None = None,
) -> Iterator[tuple[int, Running]]:
    """SCDF's side of a launch (the row, then the process), the datasource through `proxy`."""
    execution_id = next(_ids)
    backend.insert_scdf_row(PREFIX, execution_id)
    if url is None and proxy is not None:
        url = proxied_url(backend, proxy)
    launch = scdf_launch(
        backend, "exec", PREFIX, execution_id, [*BOUNDS, *user_args], datasource_url=url
    )
    launch.properties.update(overrides or {})
    argv, env = launch.for_shape("exec")
    runnable = ScriptProject(project.directory, project.python, script)
    with started(runnable, argv, env) as running:
        yield execution_id, running


@dataclass(frozen=True)
class ScriptProject(Project):
    """A generated project run through another script of its own than python_task.py."""

    script: str = "python_task.py"

    @property
    def entry_point(self) -> Path:
        return self.directory / self.script


def project_for(projects: Path, server: str) -> Project:
    directory = (projects / server).resolve()
    return Project(directory, directory / ".venv" / "bin" / "python")


def row(backend: Backend, execution_id: int) -> dict[str, Any]:
    found = backend.read_row(PREFIX, execution_id)
    assert found is not None
    return found


def status(backend: Backend, execution_id: int) -> str:
    return scdf_status(backend.read_row(PREFIX, execution_id))


def wait_running(backend: Backend, execution_id: int, running: Running) -> None:
    def started_or_exited() -> bool:
        if running.proc.poll() is not None:
            raise AssertionError(f"task exited early: {running.proc.communicate()}")
        return status(backend, execution_id) == "RUNNING"

    wait_for(started_or_exited, f"execution {execution_id} RUNNING")


def later(seconds: float, action: Any, *args: Any) -> threading.Timer:
    timer = threading.Timer(seconds, action, args)
    timer.start()
    return timer


def assert_outcome(
    outcome: Outcome, code: int, at_least: float, at_most: float, row_status: str, found: str
) -> None:
    shown = f"exit {outcome.returncode}, {outcome.elapsed:.1f}s, row {found}\n{outcome.stderr}"
    assert (outcome.returncode, found) == (code, row_status), shown
    assert at_least <= outcome.elapsed <= at_most, shown


def assert_retried(outcome: Outcome, purpose: str) -> None:
    pattern = rf"Could not (connect to )?{purpose} \(attempt 1\), will retry"
    assert re.search(pattern, outcome.stderr), outcome.stderr


def assert_gave_up(outcome: Outcome, purpose: str) -> None:
    pattern = rf"Could not (connect to )?{purpose}: gave up after \d+ attempts"
    assert re.search(pattern, outcome.stderr), outcome.stderr


# --- a silent server ------------------------------------------------------------------------------


def test_silent_server_at_start_that_answers_again(
    project: Project, backend: Backend, proxy: Proxy, slack: float
) -> None:
    proxy.silent()
    timer = later(3, proxy.speak)
    with launched(project, backend, proxy) as (execution_id, running):
        outcome = running.wait()
    timer.join()
    assert_outcome(
        outcome, 0, 3, DEADLINE + OVERRUN + slack, "COMPLETE", status(backend, execution_id)
    )
    assert_retried(outcome, "record the start")


def test_silent_server_at_start_for_good(
    project: Project, backend: Backend, proxy: Proxy, slack: float
) -> None:
    proxy.silent()
    with launched(project, backend, proxy) as (execution_id, running):
        outcome = running.wait()
    # The row is SCDF's as it was: no start recorded, the launch failed visibly.
    assert_outcome(
        outcome, 1, DEADLINE, DEADLINE + OVERRUN + slack, "UNKNOWN", status(backend, execution_id)
    )
    assert_gave_up(outcome, "record the start")


def test_silent_server_at_the_end_write_that_answers_again(
    project: Project, backend: Backend, proxy: Proxy, slack: float
) -> None:
    with launched(project, backend, proxy, ["--work.seconds=1"]) as (execution_id, running):
        wait_running(backend, execution_id, running)
        proxy.silent()
        timer = later(4, proxy.speak)
        outcome = running.wait()
    timer.join()
    assert_outcome(
        outcome, 0, 4, 1 + DEADLINE + OVERRUN + slack, "COMPLETE", status(backend, execution_id)
    )
    assert_retried(outcome, "record the end")


def test_silent_server_at_the_end_write_for_good(
    project: Project, backend: Backend, proxy: Proxy, slack: float
) -> None:
    with launched(project, backend, proxy, ["--work.seconds=1"]) as (execution_id, running):
        wait_running(backend, execution_id, running)
        proxy.silent()
        outcome = running.wait()
    # The body succeeded but its end could not be recorded: the process says so with 1.
    assert_outcome(
        outcome,
        1,
        1 + DEADLINE,
        1 + DEADLINE + OVERRUN + slack,
        "RUNNING",
        status(backend, execution_id),
    )
    assert_gave_up(outcome, "record the end")


def test_latency_over_the_statement_timeout_at_the_end_write(
    project: Project, backend: Backend, proxy: Proxy, slack: float
) -> None:
    with launched(project, backend, proxy, ["--work.seconds=1"]) as (execution_id, running):
        wait_running(backend, execution_id, running)
        proxy.add("slow", "latency", latency=int(STATEMENT * 1000 * 2))
        timer = later(4, proxy.remove, "slow")
        outcome = running.wait()
    timer.join()
    assert_outcome(
        outcome, 0, 4, 1 + DEADLINE + OVERRUN + slack, "COMPLETE", status(backend, execution_id)
    )
    assert_retried(outcome, "record the end")


# --- connections lost, servers away ---------------------------------------------------------------


@contextmanager
def row_locked(backend: Backend, execution_id: int) -> Iterator[None]:
    """Another session holds the row's lock until the block ends."""
    with backend.engine.connect() as conn, conn.begin():
        conn.execute(
            text(
                f"SELECT END_TIME FROM {PREFIX}EXECUTION WHERE TASK_EXECUTION_ID = :id FOR UPDATE"
            ),
            {"id": execution_id},
        )
        yield


def waiting_updates(backend: Backend) -> int:
    """How many sessions of the scratch database wait on a lock in an UPDATE right now."""
    scratch = backend.scratch  # type: ignore[attr-defined]
    if isinstance(backend, PostgresBackend):
        sql = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :db"
            " AND wait_event_type = 'Lock' AND query LIKE 'UPDATE%'"
        )
    else:
        sql = (
            "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = :db"
            " AND INFO LIKE 'UPDATE%'"
        )
    with backend.engine.connect() as conn:
        return int(conn.execute(text(sql), {"db": scratch}).scalar_one())


def test_connection_reset_in_the_middle_of_the_end_write(
    project: Project, backend: Backend, proxy: Proxy, slack: float
) -> None:
    with launched(project, backend, proxy, ["--work.seconds=0.5"]) as (execution_id, running):
        wait_running(backend, execution_id, running)
        with row_locked(backend, execution_id):
            # The end UPDATE has been sent and waits for the row. Its reply, when the lock goes,
            # meets a connection reset: the server ran the statement, the task never hears of it.
            wait_for(lambda: waiting_updates(backend), "the end write waiting on the row lock")
            proxy.add("reset", "reset_peer", timeout=0)
        time.sleep(1)
        proxy.remove("reset")
        outcome = running.wait()
    assert_outcome(
        outcome, 0, 0.5, DEADLINE + OVERRUN + slack, "COMPLETE", status(backend, execution_id)
    )
    assert_retried(outcome, "record the end")


def test_server_away_and_back_within_the_deadline(
    project: Project, backend: Backend, proxy: Proxy, slack: float
) -> None:
    proxy.enable(False)
    timer = later(3, proxy.enable, True)
    with launched(project, backend, proxy) as (execution_id, running):
        outcome = running.wait()
    timer.join()
    assert_outcome(
        outcome, 0, 3, DEADLINE + OVERRUN + slack, "COMPLETE", status(backend, execution_id)
    )


def test_server_away_for_good(
    project: Project, backend: Backend, proxy: Proxy, slack: float
) -> None:
    proxy.enable(False)
    with launched(project, backend, proxy) as (execution_id, running):
        outcome = running.wait()
    assert_outcome(
        outcome, 1, DEADLINE, DEADLINE + OVERRUN + slack, "UNKNOWN", status(backend, execution_id)
    )
    assert_gave_up(outcome, "record the start")


def test_row_lock_held_by_another_session_at_the_end_write(
    project: Project, backend: Backend, proxy: Proxy, slack: float
) -> None:
    with launched(project, backend, proxy, ["--work.seconds=0.5"]) as (execution_id, running):
        wait_running(backend, execution_id, running)
        with row_locked(backend, execution_id):
            time.sleep(5)  # longer than the statement timeout: lock waits time out and retry
        outcome = running.wait()
    assert_outcome(
        outcome, 0, 5, DEADLINE + OVERRUN + slack, "COMPLETE", status(backend, execution_id)
    )
    assert_retried(outcome, "record the end")


# How messages name the database and its host.
WHERE = r"the (PostgreSQL|MariaDB) database at \S+:\d+"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("password", rf"{WHERE} refused the login or does not exist"),
        ("database", rf"{WHERE} refused the login or does not exist"),
        ("tls", rf"TLS could not be set up with {WHERE}"),
    ],
)
def test_errors_that_cannot_heal_fail_at_once(
    project: Project, backend: Backend, slack: float, fault: str, message: str
) -> None:
    url = backend.jdbc_url("exec")
    overrides = {}
    if fault == "password":
        overrides["spring.datasource.password"] = "not-the-password"
    elif fault == "database":
        url = url.replace(backend.scratch, f"{backend.scratch}_missing")  # type: ignore[attr-defined]
    else:
        # pgjdbc's ssl=true and the MariaDB driver's useSSL=true verify the server's certificate;
        # the MariaDB server here has no TLS at all, the PostgreSQL one a self-signed certificate.
        url += "?ssl=true" if isinstance(backend, PostgresBackend) else "?useSSL=true"
    with launched(project, backend, None, url=url, overrides=overrides) as (execution_id, running):
        outcome = running.wait()
    # Not retried: done in the time a task with no fault takes, far below the deadline.
    assert_outcome(outcome, 1, 0, slack, "UNKNOWN", status(backend, execution_id))
    assert re.search(message, outcome.stderr), outcome.stderr
    assert "(attempt" not in outcome.stderr


@pytest.mark.parametrize(
    ("server", "mode"), [("mariadb", ""), ("mariadb", "failover:"), ("mariadb", "loadbalance:")]
)
def test_every_host_of_a_multi_host_url_is_tried(
    projects: Path, toxiproxy: Toxiproxy, server: str, mode: str
) -> None:
    backend = open_backend(server)
    settings = backend.settings  # type: ignore[attr-defined]
    upstream = f"{settings.host}:{settings.port}"
    name = f"faults-{os.getpid()}-hosts-{mode.strip(':') or 'plain'}"
    try:
        with (
            toxiproxy.proxy(f"{name}-away", upstream) as away,
            toxiproxy.proxy(f"{name}-up", upstream) as up,
        ):
            away.enable(False)
            hosts = f"127.0.0.1:{away.port},127.0.0.1:{up.port}"
            url = f"jdbc:mariadb:{mode}//{hosts}/{backend.scratch}"  # type: ignore[attr-defined]
            with launched(project_for(projects, server), backend, None, url=url) as (
                execution_id,
                running,
            ):
                outcome = running.wait()
        # With only the first host tried, the task would retry it until the deadline and fail.
        assert_outcome(outcome, 0, 0, DEADLINE, "COMPLETE", status(backend, execution_id))
    finally:
        backend.close()


# --- stop -----------------------------------------------------------------------------------------


def test_sigterm_during_a_hung_end_write_exits_143_within_the_grace(
    project: Project, backend: Backend, proxy: Proxy
) -> None:
    with launched(project, backend, proxy, ["--work.seconds=1"]) as (execution_id, running):
        wait_running(backend, execution_id, running)
        proxy.silent()
        time.sleep(2.5)  # the body is done; the end write hangs on the silent server
        sent = time.monotonic()
        running.proc.send_signal(signal.SIGTERM)
        outcome = running.wait()
        after_signal = time.monotonic() - sent
    assert outcome.returncode == 143, outcome.stderr
    assert after_signal <= GRACE + 1.5, f"{after_signal:.1f}s after SIGTERM\n{outcome.stderr}"
    # The server never answered: the row cannot have been written.
    assert status(backend, execution_id) == "RUNNING"


# --- exit codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "process_code", "row_status"),
    [
        (0, 0, "COMPLETE"),
        (1, 1, "ERROR"),
        (255, 255, "ERROR"),
        (256, 1, "ERROR"),
        (512, 1, "ERROR"),
        (-1, 255, "ERROR"),
    ],
)
def test_exit_codes_agree_between_row_and_process(
    project: Project,
    backend: Backend,
    proxy: Proxy,
    code: int,
    process_code: int,
    row_status: str,
    slack: float,
) -> None:
    with launched(project, backend, proxy, [f"--exit.code={code}"], script="exit_code_task.py") as (
        execution_id,
        running,
    ):
        outcome = running.wait()
    found = row(backend, execution_id)
    assert_outcome(outcome, process_code, 0, slack, row_status, scdf_status(found))
    assert found["EXIT_CODE"] == code


# --- text the columns cannot hold -----------------------------------------------------------------

ARGUMENT = "--note=emoji 😀 kanji 漢字 e-acute é"
ERROR = "boom: emoji 😀 kanji 漢字 e-acute é"


class Latin1Postgres(PostgresBackend):
    """A scratch database in the LATIN1 encoding: its tables cannot hold CJK or emoji."""

    def open(self) -> None:
        admin = self._admin_engine()
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(
                    f"CREATE DATABASE {self.scratch} ENCODING 'LATIN1' LC_COLLATE 'C'"
                    " LC_CTYPE 'C' TEMPLATE template0"
                )
        finally:
            admin.dispose()
        self._engine = create_engine(
            self._url(self.scratch), poolclass=NullPool, connect_args=self.connect_args()
        )
        self.create_schema()


def convert_tables(backend: Backend, charset: str) -> None:
    with backend.engine.begin() as conn:
        for table in ("EXECUTION", "EXECUTION_PARAMS"):
            conn.exec_driver_sql(f"ALTER TABLE {PREFIX}{table} CONVERT TO CHARACTER SET {charset}")


@pytest.mark.parametrize(
    ("server", "charset", "stored_error", "stored_argument"),
    [
        (
            "mariadb",
            "utf8mb3",
            "boom: emoji ? kanji 漢字 e-acute é",
            "--note=emoji ? kanji 漢字 e-acute é",
        ),
        (
            "mariadb",
            "latin1",
            "boom: emoji ? kanji ?? e-acute é",
            "--note=emoji ? kanji ?? e-acute é",
        ),
        (
            "postgresql",
            "LATIN1",
            "boom: emoji ? kanji ?? e-acute é",
            "--note=emoji ? kanji ?? e-acute é",
        ),
    ],
)
def test_text_the_columns_cannot_hold_is_stored_with_replacements(
    projects: Path, server: str, charset: str, stored_error: str, stored_argument: str
) -> None:
    backend = open_backend(server, Latin1Postgres if server == "postgresql" else None)
    try:
        if server == "mariadb":
            convert_tables(backend, charset)
        with launched(
            project_for(projects, server),
            backend,
            None,
            [ARGUMENT, f"--error.message={ERROR}", "--work.seconds=0"],
        ) as (execution_id, running):
            outcome = running.wait()
        found = row(backend, execution_id)
        # The sample fails on --error.message: the failure is recorded, the start was not lost.
        assert_outcome(outcome, 1, 0, DEADLINE, "ERROR", scdf_status(found))
        assert found["ERROR_MESSAGE"].startswith(
            "[characters the column's character set cannot store were replaced by '?']\n"
        )
        assert found["ERROR_MESSAGE"].rstrip().endswith(f"RuntimeError: {stored_error}")
        assert stored_argument in backend.read_params(PREFIX, execution_id)
    finally:
        backend.close()
