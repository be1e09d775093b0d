"""Launches without an execution id (schedules, other schedulers) and single-instance runs.

A schedule starts the image with the task's properties and arguments but no execution id: the
task creates its own row from `<prefix>SEQ`, as Spring Cloud Task does. With
spring.cloud.task.single-instance-enabled=true a second run of the same task is refused.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from util.local_db import ExecutionRow, LocalScdfDatabase
from util.local_run import PROJECT_TASK_NAME
from util.single_instance import lock_uuid
from util.task_lifecycle import TaskContext, execute
from util.testing import LaunchTask

if TYPE_CHECKING:
    from tests.scdf.conftest import Recorded

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SINGLE = "--spring.cloud.task.single-instance-enabled=true"


def scheduled_argv(db: LocalScdfDatabase, *arguments: str, name: str = "my-task") -> list[str]:
    """A schedule's command line (exec style): the properties and arguments, no execution id."""
    return [f"--spring.datasource.url={db.jdbc_url}", f"--spring.cloud.task.name={name}", *arguments]


def row_of(db: LocalScdfDatabase, execution_id: int, prefix: str = "TASK_") -> ExecutionRow:
    row = db.execution(execution_id, prefix)
    assert row is not None, f"execution {execution_id} is gone"
    return row


def succeed(context: TaskContext) -> None:
    pass


def fail(context: TaskContext) -> NoReturn:
    raise RuntimeError("boom")


def never_called(context: TaskContext) -> NoReturn:
    pytest.fail("the body must not run")


def test_a_run_without_an_id_creates_its_row_from_the_sequence(scdf_db: LocalScdfDatabase) -> None:
    scdf_db.create_execution("someone-else")  # SCDF's launches and schedules share TASK_SEQ
    seen: list[TaskContext] = []
    argv = scheduled_argv(
        scdf_db,
        "--spring.cloud.task.external-execution-id=cron-2812",
        "--spring.cloud.task.parent-execution-id=7",
        "--work.seconds=0",
    )
    before = datetime.now()

    assert execute(seen.append, argv=argv, environ={}) == 0

    after = datetime.now()
    assert seen[0].execution_id == 2
    row = row_of(scdf_db, 2)
    assert row.start_time is not None
    assert row.end_time is not None
    assert row.last_updated is not None
    assert (row.task_name, row.status, row.exit_code, row.exit_message, row.error_message) == (
        "my-task",
        "COMPLETE",
        0,
        None,
        None,
    )
    assert (row.external_execution_id, row.parent_execution_id) == ("cron-2812", 7)
    assert before - timedelta(milliseconds=1) <= row.start_time <= row.end_time == row.last_updated <= after
    assert scdf_db.params(2) == argv
    assert scdf_db.execution(3) is None


def test_statements_of_a_created_execution(scdf_db: LocalScdfDatabase, recorded: "Recorded") -> None:
    assert execute(succeed, argv=scheduled_argv(scdf_db, "--a=1"), environ={}) == 0

    # The id in a transaction of its own, then the row and its three params in one batch, the end.
    assert recorded.statements == [
        "UPDATE TASK_SEQ SET",
        "SELECT ID FROM",
        "INSERT INTO TASK_EXECUTION",
        "INSERT INTO TASK_EXECUTION_PARAMS x3",
        "UPDATE TASK_EXECUTION SET",
    ]
    assert recorded.connects == 3


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        (["--spring.application.name=app-name"], "app-name"),
        ([], "application"),
    ],
)
def test_without_a_task_name_the_name_is_resolved_as_spring_cloud_task_does(
    scdf_db: LocalScdfDatabase, arguments: list[str], name: str
) -> None:
    argv = [f"--spring.datasource.url={scdf_db.jdbc_url}", *arguments]
    assert execute(succeed, argv=argv, environ={}) == 0
    assert row_of(scdf_db, 1).task_name == name


def test_a_failed_scheduled_run_is_recorded_in_its_own_row(scdf_db: LocalScdfDatabase) -> None:
    assert execute(fail, argv=scheduled_argv(scdf_db), environ={}) == 1
    row = row_of(scdf_db, 1)
    assert (row.status, row.exit_code) == ("ERROR", 1)
    assert row.error_message is not None
    assert row.error_message.rstrip().endswith("RuntimeError: boom")


# --- a creation given up at its deadline ---------------------------------------------------------

#: A creation's write gives up after a second; the row's end after an unknown start gets the grace.
GIVE_UP = ("--task.db.connect-deadline=1", "--task.db.connect-timeout=0.2", "--task.db.statement-timeout=0.3")
GRACE = 4.0


