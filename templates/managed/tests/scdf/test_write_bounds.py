"""Writes that fail part-way: what is retried, what is not, what is stored when text does not fit.

The faults of real servers (silent, slow, reset, away, locked rows, narrow character sets) are
exercised against PostgreSQL and MariaDB by the generator's own fault suite; these tests pin
the parts that need no server: the error-code table, the exit statuses, the retry after a lost
reply, the last-resort end record, and how arguments are cut and masked.
"""

import sqlite3
import ssl
import sys
import time
from datetime import datetime

import pytest
import sqlalchemy.exc
from sqlalchemy import event

from util.db_drivers import (
    IBM_DB,
    ORACLEDB,
    PSYCOPG,
    PYMSSQL,
    PYMYSQL,
    SQLITE,
    Fault,
    classify,
    driver_for,
)
from util.redaction import MASK, Redactor
from util.task_lifecycle import execute, process_exit_code
from util.task_status import (
    ARGUMENT_CUT_MARK,
    MAX_TEXT,
    TaskStatus,
    TaskStatusError,
    fit_argument,
    replace_unstorable,
)

START = datetime(2024, 5, 6, 7, 8, 9)


# --- the error-code table -----------------------------------------------------------------------


class CodedError(Exception):
    """An error shaped like PyMySQL's and pymssql's: the number first in args."""


class SqlstateError(Exception):
    """Shaped like psycopg's: a `sqlstate` attribute."""

    def __init__(self, sqlstate, message="error"):
        super().__init__(message)
        self.sqlstate = sqlstate


class OracleDetail:
    def __init__(self, full_code):
        self.full_code = full_code


class OperationalError(Exception):
    """psycopg's connect failure has this name and no SQLSTATE."""

    def __init__(self, message, used_password=False):
        super().__init__(message)
        self.pgconn = type("PGconn", (), {"used_password": used_password})()


class ConnectionTimeout(OperationalError):  # noqa: N818 - the name psycopg gives it
    """psycopg's own subclass for a connect that timed out."""


@pytest.mark.parametrize(
    ("driver", "error", "fault"),
    [
        (PYMYSQL, CodedError(1205, "Lock wait timeout exceeded"), Fault.TRANSIENT),
        (PYMYSQL, CodedError(1213, "Deadlock found"), Fault.TRANSIENT),
        (PYMYSQL, CodedError(2013, "Lost connection to server during query"), Fault.TRANSIENT),
        (PYMYSQL, CodedError(1045, "Access denied"), Fault.LOGIN),
        (PYMYSQL, CodedError(1049, "Unknown database"), Fault.LOGIN),
        (PYMYSQL, CodedError(2026, "SSL is required but the server doesn't support it"), Fault.TLS),
        (PYMYSQL, CodedError(1366, "Incorrect string value"), Fault.TEXT),
        (PYMYSQL, CodedError(1146, "Table doesn't exist"), Fault.OTHER),
        (PSYCOPG, SqlstateError("40P01"), Fault.TRANSIENT),
        (PSYCOPG, SqlstateError("55P03"), Fault.TRANSIENT),
        (PSYCOPG, SqlstateError("57014"), Fault.TRANSIENT),
        (PSYCOPG, SqlstateError("08006"), Fault.TRANSIENT),
        (PSYCOPG, SqlstateError("28P01"), Fault.LOGIN),
        (PSYCOPG, SqlstateError("3D000"), Fault.LOGIN),
        (PSYCOPG, SqlstateError("22P05"), Fault.TEXT),
        (PSYCOPG, SqlstateError("42P01"), Fault.OTHER),
        (PSYCOPG, OperationalError("connection refused"), Fault.TRANSIENT),
        (PSYCOPG, ConnectionTimeout("connection timeout expired"), Fault.TRANSIENT),
        (PSYCOPG, OperationalError("FATAL: nope", used_password=True), Fault.LOGIN),
        (PSYCOPG, OperationalError("server does not support SSL, but SSL was required"), Fault.TLS),
        (PYMSSQL, CodedError(1205, "deadlock victim"), Fault.TRANSIENT),
        (PYMSSQL, CodedError(18456, "Login failed"), Fault.LOGIN),
        (PYMSSQL, CodedError(20009, "Unable to connect"), Fault.TRANSIENT),
        (ORACLEDB, CodedError(OracleDetail("ORA-00060")), Fault.TRANSIENT),
        (ORACLEDB, CodedError(OracleDetail("DPY-4024")), Fault.TRANSIENT),
        (ORACLEDB, CodedError(OracleDetail("ORA-01017")), Fault.LOGIN),
        (ORACLEDB, CodedError(OracleDetail("ORA-12899")), Fault.TEXT),
        (
            IBM_DB,
            CodedError("[IBM][CLI Driver] SQL30081N  A communication error SQLSTATE=08001"),
            Fault.TRANSIENT,
        ),
        (
            IBM_DB,
            CodedError("[IBM][CLI Driver] SQL30082N  Security processing failed SQLSTATE=08001"),
            Fault.LOGIN,
        ),
        (SQLITE, sqlite3.OperationalError("database is locked"), Fault.OTHER),  # no code: not guessed
    ],
)
def test_errors_are_told_apart_by_their_codes(driver, error, fault):
    assert classify(driver, error) is fault


