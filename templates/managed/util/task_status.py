"""Writes the task's execution row the way Spring Cloud Task does, so SCDF shows the right status.

SCDF inserts the `<prefix>EXECUTION` row before the launch and never writes it again: the task
alone records its start, end, exit code and error. SCDF derives the status it shows from that
row, and the Composed Task Runner waits for END_TIME and EXIT_CODE, so a row left open hangs a
composed task. Hence: every write is committed at once on its own short connection, connection
failures are retried until a deadline, and no error message carries the database password.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import DateTime, Engine, bindparam, create_engine, exc, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import NullPool

from util.execution_creation import insert_execution
from util.execution_ids import SequenceError, next_execution_id
from util.redaction import Redactor
from util.task_args import (
    DEFAULT_CONNECT_DEADLINE,
    DEFAULT_TABLE_PREFIX,
    DEFAULT_TASK_NAME,
    LaunchSettings,
    validate_table_prefix,
)

#: EXIT_MESSAGE, ERROR_MESSAGE and TASK_PARAM are VARCHAR(2500); some databases count bytes.
MAX_TEXT = 2500
TRUNCATION_MARK = "[...]\n"

log = logging.getLogger(__name__)

# Words in driver messages that mean retrying cannot help: wrong credentials or missing database.
_NOT_TRANSIENT = (
    "access denied",
    "authentication failed",
    "login failed",
    "password",
    "ora-01017",
    "ora-28000",
    "sql30082n",
    "28p01",
    "28000",
    "not authorized",
    "unknown database",
    "does not exist",
)

# Installed-driver hints for a URL whose driver is missing.
_DRIVER_PACKAGES = {
    "pymysql": "PyMySQL[rsa]",
    "psycopg": "psycopg[binary]",
    "pymssql": "pymssql",
    "oracledb": "oracledb",
    "ibm_db": "ibm_db and ibm_db_sa",
}


class TaskStatusError(RuntimeError):
    """The row could not be read or written; the message is safe to log."""


class ExecutionNotFoundError(TaskStatusError):
    pass


class ExecutionAlreadyEndedError(TaskStatusError):
    pass


def local_now() -> datetime:
    """Naive local wall-clock time to the millisecond: what the JVM's `new Date()` writes."""
    now = datetime.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def fit_text(value: str | None, limit: int = MAX_TEXT) -> str | None:
    """`value` cut to `limit` characters and UTF-8 bytes, keeping the end.

    The end is kept because a Python traceback ends with the exception and its message.
    """
    if value is None or (len(value) <= limit and len(value.encode()) <= limit):
        return value
    budget = limit - len(TRUNCATION_MARK.encode())
    tail = value[-budget:]
    while len(tail.encode()) > budget:
        # Drop whole characters until the multi-byte ones fit the byte budget too.
        excess = len(tail.encode()) - budget
        tail = tail[max(1, excess // 4) :]
    return TRUNCATION_MARK + tail


class TaskStatus:
    """The `<prefix>EXECUTION` row of one task execution.

    `start()` records the start: `running()` on the row SCDF inserted when there is an id, else
    on a row created from `<prefix>SEQ` (a scheduled launch). `completed()` and `failed()` record
    the end. EXTERNAL_EXECUTION_ID is SCDF's, written only when the launch sets
    spring.cloud.task.external-execution-id.
    """

    def __init__(
        self,
        task_id: int | None,
        db_url: URL | str,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        *,
        parent_execution_id: int | None = None,
        connect_deadline: float = DEFAULT_CONNECT_DEADLINE,
        redactor: Redactor | None = None,
        write_guard: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
        clock: Callable[[], datetime] = local_now,
    ) -> None:
        url = make_url(db_url) if isinstance(db_url, str) else db_url
        self.task_id = task_id
        self.table_prefix = validate_table_prefix(table_prefix)
        self.parent_execution_id = parent_execution_id
        self._deadline = connect_deadline
        self._redactor = (redactor or Redactor()).with_secrets([url.password])
        self._write_guard = write_guard
        self._clock = clock
        # NullPool: a short-lived process gains nothing from pooling, and each write should use
        # a fresh connection. hide_parameters keeps bound values out of error messages.
        self._engine: Engine = self._create_engine(url)

    def __repr__(self) -> str:
        return f"TaskStatus(task_id={self.task_id}, table_prefix={self.table_prefix!r})"

    @property
    def engine(self) -> Engine:
        """The engine behind the writes, for tests and event listeners."""
        return self._engine

    def start(
        self,
        arguments: Sequence[str] = (),
        *,
        task_name: str | None = None,
        external_execution_id: str | None = None,
    ) -> int:
        """Records the start and returns the execution id.

        With an id (SCDF's launch) on SCDF's row; without one (a schedule) on a row created here
        from `<prefix>SEQ`, as Spring Cloud Task does, named `task_name`.
        """
        if self.task_id is None:
            self.task_id = self._create(arguments, task_name, external_execution_id)
        else:
            self.running(arguments, external_execution_id=external_execution_id)
        return self.task_id

    def running(self, arguments: Sequence[str] = (), *, external_execution_id: str | None = None) -> None:
        """Checks that the row exists and has not ended, then records the start and arguments."""
        p = self.table_prefix
        check = text(f"SELECT END_TIME FROM {p}EXECUTION WHERE TASK_EXECUTION_ID = :task_id")
        assignments = "START_TIME = :start_time, LAST_UPDATED = :start_time"
        values: dict[str, object] = {"task_id": self.task_id, "start_time": self._clock()}
        if self.parent_execution_id is not None:
            assignments += ", PARENT_EXECUTION_ID = :parent_id"
            values["parent_id"] = self.parent_execution_id
        if external_execution_id is not None:  # as Spring Cloud Task: only when the launch sets one
            assignments += ", EXTERNAL_EXECUTION_ID = :external_id"
            values["external_id"] = external_execution_id
        start = text(f"UPDATE {p}EXECUTION SET {assignments} WHERE TASK_EXECUTION_ID = :task_id")
        start = start.bindparams(bindparam("start_time", type_=DateTime()))
        with self._transaction("record the start") as connection:
            rows = connection.execute(check, {"task_id": self.task_id}).all()
            if not rows:
                raise ExecutionNotFoundError(
                    f"Invalid task execution: id {self.task_id} not found in {p}EXECUTION. SCDF creates "
                    "the row before the launch; check spring.cloud.task.executionid and tablePrefix."
                )
            if rows[0][0] is not None:
                raise ExecutionAlreadyEndedError(
                    f"Task execution {self.task_id} in {p}EXECUTION has already ended: not starting it again"
                )
            connection.execute(start, values)
            self._record_arguments(connection, arguments)

    def _create(
        self, arguments: Sequence[str], task_name: str | None, external_execution_id: str | None
    ) -> int:
        try:
            # The id is taken and committed on its own, as Spring's incrementers do, so that the
            # `<prefix>SEQ` row lock (table form) is held only for that moment.
            with self._transaction("take the next execution id") as connection:
                task_id = next_execution_id(connection, self.table_prefix)
        except SequenceError as error:
            raise TaskStatusError(f"Could not create the task execution: {error}") from None
        self.task_id = task_id
        with self._transaction("create the task execution") as connection:
            insert_execution(
                connection,
                self.table_prefix,
                task_id,
                task_name=task_name or DEFAULT_TASK_NAME,
                start_time=self._clock(),
                external_execution_id=external_execution_id,
                parent_execution_id=self.parent_execution_id,
            )
            self._record_arguments(connection, arguments)
        return task_id

    def _record_arguments(self, connection: Connection, arguments: Sequence[str]) -> None:
        insert = text(
            f"INSERT INTO {self.table_prefix}EXECUTION_PARAMS (TASK_EXECUTION_ID, TASK_PARAM) "
            "VALUES (:task_id, :param)"
        )
        # Secrets among the arguments themselves (a password inside a JDBC URL, say) are masked too.
        redactor = self._redactor.with_secrets(LaunchSettings.parse(arguments, {}).secrets())
        for argument in arguments:
            # One row per argument, as Spring Cloud Task writes them; secrets masked first.
            param = fit_text(redactor.redact_argument(argument))
            connection.execute(insert, {"task_id": self.task_id, "param": param})

    def completed(self, exit_message: str | None = None) -> None:
        """Records success: exit code 0 and, unless given on purpose, no exit message."""
        self.ended(0, exit_message=exit_message)

    def failed(
        self, exit_code: int, exit_message: str | None = None, error_message: str | None = None
    ) -> None:
        """Records a failure with `exit_code` (not 0) and usually the stack trace as error message.

        Leave `exit_message` None unless a composed-task transition needs it: a non-empty
        EXIT_MESSAGE becomes the step's status and breaks `a && b`.
        """
        self.ended(exit_code, exit_message=exit_message, error_message=error_message)

    def ended(
        self, exit_code: int, exit_message: str | None = None, error_message: str | None = None
    ) -> None:
        """Records the end with `exit_code`; messages are redacted and cut to fit their columns."""
        now = self._clock()
        end = text(
            f"UPDATE {self.table_prefix}EXECUTION SET END_TIME = :end_time, EXIT_CODE = :exit_code, "
            "EXIT_MESSAGE = :exit_message, ERROR_MESSAGE = :error_message, LAST_UPDATED = :end_time "
            "WHERE TASK_EXECUTION_ID = :task_id"
        ).bindparams(bindparam("end_time", type_=DateTime()))
        values = {
            "end_time": now,
            "exit_code": exit_code,
            "exit_message": fit_text(self._redact(exit_message)),
            "error_message": fit_text(self._redact(error_message)),
            "task_id": self.task_id,
        }
        with self._transaction("record the end") as connection:
            updated = connection.execute(end, values).rowcount
            if updated != 1:
                raise TaskStatusError(
                    f"Task execution {self.task_id} is gone from {self.table_prefix}EXECUTION: "
                    "end not recorded"
                )

    def dispose(self) -> None:
        self._engine.dispose()

    # --- connections ----------------------------------------------------------------------

    def _redact(self, value: str | None) -> str | None:
        return self._redactor.redact(value) if value is not None else None

    def _create_engine(self, url: URL) -> Engine:
        try:
            return create_engine(url, poolclass=NullPool, hide_parameters=True)
        except ImportError as error:
            package = _DRIVER_PACKAGES.get(url.get_driver_name(), url.get_driver_name())
            raise TaskStatusError(
                f"The {url.get_backend_name()} driver is not installed ({error.name}): install {package} "
                "with `pip install -r requirements.txt`"
            ) from None
        except exc.ArgumentError as error:
            raise TaskStatusError(f"The database URL is not usable: {self._describe(error)}") from None

    @contextlib.contextmanager
    def _transaction(self, purpose: str) -> Iterator[Connection]:
        connection = self._connect(purpose)
        try:
            with self._write_guard(), connection.begin():
                yield connection
        except exc.SQLAlchemyError as error:
            raise TaskStatusError(f"Could not {purpose}: {self._describe(error)}") from None
        finally:
            connection.close()

    def _connect(self, purpose: str) -> Connection:
        """A new connection, retried with backoff while the failure looks transient."""
        deadline = time.monotonic() + self._deadline
        delay, attempt = 0.25, 1
        while True:
            try:
                return self._engine.connect()
            except exc.SQLAlchemyError as error:
                reason = self._describe(error)
                transient = isinstance(error, (exc.OperationalError, exc.InterfaceError)) and not any(
                    word in reason.lower() for word in _NOT_TRANSIENT
                )
                remaining = deadline - time.monotonic()
                if not transient or remaining <= 0:
                    tries = f" after {attempt} attempts" if attempt > 1 else ""
                    raise TaskStatusError(f"Could not connect to {purpose}{tries}: {reason}") from None
                pause = min(delay, remaining)
                log.warning("Database not reachable (attempt %d), retry in %.2fs: %s", attempt, pause, reason)
                time.sleep(pause)
                delay, attempt = min(delay * 2, 5.0), attempt + 1

    def _describe(self, error: BaseException) -> str:
        # The driver's own message, without SQLAlchemy's link footer, secrets masked.
        original = getattr(error, "orig", None)
        message = str(original) if original is not None else str(error)
        return self._redactor.redact(f"{type(original or error).__name__}: {message}".strip())
