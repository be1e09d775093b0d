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

Every write goes through the execution's write engine (`util.bounded_write`), the one the row
and the lock use: one short connection, bounded, retried when transient, safe to retry. A write
that fails raises `JobWriteError`. The statements are `util.batch_records`'s, the restart rules
`util.batch_restart`'s; this module runs the job's lifecycle.

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
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

# A body catches the refusals, and finds the helpers, where it imports the job from.
from util.batch_parameters import BatchJobError as BatchJobError
from util.batch_parameters import ParameterValue, job_key, merge_parameters
from util.batch_records import SHORT_CONTEXT_LIMIT as SHORT_CONTEXT_LIMIT
from util.batch_records import BatchRecords
from util.batch_records import split_context as split_context
from util.batch_restart import Instance, find_instance
from util.batch_restart import JobExecutionAlreadyRunningError as JobExecutionAlreadyRunningError
from util.batch_restart import JobInstanceAlreadyCompleteError as JobInstanceAlreadyCompleteError
from util.bounded_write import WriteEngine, WriteError
from util.column_text import fit_text, measure
from util.db_api import Cursor
from util.execution_ids import next_value
from util.java_context import ContextValue, check_value

if TYPE_CHECKING:
    from util.launch import BatchSchema, Launch

log = logging.getLogger(__name__)

#: EXIT_CODE is VARCHAR(100) in SQLite's DDL, EXIT_MESSAGE VARCHAR(2500).
MAX_EXIT_MESSAGE = 2500
NOOP_DESCRIPTION = "All steps already completed or no steps configured for this job."
INTERRUPTED = "org.springframework.batch.core.JobInterruptedException"
#: Shown by SCDF as the step's type (`batch.taskletType` is displayed verbatim).
TASKLET_TYPE = "python"
STEP_TYPE = "org.springframework.batch.core.step.tasklet.TaskletStep"


class JobWriteError(WriteError):
    """A job's record could not be written; the message is safe to log."""


class JobInterruptedError(Exception):
    """The job was stopped from SCDF (`PUT /jobs/executions/{id}?stop=true`) between two steps."""


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


