"""The stop's state machine (`util.stop`) and the stop at each instant of a run, on SQLite.

Real signals are raised in this process (`signal.raise_signal`, or `os.kill` from a write's
thread, as the kubelet's SIGTERM arrives whatever the task is doing); a run that a broken stop
would hang runs in a process of its own, so that its hard exit cannot end the test session.
"""

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from util.bounded_write import WriteEngine
from util.database import open_engine
from util.db_api import Timeouts
from util.local_db import ExecutionRow, LocalScdfDatabase
from util.redaction import Redactor
from util.single_instance import lock_uuid
from util.stop import HARD_EXIT_MARGIN, HardExit, StopSignals, TaskStopped
from util.task_context import TaskContext
from util.task_lifecycle import execute

if TYPE_CHECKING:
    from tests.scdf.conftest import Recorded

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GRACE = 4.0


@pytest.fixture
def signals() -> Iterator[StopSignals]:
    """Stop signals installed in this process (the test's own handlers restored after)."""
    found = StopSignals(GRACE)
    found.install()
    try:
        yield found
    finally:
        found.restore()


def engine(db: LocalScdfDatabase) -> WriteEngine:
    return open_engine(db.jdbc_url, deadline=10, timeouts=Timeouts(1, 1), redactor=Redactor())


# --- the state machine ----------------------------------------------------------------------------


def test_a_signal_in_the_body_raises_at_once_with_143(signals: StopSignals) -> None:
    went_on: list[str] = []

    def body() -> None:
        with signals.body():
            signal.raise_signal(signal.SIGTERM)
            went_on.append("the body")

    with pytest.raises(TaskStopped) as raised:
        body()
    assert went_on == []
    assert (raised.value.exit_code, signals.exit_code()) == (143, 143)


def test_a_signal_during_a_write_waits_for_its_end_then_raises(signals: StopSignals) -> None:
    done: list[str] = []

    def body() -> None:
        with signals.body():
            with signals.held():
                signal.raise_signal(signal.SIGINT)
                done.append("the write")  # not cut in half
            done.append("the body after the write")

    with pytest.raises(TaskStopped) as raised:
        body()
    assert done == ["the write"]
    assert raised.value.exit_code == 130


def test_only_the_outermost_hold_delivers(signals: StopSignals) -> None:
    done: list[str] = []

    def body() -> None:
        with signals.body():
            with signals.held():
                with signals.held():
                    signal.raise_signal(signal.SIGTERM)
                done.append("the rest of the group")
            done.append("the body after the group")

    with pytest.raises(TaskStopped):
        body()
    assert done == ["the rest of the group"]


def test_a_hold_left_by_an_error_restores_the_body_state(signals: StopSignals) -> None:
    """A failed write (a caught batch step failure) must not leave signals held for good."""

    def failed_write() -> None:
        with signals.held():
            raise ValueError("the write failed")

    with signals.body():
        with pytest.raises(ValueError, match="the write failed"):
            failed_write()
        assert signals.interruptible
        with pytest.raises(TaskStopped):
            signal.raise_signal(signal.SIGTERM)


def test_outside_the_body_a_signal_waits_and_the_body_gets_it_on_entry(signals: StopSignals) -> None:
    ran: list[str] = []

    def body() -> None:
        with signals.body():
            ran.append("the body")

    signal.raise_signal(signal.SIGTERM)  # before the body: the start is being recorded, say
    assert signals.stopping
    assert not signals.interruptible
    with pytest.raises(TaskStopped):
        body()
    assert ran == []
    assert not signals.interruptible  # the end is recorded outside the body


def test_a_stop_is_raised_once_and_a_second_signal_changes_nothing(signals: StopSignals) -> None:
    with signals.body():
        with pytest.raises(TaskStopped):
            signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)  # the body caught the stop; Ctrl-C on top
        with signals.held():
            pass  # leaving a hold does not raise the stop again
    assert signals.exit_code() == 143


