"""Writes that fail part-way: what is retried, what is not, what is stored when text does not fit.

The faults of real servers (silent, slow, reset, away, locked rows, narrow character sets) are
exercised against PostgreSQL and MariaDB by the generator's own fault suite; these tests pin
the parts that need no server: the error-code table, the exit statuses, the retry after a lost
reply, the last-resort end record, and how arguments are cut and masked.
"""

import sqlite3
import ssl
import sys
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, NoReturn

import pytest

from util.bounded_write import WriteError
from util.database import open_engine
from util.db_api import Connection, DbTarget, Fault, Timeouts
from util.db_sqlite import ADAPTER as SQLITE
from util.db_sqlite import SqliteAdapter
from util.local_db import ExecutionRow, LocalScdfDatabase
from util.redaction import MASK, Redactor
from util.task_lifecycle import TaskContext, execute, process_exit_code
from util.task_status import (
    ARGUMENT_CUT_MARK,
    MAX_TEXT,
    TaskStatus,
    TaskStatusError,
    fit_argument,
    replace_unstorable,
)

if TYPE_CHECKING:
    from tests.scdf.conftest import Recorded

START = datetime(2024, 5, 6, 7, 8, 9)


def row_of(db: LocalScdfDatabase, execution_id: int) -> ExecutionRow:
    row = db.execution(execution_id)
    assert row is not None, f"execution {execution_id} is gone"
    return row


# --- what errors mean (this project's own driver: tests/scdf/test_db_adapter.py) -----------------


def sqlite_error(code: int, message: str = "error") -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (sqlite_error(5, "database is locked"), Fault.TRANSIENT),  # SQLITE_BUSY
        (sqlite_error(14, "unable to open database file"), Fault.TRANSIENT),  # SQLITE_CANTOPEN
        (sqlite_error(23, "not authorized"), Fault.LOGIN),  # SQLITE_AUTH
        (sqlite_error(1, "no such table: X"), Fault.OTHER),
        (sqlite3.OperationalError("database is locked"), Fault.OTHER),  # no code: not guessed
        (ConnectionResetError("reset by peer"), Fault.TRANSIENT),
        (UnicodeEncodeError("latin-1", "😀", 0, 1, "cannot encode"), Fault.TEXT),
    ],
)
def test_sqlite_errors_are_told_apart_by_their_codes(error: BaseException, fault: Fault) -> None:
    assert SQLITE.classify(error) is fault


def test_a_tls_error_anywhere_in_the_chain_is_not_retried() -> None:
    wrapped = sqlite_error(1, "cannot connect")
    wrapped.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
    assert SQLITE.classify(wrapped) is Fault.TLS
    # ... but on a connection that was open, TLS ending is the connection being lost.
    assert SQLITE.classify(wrapped, connected=True) is Fault.TRANSIENT


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("qmark", "UPDATE T SET A = ?, B = ? WHERE C = ?"),
        ("format", "UPDATE T SET A = %s, B = %s WHERE C = %s"),
        ("numeric", "UPDATE T SET A = :1, B = :2 WHERE C = :3"),
    ],
)
def test_statements_are_written_once_in_the_driver_s_parameter_style(style: str, expected: str) -> None:
    class Styled(SqliteAdapter):
        paramstyle = style

    assert Styled().sql("UPDATE T SET A = ?, B = ? WHERE C = ?") == expected


# --- exit statuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"), [(0, 0), (1, 1), (255, 255), (256, 1), (512, 1), (257, 1), (-1, 255), (-256, 1)]
)
def test_process_exit_status_fails_exactly_when_the_code_does(code: int, status: int) -> None:
    assert process_exit_code(code) == status
    assert (status == 0) is (code == 0)


@pytest.mark.parametrize("code", [256, 512, -1])
def test_exit_codes_beyond_a_byte_are_recorded_as_given(scdf_db: LocalScdfDatabase, code: int) -> None:
    execution_id = scdf_db.create_execution()

    def leave(context: TaskContext) -> NoReturn:
        sys.exit(code)

    argv = [f"--spring.datasource.url={scdf_db.jdbc_url}", f"--spring.cloud.task.executionid={execution_id}"]
    assert execute(leave, argv=argv, environ={}) == process_exit_code(code)
    row = row_of(scdf_db, execution_id)
    assert (row.exit_code, row.status) == (code, "ERROR")


# --- retries and what gets stored ----------------------------------------------------------------


def test_a_start_whose_reply_was_lost_is_not_recorded_twice(
    scdf_db: LocalScdfDatabase, recorded: "Recorded"
) -> None:
    execution_id = scdf_db.create_execution()
    status = TaskStatus.open(execution_id, scdf_db.jdbc_url, clock=lambda: START, connect_deadline=10)
    commits: list[int] = []

    def commit_then_lose_the_reply(connection: object) -> None:
        assert isinstance(connection, sqlite3.Connection)
        commits.append(1)
        connection.commit()
        if len(commits) == 1:
            raise sqlite_error(5, "database is locked")  # SQLITE_BUSY: transient

    recorded.on_commit = commit_then_lose_the_reply
    status.running(["--a=1", "--b=2"])

    assert len(commits) == 2
    assert scdf_db.params(execution_id) == ["--a=1", "--b=2"]
    assert row_of(scdf_db, execution_id).start_time == START