def test_words_in_a_message_change_nothing():
    # "password" and "does not exist" in a transient error's text: still transient.
    error = CodedError(2013, "Lost connection; password authentication failed; does not exist")
    assert classify(PYMYSQL, error) is Fault.TRANSIENT


def test_the_driver_error_inside_sqlalchemy_s_wrapper_decides():
    refused = OperationalError("FATAL: password authentication failed", used_password=True)
    wrapped = sqlalchemy.exc.OperationalError("SELECT 1", {}, refused)
    assert classify(PSYCOPG, wrapped) is Fault.LOGIN


def test_a_tls_error_anywhere_in_the_chain_is_not_retried():
    wrapped = CodedError(2003, "Can't connect to MySQL server")
    wrapped.original_exception = ssl.SSLCertVerificationError("certificate verify failed")
    assert classify(PYMYSQL, wrapped) is Fault.TLS


def test_a_tls_error_on_an_open_connection_is_a_lost_connection():
    # libpq over TLS reports a reset session as "SSL error: unexpected eof while reading".
    lost = OperationalError("consuming input failed: SSL error: unexpected eof while reading")
    assert classify(PSYCOPG, lost) is Fault.TLS
    assert classify(PSYCOPG, lost, connected=True) is Fault.TRANSIENT


def test_every_supported_driver_has_an_entry():
    for name in ("pymysql", "psycopg", "pymssql", "oracledb", "ibm_db", "pysqlite"):
        assert driver_for(name).name == name


# --- exit statuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"), [(0, 0), (1, 1), (255, 255), (256, 1), (512, 1), (257, 1), (-1, 255), (-256, 1)]
)
def test_process_exit_status_fails_exactly_when_the_code_does(code, status):
    assert process_exit_code(code) == status
    assert (status == 0) is (code == 0)


@pytest.mark.parametrize("code", [256, 512, -1])
def test_exit_codes_beyond_a_byte_are_recorded_as_given(scdf_db, code):
    execution_id = scdf_db.create_execution()

    def leave(context):
        sys.exit(code)

    argv = [f"--spring.datasource.url={scdf_db.jdbc_url}", f"--spring.cloud.task.executionid={execution_id}"]
    assert execute(leave, argv=argv, environ={}) == process_exit_code(code)
    row = scdf_db.execution(execution_id)
    assert (row.exit_code, row.status) == (code, "ERROR")


# --- retries and what gets stored ----------------------------------------------------------------


def test_a_start_whose_reply_was_lost_is_not_recorded_twice(scdf_db):
    execution_id = scdf_db.create_execution()
    status = TaskStatus(execution_id, scdf_db.url, clock=lambda: START, connect_deadline=10)
    commits = []

    def commit_then_lose_the_reply(connection):
        commits.append(1)
        if len(commits) == 1:
            connection.connection.dbapi_connection.commit()
            lost = sqlite3.OperationalError("database is locked")
            lost.sqlite_errorcode = 5  # SQLITE_BUSY: transient
            raise lost

    event.listen(status.engine, "commit", commit_then_lose_the_reply)
    status.running(["--a=1", "--b=2"])

    assert len(commits) == 2
    assert scdf_db.params(execution_id) == ["--a=1", "--b=2"]
    assert scdf_db.execution(execution_id).start_time == START


def test_the_end_is_recorded_without_messages_when_they_cannot_be_stored(scdf_db):
    execution_id = scdf_db.create_execution()
    with scdf_db.engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER no_messages BEFORE UPDATE ON TASK_EXECUTION "
            "WHEN NEW.ERROR_MESSAGE IS NOT NULL BEGIN SELECT RAISE(ABORT, 'message refused'); END"
        )
    status = TaskStatus(execution_id, scdf_db.url)
    status.running()
    status.failed(7, error_message="Traceback: boom")

    row = scdf_db.execution(execution_id)
    assert (row.exit_code, row.error_message, row.status) == (7, None, "ERROR")
    assert row.end_time is not None


def test_a_sql_error_is_reported_at_once(scdf_db):
    status = TaskStatus(1, scdf_db.url, "OTHER_", connect_deadline=30)
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
def test_characters_are_replaced_step_by_step(step, stored):
    assert replace_unstorable("😀 漢字 é", step) == stored


def test_a_long_argument_keeps_its_key_and_the_end_of_its_value():
    argument = "--input.files=" + "a" * 3000 + "THE-END"
    cut = fit_argument(argument)
    assert cut.startswith("--input.files=" + ARGUMENT_CUT_MARK)
    assert cut.endswith("THE-END")
    assert len(cut) == MAX_TEXT


def test_a_long_argument_of_wide_characters_fits_in_bytes_too():
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
def test_a_short_password_is_masked_only_where_it_stands_as_a_value(text, masked):
    assert Redactor(["task"]).redact(text) == masked


def test_a_long_password_is_masked_as_a_word_of_its_own_but_not_inside_words():
    redactor = Redactor(["correct-horse"])
    assert redactor.redact("login correct-horse failed.") == f"login {MASK} failed."
    assert redactor.redact("xcorrect-horsex") == "xcorrect-horsex"
