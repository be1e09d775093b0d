"""A batch job's rows, written as Spring Batch's JDBC DAOs write them (4.3 for `boot2`, 5.0 for `boot3`).

The statements `util.batch_job` runs, each inside one of its bounded writes: the job instance
and execution with its parameters and context, the step executions with theirs, and the
`<task prefix>TASK_BATCH` link without which SCDF lists no job. Contexts are stored as Batch
stores them: JSON for 4.3, Java serialisation for 5.0 (`util.java_context`), split between
SHORT_CONTEXT and SERIALIZED_CONTEXT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from util.batch_parameters import BatchJobError, parameter_columns, stored_values
from util.column_text import CONSERVATIVE, TextUnit, head, measure
from util.db_api import Adapter, Cursor
from util.java_context import ContextValue, to_java_base64, to_json
from util.launch import BatchSchema

if TYPE_CHECKING:
    from util.batch_job import Job, Step

#: EXIT_MESSAGE and SHORT_CONTEXT are VARCHAR(2500).
SHORT_CONTEXT_LIMIT = 2500


def split_context(serialized: str, unit: TextUnit = CONSERVATIVE) -> tuple[str, str | None]:
    """(SHORT_CONTEXT, SERIALIZED_CONTEXT) as JdbcExecutionContextDao splits them (`unit`: what
    SHORT_CONTEXT's length counts on the database)."""
    if measure(serialized, unit) <= SHORT_CONTEXT_LIMIT:
        return serialized, None
    return head(serialized, SHORT_CONTEXT_LIMIT - 8, unit) + " ...", serialized


class BatchRecords:
    """The statements of one job's rows, in the tables of `schema`, linked to `task_prefix`'s."""

    def __init__(self, adapter: Adapter, schema: BatchSchema, task_prefix: str) -> None:
        self.adapter = adapter
        self.schema = schema
        self.task_prefix = task_prefix

    def execute(self, cursor: Cursor, statement: str, parameters: Sequence[object]) -> None:
        cursor.execute(self.adapter.sql(statement), parameters)

    def exists(self, cursor: Cursor, table: str, column: str, value: int) -> bool:
        self.execute(cursor, f"SELECT 1 FROM {table} WHERE {column} = ?", (value,))
        return cursor.fetchone() is not None

    def serialize(self, context: Mapping[str, ContextValue]) -> tuple[str, str | None]:
        return split_context(
            to_java_base64(context) if self.schema.batch5 else to_json(context),
            self.adapter.text_unit,
        )

    # --- the job execution ------------------------------------------------------------------

    def insert_execution(self, cursor: Cursor, retry: bool, job: Job, *, new: bool) -> None:
        p = self.schema.prefix
        if retry and self.exists(cursor, f"{p}JOB_EXECUTION", "JOB_EXECUTION_ID", job.id):
            return  # the attempt before committed; its reply was lost
        if new:
            self.execute(
                cursor,
                f"INSERT INTO {p}JOB_INSTANCE (JOB_INSTANCE_ID, JOB_NAME, JOB_KEY, VERSION) "
                "VALUES (?, ?, ?, ?)",
                (job.instance_id, job.name, job.key, 0),
            )
        columns = (
            "JOB_EXECUTION_ID, JOB_INSTANCE_ID, START_TIME, END_TIME, STATUS, EXIT_CODE, EXIT_MESSAGE, "
            "VERSION, CREATE_TIME, LAST_UPDATED"
        )
        values: list[object] = [
            job.id,
            job.instance_id,
            None,
            None,
            "STARTING",
            "UNKNOWN",
            "",
            0,
            job.create_time,
            job.create_time,
        ]
        if not self.schema.batch5:
            columns += ", JOB_CONFIGURATION_LOCATION"
            values.append(None)
        marks = ", ".join("?" * len(values))
        self.execute(cursor, f"INSERT INTO {p}JOB_EXECUTION ({columns}) VALUES ({marks})", values)
        self._insert_parameters(cursor, job)
        short, serialized = self.serialize(job.context)
        self.execute(
            cursor,
            f"INSERT INTO {p}JOB_EXECUTION_CONTEXT (SHORT_CONTEXT, SERIALIZED_CONTEXT, JOB_EXECUTION_ID) "
            "VALUES (?, ?, ?)",
            (short, serialized, job.id),
        )

    def _insert_parameters(self, cursor: Cursor, job: Job) -> None:
        if not job.parameters:
            return
        columns = ("JOB_EXECUTION_ID", *parameter_columns(self.schema))
        statement = (
            f"INSERT INTO {self.schema.prefix}JOB_EXECUTION_PARAMS ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})"
        )
        rows = [(job.id, *stored_values(n, v, self.schema)) for n, v in job.parameters.items()]
        cursor.executemany(self.adapter.sql(statement), rows)

    def link(self, cursor: Cursor, retry: bool, job: Job, task_id: int) -> None:
        """As Spring Cloud Task's TaskBatchExecutionListener: SCDF lists only linked job executions."""
        link = f"{self.task_prefix}TASK_BATCH"
        if retry and self.exists(cursor, link, "JOB_EXECUTION_ID", job.id):
            return
        self.execute(
            cursor,
            f"INSERT INTO {link} (TASK_EXECUTION_ID, JOB_EXECUTION_ID) VALUES (?, ?)",
            (task_id, job.id),
        )

    def update_job(
        self,
        cursor: Cursor,
        retry: bool,
        job: Job,
        *,
        start: datetime | None,
        end: datetime | None,
        status: str,
        code: str,
        message: str,
        version: int,
        now: datetime,
    ) -> None:
        p = self.schema.prefix
        self.execute(
            cursor,
            f"UPDATE {p}JOB_EXECUTION SET START_TIME = ?, END_TIME = ?, STATUS = ?, EXIT_CODE = ?, "
            "EXIT_MESSAGE = ?, VERSION = ?, CREATE_TIME = ?, LAST_UPDATED = ? "
            "WHERE JOB_EXECUTION_ID = ? AND VERSION = ?",
            (start, end, status, code, message, version, job.create_time, now, job.id, version - 1),
        )
        if cursor.rowcount != 1 and not (retry and self.version(cursor, job.id) == version):
            raise BatchJobError(
                f"Attempt to update job execution id={job.id} with wrong version ({version - 1}), "
                f"where current version is {self.version(cursor, job.id)}"
            )

    def update_job_context(self, cursor: Cursor, job: Job) -> None:
        short, serialized = self.serialize(job.context)
        self.execute(
            cursor,
            f"UPDATE {self.schema.prefix}JOB_EXECUTION_CONTEXT SET SHORT_CONTEXT = ?, "
            "SERIALIZED_CONTEXT = ? WHERE JOB_EXECUTION_ID = ?",
            (short, serialized, job.id),
        )

    def version(self, cursor: Cursor, job_id: int) -> int | None:
        self.execute(
            cursor,
            f"SELECT VERSION FROM {self.schema.prefix}JOB_EXECUTION WHERE JOB_EXECUTION_ID = ?",
            (job_id,),
        )
        row = cursor.fetchone()
        return int(row[0]) if row is not None else None

    def job_row(self, cursor: Cursor, job_id: int) -> tuple[str, int]:
        """The execution's STATUS and VERSION as they are now (SCDF's stop changes both)."""
        self.execute(
            cursor,
            f"SELECT STATUS, VERSION FROM {self.schema.prefix}JOB_EXECUTION WHERE JOB_EXECUTION_ID = ?",
            (job_id,),
        )
        status, version = cursor.fetchone()
        return str(status), int(version)

    # --- the step executions ----------------------------------------------------------------

    def insert_step(self, cursor: Cursor, job: Job, step: Step, *, now: datetime) -> None:
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
            job.id,
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
        self.execute(cursor, f"INSERT INTO {p}STEP_EXECUTION ({', '.join(columns)}) VALUES ({marks})", values)
        short, serialized = self.serialize(step.context)
        self.execute(
            cursor,
            f"INSERT INTO {p}STEP_EXECUTION_CONTEXT (SHORT_CONTEXT, SERIALIZED_CONTEXT, STEP_EXECUTION_ID) "
            "VALUES (?, ?, ?)",
            (short, serialized, step.id),
        )
        self.update_step(cursor, step, status="STARTED", version=1, now=now)

    def update_step_context(self, cursor: Cursor, step: Step) -> None:
        short, serialized = self.serialize(step.context)
        self.execute(
            cursor,
            f"UPDATE {self.schema.prefix}STEP_EXECUTION_CONTEXT SET SHORT_CONTEXT = ?, "
            "SERIALIZED_CONTEXT = ? WHERE STEP_EXECUTION_ID = ?",
            (short, serialized, step.id),
        )

    def update_step(self, cursor: Cursor, step: Step, *, status: str, version: int, now: datetime) -> None:
        self.execute(
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
                now,
                step.id,
            ),
        )
