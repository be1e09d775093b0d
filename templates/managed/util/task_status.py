"""Writes the task's execution row the way Spring Cloud Task does, so SCDF shows the right status.

SCDF inserts the `<prefix>EXECUTION` row before the launch and never writes it again: the task
alone records its start, end, exit code and error. SCDF derives the status it shows from that
row, and the Composed Task Runner waits for END_TIME and EXIT_CODE, so a row left open hangs a
composed task. Hence every write:

- is committed at once, on its own short connection: a task may run for hours, and a connection
  held that long would meet idle timeouts, proxies and failovers that end it unseen; a fresh one
  per write costs one connect, and the end write never depends on a connection that may be gone;
- goes through the bounded write engine (`util.bounded_write`): each attempt bounded by the
  connect and statement timeouts, the whole write, retries included, by
  `task.db.connect-deadline` whatever the driver does; retried when the error is transient by
  its code (see `util.db_adapter`), and safe to retry: a write whose reply was lost is found
  done, not done twice;
- is stored in a simpler form rather than not at all when a text does not fit its column;
- never carries the database password in an error message.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from util.bounded_write import WriteEngine, WriteError

# The text-fitting names, here where callers have found them.
from util.column_text import ARGUMENT_CUT_MARK as ARGUMENT_CUT_MARK
from util.column_text import MAX_TEXT as MAX_TEXT
from util.column_text import REPLACED_NOTE, REPLACEMENTS
from util.column_text import TRUNCATION_MARK as TRUNCATION_MARK
from util.column_text import fit_argument as fit_argument
from util.column_text import fit_text as fit_text
from util.column_text import replace_unstorable as replace_unstorable
from util.database import open_engine
from util.db_api import Cursor, DbTarget, Fault, SequenceError, Timeouts
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

if TYPE_CHECKING:
    from util.launch import Launch

log = logging.getLogger(__name__)


class TaskStatusError(WriteError):
    """The execution row could not be written (or opened); the message is safe to log.

    `uncertain` says whether a start given up may have committed all the same.
    """


class ExecutionNotFoundError(TaskStatusError):
    pass


class ExecutionAlreadyEndedError(TaskStatusError):
    pass


class _CreatedMeanwhileError(TaskStatusError):
    """The row's creation, given up before, committed while its end was being written."""


