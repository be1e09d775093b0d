"""SIGTERM at each instant of a run, on SQLite, PostgreSQL and MariaDB: exit code, time, row.

Whatever the task is doing when the platform stops it, it must leave with 143 within
`task.db.stop-grace` + 1 s (before Kubernetes' SIGKILL), the row ended when the database answers
in time, and never a row left RUNNING that the database could have ended. A database that does
not answer is a Toxiproxy proxy gone silent for the servers, and a write lock held by the test
for SQLite (its writes then wait and retry, as they would behind another writer), or a read lock
that a COMMIT waits for (`commits_wait`).
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import open_backend
from sqlalchemy import text
from test_batch_jobs import BATCH_SCHEMAS, DDL_FILE, link_ddl, own_names
from test_faults import (
    BOUNDS,
    GRACE,
    PREFIX,
    ScriptProject,
    project_for,
    proxied_url,
    status,
    waiting_updates,
)

from harness import (
    Backend,
    Project,
    SqliteBackend,
    scdf_launch,
    split_sql,
    started,
    wait_for,
)
from toxiproxy import Proxy, Toxiproxy

#: The bound of the issue: the grace and a second, from the signal to the exit ...
STOP_BOUND = GRACE + 1.0
#: ... plus this for a 2-core machine shared by several suites: a process exit and the
#: waiting test's wake-up can each take some tenths of a second there.
LOAD_MARGIN = 0.5
#: Arguments of the runs with the single-instance lock: renewed every 0.5 s.
WITH_LOCK = (
    "--spring.cloud.task.single-instance-enabled=true",
    "--spring.cloud.task.single-instance-lock-ttl=2000",
)
SERVERS = ("sqlite", "postgresql", "mariadb")
#: The cases that need row locks, which SQLite has not (docs/testing.md says why), or a
#: network to lose a reply on (SQLite's form of that case is a test of its own).
NETWORKED = ("postgresql", "mariadb")

# The body of the matrix's runs: reaches the instant --stop.at names, says "ready", works on.
STOP_TASK = '''"""Works until stopped, at the instant --stop.at names."""
import time

from util.task_lifecycle import TaskContext, run_task


def task(context: TaskContext) -> None:
    at = context.get("stop.at")
    if at == "step":
        with context.job("stop-matrix", {"run": context.execution_id}) as job:

            @job.step("works")
            def works(step: object) -> None:
                print("ready", flush=True)
                time.sleep(60)

    elif at == "caught-failure":
        try:
            with context.job("stop-matrix", {"run": context.execution_id}) as job:

                @job.step("fails")
                def fails(step: object) -> None:
                    raise RuntimeError("the step failed")

        except RuntimeError:
            print("ready", flush=True)
        time.sleep(60)
    elif at == "end":
        print("ready", flush=True)
        time.sleep(1.5)
        return
    else:
        print("ready", flush=True)
        time.sleep(60)
    print("not stopped", flush=True)


if __name__ == "__main__":
    run_task(task)
'''

_ids = iter(range(5000, 6000))


# --- the databases ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Backend]]:
    """A scratch database per server, with Spring Batch 4.3's tables, opened when first used."""
    opened: dict[str, Backend] = {}

    class Lazy(dict[str, Backend]):
        def __missing__(self, name: str) -> Backend:
            if name == "sqlite":
                backend: Backend = SqliteBackend(tmp_path_factory.mktemp("stop-sqlite"))
                backend.open()
            else:
                backend = open_backend(name)
            add_batch_tables(backend)
            opened[name] = self[name] = backend
            return backend

    yield Lazy()
    for backend in opened.values():
        backend.close()


@pytest.fixture(scope="module")
def rollback_journal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteBackend]:
    """A SQLite database in SQLite's default rollback-journal mode, which the generated project's
    own local database keeps (the harness puts its own in WAL mode, where readers never hold a
    writer back)."""
    backend = SqliteBackend(tmp_path_factory.mktemp("stop-sqlite-journal"))
    backend.open()
    with backend.engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode=DELETE").scalar_one()
    assert mode == "delete"
    yield backend
    backend.close()


def add_batch_tables(backend: Backend) -> None:
    """Spring Batch 4.3's tables and the task link, as the contract suite makes them."""
    ddl = (BATCH_SCHEMAS / DDL_FILE[(backend.name, "4.3")]).read_text(encoding="utf-8")
    with backend.engine.begin() as conn:
        for statement in split_sql(own_names(ddl, "BATCH_")):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(link_ddl(PREFIX))