class Job:
    """One job execution. Made by `TaskContext.job()`; use it as a `with` block."""

    def __init__(
        self,
        engine: WriteEngine,
        schema: BatchSchema,
        name: str,
        parameters: Mapping[str, ParameterValue],
        *,
        task_id: int,
        task_prefix: str,
        clock: Callable[[], datetime],
        hold: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        """Job `name` of task execution `task_id` (in `task_prefix`'s tables), written through
        the execution's `engine`, its times from the row's `clock`."""
        unit = engine.adapter.text_unit
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
        self._engine = engine
        self._records = BatchRecords(engine.adapter, schema, task_prefix)
        self._task_id = task_id
        self._clock = clock
        #: Groups writes a stop signal must not cut apart (`util.stop.StopSignals.held`): a
        #: stop that comes during them is raised once they are all done.
        self._hold = hold
        self._redact = redact
        self._instance = Instance(None)
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
        unit = self._engine.adapter.text_unit
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
        try:
            self._engine.run(f"{purpose} of job {self.name}", work)
        except WriteError as error:
            raise JobWriteError.of(error) from None

    def _begin(self) -> None:
        instance = self._read_instance()
        instance_id = instance.id
        if instance_id is None:
            instance_id = self._next("JOB_SEQ")
        self.id = self._next("JOB_EXECUTION_SEQ")
        self.instance_id = instance_id
        self._instance = instance
        self.create_time = self._clock()
        self._write(
            "create the execution",
            functools.partial(self._records.insert_execution, job=self, new=instance.id is None),
        )
        self.start_time = self._clock()
        self._write("record the start", self._started)
        self.status, self.version = "STARTED", 1
        restarted = " (restart: skipping the completed steps)" if instance.completed_steps else ""
        log.info("Job %s started: instance %d, execution %d%s", self.name, instance_id, self.id, restarted)

    def _next(self, sequence: str) -> int:
        taken: list[int] = []

        def take(cursor: Cursor, retry: bool) -> None:
            taken[:] = [next_value(self._engine.adapter, cursor, f"{self.schema.prefix}{sequence}")]

        # Taken and committed on its own, as Spring's incrementers do.
        self._write(f"take the next {sequence} value", take)
        return taken[0]

    def _read_instance(self) -> Instance:
        found: list[Instance | BatchJobError] = []

        def read(cursor: Cursor, retry: bool) -> None:
            try:
                found[:] = [
                    find_instance(
                        cursor, self._records.execute, self.schema, self.name, self.key, self.parameters
                    )
                ]
            except BatchJobError as refusal:  # Batch's refusal reaches the body as itself
                found[:] = [refusal]

        self._write("look up the instance", read)
        if isinstance(found[0], BatchJobError):
            raise found[0]
        return found[0]

    def _started(self, cursor: Cursor, retry: bool) -> None:
        self._records.update_job(
            cursor,
            retry,
            self,
            now=self._clock(),
            start=self.start_time,
            end=None,
            status="STARTED",
            code="UNKNOWN",
            message="",
            version=1,
        )
        self._records.link(cursor, retry, self, self._task_id)

    def _start_step(self, step: Step) -> None:
        step.id = self._next("STEP_EXECUTION_SEQ")
        step.start_time = self._clock()
        step.context = {**step.context, "batch.taskletType": TASKLET_TYPE, "batch.stepType": STEP_TYPE}
        stopping: list[bool] = []

        def insert(cursor: Cursor, retry: bool) -> None:
            stopping[:] = [self._stopping(cursor)]
            if stopping[0] or (
                retry
                and self._records.exists(
                    cursor, f"{self.schema.prefix}STEP_EXECUTION", "STEP_EXECUTION_ID", step.id
                )
            ):
                return
            self._records.insert_step(cursor, self, step, now=self._clock())

        self._write(f"start step {step.name}", insert)
        if stopping[0]:
            raise JobInterruptedError("JobExecution interrupted.")
        step.status, step.version = "STARTED", 1
        self._last_step = step
        self.steps.append(step)

    def _stopping(self, cursor: Cursor) -> bool:
        """SCDF's stop sets the job STOPPING (and bumps its VERSION); adopt it, as Batch does."""
        status, version = self._records.job_row(cursor, self.id)
        if version != self.version:
            self.version = version
        return status == "STOPPING"

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
            fit_text(trace, MAX_EXIT_MESSAGE, unit=self._engine.adapter.text_unit) or "",
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
        step.end_time = self._clock()

        def end(cursor: Cursor, retry: bool) -> None:
            self._records.update_step_context(cursor, step)
            self._records.update_step(cursor, step, status=step.status, version=version, now=self._clock())

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
        self.end_time = self._clock()
        final: list[str] = []

        def end(cursor: Cursor, retry: bool) -> None:
            db_status, db_version = self._records.job_row(cursor, self.id)
            # Stopped from SCDF meanwhile (STOPPING): the run ends STOPPED, as Batch's
            # synchronizeStatus makes it; the VERSION SCDF set is adopted.
            ended = "STOPPED" if db_status == "STOPPING" and status == "COMPLETED" else status
            expected = db_version if (retry or db_status == "STOPPING") else self.version
            self._records.update_job_context(cursor, self)
            if retry and db_status in ("COMPLETED", "FAILED", "STOPPED"):
                final[:] = [db_status]
                return
            self.version = expected
            stopped_code = "STOPPED" if ended != status else code
            self._records.update_job(
                cursor,
                False,
                self,
                now=self._clock(),
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


def _is_signal(error: BaseException) -> bool:
    """SIGTERM or SIGINT (`util.task_lifecycle.TaskStopped`, KeyboardInterrupt)."""
    return isinstance(error, KeyboardInterrupt) or type(error).__name__ == "TaskStopped"


def _is_stop(error: BaseException) -> bool:
    return _is_signal(error) or isinstance(error, JobInterruptedError)


def open_job(
    engine: WriteEngine,
    launch: Launch,
    name: str,
    parameters: Mapping[str, object] | None,
    **hooks: Any,
) -> Job:
    """The job `name` with `parameters` merged with the command line's (see the module's text).

    `hooks`: Job's keywords (`task_id`, `clock`, `hold`, `redact`); the task prefix is the launch's.
    """
    schema = launch.batch_schema
    merged = merge_parameters(parameters or {}, launch.arguments, schema)
    return Job(engine, schema, name, merged, task_prefix=launch.table_prefix, **hooks)


__all__ = [
    "BatchJobError",
    "Job",
    "JobExecutionAlreadyRunningError",
    "JobInstanceAlreadyCompleteError",
    "JobInterruptedError",
    "JobWriteError",
    "Step",
    "open_job",
    "split_context",
]
