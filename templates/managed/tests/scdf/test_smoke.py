"""A quick smoke of the utilities, in every plain `pytest` run beside your own tests.

Each test runs the task body in this process against a SQLite stand-in for SCDF's database, so
the whole file takes well under a second. The rest of tests/scdf/ (the utilities' full contract:
launch styles, signals, locks, batch jobs, drivers) runs with `pytest tests/scdf`.
"""

import logging
import sys
from typing import NoReturn

import pytest

from util.local_db import ExecutionRow, LocalScdfDatabase
from util.task_lifecycle import TaskContext, execute

PASSWORD = "smoke-secret-42"


def exec_argv(db: LocalScdfDatabase, execution_id: int | None, *arguments: str) -> list[str]:
    """SCDF's `exec` entry point style: settings and arguments on the command line."""
    launch = [f"--spring.cloud.task.executionid={execution_id}"] if execution_id is not None else []
    return [
        f"--spring.datasource.url={db.jdbc_url}",
        "--spring.datasource.username=scdf",
        f"--spring.datasource.password={PASSWORD}",
        "--spring.cloud.task.name=smoke-task",
        *arguments,
        *launch,
    ]


def row_of(db: LocalScdfDatabase, execution_id: int) -> ExecutionRow:
    row = db.execution(execution_id)
    assert row is not None, f"execution {execution_id} is gone"
    return row


def test_the_row_is_started_before_the_body_and_completed_after_it(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution("smoke-task")
    during: list[ExecutionRow] = []

    def body(context: TaskContext) -> None:
        during.append(row_of(scdf_db, context.execution_id))

    assert execute(body, argv=exec_argv(scdf_db, execution_id, "--work.seconds=0"), environ={}) == 0

    assert during[0].status == "RUNNING"
    assert during[0].start_time is not None
    assert during[0].end_time is None
    row = row_of(scdf_db, execution_id)
    assert (row.status, row.exit_code, row.exit_message, row.error_message) == ("COMPLETE", 0, None, None)
    assert row.end_time is not None
    assert during[0].start_time <= row.end_time
    assert "--work.seconds=0" in scdf_db.params(execution_id)


def test_an_exception_ends_the_row_as_failed_with_its_trace(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution("smoke-task")

    def fail(context: TaskContext) -> NoReturn:
        raise RuntimeError("boom")

    assert execute(fail, argv=exec_argv(scdf_db, execution_id), environ={}) == 1

    row = row_of(scdf_db, execution_id)
    # EXIT_MESSAGE stays NULL so composed tasks read the step as FAILED; the trace is the error.
    assert (row.status, row.exit_code, row.exit_message) == ("ERROR", 1, None)
    assert row.error_message is not None
    assert row.error_message.startswith("Traceback (most recent call last):")
    assert row.error_message.rstrip().endswith("RuntimeError: boom")


def test_the_code_of_sys_exit_is_the_recorded_exit_code(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution("smoke-task")

    def leave(context: TaskContext) -> NoReturn:
        sys.exit(3)

    assert execute(leave, argv=exec_argv(scdf_db, execution_id), environ={}) == 3

    row = row_of(scdf_db, execution_id)
    assert (row.status, row.exit_code, row.exit_message, row.error_message) == ("ERROR", 3, None, None)


def test_a_launch_without_an_id_creates_and_ends_its_own_row(scdf_db: LocalScdfDatabase) -> None:
    """As a schedule launches: no execution id, the task takes the next one from TASK_SEQ."""
    scdf_db.create_execution("another-task")
    seen: list[int] = []

    def body(context: TaskContext) -> None:
        seen.append(context.execution_id)

    assert execute(body, argv=exec_argv(scdf_db, None), environ={}) == 0

    assert seen == [2]
    row = row_of(scdf_db, 2)
    assert (row.task_name, row.status, row.exit_code) == ("smoke-task", "COMPLETE", 0)


def test_the_password_stays_out_of_the_row_its_params_and_the_log(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    execution_id = scdf_db.create_execution("smoke-task")

    def leak(context: TaskContext) -> NoReturn:
        raise ConnectionError(f"login refused for scdf:{context.get_str('spring.datasource.password')}")

    assert execute(leak, argv=exec_argv(scdf_db, execution_id), environ={}) == 1

    row = row_of(scdf_db, execution_id)
    assert row.error_message is not None
    assert "login refused for scdf:" in row.error_message
    for text in (repr(row), *scdf_db.params(execution_id), caplog.text):
        assert PASSWORD not in text


def test_without_a_database_url_nothing_starts_and_the_error_names_local_run(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    execution_id = scdf_db.create_execution("smoke-task")

    def never_called(context: TaskContext) -> NoReturn:
        pytest.fail("the body must not run")

    argv = [f"--spring.cloud.task.executionid={execution_id}"]
    assert execute(never_called, argv=argv, environ={}) == 1

    assert row_of(scdf_db, execution_id).status == "UNKNOWN"
    assert "spring.datasource.url is not set" in caplog.text
    assert "python -m util.local_run" in caplog.text