def test_the_stop_puts_every_bound_write_on_one_budget(
    signals: StopSignals, scdf_db: LocalScdfDatabase
) -> None:
    before, after = engine(scdf_db), engine(scdf_db)
    signals.bind(before)
    assert before.stop_left() is None
    signal.raise_signal(signal.SIGTERM)
    left = before.stop_left()
    assert left is not None
    assert GRACE - 0.5 < left <= GRACE
    time.sleep(0.3)
    signals.bind(after)  # an engine opened after the stop keeps what is left, not a new grace
    later = after.stop_left()
    assert later is not None
    assert later <= GRACE - 0.3
    assert signals.stop_at is not None
    assert abs(time.monotonic() + later - signals.stop_at) < 0.1


def test_the_stop_arms_the_hard_exit_after_the_budget() -> None:
    hard_exit = HardExit()
    try:
        signals = StopSignals(GRACE, hard_exit)
        armed_before = hard_exit.at
        signals.stop(signal.SIGTERM)
        assert signals.stop_at is not None
        assert armed_before is None
        assert (hard_exit.at, hard_exit.code) == (signals.stop_at + HARD_EXIT_MARGIN, 143)
        assert GRACE + HARD_EXIT_MARGIN <= 1.0 + GRACE  # within the grace and a second
    finally:
        hard_exit.cancel()


def test_a_write_after_the_budget_is_not_tried(scdf_db: LocalScdfDatabase, recorded: "Recorded") -> None:
    writes = engine(scdf_db)
    writes.stop_within(0)
    with pytest.raises(Exception, match=r"the stop grace \(task.db.stop-grace\) was used up"):
        writes.run("record the end", lambda cursor, retry: None)
    assert recorded.connects == 0


# --- a run stopped at each instant ------------------------------------------------------------------


def row_of(db: LocalScdfDatabase, execution_id: int) -> ExecutionRow:
    row = db.execution(execution_id)
    assert row is not None, f"execution {execution_id} is gone"
    return row


def argv_for(db: LocalScdfDatabase, execution_id: int, *arguments: str, grace: float = GRACE) -> list[str]:
    return [
        f"--spring.datasource.url={db.jdbc_url}",
        "--spring.cloud.task.name=my-task",
        f"--task.db.stop-grace={grace:g}",
        *arguments,
        f"--spring.cloud.task.executionid={execution_id}",
    ]


def sigterm_from_another_thread() -> None:
    # As the kubelet's signal comes: the main thread gets it wherever it is.
    os.kill(os.getpid(), signal.SIGTERM)


def test_a_stop_during_the_step_end_write_is_raised_after_the_step(
    scdf_db: LocalScdfDatabase, recorded: "Recorded"
) -> None:
    scdf_db.create_batch_tables("BATCH_", batch5=False)
    execution_id = scdf_db.create_execution("my-task")
    reached: list[str] = []

    def commit(connection: object) -> None:
        assert isinstance(connection, sqlite3.Connection)
        connection.commit()
        if recorded.statements[-2].startswith("UPDATE BATCH_STEP_EXECUTION_CONTEXT") and not reached:
            reached.append("the step's end")
            sigterm_from_another_thread()
            time.sleep(0.2)  # the write is still under way when the signal comes

    recorded.on_commit = commit

    def body(context: TaskContext) -> None:
        with context.job("stopped-job") as job:
            job.run_step("one", lambda step: None)
            reached.append("after the step")
            job.run_step("two", lambda step: None)

    assert execute(body, argv=argv_for(scdf_db, execution_id), environ={}) == 143
    assert reached == ["the step's end"]
    [job] = scdf_db.jobs(execution_id, "BATCH_")
    assert (job.status, [(s.name, s.status) for s in job.steps]) == ("STOPPED", [("one", "COMPLETED")])
    row = row_of(scdf_db, execution_id)
    assert (row.status, row.exit_code) == ("ERROR", 143)