def late_commit(
    recorded: "Recorded", *, lands: bool, hold: float = 1.5, end_reply_lost: bool = False
) -> threading.Event:
    """The creation's COMMIT (the second connection: the id is taken on the first) answers after
    the write has given it up; it then commits (`lands`) or is rolled back as a connection that
    died would be. Its transaction holds SQLite's write lock meanwhile, as a server's holds the
    row, for `hold` seconds. The event is set once it has ended either way. `end_reply_lost`:
    the first end write that commits then fails as if its reply were lost (SQLITE_BUSY)."""
    ended = threading.Event()
    end_commits: list[int] = []

    def commit(connection: object) -> None:
        assert isinstance(connection, sqlite3.Connection)
        if recorded.connects != 2:
            connection.commit()
            if recorded.connects > 2 and end_reply_lost and not end_commits:
                end_commits.append(recorded.connects)
                error = sqlite3.OperationalError("database is locked")
                error.sqlite_errorcode = 5  # SQLITE_BUSY: transient
                raise error
            return
        time.sleep(hold)  # past the write's deadline: the caller has given the attempt up
        if lands:
            connection.commit()
        else:
            connection.rollback()
        ended.set()

    recorded.on_commit = commit
    return ended


@pytest.mark.parametrize("lands", [True, False], ids=["commits-late", "never-commits"])
def test_a_created_row_whose_creation_was_given_up_is_never_left_running(
    scdf_db: LocalScdfDatabase, recorded: "Recorded", lands: bool
) -> None:
    ended = late_commit(recorded, lands=lands)
    argv = scheduled_argv(scdf_db, *GIVE_UP, f"--task.db.stop-grace={GRACE:g}", "--a=1")
    started = time.monotonic()

    code = execute(never_called, argv=argv, environ={})

    elapsed = time.monotonic() - started
    assert ended.wait(5)
    row = row_of(scdf_db, 1)
    assert code == 1
    assert (row.task_name, row.status, row.exit_code) == ("my-task", "ERROR", 1), row
    assert None not in (row.start_time, row.end_time)
    assert (row.error_message or "").startswith("Task not started: Could not create the task execution")
    # The late creation's own arguments, or none: the row was created ended, its run never ran.
    assert scdf_db.params(1) == (argv if lands else [])
    assert scdf_db.execution(2) is None
    assert elapsed <= 1 + GRACE + 1.5


def test_a_row_created_ended_whose_reply_was_lost_is_found_ended_by_the_retry(
    scdf_db: LocalScdfDatabase, recorded: "Recorded", caplog: pytest.LogCaptureFixture
) -> None:
    # The end write gets a deadline (2 s) of its own: room for a retry after the creation's lock.
    ended = late_commit(recorded, lands=False, hold=2.5, end_reply_lost=True)
    bounds = (
        "--task.db.connect-deadline=2",
        "--task.db.connect-timeout=0.2",
        "--task.db.statement-timeout=0.3",
    )
    argv = scheduled_argv(scdf_db, *bounds, f"--task.db.stop-grace={GRACE:g}")

    assert execute(never_called, argv=argv, environ={}) == 1

    assert ended.wait(5)
    row = row_of(scdf_db, 1)
    assert (row.status, row.exit_code) == ("ERROR", 1), row
    assert scdf_db.execution(2) is None
    assert not [m for m in caplog.messages if "could not be ended" in m or "meanwhile" in m], caplog.messages


