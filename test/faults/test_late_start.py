"""A scheduled run's row creation given up at its deadline: whatever it became, no RUNNING row.

A launch without SCDF's id (a schedule's CronJob, a plain `python python_task.py`) takes an id
from `<prefix>SEQ` and INSERTs its own row. When that INSERT is given up at the write's deadline
while connected, its outcome is unknown: the COMMIT may have reached the server with its reply
late (the row lands RUNNING), or never have been sent (no row). Either way the run must leave
the row ended, or no row at all, before it exits.

How the COMMIT is made late: the test holds an uncommitted row with the id the task will take,
so the task's INSERT waits on the duplicate key; meanwhile Toxiproxy delays everything the
server sends by LATENCY, then the test rolls its row back. The INSERT then runs at once on the
server, its reply comes LATENCY later, the task sends COMMIT, and that COMMIT's reply comes
another LATENCY later: past the attempt's limit (connect + statement timeout). With a longer
latency the INSERT's own reply comes past the limit, so COMMIT is never sent. Retries cannot
connect through the latency before the deadline. Once the task has given the creation up, the
latency goes, so that its end write is answered.

A third case keeps the test's row uncommitted until the task writes the end, then commits it:
a creation still under way on the server that lands while the end is written.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import RootTransaction, text
from test_faults import PREFIX, ScriptProject, proxied_url, slack  # noqa: F401 - `slack`: a fixture

from harness import (
    TASK_NAME,
    Backend,
    PostgresBackend,
    Project,
    scdf_launch,
    scdf_status,
    started,
    wait_for,
)
from toxiproxy import Proxy

CONNECT = 1.0
STATEMENT = 4.0  # the lock wait ends at half of it: the test rolls its row back well before
DEADLINE = 7.0
GRACE = 3.0
#: An attempt is cut CONNECT + STATEMENT (5 s) after it starts, about 0.3 s after the INSERT
#: began waiting. 3 s: the COMMIT is sent about 2 s before the cut, its reply due about 1 s after.
#: 6 s: the INSERT's reply is due after the cut, so no COMMIT is sent.
LATENCY = {"commits-late": 3.0, "never-commits": 6.0}
#: The last attempt of a write may overrun the deadline by the driver's shortest connect timeout.
OVERRUN = 2.0
BOUNDS = [
    f"--task.db.connect-deadline={DEADLINE:g}",
    f"--task.db.connect-timeout={CONNECT:g}",
    f"--task.db.statement-timeout={STATEMENT:g}",
    f"--task.db.stop-grace={GRACE:g}",
]
ENDING = "The start may have been recorded all the same"


class IdHolder:
    """Another session's row (started, named "holder") with the id the task will take, inserted
    and left uncommitted until `release()` rolls it back or `commit()` commits it: an INSERT of
    the same id waits for it meanwhile, as behind a creation still under way on the server."""

    def __init__(self, backend: Backend, execution_id: int) -> None:
        now = datetime.now().replace(microsecond=0)
        self._conn = backend.engine.connect()
        self._transaction: RootTransaction | None = self._conn.begin()
        self._conn.execute(
            text(
                f"INSERT INTO {PREFIX}EXECUTION (TASK_EXECUTION_ID, START_TIME, TASK_NAME,"
                " LAST_UPDATED) VALUES (:id, :now, 'holder', :now)"
            ),
            {"id": execution_id, "now": now},
        )

    def release(self) -> None:
        self._end(commit=False)

    def commit(self) -> None:
        self._end(commit=True)

    def _end(self, *, commit: bool) -> None:
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            if commit:
                transaction.commit()
            else:
                transaction.rollback()
            self._conn.close()


def waiting_writes(backend: Backend) -> int:
    """How many sessions of the scratch database wait on a lock in an INSERT or UPDATE now."""
    scratch = backend.scratch  # type: ignore[attr-defined]
    if isinstance(backend, PostgresBackend):
        sql = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :db"
            " AND wait_event_type = 'Lock' AND (query LIKE 'INSERT%' OR query LIKE 'UPDATE%')"
        )
    else:
        sql = (
            "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = :db"
            " AND (INFO LIKE 'INSERT%' OR INFO LIKE 'UPDATE%')"
        )
    with backend.engine.connect() as conn:
        return int(conn.execute(text(sql), {"db": scratch}).scalar_one())


class Watcher:
    """The statuses a row shows while the test looks, read directly from the server."""

    def __init__(self, backend: Backend, execution_id: int) -> None:
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(backend, execution_id))
        self._thread.start()

    def _watch(self, backend: Backend, execution_id: int) -> None:
        while not self._stop.wait(0.05):
            found = scdf_status(backend.read_row(PREFIX, execution_id))
            if not self.seen or self.seen[-1] != found:
                self.seen.append(found)

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(10)
        return self.seen


@pytest.mark.parametrize("case", list(LATENCY))
def test_a_scheduled_run_whose_row_creation_was_given_up_leaves_no_running_row(
    project: Project, backend: Backend, proxy: Proxy, request: pytest.FixtureRequest, case: str
) -> None:
    margin = float(request.getfixturevalue("slack"))  # the task's own start-up, and jitter
    execution_id = backend.next_sequence_value(PREFIX)
    # The shell style: every setting from the environment, so the row has no arguments to store
    # and the INSERT's transaction is the INSERT and its COMMIT alone.
    launch = scdf_launch(
        backend, "shell", PREFIX, None, BOUNDS, datasource_url=proxied_url(backend, proxy)
    )
    argv, env = launch.for_shape("shell")
    runnable = ScriptProject(project.directory, project.python, "exit_code_task.py")
    err: list[str] = []
    holder = IdHolder(backend, execution_id)
    try:
        with started(runnable, argv, env) as running:
            assert running.proc.stderr is not None
            stream = running.proc.stderr
            reader = threading.Thread(target=lambda: err.extend(iter(stream.readline, "")))
            reader.start()
            wait_for(lambda: waiting_writes(backend), "the task's INSERT waiting on the id")
            proxy.add("late", "latency", latency=int(LATENCY[case] * 1000))
            holder.release()  # the task's INSERT runs on the server now
            watcher = Watcher(backend, execution_id)
            # Until the task has given the creation up (or left without saying so, as it did
            # before it ended such rows); then its end write gets through.
            wait_for(
                lambda: any(ENDING in line for line in err) or running.proc.poll() is not None,
                "the creation given up",
                timeout=DEADLINE + OVERRUN + margin,
            )
            proxy.remove("late")
            code = running.proc.wait(GRACE + margin)
            elapsed = time.monotonic() - running.started_at
            reader.join(10)
            seen = watcher.stop()
    finally:
        holder.release()
    row = backend.read_row(PREFIX, execution_id)
    shown = f"exit {code}, {elapsed:.1f}s, statuses seen {seen}, row {row}\n{''.join(err)}"
    assert code == 1, shown
    assert row is not None, shown
    assert (row["TASK_NAME"], row["EXIT_CODE"], scdf_status(row)) == (TASK_NAME, 1, "ERROR"), shown
    assert row["START_TIME"] is not None, shown
    assert row["END_TIME"] is not None, shown
    assert re.match(
        r"Task not started: Could not (connect to )?create the task execution: gave up",
        str(row["ERROR_MESSAGE"]),
    ), shown
    # Which case ran: the late COMMIT's row was seen RUNNING before it was ended; the other
    # never existed until the run created it ended.
    if case == "commits-late":
        assert seen[:2] == ["MISSING", "RUNNING"], shown
    else:
        assert seen[0] == "MISSING", shown
        assert "RUNNING" not in seen, shown
    assert elapsed <= DEADLINE + OVERRUN + GRACE + margin, shown
    assert backend.next_sequence_value(PREFIX) == execution_id + 1, "one id taken, no more"


def test_a_creation_that_commits_while_its_end_is_written_is_ended(
    project: Project, backend: Backend, request: pytest.FixtureRequest
) -> None:
    """The given-up creation is still under way on the server when the end is written, and then
    commits: the end's INSERT meets its duplicate key (PostgreSQL; MariaDB's UPDATE already
    waits for it) and the end is written again, onto the row that landed. The test's own
    uncommitted row plays that creation: the task's INSERTs wait on it until the deadline."""
    margin = float(request.getfixturevalue("slack"))
    execution_id = backend.next_sequence_value(PREFIX)
    launch = scdf_launch(backend, "shell", PREFIX, None, BOUNDS)
    argv, env = launch.for_shape("shell")
    runnable = ScriptProject(project.directory, project.python, "exit_code_task.py")
    err: list[str] = []
    holder = IdHolder(backend, execution_id)
    try:
        with started(runnable, argv, env) as running:
            assert running.proc.stderr is not None
            stream = running.proc.stderr
            reader = threading.Thread(target=lambda: err.extend(iter(stream.readline, "")))
            reader.start()
            wait_for(
                lambda: any(ENDING in line for line in err) or running.proc.poll() is not None,
                "the creation given up",
                timeout=DEADLINE + OVERRUN + margin,
            )
            given_up = [line for line in err if ENDING in line]
            if given_up:  # (a task that ends no such row has left already)
                since = logged_at(given_up[0])
                wait_for(lambda: end_waiting(backend, since), "the end write waiting on the row")
            holder.commit()  # the creation lands
            code = running.proc.wait(GRACE + margin)
            elapsed = time.monotonic() - running.started_at
            reader.join(10)
    finally:
        holder.release()
    row = backend.read_row(PREFIX, execution_id)
    shown = f"exit {code}, {elapsed:.1f}s, row {row}\n{''.join(err)}"
    assert code == 1, shown
    assert row is not None, shown
    # The row that landed ("holder"), ended as failed by the run that gave its creation up.
    assert (row["TASK_NAME"], row["EXIT_CODE"], scdf_status(row)) == ("holder", 1, "ERROR"), shown
    assert str(row["ERROR_MESSAGE"]).startswith("Task not started: Could not create"), shown
    assert elapsed <= DEADLINE + OVERRUN + GRACE + margin, shown
    meanwhile = f"Task execution {execution_id} was created meanwhile; ending it"
    assert (meanwhile in shown) is isinstance(backend, PostgresBackend), shown


def logged_at(line: str) -> datetime:
    """When the task logged `line` (its local time, to the millisecond), as an aware time."""
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").astimezone()


def end_waiting(backend: Backend, since: datetime) -> bool:
    """Whether the end write waits on the test's row: on PostgreSQL its INSERT, in a session
    opened after `since` (the start's last attempt, given up, may still wait on the server until
    its lock timeout); on MariaDB its UPDATE already does (InnoDB's UPDATE waits for the row)."""
    if not isinstance(backend, PostgresBackend):
        return waiting_writes(backend) > 0
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"
        " AND query LIKE 'INSERT%' AND backend_start > :since"
    )
    with backend.engine.connect() as conn:
        found = conn.execute(text(sql), {"db": backend.scratch, "since": since})  # type: ignore[attr-defined]
        return int(found.scalar_one()) > 0