def test_the_end_is_recorded_without_messages_when_they_cannot_be_stored(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()
    with scdf_db.transaction() as connection:
        connection.execute(
            "CREATE TRIGGER no_messages BEFORE UPDATE ON TASK_EXECUTION "
            "WHEN NEW.ERROR_MESSAGE IS NOT NULL BEGIN SELECT RAISE(ABORT, 'message refused'); END"
        )
    status = TaskStatus.open(execution_id, scdf_db.jdbc_url)
    status.running()
    status.failed(7, error_message="Traceback: boom")

    row = row_of(scdf_db, execution_id)
    assert (row.exit_code, row.error_message, row.status) == (7, None, "ERROR")
    assert row.end_time is not None


def test_a_driver_call_that_never_returns_is_left_behind_at_the_deadline_and_never_commits(
    scdf_db: LocalScdfDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    execution_id = scdf_db.create_execution()
    release = threading.Event()
    real_connect = SqliteAdapter.connect

    def connect_when_released(self: SqliteAdapter, target: DbTarget, timeouts: Timeouts) -> Connection:
        # A driver blocked in a call no timeout of its own ends (as python-oracledb's thin mode
        # on a silent server): it returns only when the test lets it, long after the deadline.
        release.wait(30)
        return real_connect(self, target, timeouts)

    monkeypatch.setattr(SqliteAdapter, "connect", connect_when_released)
    status = TaskStatus.open(execution_id, scdf_db.jdbc_url, connect_deadline=1.0, connect_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(TaskStatusError, match=r"gave up after \d+ attempts .*no answer within") as raised:
        status.running(["--a=1"])
    elapsed = time.monotonic() - started
    release.set()
    time.sleep(0.5)  # the attempts left behind connect and write now: none of them may commit

    assert raised.value.fault is Fault.TRANSIENT
    assert 1.0 <= elapsed < 1.5
    assert status.engine.abandoned >= 1
    assert row_of(scdf_db, execution_id).start_time is None
    assert scdf_db.params(execution_id) == []


def test_a_sql_error_is_reported_at_once(scdf_db: LocalScdfDatabase) -> None:
    status = TaskStatus.open(1, scdf_db.jdbc_url, "OTHER_", connect_deadline=30)
    started = time.monotonic()
    with pytest.raises(TaskStatusError, match="no such table: OTHER_EXECUTION") as raised:
        status.running()
    assert raised.value.fault is Fault.OTHER
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("step", "stored"),
    [
        (0, "😀 漢字 é"),
        (1, "? 漢字 é"),  # utf8mb3: nothing beyond U+FFFF
        (2, "? ?? é"),  # latin1
        (3, "? ?? ?"),  # ASCII
    ],
)
def test_characters_are_replaced_step_by_step(step: int, stored: str) -> None:
    assert replace_unstorable("😀 漢字 é", step) == stored


def test_a_long_argument_keeps_its_key_and_the_end_of_its_value() -> None:
    argument = "--input.files=" + "a" * 3000 + "THE-END"
    cut = fit_argument(argument)
    assert cut.startswith("--input.files=" + ARGUMENT_CUT_MARK)
    assert cut.endswith("THE-END")
    assert len(cut) == MAX_TEXT


def test_a_long_argument_of_wide_characters_fits_in_bytes_too() -> None:
    cut = fit_argument("--note=" + "漢" * 2000)
    assert cut.startswith("--note=" + ARGUMENT_CUT_MARK)
    assert len(cut.encode()) <= MAX_TEXT


# --- masking ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("--spring.cloud.task.executionid=3", "--spring.cloud.task.executionid=3"),
        ("python_task.py", "python_task.py"),
        ("the task failed", "the task failed"),  # a short password is not looked for in prose
        ("--spring.datasource.password=task", f"--spring.datasource.password={MASK}"),
        ("--other=task", f"--other={MASK}"),
        ("jdbc:mysql://root:task@db/dataflow", f"jdbc:mysql://root:{MASK}@db/dataflow"),
        ('{"spring.datasource.password": "task"}', f'{{"spring.datasource.password": "{MASK}"}}'),
        ("user=scdf password=task dbname=x", f"user=scdf password={MASK} dbname=x"),
        ("task", MASK),
    ],
)
def test_a_short_password_is_masked_only_where_it_stands_as_a_value(text: str, masked: str) -> None:
    assert Redactor(["task"]).redact(text) == masked


def test_a_long_password_is_masked_as_a_word_of_its_own_but_not_inside_words() -> None:
    redactor = Redactor(["correct-horse"])
    assert redactor.redact("login correct-horse failed.") == f"login {MASK} failed."
    assert redactor.redact("xcorrect-horsex") == "xcorrect-horsex"


def test_no_attempt_starts_without_room_to_end(
    scdf_db: LocalScdfDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each attempt fails after 0.1 s; after two attempts and their pauses 0.05 s of the 1.0 s is
    # left. An attempt started then would be abandoned at the deadline: its "no answer within
    # 0.0s" would hide the driver's error and leave a thread behind. None is started.
    def busy_after_a_while(self: SqliteAdapter, target: DbTarget, timeouts: Timeouts) -> NoReturn:
        time.sleep(0.1)
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = 5  # SQLITE_BUSY: transient
        raise error

    monkeypatch.setattr(SqliteAdapter, "connect", busy_after_a_while)
    writes = open_engine(scdf_db.jdbc_url, deadline=1.0, timeouts=Timeouts(0.5, 0.5), redactor=Redactor())
    started = time.monotonic()
    with pytest.raises(WriteError) as raised:
        writes.run("record the end", lambda cursor, retry: None)
    elapsed = time.monotonic() - started

    assert "gave up after 2 attempts" in str(raised.value), raised.value
    assert str(raised.value).endswith("database is locked"), raised.value
    assert writes.abandoned == 0
    assert 1.0 <= elapsed < 1.3  # the deadline kept, not cut short
