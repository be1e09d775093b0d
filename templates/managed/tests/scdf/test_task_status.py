"""TaskStatus writes exactly what Spring Cloud Task writes, and nothing else."""

import dataclasses
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

import util.database
from util.db_adapter import ADAPTER
from util.db_api import Connection, DbTarget, Timeouts
from util.db_sqlite import SqliteAdapter
from util.local_db import ExecutionRow, LocalScdfDatabase
from util.task_args import TaskConfigError
from util.task_status import (
    MAX_TEXT,
    TRUNCATION_MARK,
    ExecutionAlreadyEndedError,
    ExecutionNotFoundError,
    TaskStatus,
    TaskStatusError,
    fit_text,
)

if TYPE_CHECKING:
    from tests.scdf.conftest import Recorded

START = datetime(2024, 5, 6, 7, 8, 9, 123000)
END = datetime(2024, 5, 6, 7, 9, 10, 456000)


def fixed_clock(*times: datetime) -> Callable[[], datetime]:
    remaining = list(times)
    return lambda: remaining.pop(0)


def status_for(db: LocalScdfDatabase, execution_id: int, prefix: str = "TASK_", **options: Any) -> TaskStatus:
    options.setdefault("clock", fixed_clock(START, END))
    return TaskStatus.open(execution_id, db.jdbc_url, prefix, **options)


def row_of(db: LocalScdfDatabase, execution_id: int, prefix: str = "TASK_") -> ExecutionRow:
    row = db.execution(execution_id, prefix)
    assert row is not None, f"execution {execution_id} is gone"
    return row


def set_external_id(db: LocalScdfDatabase, execution_id: int, prefix: str = "TASK_") -> None:
    with db.transaction() as connection:
        connection.execute(
            f"UPDATE {prefix}EXECUTION SET EXTERNAL_EXECUTION_ID = 'my-task-pod' WHERE TASK_EXECUTION_ID = ?",
            (execution_id,),
        )


