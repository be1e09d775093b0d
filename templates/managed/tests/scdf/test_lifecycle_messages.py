"""What a run says and records for each way it ends (`util.task_lifecycle`), in this process: the
log lines an operator reads in SCDF's task log, the trace stored in the row, `run_task`'s exit,
and a stop that comes before the row is touched.

Mutation testing (`npm run mutation` in generator-scdf-task) found these unpinned by the tests
that see them only through a task's own process, which it cannot relate to the code they run.
"""

import logging
import signal
import sqlite3
import sys
import threading
import time
import traceback
from types import SimpleNamespace
from typing import TYPE_CHECKING, NoReturn

import pytest

from util import bounded_write, task_lifecycle
from util.bounded_write import WriteEngine
from util.database import open_engine
from util.launch import Launch
from util.local_db import ExecutionRow, LocalScdfDatabase
from util.redaction import MASK
from util.single_instance import lock_uuid
from util.task_args import LaunchSettings
from util.task_context import TaskContext
from util.task_lifecycle import execute, run_task

if TYPE_CHECKING:
    from tests.scdf.conftest import Recorded


def argv_for(db: LocalScdfDatabase, execution_id: int, *arguments: str) -> list[str]:
    return [
        f"--spring.datasource.url={db.jdbc_url}",
        "--spring.cloud.task.name=my-task",
        *arguments,
        f"--spring.cloud.task.executionid={execution_id}",
    ]


def row_of(db: LocalScdfDatabase, execution_id: int) -> ExecutionRow:
    row = db.execution(execution_id)
    assert row is not None, f"execution {execution_id} is gone"
    return row


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def exits_3(context: TaskContext) -> NoReturn:
    sys.exit(3)


def exits_with_words(context: TaskContext) -> NoReturn:
    sys.exit("nothing to do today")


def stopped(context: TaskContext) -> None:
    signal.raise_signal(signal.SIGTERM)


def interrupted(context: TaskContext) -> NoReturn:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("body", "code", "said"),
    [
        (exits_3, 3, "Task called sys.exit(3)"),
        (exits_with_words, 1, "Task exited: nothing to do today"),
        (stopped, 143, "Task stopped by SIGTERM"),
    ],
)
def test_each_ending_says_why_in_one_error_line(
    scdf_db: LocalScdfDatabase,
    caplog: pytest.LogCaptureFixture,
    body: object,
    code: int,
    said: str,
) -> None:
    execution_id = scdf_db.create_execution("my-task")
    with caplog.at_level(logging.INFO):
        assert execute(body, argv=argv_for(scdf_db, execution_id), environ={}) == code  # type: ignore[arg-type]
    assert errors(caplog) == [said]
    assert f"Task execution {execution_id} started (TASK_EXECUTION)" in caplog.messages
    assert f"Task execution {execution_id} ended with exit code {code}" in caplog.messages
    assert row_of(scdf_db, execution_id).exit_code == code