def test_external_execution_id_is_also_recorded_on_scdf_s_row(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution("my-task")
    argv = scheduled_argv(
        scdf_db,
        "--spring.cloud.task.external-execution-id=job-17",
        f"--spring.cloud.task.executionid={execution_id}",
    )
    assert execute(succeed, argv=argv, environ={}) == 0
    assert row_of(scdf_db, execution_id).external_execution_id == "job-17"


def test_without_the_setting_scdf_s_external_execution_id_is_left_alone(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution("my-task")
    with scdf_db.transaction() as connection:
        connection.execute("UPDATE TASK_EXECUTION SET EXTERNAL_EXECUTION_ID = 'pod-1'")
    argv = scheduled_argv(scdf_db, f"--spring.cloud.task.executionid={execution_id}")
    assert execute(succeed, argv=argv, environ={}) == 0
    assert row_of(scdf_db, execution_id).external_execution_id == "pod-1"


def test_local_run_runs_as_a_schedule(tmp_path: Path) -> None:
    db = str(tmp_path / "scdf.db")  # local_run keeps its file: a fresh one makes this execution 1
    result = subprocess.run(
        [sys.executable, "-m", "util.local_run", "--db", db, "--scheduled", "--work.seconds=0"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"Task execution 1 ({PROJECT_TASK_NAME}): COMPLETE" in result.stdout
    assert "  parameters:    --work.seconds=0\n" in result.stdout


@pytest.mark.parametrize("style", ["local", "exec", "shell", "boot"])
def test_scheduled_launch_in_every_style(launch_task: LaunchTask, style: str) -> None:
    external_id = "--spring.cloud.task.external-execution-id=cron-1"
    run = launch_task("--work.seconds=0", external_id, style=style, scheduled=True)
    assert run.returncode == 0, run.stderr
    assert (run.execution_id, run.row.status, run.row.task_name, run.row.external_execution_id) == (
        1,
        "COMPLETE",
        "python-task",
        "cron-1",
    )


def test_twenty_scheduled_runs_at_once_get_twenty_distinct_ended_rows(scdf_db: LocalScdfDatabase) -> None:
    argv = [
        sys.executable,
        "python_task.py",
        *scheduled_argv(scdf_db, "--work.seconds=0.2", name="python-task"),
    ]
    processes = [
        subprocess.Popen(argv, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(20)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [p.returncode for p in processes] == [0] * 20, [err for _, err in outputs]
    assert scdf_db.execution_ids("python-task") == list(range(1, 21))
    assert {row_of(scdf_db, i).status for i in range(1, 21)} == {"COMPLETE"}


# --- single instance ---------------------------------------------------------------------------


def java_lock(db: LocalScdfDatabase, execution_id: int, created: datetime) -> None:
    """The lock row a Java run of `my-task` with this execution id holds."""
    with db.transaction() as connection:
        connection.execute(
            "INSERT INTO TASK_LOCK (LOCK_KEY, REGION, CLIENT_ID, CREATED_DATE) VALUES (?, 'DEFAULT', ?, ?)",
            (lock_uuid("my-task"), lock_uuid(str(execution_id)), created),
        )


def test_a_second_run_is_refused_and_records_why(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    java_lock(scdf_db, 99, datetime.now())

    assert execute(never_called, argv=scheduled_argv(scdf_db, SINGLE), environ={}) == 1

    row = row_of(scdf_db, 1)
    assert (row.status, row.exit_code, row.exit_message) == ("ERROR", 1, None)
    assert row.error_message == 'TaskAlreadyRunningError: Task with name "my-task" is already running.'
    assert 'Task with name "my-task" is already running.' in caplog.text
    assert scdf_db.locks() == [(lock_uuid("my-task"), "DEFAULT", lock_uuid("99"))]


def test_the_lock_is_released_after_success_and_after_failure(scdf_db: LocalScdfDatabase) -> None:
    seen_locks: list[tuple[str, str, str | None]] = []

    def look(context: TaskContext) -> None:
        seen_locks.extend(scdf_db.locks())

    assert execute(look, argv=scheduled_argv(scdf_db, SINGLE), environ={}) == 0
    assert seen_locks == [(lock_uuid("my-task"), "DEFAULT", lock_uuid("1"))]
    assert scdf_db.locks() == []

    assert execute(fail, argv=scheduled_argv(scdf_db, SINGLE), environ={}) == 1
    assert scdf_db.locks() == []
    assert row_of(scdf_db, 2).status == "ERROR"


def test_a_lock_left_by_a_killed_run_expires_after_its_time_to_live(scdf_db: LocalScdfDatabase) -> None:
    java_lock(scdf_db, 99, datetime.now() - timedelta(seconds=5))
    ttl = "--spring.cloud.task.single-instance-lock-ttl=4000"

    assert execute(succeed, argv=scheduled_argv(scdf_db, SINGLE, ttl), environ={}) == 0
    assert row_of(scdf_db, 1).status == "COMPLETE"
    assert scdf_db.locks() == []


def test_a_lock_within_its_time_to_live_still_refuses(scdf_db: LocalScdfDatabase) -> None:
    java_lock(scdf_db, 99, datetime.now() - timedelta(seconds=5))
    ttl = "--spring.cloud.task.single-instance-lock-ttl=60000"

    assert execute(never_called, argv=scheduled_argv(scdf_db, SINGLE, ttl), environ={}) == 1
    assert row_of(scdf_db, 1).status == "ERROR"


HOLDING_TASK = textwrap.dedent(
    """
    import time
    from util.task_lifecycle import run_task

    def task(context):
        print("holding", flush=True)
        time.sleep(60)

    run_task(task)
    """
)


def test_sigterm_releases_the_lock_of_a_running_task(tmp_path: Path, scdf_db: LocalScdfDatabase) -> None:
    script = tmp_path / "holding_task.py"
    script.write_text(HOLDING_TASK)
    process = subprocess.Popen(
        [sys.executable, str(script), *scheduled_argv(scdf_db, SINGLE)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "holding\n"
        # While it runs, another run of the same task is refused.
        assert execute(never_called, argv=scheduled_argv(scdf_db, SINGLE), environ={}) == 1
        assert row_of(scdf_db, 2).status == "ERROR"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()

    assert process.returncode == 143, stderr
    assert row_of(scdf_db, 1).exit_code == 143
    assert scdf_db.locks() == []
    assert execute(succeed, argv=scheduled_argv(scdf_db, SINGLE), environ={}) == 0
    assert row_of(scdf_db, 3).status == "COMPLETE"


def test_boot3_tables_have_their_own_lock(tmp_path: Path) -> None:
    db = LocalScdfDatabase(tmp_path / "scdf.db", prefixes=("TASK_", "BOOT3_TASK_"))
    java_lock(db, 99, datetime.now())
    argv = scheduled_argv(db, SINGLE, "--spring.cloud.task.tablePrefix=BOOT3_TASK_")

    assert execute(succeed, argv=argv, environ={}) == 0
    assert row_of(db, 1, "BOOT3_TASK_").status == "COMPLETE"
    assert db.execution(1, "TASK_") is None
    db.dispose()