def test_start_and_success_write_exactly_the_spring_cloud_task_columns(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution("my-task")
    set_external_id(scdf_db, execution_id)
    before = row_of(scdf_db, execution_id)

    status = status_for(scdf_db, execution_id, parent_execution_id=41)
    status.running(["--a=1", "--b=x=y"])
    running = row_of(scdf_db, execution_id)
    status.completed()

    assert running == dataclasses.replace(
        before, start_time=START, last_updated=START, parent_execution_id=41
    )
    assert running.status == "RUNNING"
    assert scdf_db.execution(execution_id) == dataclasses.replace(
        running, end_time=END, exit_code=0, exit_message=None, error_message=None, last_updated=END
    )
    assert row_of(scdf_db, execution_id).status == "COMPLETE"
    assert scdf_db.params(execution_id) == ["--a=1", "--b=x=y"]


def test_failure_records_code_and_error_and_leaves_exit_message_null(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()
    status = status_for(scdf_db, execution_id)
    status.running()

    status.failed(3, error_message="Traceback...\nValueError: bad")

    row = row_of(scdf_db, execution_id)
    assert (row.end_time, row.exit_code, row.exit_message, row.error_message) == (
        END,
        3,
        None,
        "Traceback...\nValueError: bad",
    )
    assert row.parent_execution_id is None
    assert row.status == "ERROR"


def test_exit_message_only_when_given_on_purpose(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()
    status = status_for(scdf_db, execution_id)
    status.running()
    status.completed(exit_message="SKIPPED")
    assert row_of(scdf_db, execution_id).exit_message == "SKIPPED"


def test_secret_arguments_are_masked_in_the_params_table(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()
    status = status_for(scdf_db, execution_id)

    status.running(
        [
            "--spring.datasource.password=hunter22",
            "--api-token=abc",
            "--spring.datasource.url=jdbc:mysql://root:hunter22@mysql/dataflow",
            "--plain=value",
        ]
    )

    assert scdf_db.params(execution_id) == [
        "--spring.datasource.password=******",
        "--api-token=******",
        "--spring.datasource.url=jdbc:mysql://root:******@mysql/dataflow",
        "--plain=value",
    ]


def test_missing_row_is_a_clear_error_and_nothing_is_written(scdf_db: LocalScdfDatabase) -> None:
    other = scdf_db.create_execution()
    before = scdf_db.execution(other)

    with pytest.raises(ExecutionNotFoundError, match="id 99 not found in TASK_EXECUTION"):
        status_for(scdf_db, 99).running(["--a=1"])

    assert scdf_db.execution(other) == before
    assert scdf_db.params(99) == []


def test_ended_row_is_not_started_again(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()
    first = status_for(scdf_db, execution_id)
    first.running()
    first.completed()
    before = scdf_db.execution(execution_id)

    with pytest.raises(ExecutionAlreadyEndedError, match="has already ended"):
        status_for(scdf_db, execution_id, clock=datetime.now).running(["--again=1"])

    assert scdf_db.execution(execution_id) == before
    assert scdf_db.params(execution_id) == []


@pytest.mark.parametrize("prefix", ["TASK_;DELETE", "scdf.TASK_", "", "TASK-"])
def test_unsafe_table_prefix_is_refused(scdf_db: LocalScdfDatabase, prefix: str) -> None:
    with pytest.raises(TaskConfigError, match="only contain letters, digits and '_'"):
        TaskStatus.open(1, scdf_db.jdbc_url, prefix)


def test_boot3_prefix_writes_only_the_boot3_tables(tmp_path: Path) -> None:
    db = LocalScdfDatabase(tmp_path / "scdf.db", prefixes=("TASK_", "BOOT3_TASK_"))
    # The two table sets have separate sequences: the same id exists in both.
    db.create_execution("boot2-task", "TASK_", execution_id=1)
    db.create_execution("boot3-task", "BOOT3_TASK_", execution_id=1)
    boot2_before = db.execution(1, "TASK_")

    status = status_for(db, 1, "boot3_task_")
    status.running(["--x=1"])
    status.completed()

    assert db.execution(1, "TASK_") == boot2_before
    assert db.params(1, "TASK_") == []
    boot3 = row_of(db, 1, "BOOT3_TASK_")
    assert (boot3.task_name, boot3.start_time, boot3.end_time, boot3.exit_code) == (
        "boot3-task",
        START,
        END,
        0,
    )
    assert db.params(1, "BOOT3_TASK_") == ["--x=1"]
    db.dispose()


def test_one_statement_per_step_and_one_batch_of_parameters(
    scdf_db: LocalScdfDatabase, recorded: "Recorded"
) -> None:
    execution_id = scdf_db.create_execution()

    status = status_for(scdf_db, execution_id)
    status.running(["--a=1", "--b=2", "--c=3"])
    status.completed()

    # check, start, the three arguments in one batch, end
    assert recorded.statements == [
        "SELECT END_TIME, START_TIME",
        "UPDATE TASK_EXECUTION SET",
        "INSERT INTO TASK_EXECUTION_PARAMS x3",
        "UPDATE TASK_EXECUTION SET",
    ]
    assert scdf_db.params(execution_id) == ["--a=1", "--b=2", "--c=3"]


def test_no_parameters_no_insert(scdf_db: LocalScdfDatabase, recorded: "Recorded") -> None:
    status = status_for(scdf_db, scdf_db.create_execution())
    status.running()
    assert "INSERT INTO TASK_EXECUTION_PARAMS x0" not in recorded.statements
    assert len(recorded.statements) == 2


def test_each_write_uses_its_own_connection_and_commits(
    scdf_db: LocalScdfDatabase, recorded: "Recorded"
) -> None:
    execution_id = scdf_db.create_execution()
    status = status_for(scdf_db, execution_id)

    status.running()
    # Committed: another connection sees the start before the end is written.
    assert row_of(scdf_db, execution_id).start_time == START
    status.completed()

    assert recorded.connects == 2


@pytest.mark.parametrize(
    "text",
    [
        "x" * 3000,
        "é" * 2000,  # 2 bytes each in UTF-8
        "😀" * 1000 + "end",  # 4 bytes each
        "a" * 2400 + "€" * 100,
    ],
)
def test_long_text_is_cut_to_2500_characters_and_bytes_keeping_the_end(text: str) -> None:
    cut = fit_text(text)
    assert cut is not None
    assert len(cut) <= MAX_TEXT
    assert len(cut.encode()) <= MAX_TEXT
    assert len(cut.encode()) > MAX_TEXT - 4  # nothing cut that would have fitted
    assert cut.startswith(TRUNCATION_MARK)
    assert text.endswith(cut[len(TRUNCATION_MARK) :])


def test_text_that_fits_is_kept_whole() -> None:
    assert fit_text("y" * MAX_TEXT) == "y" * MAX_TEXT
    assert fit_text(None) is None


def test_long_error_is_stored_cut(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()
    status = status_for(scdf_db, execution_id)
    status.running()
    status.failed(1, error_message="ü" * 5000 + "ValueError: last line")

    stored = row_of(scdf_db, execution_id).error_message
    assert stored is not None
    assert len(stored) == MAX_TEXT  # SQLite, like PostgreSQL and MariaDB, counts characters
    assert stored.endswith("ValueError: last line")


def test_connection_failure_is_retried_until_the_deadline(tmp_path: Path) -> None:
    missing = tmp_path / "not-yet" / "scdf.db"
    status = TaskStatus.open(1, f"jdbc:sqlite:{missing}", connect_deadline=0.8)

    started = time.monotonic()
    gave_up = r"Could not connect to record the start: gave up after \d+ attempts in [\d.]+s"
    with pytest.raises(TaskStatusError, match=gave_up):
        status.running()
    elapsed = time.monotonic() - started

    assert 0.8 <= elapsed < 5


def test_database_that_comes_up_during_the_retries_is_used(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    db = LocalScdfDatabase(staging / "scdf.db")
    execution_id = db.create_execution()
    db.dispose()
    target = tmp_path / "db-volume"
    # The database "comes up" half a second after the task starts.
    timer = threading.Timer(0.5, os.rename, (staging, target))
    timer.start()
    try:
        status = TaskStatus.open(execution_id, f"jdbc:sqlite:{target / 'scdf.db'}", connect_deadline=10)
        status.running()
    finally:
        timer.join()

    assert row_of(LocalScdfDatabase(target / "scdf.db"), execution_id).status == "RUNNING"


def test_authentication_failure_is_not_retried(
    scdf_db: LocalScdfDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = status_for(scdf_db, scdf_db.create_execution(), connect_deadline=30)
    attempts: list[int] = []

    def refuse(adapter: SqliteAdapter, target: DbTarget, timeouts: Timeouts) -> Connection:
        attempts.append(1)
        refused = sqlite3.OperationalError("authorization denied")
        refused.sqlite_errorcode = 23  # SQLITE_AUTH: a code the adapter marks as a login failure
        raise refused

    monkeypatch.setattr(SqliteAdapter, "connect", refuse)
    started = time.monotonic()
    with pytest.raises(TaskStatusError, match=r"refused the login .* \(not retried\)"):
        status.running()

    assert attempts == [1]
    assert time.monotonic() - started < 5


def test_sql_error_is_not_retried_and_names_the_table(scdf_db: LocalScdfDatabase) -> None:
    status = status_for(scdf_db, 1, "OTHER_")
    with pytest.raises(TaskStatusError, match="no such table: OTHER_EXECUTION"):
        status.running()


@pytest.mark.parametrize("missing", ["driver", "other"])
def test_missing_driver_is_reported_with_the_package_to_install(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    # The module the project's adapter imports first; the package to install is the adapter's own.
    module = util.database._DRIVER_MODULE if missing == "driver" else "some_helper"
    package = ADAPTER.package if missing == "driver" else "some_helper"

    def no_driver(target: DbTarget) -> NoReturn:
        raise ModuleNotFoundError(f"No module named '{module}'", name=module)

    monkeypatch.setattr("util.database.adapter_for", no_driver)
    with pytest.raises(
        TaskStatusError,
        match=rf"database driver is not installed \({module}\): install {re.escape(package)} with `pip",
    ):
        TaskStatus.open(1, DbTarget("mysql+pymysql", "h", database="db"))


def test_a_url_of_no_known_form_is_a_clear_error() -> None:
    with pytest.raises(TaskStatusError, match=r"The database URL is not usable: .*not a JDBC URL"):
        TaskStatus.open(1, "sqlite:///x.db")