def test_an_interrupt_is_recorded_with_its_trace(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution("my-task")
    assert execute(interrupted, argv=argv_for(scdf_db, execution_id), environ={}) == 130
    row = row_of(scdf_db, execution_id)
    assert row.exit_code == 130
    message = row.error_message or ""
    assert message.startswith("Traceback (most recent call last):\n"), message
    assert message.endswith("KeyboardInterrupt\n"), message
    # The trace's lines as Python prints them, one after the other.
    assert "\n  File " in message
    assert "XXXX" not in message


def test_a_refusal_says_why_and_one_not_recorded_says_so(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    with scdf_db.transaction() as connection:  # another run holds the lock, far from expiring
        connection.execute(
            "INSERT INTO TASK_LOCK (LOCK_KEY, REGION, CLIENT_ID, CREATED_DATE) VALUES (?, 'DEFAULT', ?, ?)",
            (lock_uuid("my-task"), lock_uuid("42"), "2999-01-01 00:00:00.000000"),
        )
    single = "--spring.cloud.task.single-instance-enabled=true"
    execution_id = scdf_db.create_execution("my-task")
    with caplog.at_level(logging.INFO):
        assert execute(lambda context: None, argv=argv_for(scdf_db, execution_id, single), environ={}) == 1
    assert errors(caplog) == ['Task refused: Task with name "my-task" is already running.']

    # The refusal's own write fails: said, with the failure's trace, and the refusal stands.
    with scdf_db.transaction() as connection:
        connection.execute(
            "CREATE TRIGGER no_end BEFORE UPDATE ON TASK_EXECUTION "
            "WHEN NEW.END_TIME IS NOT NULL BEGIN SELECT RAISE(ABORT, 'no end today'); END"
        )
    caplog.clear()
    execution_id = scdf_db.create_execution("my-task")
    with caplog.at_level(logging.INFO):
        assert execute(lambda context: None, argv=argv_for(scdf_db, execution_id, single), environ={}) == 1
    [refused, unrecorded] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert refused.getMessage().startswith("Task refused: ")
    assert unrecorded.getMessage() == "The refusal could not be recorded"
    assert unrecorded.exc_info is not None
    assert "no end today" in "".join(traceback.format_exception(*unrecorded.exc_info))


@pytest.mark.parametrize("when", ["reading the launch", "opening the database"])
def test_a_stop_before_the_row_is_touched_leaves_it_alone_with_143(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    real_open, real_parse = open_engine, LaunchSettings.parse

    def stopped_while_opening(*args: object, **kwargs: object) -> WriteEngine:
        signal.raise_signal(signal.SIGTERM)  # the kubelet's stop, before the row is touched
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    def stopped_while_reading(*args: object, **kwargs: object) -> LaunchSettings:
        signal.raise_signal(signal.SIGTERM)  # ... before even the launch's grace is known
        return real_parse(*args, **kwargs)  # type: ignore[arg-type]

    if when == "opening the database":
        monkeypatch.setattr(task_lifecycle, "open_engine", stopped_while_opening)
    else:
        monkeypatch.setattr(LaunchSettings, "parse", stopped_while_reading)
    execution_id = scdf_db.create_execution("my-task")
    ran: list[str] = []
    code = execute(lambda context: ran.append("body"), argv=argv_for(scdf_db, execution_id), environ={})
    assert (code, ran) == (143, [])
    assert errors(caplog) == ["Task stopped by SIGTERM before the task started; the row was not touched"]
    row = row_of(scdf_db, execution_id)
    assert (row.start_time, row.end_time, row.exit_code) == (None, None, None)


def test_settings_that_cannot_be_read_are_said(caplog: pytest.LogCaptureFixture) -> None:
    assert execute(lambda context: None, argv=[], environ={"SPRING_APPLICATION_JSON": "{not json"}) == 1
    [said] = errors(caplog)
    assert said.startswith("Task not started: SPRING_APPLICATION_JSON "), said


@pytest.mark.parametrize(("body", "code"), [(lambda context: None, 0), (exits_3, 3)])
def test_run_task_leaves_through_sys_exit_with_the_code(
    scdf_db: LocalScdfDatabase, monkeypatch: pytest.MonkeyPatch, body: object, code: int
) -> None:
    # No write was left behind in this run (others in this process do not count): sys.exit.
    monkeypatch.setattr(bounded_write, "_left_behind", 0)
    # The environment given (none) is the one read, not this process's.
    monkeypatch.setenv("SPRING_CLOUD_TASK_TABLEPREFIX", "NOT_THERE_")
    execution_id = scdf_db.create_execution("my-task")
    with pytest.raises(SystemExit) as leaving:
        run_task(body, argv=argv_for(scdf_db, execution_id), environ={})  # type: ignore[arg-type]
    assert leaving.value.code == code
    assert row_of(scdf_db, execution_id).exit_code == code


def exits_256(context: TaskContext) -> NoReturn:
    sys.exit(256)


def test_a_code_beyond_a_byte_is_recorded_and_the_status_it_leaves_with_said(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    execution_id = scdf_db.create_execution("my-task")
    with caplog.at_level(logging.WARNING):
        assert execute(exits_256, argv=argv_for(scdf_db, execution_id), environ={}) == 1
    assert "Exit code 256 recorded; the process exits with 1 (exit statuses are 0-255)" in caplog.messages
    assert row_of(scdf_db, execution_id).exit_code == 256


def test_the_row_masks_a_secret_setting_s_value_wherever_it_appears(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution("my-task")
    token = "--my.api-token=Tok-98765-abc"
    argv = argv_for(scdf_db, execution_id, token, "--note=sent Tok-98765-abc")
    assert execute(lambda context: None, argv=argv, environ={}) == 0
    assert f"--note=sent {MASK}" in scdf_db.params(execution_id)
    assert "Tok-98765-abc" not in " ".join(scdf_db.params(execution_id))


def test_a_run_not_started_says_why(scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture) -> None:
    assert execute(lambda context: None, argv=argv_for(scdf_db, 99), environ={}) == 1
    [said] = errors(caplog)
    assert said.startswith("Task not started: Invalid task execution: id 99 not found in TASK_EXECUTION."), (
        said
    )


def test_a_driver_s_own_error_at_the_start_is_logged_with_its_trace(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = ValueError("the driver broke")

    def breaks(*args: object, **kwargs: object) -> WriteEngine:
        raise broken

    monkeypatch.setattr(task_lifecycle, "open_engine", breaks)
    assert execute(lambda context: None, argv=argv_for(scdf_db, 7), environ={}) == 1
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage() == "Task not started: ValueError"
    assert record.exc_info is not None
    assert record.exc_info[1] is broken


def fails_with_an_exit_message(context: TaskContext) -> None:
    context.exit_message = "SKIPPED"
    raise RuntimeError("boom")


def test_a_failure_says_so_with_its_trace_and_keeps_the_exit_message_set(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    execution_id = scdf_db.create_execution("my-task")
    assert execute(fails_with_an_exit_message, argv=argv_for(scdf_db, execution_id), environ={}) == 1
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage() == "Task failed"
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "boom"
    row = row_of(scdf_db, execution_id)
    assert (row.exit_code, row.exit_message) == (1, "SKIPPED")


def test_an_end_that_cannot_be_recorded_is_said_and_fails_the_run(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    with scdf_db.transaction() as connection:
        connection.execute(
            "CREATE TRIGGER no_end BEFORE UPDATE ON TASK_EXECUTION "
            "WHEN NEW.END_TIME IS NOT NULL BEGIN SELECT RAISE(ABORT, 'no end today'); END"
        )
    execution_id = scdf_db.create_execution("my-task")
    assert execute(lambda context: None, argv=argv_for(scdf_db, execution_id), environ={}) == 1
    [said] = errors(caplog)
    assert said.startswith("The end of the task could not be recorded: Could not record "), said
    assert said.endswith("no end today"), said


def test_an_unusable_setting_is_named_before_anything_starts(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    argv = [f"--spring.datasource.url={scdf_db.jdbc_url}", "--spring.cloud.task.executionid="]
    assert execute(lambda context: None, argv=argv, environ={}) == 1
    [said] = errors(caplog)
    assert said.startswith("Task not started: spring.cloud.task.executionid is empty"), said


@pytest.mark.parametrize("end_refused", [False, True])
def test_a_start_given_up_while_connected_is_ended_and_says_so(
    scdf_db: LocalScdfDatabase, recorded: "Recorded", caplog: pytest.LogCaptureFixture, end_refused: bool
) -> None:
    """The start's COMMIT reached the database but its reply came after the deadline."""
    if end_refused:
        with scdf_db.transaction() as connection:
            connection.execute(
                "CREATE TRIGGER no_end BEFORE UPDATE ON TASK_EXECUTION "
                "WHEN NEW.END_TIME IS NOT NULL BEGIN SELECT RAISE(ABORT, 'no end today'); END"
            )
    execution_id = scdf_db.create_execution("my-task")
    landed = threading.Event()

    def late_commit(connection: object) -> None:
        assert isinstance(connection, sqlite3.Connection)
        if recorded.connects == 1:
            time.sleep(1.2)  # past the write's deadline: the attempt was given up
            connection.commit()
            landed.set()
            return
        connection.commit()

    recorded.on_commit = late_commit
    bounds = [
        "--task.db.connect-deadline=0.8",
        "--task.db.connect-timeout=0.2",
        "--task.db.statement-timeout=0.3",
    ]
    assert execute(lambda context: None, argv=argv_for(scdf_db, execution_id, *bounds), environ={}) == 1
    assert landed.wait(5)
    assert "The start may have been recorded all the same; ending the row as failed" in caplog.messages
    row = row_of(scdf_db, execution_id)
    if not end_refused:
        assert (row.status, row.exit_code) == ("ERROR", 1)
        return
    [unended] = [m for m in errors(caplog) if m.startswith("The row could not be ended: ")]
    assert unended.startswith("The row could not be ended: Could not record "), unended
    assert unended.endswith("no end today"), unended


def test_a_created_row_whose_reply_was_lost_is_found_by_the_retry_not_created_twice(
    scdf_db: LocalScdfDatabase, recorded: "Recorded", caplog: pytest.LogCaptureFixture
) -> None:
    """A schedule's run (no execution id) creates its row; the COMMIT landed, its reply did not."""
    lost: list[str] = []

    def commit_then_lose_the_reply(connection: object) -> None:
        assert isinstance(connection, sqlite3.Connection)
        connection.commit()
        if not lost and "INSERT INTO TASK_EXECUTION" in recorded.statements:
            lost.append("the creation's reply")
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = 5  # SQLITE_BUSY: transient, so retried
            raise error

    recorded.on_commit = commit_then_lose_the_reply
    argv = [f"--spring.datasource.url={scdf_db.jdbc_url}", "--spring.cloud.task.name=my-task", "--a=1"]
    with caplog.at_level(logging.INFO):
        assert execute(lambda context: None, argv=argv, environ={}) == 0
    assert lost == ["the creation's reply"]
    execution_id = scdf_db.last_execution_id()
    assert f"Task execution {execution_id} was created by the attempt before" in caplog.messages
    assert row_of(scdf_db, execution_id).exit_code == 0
    assert scdf_db.params(execution_id) == argv  # stored once


class Left(Exception):  # noqa: N818 - what os._exit did, in place of leaving
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def test_run_task_with_a_write_left_behind_leaves_by_os_exit_with_the_code(
    scdf_db: LocalScdfDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the forked run in test_stop_state.py, in this process: `os._exit`, as
    `util.task_lifecycle` sees it, is recorded instead of ending the test session."""

    def record_exit(code: int) -> NoReturn:
        raise Left(code)

    monkeypatch.setattr(bounded_write, "_left_behind", 1)  # a driver call still blocked
    monkeypatch.setattr(task_lifecycle, "os", SimpleNamespace(_exit=record_exit, environ={}))
    execution_id = scdf_db.create_execution("my-task")
    with pytest.raises(Left) as leaving:
        run_task(exits_3, argv=argv_for(scdf_db, execution_id), environ={})
    assert leaving.value.code == 3


def test_a_job_s_records_mask_the_run_s_secrets(scdf_db: LocalScdfDatabase) -> None:
    scdf_db.create_batch_tables("BATCH_", batch5=False)
    execution_id = scdf_db.create_execution("my-task")

    def leaks(context: TaskContext) -> None:
        with context.job("leaky"):
            raise RuntimeError("login with Sekret-Pa55word failed")

    argv = argv_for(scdf_db, execution_id, "--spring.datasource.password=Sekret-Pa55word")
    assert execute(leaks, argv=argv, environ={}) == 1
    [job] = scdf_db.jobs(execution_id, "BATCH_")
    assert job.status == "FAILED"
    assert f"login with {MASK} failed" in (job.exit_message or "")
    assert "Sekret-Pa55word" not in (job.exit_message or "")


def test_a_job_outside_a_run_is_refused_with_what_to_do(scdf_db: LocalScdfDatabase) -> None:
    launch = Launch.from_settings(LaunchSettings.parse(argv_for(scdf_db, 1), {}))
    with pytest.raises(
        RuntimeError, match=r"^context\.job\(\) records into the task execution: run the body"
    ):
        TaskContext(launch, 1).job("alone")


def test_the_body_reads_a_setting_in_any_relaxed_form_or_its_default(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution("my-task")
    seen: list[str | None] = []

    def reads(context: TaskContext) -> None:
        seen.extend([context.get("work.batchSize"), context.get("work.missing", "none given")])

    argv = argv_for(scdf_db, execution_id, "--work.batch-size=40")
    assert execute(reads, argv=argv, environ={}) == 0
    assert seen == ["40", "none given"]