def test_a_stop_during_the_start_write_ends_the_row_without_running_the_body(
    scdf_db: LocalScdfDatabase, recorded: "Recorded"
) -> None:
    execution_id = scdf_db.create_execution("my-task")

    def commit(connection: object) -> None:
        assert isinstance(connection, sqlite3.Connection)
        connection.commit()
        if recorded.connects == 1:
            sigterm_from_another_thread()
            time.sleep(0.2)

    recorded.on_commit = commit
    ran: list[str] = []
    assert (
        execute(lambda context: ran.append("body"), argv=argv_for(scdf_db, execution_id), environ={}) == 143
    )
    assert ran == []
    row = row_of(scdf_db, execution_id)
    assert (row.status, row.exit_code) == ("ERROR", 143)
    assert "Task stopped by SIGTERM" in (row.error_message or "")


def test_a_stop_while_another_run_holds_the_lock_leaves_with_143(
    scdf_db: LocalScdfDatabase, recorded: "Recorded"
) -> None:
    with scdf_db.transaction() as connection:
        connection.execute(
            "INSERT INTO TASK_LOCK (LOCK_KEY, REGION, CLIENT_ID, CREATED_DATE) VALUES (?, 'DEFAULT', ?, ?)",
            (lock_uuid("my-task"), lock_uuid("42"), datetime.now()),
        )
    execution_id = scdf_db.create_execution("my-task")

    def commit(connection: object) -> None:
        assert isinstance(connection, sqlite3.Connection)
        connection.commit()
        if recorded.connects == 1:  # the start
            sigterm_from_another_thread()
            time.sleep(0.2)

    recorded.on_commit = commit
    lock_key = "--spring.cloud.task.single-instance-enabled=true"
    code = execute(lambda context: None, argv=argv_for(scdf_db, execution_id, lock_key), environ={})
    row = row_of(scdf_db, execution_id)
    assert (code, row.status, row.exit_code) == (143, "ERROR", 143)
    assert "TaskAlreadyRunningError" in (row.error_message or "")


def test_a_start_that_commits_after_it_was_given_up_is_ended_as_failed(
    scdf_db: LocalScdfDatabase, recorded: "Recorded"
) -> None:
    """The COMMIT reached the server but its reply came after the deadline: no RUNNING row."""
    execution_id = scdf_db.create_execution("my-task")
    landed = threading.Event()

    def commit(connection: object) -> None:
        assert isinstance(connection, sqlite3.Connection)
        if recorded.connects == 1:
            time.sleep(1.5)  # past the write's deadline: the caller has given the attempt up
            connection.commit()  # ... and the server commits all the same
            landed.set()
            return
        connection.commit()

    recorded.on_commit = commit
    bounds = [
        "--task.db.connect-deadline=1",
        "--task.db.connect-timeout=0.2",
        "--task.db.statement-timeout=0.3",
    ]
    ran: list[str] = []
    started = time.monotonic()
    code = execute(
        lambda context: ran.append("body"), argv=argv_for(scdf_db, execution_id, *bounds), environ={}
    )
    elapsed = time.monotonic() - started
    assert landed.wait(5)
    row = row_of(scdf_db, execution_id)
    assert (code, ran) == (1, [])
    assert (row.status, row.exit_code) == ("ERROR", 1), row
    assert None not in (row.start_time, row.end_time)
    assert (row.error_message or "").startswith("Task not started: Could not record")
    assert elapsed <= 1 + GRACE + 1.5


def test_will_retry_is_not_said_on_the_last_attempt(
    scdf_db: LocalScdfDatabase, recorded: "Recorded", caplog: pytest.LogCaptureFixture
) -> None:
    def commit(connection: object) -> None:
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = 5  # SQLITE_BUSY: transient
        raise error

    recorded.on_commit = commit
    writes = open_engine(scdf_db.jdbc_url, deadline=0.8, timeouts=Timeouts(0.2, 0.2), redactor=Redactor())
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(Exception, match=r"gave up after (\d+) attempts") as raised,
    ):
        writes.run("record the end", lambda cursor, retry: None)
    attempts = int(str(raised.value).split("gave up after ")[1].split()[0])
    assert attempts >= 2
    retried = [r for r in caplog.messages if "will retry" in r]
    assert len(retried) == attempts - 1, caplog.messages


# --- runs that a broken stop would hang: a process of their own -------------------------------------

