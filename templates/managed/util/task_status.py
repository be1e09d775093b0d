"""Writes the task's execution row the way Spring Cloud Task does, so SCDF shows the right status.

SCDF inserts the `<prefix>EXECUTION` row before the launch and never writes it again: the task
alone records its start, end, exit code and error. SCDF derives the status it shows from that
row, and the Composed Task Runner waits for END_TIME and EXIT_CODE, so a row left open hangs a
composed task. Hence every write:

- is committed at once, on its own short connection;
- is bounded: each attempt by the driver's connect and statement timeouts (and a watchdog that
  cuts a connection to a silent server), the whole write, retries included, by
  `task.db.connect-deadline`;
- is retried when the error is transient by its code (see `util.db_drivers`), and can be
  retried safely: a write whose reply was lost is found done, not done twice;
- is stored in a simpler form rather than not at all when a text does not fit its column;
- never carries the database password in an error message.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Engine, bindparam, create_engine, event, exc, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import NullPool

from util.db_drivers import Driver, Fault, Timeouts, classify, cut_connection, driver_for
from util.execution_creation import insert_execution
from util.execution_ids import SequenceError, next_execution_id
from util.redaction import Redactor
from util.task_args import (
    DEFAULT_CONNECT_DEADLINE,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_STATEMENT_TIMEOUT,
    DEFAULT_TABLE_PREFIX,
    DEFAULT_TASK_NAME,
    LaunchSettings,
    validate_table_prefix,
)

#: EXIT_MESSAGE, ERROR_MESSAGE and TASK_PARAM are VARCHAR(2500); some databases count bytes.
MAX_TEXT = 2500
TRUNCATION_MARK = "[...]\n"
#: Marks the cut inside one argument, whose `--key=` is kept in front.
ARGUMENT_CUT_MARK = "[...]"
#: Put in front of an error message whose characters had to be replaced to be stored.
REPLACED_NOTE = "[characters the column's character set cannot store were replaced by '?']\n"


log = logging.getLogger(__name__)

# Installed-driver hints for a URL whose driver is missing.
_DRIVER_PACKAGES = {
    "pymysql": "PyMySQL[rsa]",
    "psycopg": "psycopg[binary]",
    "pymssql": "pymssql",
    "oracledb": "oracledb",
    "ibm_db": "ibm_db and ibm_db_sa",
}

# From the richest text to the plainest: the characters each step replaces with '?'. A utf8mb3
# column holds no character beyond U+FFFF, a latin1 one none beyond U+00FF; ASCII fits anywhere.
_REPLACEMENTS: tuple[tuple[str, int], ...] = (
    ("beyond U+FFFF", 0xFFFF),
    ("beyond Latin-1", 0xFF),
    ("beyond ASCII", 0x7F),
)


class TaskStatusError(RuntimeError):
    """The row could not be read or written; the message is safe to log."""

    def __init__(self, message: str, fault: Fault | None = None) -> None:
        super().__init__(message)
        #: Why the write failed, when a database error was the cause.
        self.fault = fault


class ExecutionNotFoundError(TaskStatusError):
    pass


class ExecutionAlreadyEndedError(TaskStatusError):
    pass


def local_now() -> datetime:
    """Naive local wall-clock time to the millisecond: what the JVM's `new Date()` writes."""
    now = datetime.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def fit_text(value: str | None, limit: int = MAX_TEXT, mark: str = TRUNCATION_MARK) -> str | None:
    """`value` cut to `limit` characters and UTF-8 bytes, keeping the end.

    The end is kept because a Python traceback ends with the exception and its message.
    """
    if value is None or (len(value) <= limit and len(value.encode()) <= limit):
        return value
    budget = limit - len(mark.encode())
    tail = value[-budget:] if budget > 0 else ""
    while len(tail.encode()) > budget:
        # Drop whole characters until the multi-byte ones fit the byte budget too.
        excess = len(tail.encode()) - budget
        tail = tail[max(1, excess // 4) :]
    return mark + tail


def fit_argument(argument: str, limit: int = MAX_TEXT) -> str:
    """An argument cut to fit TASK_PARAM: `--key=` stays in front, the end of the value after it."""
    if len(argument) <= limit and len(argument.encode()) <= limit:
        return argument
    key, sep, value = argument.partition("=")
    if sep and key.startswith("-") and len(f"{key}=".encode()) <= limit // 2:
        prefix = f"{key}="
        return prefix + (fit_text(value, limit - len(prefix.encode()), ARGUMENT_CUT_MARK) or "")
    return fit_text(argument, limit) or ""


def replace_unstorable(value: str | None, step: int) -> str | None:
    """`value` with the characters of replacement step `step` (0: none) replaced by '?'."""
    if value is None or step == 0:
        return value
    highest = _REPLACEMENTS[step - 1][1]
    return "".join(c if ord(c) <= highest else "?" for c in value)


class _ConnectError(Exception):
    """Setting up the connection failed (as opposed to a statement on an open one)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _Watchdog:
    """Cuts the connection of an attempt that runs past its time.

    Driver timeouts bound most waits, but not all (psycopg has none for a reply that never
    comes). Shutting the socket down from this thread makes the blocked driver call return
    with the driver's own "connection lost" error, which is then retried like any other.

    A daemon thread polls plain attributes: a stop signal's handler tightens the limit by
    assigning one (`limit`), because a handler must not take locks or start threads, which the
    interrupted main thread may be holding.
    """

    POLL = 0.05

    def __init__(self, driver: Driver, limit: Callable[[], float | None]) -> None:
        self._driver = driver
        self._limit = limit
        #: (until, connection) of the attempt under way, replaced as one value.
        self._attempt: tuple[float, Any] | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self.fired = False

    def start(self, until: float) -> None:
        self.fired = False
        self._attempt = (until, None)
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="db-watchdog", daemon=True)
            self._thread.start()

    def attach(self, connection: Any) -> None:
        if self._attempt is not None:
            self._attempt = (self._attempt[0], connection)

    def stop(self) -> None:
        self._attempt = None

    def close(self) -> None:
        self._closed = True

    def _watch(self) -> None:
        while not self._closed:
            attempt = self._attempt
            if attempt is not None and not self.fired:
                until, connection = attempt
                limit = self._limit()
                if limit is not None:
                    until = min(until, limit)
                if time.monotonic() >= until and connection is not None:
                    self.fired = True
                    cut_connection(self._driver, connection)
            time.sleep(self.POLL)


class TaskStatus:
    """The `<prefix>EXECUTION` row of one task execution.

    `start()` records the start: `running()` on the row SCDF inserted when there is an id, else
    on a row created from `<prefix>SEQ` (a scheduled launch). `completed()` and `failed()` record
    the end. EXTERNAL_EXECUTION_ID is SCDF's, written only when the launch sets
    spring.cloud.task.external-execution-id. `db_url` may list several URLs (the hosts of a
    failover or load-balanced JDBC URL): each attempt tries them in the order given.
    """

    def __init__(
        self,
        task_id: int | None,
        db_url: URL | str | Sequence[URL | str],
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        *,
        parent_execution_id: int | None = None,
        connect_deadline: float = DEFAULT_CONNECT_DEADLINE,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
        redactor: Redactor | None = None,
        write_guard: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
        clock: Callable[[], datetime] = local_now,
    ) -> None:
        given = [db_url] if isinstance(db_url, (str, URL)) else list(db_url)
        if not given:
            raise TaskStatusError("No database URL given")
        urls = [make_url(u) if isinstance(u, str) else u for u in given]
        self.task_id = task_id
        self.table_prefix = validate_table_prefix(table_prefix)
        self.parent_execution_id = parent_execution_id
        self._deadline = connect_deadline
        self._timeouts = Timeouts(connect_timeout, statement_timeout)
        self._attempt_timeouts = self._timeouts
        self._redactor = (redactor or Redactor()).with_secrets([u.password for u in urls])
        self._write_guard = write_guard
        self._clock = clock
        self._driver = driver_for(urls[0].get_driver_name())
        self._watchdog = _Watchdog(self._driver, lambda: self._stop_at)
        #: Set by `stop_within()`: no write may last past this (monotonic) time.
        self._stop_at: float | None = None
        self._write_until: float | None = None
        self._engines = [self._create_engine(u) for u in urls]

    def __repr__(self) -> str:
        return f"TaskStatus(task_id={self.task_id}, table_prefix={self.table_prefix!r})"

    @property
    def engine(self) -> Engine:
        """The engine of the first host, for tests and event listeners."""
        return self._engines[0]

    def stop_within(self, seconds: float) -> None:
        """From now on, every write (also one under way) ends within `seconds`.

        For a stop signal: the platform kills the process after its grace period anyway.
        Safe to call from a signal handler: it only assigns attributes.
        """
        at = time.monotonic() + seconds
        self._stop_at = at if self._stop_at is None else min(self._stop_at, at)
        if self._write_until is not None:
            self._write_until = min(self._write_until, at)

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
        """Checks that the row exists and has not ended, then records the start and arguments.

        An argument the column's character set cannot hold is stored with those characters
        replaced; the start itself never fails for it.
        """
        start = functools.partial(
            self._start, when=self._clock(), external_execution_id=external_execution_id
        )
        self._write_with_params("record the start", self._new_deadline(), arguments, start)

    def _create(
        self, arguments: Sequence[str], task_name: str | None, external_execution_id: str | None
    ) -> int:
        until = self._new_deadline()
        taken: list[int] = []

        def take(connection: Connection, retry: bool) -> None:
            # A retry after a lost reply takes another id; the one lost is a gap, as sequences have.
            try:
                taken[:] = [next_execution_id(connection, self.table_prefix)]
            except SequenceError as error:  # no incrementer to use: retrying cannot help
                raise TaskStatusError(f"Could not create the task execution: {error}") from None

        # The id is taken and committed on its own, as Spring's incrementers do, so that the
        # `<prefix>SEQ` row lock (table form) is held only for that moment.
        self._write("take the next execution id", until, take)
        self.task_id = taken[0]
        create = functools.partial(
            self._insert,
            when=self._clock(),
            task_name=task_name or DEFAULT_TASK_NAME,
            external_execution_id=external_execution_id,
        )
        self._write_with_params("create the task execution", until, arguments, create)
        return self.task_id

    def _write_with_params(
        self,
        purpose: str,
        until: float,
        arguments: Sequence[str],
        work: Callable[..., None],
    ) -> None:
        """Runs `work(connection, retry, params=...)`, the arguments stored as TASK_PARAM values.

        An argument the column's character set cannot hold is stored with those characters
        replaced rather than failing the start.
        """
        # Secrets among the arguments themselves (a password inside a JDBC URL, say) are masked too.
        redactor = self._redactor.with_secrets(LaunchSettings.parse(arguments, {}).secrets())
        params = [fit_argument(redactor.redact_argument(a)) for a in arguments]
        for step in range(len(_REPLACEMENTS) + 1):
            stored = [replace_unstorable(p, step) or "" for p in params]
            try:
                self._write(purpose, until, functools.partial(work, params=stored))
            except TaskStatusError as error:
                if error.fault is not Fault.TEXT or step == len(_REPLACEMENTS):
                    raise
                log.warning(
                    "An argument does not fit TASK_PARAM as it is; storing it with characters %s "
                    "replaced by '?'",
                    _REPLACEMENTS[step][0],
                )
                continue
            return

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
        """Records the end with `exit_code`; messages are redacted and cut to fit their columns.

        The end is recorded whenever the database can store anything: messages its character
        set cannot hold are stored with those characters replaced (and the error message says
        so), and as a last resort END_TIME and EXIT_CODE are written without messages.
        """
        now = self._clock()
        exit_text = fit_text(self._redact(exit_message))
        error_text = fit_text(self._redact(error_message))
        until = self._new_deadline()
        for step in range(len(_REPLACEMENTS) + 1):
            stored_exit = replace_unstorable(exit_text, step)
            stored_error = replace_unstorable(error_text, step)
            if step and stored_error is not None and stored_error != error_text:
                stored_error = fit_text(REPLACED_NOTE + stored_error)
            try:
                end = functools.partial(self._end, when=now, code=exit_code, exit_message=stored_exit)
                self._write("record the end", until, functools.partial(end, error_message=stored_error))
                return
            except TaskStatusError as error:
                if error.fault is Fault.TEXT and step < len(_REPLACEMENTS):
                    log.warning("The messages do not fit their columns as they are: %s", error)
                    continue
                if error.fault not in (Fault.TEXT, Fault.OTHER) or (exit_text, error_text) == (None, None):
                    raise
                log.warning("Recording the end without messages, since they cannot be stored: %s", error)
                break
        last_resort = functools.partial(
            self._end, when=now, code=exit_code, exit_message=None, error_message=None
        )
        self._write("record the end", until, last_resort)

    def dispose(self) -> None:
        self._watchdog.close()
        for engine in self._engines:
            engine.dispose()

    # --- the statements -------------------------------------------------------------------

    def _start(
        self,
        connection: Connection,
        retry: bool,
        *,
        when: datetime,
        external_execution_id: str | None,
        params: list[str],
    ) -> None:
        p = self.table_prefix
        check = text(f"SELECT END_TIME, START_TIME FROM {p}EXECUTION WHERE TASK_EXECUTION_ID = :task_id")
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
        if retry and rows[0][1] is not None:
            # The attempt before committed, but its reply was lost: the start is recorded.
            log.info("The start of task execution %d was recorded by the attempt before", self.task_id)
            return
        assignments = "START_TIME = :start_time, LAST_UPDATED = :start_time"
        values: dict[str, object] = {"task_id": self.task_id, "start_time": when}
        if self.parent_execution_id is not None:
            assignments += ", PARENT_EXECUTION_ID = :parent_id"
            values["parent_id"] = self.parent_execution_id
        if external_execution_id is not None:  # as Spring Cloud Task: only when the launch sets one
            assignments += ", EXTERNAL_EXECUTION_ID = :external_id"
            values["external_id"] = external_execution_id
        start = text(f"UPDATE {p}EXECUTION SET {assignments} WHERE TASK_EXECUTION_ID = :task_id")
        connection.execute(start.bindparams(bindparam("start_time", type_=DateTime())), values)
        self._insert_params(connection, params)

    def _insert(
        self,
        connection: Connection,
        retry: bool,
        *,
        when: datetime,
        task_name: str,
        external_execution_id: str | None,
        params: list[str],
    ) -> None:
        p = self.table_prefix
        assert self.task_id is not None
        if retry:
            check = text(f"SELECT 1 FROM {p}EXECUTION WHERE TASK_EXECUTION_ID = :task_id")
            if connection.execute(check, {"task_id": self.task_id}).first() is not None:
                # The attempt before committed, but its reply was lost: the row and params are there.
                log.info("Task execution %d was created by the attempt before", self.task_id)
                return
        insert_execution(
            connection,
            p,
            self.task_id,
            task_name=task_name,
            start_time=when,
            external_execution_id=external_execution_id,
            parent_execution_id=self.parent_execution_id,
        )
        self._insert_params(connection, params)

    def _insert_params(self, connection: Connection, params: list[str]) -> None:
        insert = text(
            f"INSERT INTO {self.table_prefix}EXECUTION_PARAMS (TASK_EXECUTION_ID, TASK_PARAM) "
            "VALUES (:task_id, :param)"
        )
        for param in params:
            # One row per argument, as Spring Cloud Task writes them.
            connection.execute(insert, {"task_id": self.task_id, "param": param})

    def _end(
        self,
        connection: Connection,
        retry: bool,
        *,
        when: datetime,
        code: int,
        exit_message: str | None,
        error_message: str | None,
    ) -> None:
        # The same values on every attempt: a repeated UPDATE after a lost reply changes nothing.
        end = text(
            f"UPDATE {self.table_prefix}EXECUTION SET END_TIME = :end_time, EXIT_CODE = :exit_code, "
            "EXIT_MESSAGE = :exit_message, ERROR_MESSAGE = :error_message, LAST_UPDATED = :end_time "
            "WHERE TASK_EXECUTION_ID = :task_id"
        ).bindparams(bindparam("end_time", type_=DateTime()))
        values = {
            "end_time": when,
            "exit_code": code,
            "exit_message": exit_message,
            "error_message": error_message,
            "task_id": self.task_id,
        }
        if connection.execute(end, values).rowcount != 1:
            raise TaskStatusError(
                f"Task execution {self.task_id} is gone from {self.table_prefix}EXECUTION: end not recorded"
            )

    # --- connections and retries ----------------------------------------------------------

    def _redact(self, value: str | None) -> str | None:
        return self._redactor.redact(value) if value is not None else None

    def _create_engine(self, url: URL) -> Engine:
        try:
            # NullPool: a short-lived process gains nothing from pooling, and each write should
            # use a fresh connection. hide_parameters keeps bound values out of error messages.
            engine = create_engine(url, poolclass=NullPool, hide_parameters=True)
        except ImportError as error:
            package = _DRIVER_PACKAGES.get(url.get_driver_name(), url.get_driver_name())
            raise TaskStatusError(
                f"The {url.get_backend_name()} driver is not installed ({error.name}): install {package} "
                "with `pip install -r requirements.txt`"
            ) from None
        except exc.ArgumentError as error:
            raise TaskStatusError(f"The database URL is not usable: {self._describe(error)}") from None
        event.listen(engine, "do_connect", self._bound_connect)
        event.listen(engine, "connect", self._opened)
        return engine

    def _bound_connect(self, dialect: object, record: object, cargs: object, cparams: dict[str, Any]) -> None:
        cparams.update(self._driver.connect_params(self._attempt_timeouts, dict(cparams)))

    def _opened(self, connection: Any, record: object) -> None:
        self._watchdog.attach(connection)
        self._driver.on_connect(connection, self._attempt_timeouts)

    def _new_deadline(self) -> float:
        until = time.monotonic() + self._deadline
        return until if self._stop_at is None else min(until, self._stop_at)

    def _write(self, purpose: str, until: float, work: Callable[[Connection, bool], None]) -> None:
        """Runs `work` in one committed transaction, retried while the errors are transient.

        `work` is told whether an earlier attempt may have committed (its reply lost).
        """
        self._write_until = until if self._stop_at is None else min(until, self._stop_at)
        started = time.monotonic()
        attempt, delay, reason, connecting = 0, 0.25, "", False
        try:
            with self._write_guard():
                while True:
                    for engine in self._engines:
                        if attempt and time.monotonic() >= self._write_until:
                            break
                        attempt += 1
                        try:
                            self._attempt(engine, work, retry=attempt > 1)
                            return
                        except TaskStatusError:
                            raise
                        except _ConnectError as failed:
                            reason = self._fail_or_describe(purpose, failed.error, connected=False)
                            connecting = True
                        except Exception as error:  # noqa: BLE001 - classified: only transient ones retried
                            reason = self._fail_or_describe(purpose, error, connected=True)
                            connecting = False
                        what = f"connect to {purpose}" if connecting else purpose
                        log.warning("Could not %s (attempt %d), will retry: %s", what, attempt, reason)
                    remaining = self._write_until - time.monotonic()
                    if remaining <= 0:
                        what = f"connect to {purpose}" if connecting else purpose
                        raise TaskStatusError(
                            f"Could not {what}: gave up after {attempt} attempts in "
                            f"{time.monotonic() - started:.1f}s (task.db.connect-deadline): {reason}",
                            Fault.TRANSIENT,
                        )
                    time.sleep(min(delay, remaining))
                    delay = min(delay * 2, 2.0)
        finally:
            self._write_until = None

    def _attempt(self, engine: Engine, work: Callable[[Connection, bool], None], *, retry: bool) -> None:
        assert self._write_until is not None
        # A timeout of 0 would mean "no timeout" or "non-blocking" to some drivers. The last
        # attempt may overrun the deadline by what the driver rounds its connect timeout up to
        # (libpq: at least 2 s), since no connect can be cut from outside.
        room = max(self._write_until - time.monotonic(), 0.1)
        limits = self._timeouts
        self._attempt_timeouts = Timeouts(min(limits.connect, room), min(limits.statement, room))
        bound = self._attempt_timeouts.connect + self._attempt_timeouts.statement
        self._watchdog.start(min(time.monotonic() + bound, self._write_until + 0.1))
        try:
            try:
                connection = engine.connect()
            except Exception as error:
                raise _ConnectError(error) from error
            with contextlib.closing(connection), connection.begin():
                work(connection, retry)
        finally:
            fired = self._watchdog.fired
            self._watchdog.stop()
            if fired:
                log.warning("A database call passed its time limit; the connection was cut")

    def _fail_or_describe(self, purpose: str, error: BaseException, *, connected: bool) -> str:
        """Raises a clear TaskStatusError unless `error` is transient; returns its description."""
        fault = classify(self._driver, error, connected=connected)
        reason = self._describe(error)
        if fault is Fault.TRANSIENT:
            return reason
        if fault is Fault.LOGIN:
            message = (
                f"Could not {purpose}: the database refused the login or does not exist; check "
                f"spring.datasource.username, password and url (not retried): {reason}"
            )
        elif fault is Fault.TLS:
            message = (
                f"Could not {purpose}: TLS could not be set up with the database; check the TLS "
                f"settings of spring.datasource.url (sslMode, useSSL, sslmode) and the server's "
                f"certificate (not retried): {reason}"
            )
        else:
            message = f"Could not {purpose}: {reason}"
        raise TaskStatusError(message, fault) from None

    def _describe(self, error: BaseException) -> str:
        # The driver's own message, without SQLAlchemy's link footer, secrets masked.
        original = getattr(error, "orig", None)
        message = str(original) if original is not None else str(error)
        return self._redactor.redact(f"{type(original or error).__name__}: {message}".strip())