@contextmanager
def writes_wait(backend: Backend, execution_id: int, table: str = "EXECUTION") -> Iterator[None]:
    """Another session holds what the task's next write needs until the block ends: the row
    (or the lock row) on a server, the write lock of the whole file on SQLite."""
    if isinstance(backend, SqliteBackend):
        connection = sqlite3.connect(backend.path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield
            connection.execute("ROLLBACK")
        finally:
            connection.close()
        return
    with backend.engine.connect() as conn, conn.begin():
        if table == "EXECUTION":
            where = f"{PREFIX}EXECUTION WHERE TASK_EXECUTION_ID = {int(execution_id)}"
        else:
            where = f"{PREFIX}LOCK"
        conn.execute(text(f"SELECT 1 FROM {where} FOR UPDATE"))
        yield


@contextmanager
def commits_wait(backend: SqliteBackend) -> Iterator[None]:
    """Another connection holds SQLite's shared (read) lock until the block ends. In the
    rollback-journal mode a write's statements still run, but its COMMIT waits for every reader
    to finish: SQLite's form of a server that ran the statements and whose reply does not come."""
    connection = sqlite3.connect(backend.path, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("BEGIN")
        connection.execute(f"SELECT count(*) FROM {PREFIX}EXECUTION").fetchall()
        yield
    finally:
        connection.close()  # its transaction rolled back, the lock gone


# --- a run whose output is read while it runs -----------------------------------------------------


@dataclass
class Watched:
    """A task process, its stdout and stderr read line by line as they come."""

    proc: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    def wait_line(self, pattern: str, where: str = "out", timeout: float = 30) -> None:
        lines = self.out if where == "out" else self.err

        def found() -> bool:
            if any(re.search(pattern, line) for line in lines):
                return True
            if self.proc.poll() is not None:
                raise AssertionError(f"task exited before {pattern!r}:\n{self.stderr}")
            return False

        wait_for(found, f"{pattern!r} from the task", timeout=timeout)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def finish(self, timeout: float = 60) -> tuple[int, float]:
        """(exit code, when it exited: monotonic time)."""
        code = self.proc.wait(timeout)
        ended = time.monotonic()
        for reader in self.readers:
            reader.join(5)
        return code, ended


@contextmanager
def run(
    backend: Backend,
    proxy: Proxy | None,
    project: Project,
    at: str,
    *extra: str,
    before_launch: Callable[[], object] = lambda: None,
) -> Iterator[tuple[int, Watched]]:
    execution_id = next(_ids)
    backend.insert_scdf_row(PREFIX, execution_id)
    before_launch()
    url = proxied_url(backend, proxy) if proxy is not None else None
    arguments = [*BOUNDS, f"--stop.at={at}", *extra]
    launch = scdf_launch(backend, "exec", PREFIX, execution_id, arguments, datasource_url=url)
    argv, env = launch.for_shape("exec")
    (project.directory / "stop_task.py").write_text(STOP_TASK, encoding="utf-8")
    runnable = ScriptProject(project.directory, project.python, "stop_task.py")
    with started(runnable, argv, env) as running:
        watched = Watched(running.proc)
        for stream, lines in (
            (running.proc.stdout, watched.out),
            (running.proc.stderr, watched.err),
        ):
            reader = threading.Thread(
                target=lambda s=stream, b=lines: b.extend(iter(s.readline, ""))
            )
            reader.start()
            watched.readers.append(reader)
        yield execution_id, watched


@pytest.fixture
def stop_proxy(
    toxiproxy: Toxiproxy, request: pytest.FixtureRequest
) -> Iterator[Callable[[Backend], Proxy | None]]:
    """A Toxiproxy proxy in front of a server (None for SQLite), made on first use."""
    made: list[AbstractContextManager[Proxy]] = []

    def for_backend(backend: Backend) -> Proxy | None:
        if isinstance(backend, SqliteBackend):
            return None
        settings = backend.settings  # type: ignore[attr-defined]
        name = f"stop-{request.node.name}"[:120]
        context = toxiproxy.proxy(name, f"{settings.host}:{settings.port}")
        made.append(context)
        return context.__enter__()

    yield for_backend
    for context in made:
        context.__exit__(None, None, None)


def silent(
    backend: Backend, proxy: Proxy | None, execution_id: int
) -> AbstractContextManager[None]:
    """The database stops answering until the block ends (for good when it outlives the run)."""
    if proxy is None:
        return writes_wait(backend, execution_id)

    @contextmanager
    def quiet() -> Iterator[None]:
        proxy.silent()
        try:
            yield
        finally:
            proxy.speak()

    return quiet()


def stop(watched: Watched) -> float:
    """SIGTERM, as the kubelet sends it when SCDF stops the execution: when it was sent."""
    sent = time.monotonic()
    watched.proc.send_signal(signal.SIGTERM)
    return sent


def assert_stopped(
    watched: Watched, sent: float, row_status: str, backend: Backend, execution_id: int
) -> None:
    code, ended = watched.finish()
    after = ended - sent
    found = status(backend, execution_id)
    shown = f"exit {code}, {after:.2f}s after SIGTERM, row {found}\n{watched.stderr}"
    assert (code, found) == (143, row_status), shown
    assert after <= STOP_BOUND + LOAD_MARGIN, shown
    assert "not stopped" not in "".join(watched.out), shown


def exit_code_of(backend: Backend, execution_id: int) -> object:
    row = backend.read_row(PREFIX, execution_id)
    assert row is not None
    return row["EXIT_CODE"]


def job_status(backend: Backend, execution_id: int) -> list[tuple[str, str]]:
    with backend.engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT E.STATUS, S.STATUS FROM BATCH_JOB_EXECUTION E "
                f"JOIN {PREFIX}TASK_BATCH B ON B.JOB_EXECUTION_ID = E.JOB_EXECUTION_ID "
                "JOIN BATCH_STEP_EXECUTION S ON S.JOB_EXECUTION_ID = E.JOB_EXECUTION_ID "
                "WHERE B.TASK_EXECUTION_ID = :id"
            ),
            {"id": execution_id},
        )
        return [(str(job), str(step)) for job, step in found]