def local_now() -> datetime:
    """Naive local wall-clock time to the millisecond: what the JVM's `new Date()` writes."""
    now = datetime.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class TaskStatus:
    """The `<prefix>EXECUTION` row of one task execution.

    `start()` records the start: `running()` on the row SCDF inserted when there is an id, else
    on a row created from `<prefix>SEQ` (a scheduled launch). `completed()` and `failed()` record
    the end. EXTERNAL_EXECUTION_ID is SCDF's, written only when the launch sets
    spring.cloud.task.external-execution-id. Every write goes through `engine`, which the task's
    lock and batch records share (`util.database.open_engine`); `TaskStatus.open()` makes a row
    with an engine of its own.
    """

    def __init__(
        self,
        task_id: int | None,
        engine: WriteEngine,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        *,
        parent_execution_id: int | None = None,
        clock: Callable[[], datetime] = local_now,
    ) -> None:
        self.task_id = task_id
        self.table_prefix = validate_table_prefix(table_prefix)
        self.parent_execution_id = parent_execution_id
        self.engine = engine
        self.adapter = engine.adapter
        self._redactor = engine.redactor
        self._clock = clock
        #: What `start()` records when given nothing: the launch's own, read once.
        self._launch: Launch | None = None
        #: The creation of a row without SCDF's id, once tried: what `end_uncertain_start()`
        #: writes when that creation never landed.
        self._creation: functools.partial[None] | None = None

    @classmethod
    def for_launch(cls, launch: Launch, engine: WriteEngine) -> TaskStatus:
        """The row `launch` names, written through `engine`; `start()` then records the launch's
        arguments, row name and external id, whose secrets the launch already read."""
        status = cls(
            launch.execution_id,
            engine,
            launch.table_prefix,
            parent_execution_id=launch.parent_execution_id,
        )
        status._launch = launch
        status._redactor = status._redactor.with_secrets(launch.secrets)
        return status

    @classmethod
    def open(
        cls,
        task_id: int | None,
        db: DbTarget | str | Sequence[DbTarget],
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        *,
        parent_execution_id: int | None = None,
        connect_deadline: float = DEFAULT_CONNECT_DEADLINE,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
        redactor: Redactor | None = None,
        clock: Callable[[], datetime] = local_now,
    ) -> TaskStatus:
        """The row of `task_id` in the database `db` (a JDBC URL or parsed targets), written
        through an engine of its own: for a script or test that writes only this row."""
        try:
            engine = open_engine(
                db,
                deadline=connect_deadline,
                timeouts=Timeouts(connect_timeout, statement_timeout),
                redactor=redactor,
            )
        except WriteError as error:
            raise TaskStatusError.of(error) from None
        return cls(task_id, engine, table_prefix, parent_execution_id=parent_execution_id, clock=clock)

    def __repr__(self) -> str:
        return f"TaskStatus(task_id={self.task_id}, table_prefix={self.table_prefix!r})"

    @property
    def clock(self) -> Callable[[], datetime]:
        """Where the row's times come from; a batch job of the execution takes its times from it too."""
        return self._clock

    def stop_within(self, seconds: float) -> None:
        """From now on, every write (also one under way) ends within `seconds`.

        For a stop signal: the platform kills the process after its grace period anyway.
        Safe to call from a signal handler: it only assigns an attribute.
        """
        self.engine.stop_within(seconds)

    def start(
        self,
        arguments: Sequence[str] | None = None,
        *,
        task_name: str | None = None,
        external_execution_id: str | None = None,
    ) -> int:
        """Records the start and returns the execution id.

        With an id (SCDF's launch) on SCDF's row; without one (a schedule) on a row created here
        from `<prefix>SEQ`, as Spring Cloud Task does, named `task_name`. A row made with
        `for_launch()` given no `arguments` records the launch's arguments, name and external id.
        """
        launch = self._launch
        if arguments is None and launch is not None:
            # Their secrets were read with the launch, and are in the redactor already.
            redactor = self._redactor
            arguments = launch.arguments
            task_name = launch.row_task_name
            external_execution_id = launch.external_execution_id
        else:
            arguments = () if arguments is None else arguments
            redactor = self._argument_redactor(arguments)
        if self.task_id is None:
            self.task_id = self._create(arguments, task_name, external_execution_id, redactor)
        else:
            self._running(arguments, external_execution_id, redactor)
        return self.task_id

    def running(self, arguments: Sequence[str] = (), *, external_execution_id: str | None = None) -> None:
        """Checks that the row exists and has not ended, then records the start and arguments.

        An argument the column's character set cannot hold is stored with those characters
        replaced; the start itself never fails for it.
        """
        self._running(arguments, external_execution_id, self._argument_redactor(arguments))

    def _running(
        self, arguments: Sequence[str], external_execution_id: str | None, redactor: Redactor
    ) -> None:
        start = functools.partial(
            self._start, when=self._clock(), external_execution_id=external_execution_id
        )
        self._write_with_params("record the start", self._new_deadline(), arguments, redactor, start)

    def _argument_redactor(self, arguments: Sequence[str]) -> Redactor:
        """The row's redactor, plus the secrets among `arguments` given by a caller of their own
        (a password inside a JDBC URL, say)."""
        return self._redactor.with_secrets(LaunchSettings.parse(arguments, {}).secrets())

    def _create(
        self,
        arguments: Sequence[str],
        task_name: str | None,
        external_execution_id: str | None,
        redactor: Redactor,
    ) -> int:
        # Here, not at the top: only a launch without SCDF's row (a local run) creates one.
        from util.execution_ids import next_execution_id

        until = self._new_deadline()
        taken: list[int] = []

        def take(cursor: Cursor, retry: bool) -> None:
            # A retry after a lost reply takes another id; the one lost is a gap, as sequences have.
            try:
                taken[:] = [next_execution_id(self.adapter, cursor, self.table_prefix)]
            except SequenceError as error:  # no incrementer to use: retrying cannot help
                raise TaskStatusError(f"Could not create the task execution: {error}") from None

        # The id is taken and committed on its own, as Spring's incrementers do, so that the
        # `<prefix>SEQ` row lock (table form) is held only for that moment.
        self._write("take the next execution id", until, take)
        self.task_id = taken[0]
        create = self._creation = functools.partial(
            self._insert,
            when=self._clock(),
            task_name=task_name or DEFAULT_TASK_NAME,
            external_execution_id=external_execution_id,
        )
        self._write_with_params("create the task execution", until, arguments, redactor, create)
        return self.task_id

    def _write_with_params(
        self,
        purpose: str,
        until: float,
        arguments: Sequence[str],
        redactor: Redactor,
        work: Callable[..., None],
    ) -> None:
        """Runs `work(cursor, retry, params=...)`, the arguments stored as TASK_PARAM values,
        masked with `redactor`.

        An argument the column's character set cannot hold is stored with those characters
        replaced rather than failing the start.
        """
        params = [fit_argument(redactor.redact_argument(a), unit=self.adapter.text_unit) for a in arguments]
        for step in range(len(REPLACEMENTS) + 1):
            stored = [replace_unstorable(p, step) or "" for p in params]
            try:
                self._write(purpose, until, functools.partial(work, params=stored))
            except TaskStatusError as error:
                if error.fault is not Fault.TEXT or step == len(REPLACEMENTS):
                    raise
                log.warning(
                    "An argument does not fit TASK_PARAM as it is; storing it with characters %s "
                    "replaced by '?'",
                    REPLACEMENTS[step][0],
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
        self._record_end(self._end, exit_code, exit_message, error_message)

    def end_uncertain_start(self, exit_code: int, error_message: str | None = None) -> None:
        """Ends, as failed, the row of a start that was given up but may commit all the same.

        A start abandoned at its deadline may still land: its COMMIT reached the server, the
        reply came too late. SCDF's row is then ended as `failed()` ends it (the end UPDATE
        waits for a start still under way on the row's lock). A row this run created itself
        (a launch without SCDF's id) may not exist yet, or ever: it is ended when it is there,
        else inserted already ended, in one transaction. A creation that lands later then meets
        a duplicate key and fails, and one still under way makes that INSERT wait for its
        outcome, so no order of the two leaves the row RUNNING.
        """
        if self._creation is None:
            self.failed(exit_code, error_message=error_message)
            return
        try:
            self._record_end(self._end_or_create, exit_code, None, error_message)
        except _CreatedMeanwhileError:
            # The creation committed while that write ran: the row is there now, to be ended.
            log.info("Task execution %d was created meanwhile; ending it", self.task_id)
            self._record_end(self._end_or_create, exit_code, None, error_message)

    def _record_end(
        self,
        work: Callable[..., None],
        exit_code: int,
        exit_message: str | None,
        error_message: str | None,
    ) -> None:
        """`ended()` with the end's statements in `work` (`_end`'s keyword arguments)."""
        now = self._clock()
        exit_text = fit_text(self._redact(exit_message), unit=self.adapter.text_unit)
        error_text = fit_text(self._redact(error_message), unit=self.adapter.text_unit)
        until = self._new_deadline()
        for step in range(len(REPLACEMENTS) + 1):
            stored_exit = replace_unstorable(exit_text, step)
            stored_error = replace_unstorable(error_text, step)
            if step and stored_error is not None and stored_error != error_text:
                stored_error = fit_text(REPLACED_NOTE + stored_error, unit=self.adapter.text_unit)
            try:
                end = functools.partial(work, when=now, code=exit_code, exit_message=stored_exit)
                self._write("record the end", until, functools.partial(end, error_message=stored_error))
                return
            except TaskStatusError as error:
                if error.fault is Fault.TEXT and step < len(REPLACEMENTS):
                    log.warning("The messages do not fit their columns as they are: %s", error)
                    continue
                if error.fault not in (Fault.TEXT, Fault.OTHER) or (exit_text, error_text) == (None, None):
                    raise
                log.warning("Recording the end without messages, since they cannot be stored: %s", error)
                break
        last_resort = functools.partial(work, when=now, code=exit_code, exit_message=None, error_message=None)
        self._write("record the end", until, last_resort)

    def dispose(self) -> None:
        if self.engine.abandoned:
            log.warning(
                "%d database call(s) that did not answer in time were left behind; they do not commit",
                self.engine.abandoned,
            )

    # --- the statements -------------------------------------------------------------------

    def _execute(self, cursor: Cursor, statement: str, parameters: Sequence[object]) -> None:
        cursor.execute(self.adapter.sql(statement), parameters)

    def _start(
        self,
        cursor: Cursor,
        retry: bool,
        *,
        when: datetime,
        external_execution_id: str | None,
        params: list[str],
    ) -> None:
        p = self.table_prefix
        self._execute(
            cursor,
            f"SELECT END_TIME, START_TIME FROM {p}EXECUTION WHERE TASK_EXECUTION_ID = ?",
            (self.task_id,),
        )
        row = cursor.fetchone()
        if row is None:
            raise ExecutionNotFoundError(
                f"Invalid task execution: id {self.task_id} not found in {p}EXECUTION. SCDF creates "
                "the row before the launch; check spring.cloud.task.executionid and tablePrefix."
            )
        if row[0] is not None:
            raise ExecutionAlreadyEndedError(
                f"Task execution {self.task_id} in {p}EXECUTION has already ended: not starting it again"
            )
        if retry and row[1] is not None:
            # The attempt before committed, but its reply was lost: the start is recorded.
            log.info("The start of task execution %d was recorded by the attempt before", self.task_id)
            return
        assignments = "START_TIME = ?, LAST_UPDATED = ?"
        values: list[object] = [when, when]
        if self.parent_execution_id is not None:
            assignments += ", PARENT_EXECUTION_ID = ?"
            values.append(self.parent_execution_id)
        if external_execution_id is not None:  # as Spring Cloud Task: only when the launch sets one
            assignments += ", EXTERNAL_EXECUTION_ID = ?"
            values.append(external_execution_id)
        self._execute(
            cursor,
            f"UPDATE {p}EXECUTION SET {assignments} WHERE TASK_EXECUTION_ID = ?",
            (*values, self.task_id),
        )
        self._insert_params(cursor, params)

    def _insert(
        self,
        cursor: Cursor,
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
            self._execute(cursor, f"SELECT 1 FROM {p}EXECUTION WHERE TASK_EXECUTION_ID = ?", (self.task_id,))
            if cursor.fetchone() is not None:
                # The attempt before committed, but its reply was lost: the row and params are there.
                log.info("Task execution %d was created by the attempt before", self.task_id)
                return
        from util.execution_creation import insert_execution

        insert_execution(
            self.adapter,
            cursor,
            p,
            self.task_id,
            task_name=task_name,
            start_time=when,
            external_execution_id=external_execution_id,
            parent_execution_id=self.parent_execution_id,
        )
        self._insert_params(cursor, params)

    def _insert_params(self, cursor: Cursor, params: list[str]) -> None:
        if not params:
            return
        # One row per argument, as Spring Cloud Task writes them, in one batch: PyMySQL sends
        # it as one multi-row INSERT, psycopg pipelines it, sqlite3 runs it in-process.
        insert = (
            f"INSERT INTO {self.table_prefix}EXECUTION_PARAMS (TASK_EXECUTION_ID, TASK_PARAM) VALUES (?, ?)"
        )
        cursor.executemany(self.adapter.sql(insert), [(self.task_id, param) for param in params])

    def _end(
        self,
        cursor: Cursor,
        retry: bool,
        *,
        when: datetime,
        code: int,
        exit_message: str | None,
        error_message: str | None,
    ) -> None:
        # The same values on every attempt: a repeated UPDATE after a lost reply changes nothing.
        end = (
            f"UPDATE {self.table_prefix}EXECUTION SET END_TIME = ?, EXIT_CODE = ?, "
            "EXIT_MESSAGE = ?, ERROR_MESSAGE = ?, LAST_UPDATED = ? WHERE TASK_EXECUTION_ID = ?"
        )
        self._execute(cursor, end, (when, code, exit_message, error_message, when, self.task_id))
        if cursor.rowcount != 1:
            raise TaskStatusError(
                f"Task execution {self.task_id} is gone from {self.table_prefix}EXECUTION: end not recorded"
            )

    def _end_or_create(
        self,
        cursor: Cursor,
        retry: bool,
        *,
        when: datetime,
        code: int,
        exit_message: str | None,
        error_message: str | None,
    ) -> None:
        """The end of a row whose creation was given up: ended if there, else created ended."""
        p = self.table_prefix
        self._execute(
            cursor,
            f"UPDATE {p}EXECUTION SET END_TIME = ?, EXIT_CODE = ?, EXIT_MESSAGE = ?, ERROR_MESSAGE = ?, "
            "LAST_UPDATED = ? WHERE TASK_EXECUTION_ID = ? AND END_TIME IS NULL",
            (when, code, exit_message, error_message, when, self.task_id),
        )
        if cursor.rowcount == 1:
            return
        self._execute(
            cursor, f"SELECT END_TIME FROM {p}EXECUTION WHERE TASK_EXECUTION_ID = ?", (self.task_id,)
        )
        row = cursor.fetchone()
        if row is not None and row[0] is not None:
            return  # ended by an attempt before whose reply was lost
        if row is not None:  # committed between the two statements
            raise _CreatedMeanwhileError(f"Task execution {self.task_id} was created meanwhile")
        assert self._creation is not None
        try:
            # The creation as it was meant, with no arguments: the row's end says it never ran.
            self._creation(cursor, False, params=[])
        except Exception as error:
            # A duplicate key: the creation landed, or waited on the server and has now committed.
            if self.adapter.is_duplicate_key(error):
                raise _CreatedMeanwhileError(f"Task execution {self.task_id} was created meanwhile") from None
            raise
        self._end(cursor, retry, when=when, code=code, exit_message=exit_message, error_message=error_message)

    # --- through the engine ---------------------------------------------------------------

    def _redact(self, value: str | None) -> str | None:
        return self._redactor.redact(value) if value is not None else None

    def _new_deadline(self) -> float:
        return self.engine.new_deadline()

    def _write(self, purpose: str, until: float, work: Callable[[Cursor, bool], None]) -> None:
        try:
            self.engine.run(purpose, work, until=until)
        except WriteError as error:
            raise TaskStatusError.of(error) from None
