"""Batch jobs and steps recorded as Spring Batch records them, so SCDF's Jobs view shows them.

    with context.job("import-orders", {"date": "2024-01-01"}) as job:

        @job.step("extract")
        def extract(step: Step) -> None:
            step.read_count += 10

A step is a function, run as soon as it is decorated (or by `job.run_step(name, fn)`), because
a restarted job must be able to skip a step that completed: a `with` block cannot skip its
body, and a `for` loop that runs once or not at all hides a step's exception from the step.

What is written, as Spring Batch's JDBC DAOs write it (4.3 for SCDF's `boot2` tables `BATCH_`,
5.0 for `boot3`'s `BOOT3_BATCH_`): the job instance, keyed by the MD5 of its identifying
parameters; one job execution per run with its parameters and context; one step execution per
step that runs, with its counts and context; and the `<task prefix>TASK_BATCH` row that links
the job execution to the task execution, without which SCDF lists no job. Ids come from the
`<batch prefix>JOB_SEQ`, `JOB_EXECUTION_SEQ` and `STEP_EXECUTION_SEQ` incrementers in whichever
form the database has them (`util.execution_ids`). The parameters' forms and the job key are
`util.batch_parameters`'s; the table generation and prefix come with the launch
(`util.launch.BatchSchema`).

Every write goes through the task row's own machinery (`TaskStatus.write`): one short
connection, bounded, retried when transient, safe to retry.

Restart, as Spring Batch: a run with the same job name and identifying parameters as a FAILED or
STOPPED execution is a new execution of that instance, and the steps that COMPLETED before are
skipped (nothing is written for them). SCDF's "restart" relaunches the task with the original
arguments plus the job's identifying parameters (`date(string)=2024-01-01` for boot2,
`date=2024-01-01,java.lang.String` for boot3); those on the command line take precedence over
the ones the body passes, so the instance is found even when the body derived a parameter from
the clock. A COMPLETED instance is refused.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

# A body catches the refusals where it imports the job from.
from util.batch_parameters import BatchJobError as BatchJobError
from util.batch_parameters import (
    ParameterValue,
    java_parameters,
    job_key,
    merge_parameters,
    parameter_columns,
    stored_values,
)
from util.column_text import CONSERVATIVE, TextUnit, fit_text, head, measure
from util.db_api import Cursor
from util.execution_ids import next_value
from util.java_context import ContextValue, check_value, from_json, to_java_base64, to_json

if TYPE_CHECKING:
    from util.launch import BatchSchema, Launch
    from util.task_status import TaskStatus

log = logging.getLogger(__name__)

#: EXIT_CODE is VARCHAR(100) in SQLite's DDL, EXIT_MESSAGE and SHORT_CONTEXT VARCHAR(2500).
MAX_EXIT_MESSAGE = 2500
SHORT_CONTEXT_LIMIT = 2500
NOOP_DESCRIPTION = "All steps already completed or no steps configured for this job."
INTERRUPTED = "org.springframework.batch.core.JobInterruptedException"
#: Shown by SCDF as the step's type (`batch.taskletType` is displayed verbatim).
TASKLET_TYPE = "python"
STEP_TYPE = "org.springframework.batch.core.step.tasklet.TaskletStep"


class JobInstanceAlreadyCompleteError(BatchJobError):
    pass


class JobExecutionAlreadyRunningError(BatchJobError):
    pass


class JobInterruptedError(Exception):
    """The job was stopped from SCDF (`PUT /jobs/executions/{id}?stop=true`) between two steps."""


def split_context(serialized: str, unit: TextUnit = CONSERVATIVE) -> tuple[str, str | None]:
    """(SHORT_CONTEXT, SERIALIZED_CONTEXT) as JdbcExecutionContextDao splits them (`unit`: what
    SHORT_CONTEXT's length counts on the database)."""
    if measure(serialized, unit) <= SHORT_CONTEXT_LIMIT:
        return serialized, None
    return head(serialized, SHORT_CONTEXT_LIMIT - 8, unit) + " ...", serialized


# --- the records ---------------------------------------------------------------------------


@dataclass
class Step:
    """One step execution: set its counts and context while it runs."""

    name: str
    id: int = 0
    status: str = "STARTING"
    exit_code: str = "EXECUTING"
    exit_message: str = ""
    read_count: int = 0
    write_count: int = 0
    filter_count: int = 0
    read_skip_count: int = 0
    write_skip_count: int = 0
    process_skip_count: int = 0
    commit_count: int = 0
    rollback_count: int = 0
    version: int = 0
    start_time: datetime | None = None
    end_time: datetime | None = None
    #: Saved with the step (text, whole numbers, decimals, booleans).
    context: dict[str, ContextValue] = field(default_factory=dict)


@dataclass
class _Instance:
    id: int | None
    completed_steps: frozenset[str] = frozenset()
    step_contexts: Mapping[str, dict[str, ContextValue]] = field(default_factory=dict)


class Job:
    """One job execution. Made by `TaskContext.job()`; use it as a `with` block."""

    def __init__(
        self,
        status: TaskStatus,
        schema: BatchSchema,
        name: str,
        parameters: Mapping[str, ParameterValue],
        *,
        hold: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        unit = status.adapter.text_unit
        if not name or measure(name, unit) > 100:
            raise BatchJobError(f"Job name {name!r} must have 1 to 100 {unit.value} (JOB_NAME)")
        self.name = name
        self.parameters = dict(parameters)
        self.schema = schema
        self.key = job_key(self.parameters, schema)
        self.instance_id = 0
        self.id = 0
        self.version = 0
        self.status = "STARTING"
        self.exit_code = "UNKNOWN"
        self.exit_message = ""
        self.create_time: datetime | None = None
        self.start_time: datetime | None = None
        self.end_time: datetime | None = None
        self.steps: list[Step] = []
        #: Names of the steps a restart skipped, since they completed before.
        self.skipped: list[str] = []
        self.context: dict[str, ContextValue] = {}
        self._status = status
        #: Groups writes a stop signal must not cut apart (`util.stop.StopSignals.held`): a
        #: stop that comes during them is raised once they are all done.
        self._hold = hold
        self._redact = redact
        self._instance = _Instance(None)
        self._last_step: Step | None = None

    # --- the API ---------------------------------------------------------------------------

    def __enter__(self) -> Job:
        began = False
        try:
            with self._hold():
                self._begin()
                began = True
        except BaseException as error:
            if began:  # stopped during the writes: the execution ends STOPPED
                self._finish(error)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        self._finish(error)

    def step(self, name: str) -> Callable[[Callable[[Step], object]], Step | None]:
        """Decorator: runs the function as step `name` at once, unless a restart skips it.

        Returns the step execution, or None when skipped, in place of the function.
        """

        def run(body: Callable[[Step], object]) -> Step | None:
            return self.run_step(name, body)

        return run

    def run_step(self, name: str, body: Callable[[Step], object]) -> Step | None:
        """Runs `body(step)` as step `name`; a step that completed in an earlier run is skipped.

        An exception in `body` fails the step (and, as it propagates, the job).
        """
        unit = self._status.adapter.text_unit
        if not name or measure(name, unit) > 100:
            raise BatchJobError(f"Step name {name!r} must have 1 to 100 {unit.value} (STEP_NAME)")
        if name in self._instance.completed_steps:
            log.info("Step %s already completed in an earlier execution of the job; skipped", name)
            self.skipped.append(name)
            return None
        step = Step(name, context=dict(self._instance.step_contexts.get(name, {})))
        started = False
        try:
            with self._hold():
                self._start_step(step)
                started = True
            body(step)
        except BaseException as error:
            if started:
                self._end_step(step, error)
            raise
        self._end_step(step, None)
        return step

    # --- the lifecycle ----------------------------------------------------------------------

    def _write(self, purpose: str, work: Callable[[Cursor, bool], None]) -> None:
        self._status.write(f"{purpose} of job {self.name}", work)

    def _begin(self) -> None:
        instance = self._read_instance()
        instance_id = instance.id
        if instance_id is None:
            instance_id = self._next("JOB_SEQ")
        self.id = self._next("JOB_EXECUTION_SEQ")
        self.instance_id = instance_id
        self._instance = instance
        self.create_time = self._status.now()
        self._write(
            "create the execution", functools.partial(self._insert_execution, new=instance.id is None)
        )
        self.start_time = self._status.now()
        self._write("record the start", self._started)
        self.status, self.version = "STARTED", 1
        restarted = " (restart: skipping the completed steps)" if instance.completed_steps else ""
        log.info("Job %s started: instance %d, execution %d%s", self.name, instance_id, self.id, restarted)

    def _next(self, sequence: str) -> int:
        taken: list[int] = []

        def take(cursor: Cursor, retry: bool) -> None:
            taken[:] = [next_value(self._status.adapter, cursor, f"{self.schema.prefix}{sequence}")]

        # Taken and committed on its own, as Spring's incrementers do.
        self._write(f"take the next {sequence} value", take)
        return taken[0]

    def _read_instance(self) -> _Instance:
        found: list[_Instance | BatchJobError] = []

        def read(cursor: Cursor, retry: bool) -> None:
            try:
                found[:] = [self._check_instance(cursor)]
            except BatchJobError as refusal:  # Batch's refusal reaches the body as itself
                found[:] = [refusal]

        self._write("look up the instance", read)
        if isinstance(found[0], BatchJobError):
            raise found[0]
        return found[0]

    def _check_instance(self, cursor: Cursor) -> _Instance:
        p = self.schema.prefix
        self._execute(
            cursor,
            f"SELECT JOB_INSTANCE_ID FROM {p}JOB_INSTANCE WHERE JOB_NAME = ? AND JOB_KEY = ?",
            (self.name, self.key),
        )
        rows = cursor.fetchall()
        if not rows:
            return _Instance(None)
        if len(rows) > 1:
            raise BatchJobError(f"instance count must be 1 but was {len(rows)}")
        instance_id = int(rows[0][0])
        self._execute(
            cursor,
            f"SELECT JOB_EXECUTION_ID, STATUS, START_TIME, END_TIME FROM {p}JOB_EXECUTION "
            "WHERE JOB_INSTANCE_ID = ? ORDER BY JOB_EXECUTION_ID",
            (instance_id,),
        )
        described = f"JobInstance: id={instance_id}, version=0, Job=[{self.name}]"
        for _, status, start, end in cursor.fetchall():
            running = (
                status in ("STARTING", "STARTED", "STOPPING")
                if self.schema.batch5
                else ((start is not None and end is None) or status == "STOPPING")
            )
            if running:
                raise JobExecutionAlreadyRunningError(
                    f"A job execution for this job is already running: {described}. If its process is "
                    "gone, stop the execution in SCDF (or set its STATUS to FAILED) before running it again."
                )
            if status == "UNKNOWN":
                raise BatchJobError(
                    "Cannot restart job from UNKNOWN status. The last execution ended with a failure that "
                    "could not be rolled back, so it may be dangerous to proceed. Manual intervention is "
                    "probably necessary."
                )
            if status in ("COMPLETED", "ABANDONED") and self.parameters:
                noun = "identifying parameters" if self.schema.batch5 else "parameters"
                raise JobInstanceAlreadyCompleteError(
                    f"A job instance already exists and is complete for {noun}="
                    f"{java_parameters(self.parameters, self.schema)}.  If you want to run this job "
                    "again, change the parameters."
                )
        # The last execution of each step within the instance decides whether it runs again.
        self._execute(
            cursor,
            f"SELECT S.STEP_NAME, S.STATUS, C.SHORT_CONTEXT, C.SERIALIZED_CONTEXT FROM {p}STEP_EXECUTION S "
            f"JOIN {p}JOB_EXECUTION E ON S.JOB_EXECUTION_ID = E.JOB_EXECUTION_ID "
            f"LEFT JOIN {p}STEP_EXECUTION_CONTEXT C ON C.STEP_EXECUTION_ID = S.STEP_EXECUTION_ID "
            "WHERE E.JOB_INSTANCE_ID = ? ORDER BY S.STEP_EXECUTION_ID",
            (instance_id,),
        )
        last: dict[str, str] = {}
        contexts: dict[str, dict[str, ContextValue]] = {}
        for step_name, status, short, serialized in cursor.fetchall():
            last[step_name] = status
            contexts[step_name] = self._read_context(serialized or short)
        if "UNKNOWN" in last.values():
            raise BatchJobError(
                "Cannot restart step from UNKNOWN status. Manual intervention is probably necessary."
            )
        completed = frozenset(n for n, s in last.items() if s in ("COMPLETED", "ABANDONED"))
        return _Instance(instance_id, completed, contexts)

    def _read_context(self, text: str | None) -> dict[str, ContextValue]:
        # A restarted step gets its previous context back, as in Batch; the Java form of
        # Batch 5 is not read back (a restart then starts the step with an empty context).
        if not text or self.schema.batch5:
            return {}
        try:
            found = from_json(text)
        except ValueError:
            return {}
        return {k: v for k, v in found.items() if not k.startswith("batch.")}

    def _serialize(self, context: Mapping[str, ContextValue]) -> tuple[str, str | None]:
        return split_context(
            to_java_base64(context) if self.schema.batch5 else to_json(context),
            self._status.adapter.text_unit,
        )

    def _insert_execution(self, cursor: Cursor, retry: bool, *, new: bool) -> None:
        p = self.schema.prefix
        if retry and self._exists(cursor, f"{p}JOB_EXECUTION", "JOB_EXECUTION_ID", self.id):
            return  # the attempt before committed; its reply was lost
        if new:
            self._execute(
                cursor,
                f"INSERT INTO {p}JOB_INSTANCE (JOB_INSTANCE_ID, JOB_NAME, JOB_KEY, VERSION) "
                "VALUES (?, ?, ?, ?)",
                (self.instance_id, self.name, self.key, 0),
            )
        columns = (
            "JOB_EXECUTION_ID, JOB_INSTANCE_ID, START_TIME, END_TIME, STATUS, EXIT_CODE, EXIT_MESSAGE, "
            "VERSION, CREATE_TIME, LAST_UPDATED"
        )
        values: list[object] = [
            self.id,
            self.instance_id,
            None,
            None,
            "STARTING",
            "UNKNOWN",
            "",
            0,
            self.create_time,
            self.create_time,
        ]
        if not self.schema.batch5:
            columns += ", JOB_CONFIGURATION_LOCATION"
            values.append(None)
        marks = ", ".join("?" * len(values))
        self._execute(cursor, f"INSERT INTO {p}JOB_EXECUTION ({columns}) VALUES ({marks})", values)
        self._insert_parameters(cursor)
        short, serialized = self._serialize(self.context)
        self._execute(
            cursor,
            f"INSERT INTO {p}JOB_EXECUTION_CONTEXT (SHORT_CONTEXT, SERIALIZED_CONTEXT, JOB_EXECUTION_ID) "
            "VALUES (?, ?, ?)",
            (short, serialized, self.id),
        )

    def _insert_parameters(self, cursor: Cursor) -> None:
        if not self.parameters:
            return
        columns = ("JOB_EXECUTION_ID", *parameter_columns(self.schema))
        statement = (
            f"INSERT INTO {self.schema.prefix}JOB_EXECUTION_PARAMS ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})"
        )
        rows = [(self.id, *stored_values(n, v, self.schema)) for n, v in self.parameters.items()]
        cursor.executemany(self._status.adapter.sql(statement), rows)

    def _started(self, cursor: Cursor, retry: bool) -> None:
        self._update_job(
            cursor,
            retry,
            start=self.start_time,
            end=None,
            status="STARTED",
            code="UNKNOWN",
            message="",
            version=1,
        )
        link = f"{self._status.table_prefix}TASK_BATCH"
        if retry and self._exists(cursor, link, "JOB_EXECUTION_ID", self.id):
            return
        # As Spring Cloud Task's TaskBatchExecutionListener: SCDF lists only linked job executions.
        self._execute(
            cursor,
            f"INSERT INTO {link} (TASK_EXECUTION_ID, JOB_EXECUTION_ID) VALUES (?, ?)",
            (self._status.task_id, self.id),
        )

    def _update_job(
        self,
        cursor: Cursor,
        retry: bool,
        *,
        start: datetime | None,
        end: datetime | None,
        status: str,
        code: str,
        message: str,
        version: int,
    ) -> None:
        p = self.schema.prefix
        now = self._status.now()
        self._execute(
            cursor,
            f"UPDATE {p}JOB_EXECUTION SET START_TIME = ?, END_TIME = ?, STATUS = ?, EXIT_CODE = ?, "
            "EXIT_MESSAGE = ?, VERSION = ?, CREATE_TIME = ?, LAST_UPDATED = ? "
            "WHERE JOB_EXECUTION_ID = ? AND VERSION = ?",
            (start, end, status, code, message, version, self.create_time, now, self.id, version - 1),
        )
        if cursor.rowcount != 1 and not (retry and self._version(cursor) == version):
            raise BatchJobError(
                f"Attempt to update job execution id={self.id} with wrong version ({version - 1}), "
                f"where current version is {self._version(cursor)}"
            )

    def _version(self, cursor: Cursor) -> int | None:
        self._execute(
            cursor,
            f"SELECT VERSION FROM {self.schema.prefix}JOB_EXECUTION WHERE JOB_EXECUTION_ID = ?",
            (self.id,),
        )
        row = cursor.fetchone()
        return int(row[0]) if row is not None else None

    def _job_row(self, cursor: Cursor) -> tuple[str, int]:
        self._execute(
            cursor,
            f"SELECT STATUS, VERSION FROM {self.schema.prefix}JOB_EXECUTION WHERE JOB_EXECUTION_ID = ?",
            (self.id,),
        )
        status, version = cursor.fetchone()
        return str(status), int(version)

    def _start_step(self, step: Step) -> None:
        step.id = self._next("STEP_EXECUTION_SEQ")
        step.start_time = self._status.now()
        step.context = {**step.context, "batch.taskletType": TASKLET_TYPE, "batch.stepType": STEP_TYPE}
        stopping: list[bool] = []

        def insert(cursor: Cursor, retry: bool) -> None:
            stopping[:] = [self._stopping(cursor)]
            if stopping[0] or (
                retry
                and self._exists(cursor, f"{self.schema.prefix}STEP_EXECUTION", "STEP_EXECUTION_ID", step.id)
            ):
                return
            self._insert_step(cursor, step)

        self._write(f"start step {step.name}", insert)
        if stopping[0]:
            raise JobInterruptedError("JobExecution interrupted.")
        step.status, step.version = "STARTED", 1
        self._last_step = step
        self.steps.append(step)

    def _stopping(self, cursor: Cursor) -> bool:
        """SCDF's stop sets the job STOPPING (and bumps its VERSION); adopt it, as Batch does."""
        status, version = self._job_row(cursor)
        if version != self.version:
            self.version = version
        return status == "STOPPING"

    def _insert_step(self, cursor: Cursor, step: Step) -> None:
        p = self.schema.prefix
        columns = [
            "STEP_EXECUTION_ID",
            "VERSION",
            "STEP_NAME",
            "JOB_EXECUTION_ID",
            "START_TIME",
            "END_TIME",
            "STATUS",
            "COMMIT_COUNT",
            "READ_COUNT",
            "FILTER_COUNT",
            "WRITE_COUNT",
            "EXIT_CODE",
            "EXIT_MESSAGE",
            "READ_SKIP_COUNT",
            "WRITE_SKIP_COUNT",
            "PROCESS_SKIP_COUNT",
            "ROLLBACK_COUNT",
            "LAST_UPDATED",
        ]
        # Batch inserts STARTING (4.3 with START_TIME, 5.0 without, and a CREATE_TIME), then
        # updates to STARTED: both in this one transaction, so the row is never seen STARTING.
        values: list[object] = [
            step.id,
            0,
            step.name,
            self.id,
            None if self.schema.batch5 else step.start_time,
            None,
            "STARTING",
            0,
            0,
            0,
            0,
            "EXECUTING",
            "",
            0,
            0,
            0,
            0,
            step.start_time,
        ]
        if self.schema.batch5:
            columns.append("CREATE_TIME")
            values.append(step.start_time)
        marks = ", ".join("?" * len(values))
        self._execute(
            cursor, f"INSERT INTO {p}STEP_EXECUTION ({', '.join(columns)}) VALUES ({marks})", values
        )
        short, serialized = self._serialize(step.context)
        self._execute(
            cursor,
            f"INSERT INTO {p}STEP_EXECUTION_CONTEXT (SHORT_CONTEXT, SERIALIZED_CONTEXT, STEP_EXECUTION_ID) "
            "VALUES (?, ?, ?)",
            (short, serialized, step.id),
        )
        self._update_step(cursor, step, status="STARTED", version=1)

    def _update_step(self, cursor: Cursor, step: Step, *, status: str, version: int) -> None:
        self._execute(
            cursor,
            f"UPDATE {self.schema.prefix}STEP_EXECUTION SET START_TIME = ?, END_TIME = ?, STATUS = ?, "
            "COMMIT_COUNT = ?, READ_COUNT = ?, FILTER_COUNT = ?, WRITE_COUNT = ?, EXIT_CODE = ?, "
            "EXIT_MESSAGE = ?, VERSION = ?, READ_SKIP_COUNT = ?, PROCESS_SKIP_COUNT = ?, "
            "WRITE_SKIP_COUNT = ?, ROLLBACK_COUNT = ?, LAST_UPDATED = ? WHERE STEP_EXECUTION_ID = ?",
            (
                step.start_time,
                step.end_time,
                status,
                step.commit_count,
                step.read_count,
                step.filter_count,
                step.write_count,
                step.exit_code,
                step.exit_message,
                version,
                step.read_skip_count,
                step.process_skip_count,
                step.write_skip_count,
                step.rollback_count,
                self._status.now(),
                step.id,
            ),
        )

    def _outcome(self, error: BaseException | None) -> tuple[str, str, str]:
        """(STATUS, EXIT_CODE, EXIT_MESSAGE) for an end, as AbstractStep/AbstractJob set them."""
        if error is None:
            return "COMPLETED", "COMPLETED", ""
        if _is_stop(error):
            return "STOPPED", "STOPPED", INTERRUPTED
        trace = self._redact("".join(traceback.format_exception(error)))
        return (
            "FAILED",
            "FAILED",
            fit_text(trace, MAX_EXIT_MESSAGE, unit=self._status.adapter.text_unit) or "",
        )

    def _end_step(self, step: Step, error: BaseException | None) -> None:
        with self._hold():
            self._record_step_end(step, error)

    def _record_step_end(self, step: Step, error: BaseException | None) -> None:
        step.status, step.exit_code, step.exit_message = self._outcome(error)
        for key, value in step.context.items():
            check_value(key, value)
        # A tasklet that ran once: one commit (VERSION 2), then the end (3); a failed one
        # rolls back once and ends (2).
        if error is None:
            step.commit_count, version = step.commit_count + 1, 3
        else:
            step.rollback_count, version = step.rollback_count + 1, 2
        step.end_time = self._status.now()

        def end(cursor: Cursor, retry: bool) -> None:
            short, serialized = self._serialize(step.context)
            self._execute(
                cursor,
                f"UPDATE {self.schema.prefix}STEP_EXECUTION_CONTEXT SET SHORT_CONTEXT = ?, "
                "SERIALIZED_CONTEXT = ? WHERE STEP_EXECUTION_ID = ?",
                (short, serialized, step.id),
            )
            self._update_step(cursor, step, status=step.status, version=version)

        self._write(f"record the end of step {step.name}", end)
        step.version = version
        log.info(
            "Step %s: %s (read %d, written %d)", step.name, step.status, step.read_count, step.write_count
        )

    def _finish(self, error: BaseException | None) -> None:
        with self._hold():
            self._record_end(error)
        if error is None and self.status != "COMPLETED":
            raise JobInterruptedError(f"Job {self.name} was stopped from SCDF: {self.status}")

    def _record_end(self, error: BaseException | None) -> None:
        last = self._last_step
        if error is None and last is None:
            status, code, message = "COMPLETED", "NOOP", NOOP_DESCRIPTION
        elif last is not None and last.status != "COMPLETED" and error is not None:
            status, code, message = last.status, last.exit_code, last.exit_message  # the job ends as its step
        else:
            status, code, message = self._outcome(error)
        self.end_time = self._status.now()
        final: list[str] = []

        def end(cursor: Cursor, retry: bool) -> None:
            db_status, db_version = self._job_row(cursor)
            # Stopped from SCDF meanwhile (STOPPING): the run ends STOPPED, as Batch's
            # synchronizeStatus makes it; the VERSION SCDF set is adopted.
            ended = "STOPPED" if db_status == "STOPPING" and status == "COMPLETED" else status
            expected = db_version if (retry or db_status == "STOPPING") else self.version
            short, serialized = self._serialize(self.context)
            self._execute(
                cursor,
                f"UPDATE {self.schema.prefix}JOB_EXECUTION_CONTEXT SET SHORT_CONTEXT = ?, "
                "SERIALIZED_CONTEXT = ? WHERE JOB_EXECUTION_ID = ?",
                (short, serialized, self.id),
            )
            if retry and db_status in ("COMPLETED", "FAILED", "STOPPED"):
                final[:] = [db_status]
                return
            self.version = expected
            stopped_code = "STOPPED" if ended != status else code
            self._update_job(
                cursor,
                False,
                start=self.start_time,
                end=self.end_time,
                status=ended,
                code=stopped_code,
                message=INTERRUPTED if ended != status else message,
                version=expected + 1,
            )
            final[:] = [ended]

        self._write("record the end", end)
        self.status, self.exit_code, self.exit_message = final[0], code, message
        self.version += 1
        log.info("Job %s (execution %d): %s, exit code %s", self.name, self.id, self.status, self.exit_code)

    # --- helpers ----------------------------------------------------------------------------

    def _execute(self, cursor: Cursor, statement: str, parameters: Sequence[object]) -> None:
        cursor.execute(self._status.adapter.sql(statement), parameters)

    def _exists(self, cursor: Cursor, table: str, column: str, value: int) -> bool:
        self._execute(cursor, f"SELECT 1 FROM {table} WHERE {column} = ?", (value,))
        return cursor.fetchone() is not None


def _is_signal(error: BaseException) -> bool:
    """SIGTERM or SIGINT (`util.task_lifecycle.TaskStopped`, KeyboardInterrupt)."""
    return isinstance(error, KeyboardInterrupt) or type(error).__name__ == "TaskStopped"


def _is_stop(error: BaseException) -> bool:
    return _is_signal(error) or isinstance(error, JobInterruptedError)


def open_job(
    status: TaskStatus,
    launch: Launch,
    name: str,
    parameters: Mapping[str, object] | None,
    **hooks: Any,
) -> Job:
    """The job `name` with `parameters` merged with the command line's (see the module's text)."""
    schema = launch.batch_schema
    merged = merge_parameters(parameters or {}, launch.arguments, schema)
    return Job(status, schema, name, merged, **hooks)


__all__ = [
    "BatchJobError",
    "Job",
    "JobExecutionAlreadyRunningError",
    "JobInstanceAlreadyCompleteError",
    "JobInterruptedError",
    "Step",
    "open_job",
    "split_context",
]