def release_later(block: AbstractContextManager[None], seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, block.__exit__, (None, None, None))
    timer.start()
    return timer


def wait_waiting(backend: Backend, watched: Watched, purpose: str) -> None:
    """Until the task's write waits behind the test's lock: an UPDATE waiting on a server, the
    first busy attempt logged on SQLite."""
    if isinstance(backend, SqliteBackend):
        watched.wait_line(rf"Could not {purpose} \(attempt 1\)", "err")
    else:
        wait_for(lambda: waiting_updates(backend), f"the task's write waiting ({purpose})")


# --- the matrix ----------------------------------------------------------------------------------


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def case(
    server: str,
    databases: dict[str, Backend],
    projects: Path,
    stop_proxy: Callable[[Backend], Proxy | None],
) -> tuple[Backend, Proxy | None, Project]:
    backend = databases[server]
    return backend, stop_proxy(backend), project_for(projects, backend.project or server)


def test_before_the_row(case: tuple[Backend, Proxy | None, Project]) -> None:
    """The database cannot be written: the start is retried; the stop ends that, row untouched."""
    backend, proxy, project = case
    if proxy is not None:
        proxy.enable(False)  # the server away: connections refused
    with run(backend, proxy, project, "body") as (execution_id, watched):
        away = writes_wait(backend, execution_id) if proxy is None else nullcontext()
        with away:
            watched.wait_line(
                r"Could not (connect to )?record the start \(attempt 1\), will retry", "err"
            )
            sent = stop(watched)
            assert_stopped(watched, sent, "UNKNOWN", backend, execution_id)


def test_in_the_start_write_that_then_answers(case: tuple[Backend, Proxy | None, Project]) -> None:
    backend, proxy, project = case
    with run(backend, proxy, project, "body") as (execution_id, watched):
        block = writes_wait(backend, execution_id)
        block.__enter__()
        try:
            wait_waiting(backend, watched, "record the start")
            sent = stop(watched)
            timer = release_later(block, 0.5)
        except BaseException:
            block.__exit__(None, None, None)
            raise
        assert_stopped(watched, sent, "ERROR", backend, execution_id)
        timer.join()
    assert exit_code_of(backend, execution_id) == 143
    assert "ready" not in watched.out  # the body never ran


@pytest.mark.parametrize("server", NETWORKED)
def test_in_the_start_write_of_a_server_gone_silent(
    case: tuple[Backend, Proxy | None, Project],
) -> None:
    """The start's statement ran, its reply is lost: not started, and no RUNNING row either."""
    backend, proxy, project = case
    assert proxy is not None
    with run(backend, proxy, project, "body") as (execution_id, watched):
        with writes_wait(backend, execution_id):
            wait_waiting(backend, watched, "record the start")
            proxy.silent()
        sent = stop(watched)
        assert_stopped(watched, sent, "UNKNOWN", backend, execution_id)


@pytest.mark.parametrize("server", ["sqlite"])
def test_in_the_start_write_of_sqlite_gone_silent(
    rollback_journal: SqliteBackend, projects: Path, server: str
) -> None:
    """SQLite's form of the case above: the start's statements ran, its COMMIT waits for a
    reader's lock that stays; not started, and no RUNNING row either."""
    backend = rollback_journal
    assert backend.name == server
    project = project_for(projects, backend.project)
    # Written by the start's UPDATE (the page as it was), removed by its COMMIT or rollback.
    journal = Path(f"{backend.path}-journal")
    reader = commits_wait(backend)
    with run(backend, None, project, "body", before_launch=reader.__enter__) as (
        execution_id,
        watched,
    ):
        try:
            wait_for(journal.exists, "the start's statements run, its COMMIT waiting")
            sent = stop(watched)
            watched.proc.wait(60)
        finally:
            reader.__exit__(None, None, None)
        assert_stopped(watched, sent, "UNKNOWN", backend, execution_id)
    assert "ready" not in watched.out  # the body never ran