CAUGHT_STEP_FAILURE = textwrap.dedent(
    """
    import time
    from util.task_lifecycle import run_task

    def task(context):
        try:
            with context.job("probe", {"run": 1}) as job:

                @job.step("fails")
                def fails(step):
                    raise RuntimeError("step failed")

        except RuntimeError:
            print("caught", flush=True)
        time.sleep(60)  # works on: a stop must still end the run
        print("not stopped", flush=True)

    run_task(task)
    """
)

SWALLOWED_STOP = textwrap.dedent(
    """
    import time
    from util.task_lifecycle import run_task

    def task(context):
        try:
            print("working", flush=True)
            time.sleep(60)
        except BaseException:
            print("swallowed", flush=True)
        time.sleep(60)

    run_task(task)
    """
)


def stopped_process(
    tmp_path: Path, scdf_db: LocalScdfDatabase, source: str, ready: str, grace: float = GRACE
) -> tuple[int, float, str, str]:
    """Runs `source` as a task until it prints `ready`, sends SIGTERM: (exit code, seconds after
    the signal, stdout, stderr)."""
    script = tmp_path / "task.py"
    script.write_text(source)
    execution_id = scdf_db.create_execution("my-task")
    process = subprocess.Popen(
        [sys.executable, str(script), *argv_for(scdf_db, execution_id, grace=grace)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        assert line == f"{ready}\n", process.communicate(timeout=30)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
        return process.returncode, time.monotonic() - sent, stdout, stderr
    finally:
        process.kill()


def test_a_body_that_caught_a_failed_step_can_still_be_stopped(
    tmp_path: Path, scdf_db: LocalScdfDatabase
) -> None:
    scdf_db.create_batch_tables("BATCH_", batch5=False)
    code, after, stdout, stderr = stopped_process(tmp_path, scdf_db, CAUGHT_STEP_FAILURE, "caught")
    assert code == 143, stderr
    assert after < 2.0, f"{after:.1f}s after SIGTERM\n{stderr}"  # at once, not at the hard exit
    assert "not stopped" not in stdout
    execution_id = scdf_db.last_execution_id()
    row = row_of(scdf_db, execution_id)
    assert (row.status, row.exit_code) == ("ERROR", 143), stderr
    [job] = scdf_db.jobs(execution_id, "BATCH_")
    assert job.status == "FAILED"


def test_a_body_that_swallows_the_stop_is_ended_by_the_hard_exit(
    tmp_path: Path, scdf_db: LocalScdfDatabase
) -> None:
    code, after, stdout, stderr = stopped_process(tmp_path, scdf_db, SWALLOWED_STOP, "working", grace=1)
    assert "swallowed" in stdout
    assert code == 143, stderr
    assert 1.0 <= after <= 1.0 + 1.0 + 0.5, f"{after:.1f}s after SIGTERM\n{stderr}"
    assert "The stop grace is over" in stderr


LEFT_BEHIND = textwrap.dedent(
    """
    import atexit
    import threading
    import time

    from util.db_sqlite import SqliteAdapter
    from util.task_lifecycle import run_task

    def never_answers(self, target, timeouts):
        threading.Event().wait(60)  # a driver call no timeout of its own ends

    SqliteAdapter.connect = never_answers
    # What a blocked driver can do to the interpreter's shutdown (Db2's CLI driver does).
    atexit.register(time.sleep, 30)
    run_task(lambda context: None)
    """
)


def test_a_run_with_writes_left_behind_leaves_without_the_interpreter_shutdown(
    tmp_path: Path, scdf_db: LocalScdfDatabase
) -> None:
    script = tmp_path / "task.py"
    script.write_text(LEFT_BEHIND)
    execution_id = scdf_db.create_execution("my-task")
    bounds = ["--task.db.connect-deadline=1", "--task.db.connect-timeout=0.2"]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script), *argv_for(scdf_db, execution_id, *bounds)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert "gave up after" in done.stderr
    assert elapsed < 15, f"{elapsed:.1f}s: the shutdown waited\n{done.stderr}"  # not the 30 s