def test_in_the_body(case: tuple[Backend, Proxy | None, Project]) -> None:
    backend, proxy, project = case
    with run(backend, proxy, project, "body") as (execution_id, watched):
        watched.wait_line("^ready")
        sent = stop(watched)
        assert_stopped(watched, sent, "ERROR", backend, execution_id)
    assert exit_code_of(backend, execution_id) == 143


@pytest.mark.parametrize("extra", [(), WITH_LOCK], ids=["alone", "with-the-lock"])
def test_in_the_body_with_the_database_gone_silent(
    case: tuple[Backend, Proxy | None, Project], extra: tuple[str, ...]
) -> None:
    """The end write and the lock's release share the grace: not a connect deadline each."""
    backend, proxy, project = case
    with run(backend, proxy, project, "body", *extra) as (execution_id, watched):
        watched.wait_line("^ready")
        with silent(backend, proxy, execution_id):
            sent = stop(watched)
            assert_stopped(watched, sent, "RUNNING", backend, execution_id)
    backend.delete_locks(PREFIX)


def test_in_a_step(case: tuple[Backend, Proxy | None, Project]) -> None:
    backend, proxy, project = case
    with run(backend, proxy, project, "step") as (execution_id, watched):
        watched.wait_line("^ready")
        sent = stop(watched)
        assert_stopped(watched, sent, "ERROR", backend, execution_id)
    assert exit_code_of(backend, execution_id) == 143
    assert job_status(backend, execution_id) == [("STOPPED", "STOPPED")]


def test_after_a_caught_step_failure(case: tuple[Backend, Proxy | None, Project]) -> None:
    """The body caught its failed step and works on: the stop must still reach it."""
    backend, proxy, project = case
    with run(backend, proxy, project, "caught-failure") as (execution_id, watched):
        watched.wait_line("^ready")
        sent = stop(watched)
        assert_stopped(watched, sent, "ERROR", backend, execution_id)
    assert exit_code_of(backend, execution_id) == 143
    assert job_status(backend, execution_id) == [("FAILED", "FAILED")]


def test_in_the_end_write_that_then_answers(case: tuple[Backend, Proxy | None, Project]) -> None:
    backend, proxy, project = case
    with run(backend, proxy, project, "end") as (execution_id, watched):
        watched.wait_line("^ready")
        block = writes_wait(backend, execution_id)
        block.__enter__()
        try:
            wait_waiting(backend, watched, "record the end")
            sent = stop(watched)
            timer = release_later(block, 0.5)
        except BaseException:
            block.__exit__(None, None, None)
            raise
        # The body had succeeded: the row says so; the process says it was stopped.
        assert_stopped(watched, sent, "COMPLETE", backend, execution_id)
        timer.join()


def test_in_the_end_write_with_the_database_gone_silent(
    case: tuple[Backend, Proxy | None, Project],
) -> None:
    backend, proxy, project = case
    with run(backend, proxy, project, "end") as (execution_id, watched):
        watched.wait_line("^ready")
        with silent(backend, proxy, execution_id):
            time.sleep(2.5)  # the body is done; the end write waits
            sent = stop(watched)
            assert_stopped(watched, sent, "RUNNING", backend, execution_id)


def test_in_a_lock_renewal(case: tuple[Backend, Proxy | None, Project]) -> None:
    backend, proxy, project = case
    with run(backend, proxy, project, "body", *WITH_LOCK) as (execution_id, watched):
        watched.wait_line("^ready")
        with silent(backend, proxy, execution_id):
            time.sleep(1.0)  # a renewal (every 0.5 s) is under way and cannot finish
            sent = stop(watched)
            assert_stopped(watched, sent, "RUNNING", backend, execution_id)
    backend.delete_locks(PREFIX)


# SQLite has one write lock for the whole file: the end write would wait with the release.
@pytest.mark.parametrize("server", NETWORKED)
def test_in_the_lock_release(case: tuple[Backend, Proxy | None, Project]) -> None:
    """The end is recorded; the release waits on the lock row: it gets what is left of the grace."""
    backend, proxy, project = case
    with run(backend, proxy, project, "end", *WITH_LOCK) as (execution_id, watched):
        watched.wait_line("^ready")
        with writes_wait(backend, execution_id, table="LOCK"):
            wait_for(lambda: status(backend, execution_id) == "COMPLETE", "the end recorded")
            time.sleep(0.3)  # the release's DELETE is under way, waiting on the lock row
            sent = stop(watched)
            assert_stopped(watched, sent, "COMPLETE", backend, execution_id)
    backend.delete_locks(PREFIX)
