"""A SQLite file standing in for SCDF's database, for local runs and tests.

It holds the task tables under any prefix (`<prefix>EXECUTION`, `_PARAMS`, the `<prefix>SEQ`
incrementer in its one-row table form and the single-instance `<prefix>LOCK`), inserts an
execution row the way SCDF does before a launch (TASK_NAME set, START_TIME and EXIT_CODE null, the
id from `<prefix>SEQ`), and reads rows back with the status SCDF's TaskExecutionResource would show.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from util.db_sqlite import ADAPTER as SQLITE
from util.execution_ids import next_execution_id
from util.task_args import DEFAULT_TABLE_PREFIX, validate_table_prefix

_EXECUTION_COLUMNS = (
    "TASK_EXECUTION_ID",
    "START_TIME",
    "END_TIME",
    "TASK_NAME",
    "EXIT_CODE",
    "EXIT_MESSAGE",
    "ERROR_MESSAGE",
    "LAST_UPDATED",
    "EXTERNAL_EXECUTION_ID",
    "PARENT_EXECUTION_ID",
)
_TIMES = {"START_TIME", "END_TIME", "LAST_UPDATED"}


def _value(column: str, value: object) -> Any:
    return datetime.fromisoformat(value) if column in _TIMES and isinstance(value, str) else value


def scdf_status(start_time: object, end_time: object, exit_code: int | None) -> str:
    """The status SCDF shows for a row (TaskExecutionResource's rules)."""
    if start_time is None:
        return "UNKNOWN"
    if end_time is None or exit_code is None:
        return "RUNNING"
    return "COMPLETE" if exit_code == 0 else "ERROR"


@dataclass(frozen=True)
class ExecutionRow:
    """One `<prefix>EXECUTION` row as read back."""

    task_execution_id: int
    start_time: datetime | None
    end_time: datetime | None
    task_name: str | None
    exit_code: int | None
    exit_message: str | None
    error_message: str | None
    last_updated: datetime | None
    external_execution_id: str | None
    parent_execution_id: int | None

    @property
    def status(self) -> str:
        return scdf_status(self.start_time, self.end_time, self.exit_code)


@dataclass(frozen=True)
class StepRecord:
    name: str
    status: str
    read_count: int
    write_count: int
    commit_count: int
    exit_code: str


@dataclass(frozen=True)
class JobRecord:
    """One `<batch prefix>JOB_EXECUTION` row linked to the task execution, with its steps."""

    execution_id: int
    instance_id: int
    name: str
    status: str
    exit_code: str
    exit_message: str | None
    steps: list[StepRecord]


class LocalScdfDatabase:
    """A SQLite file with SCDF's task tables."""

    def __init__(self, path: Path, prefixes: tuple[str, ...] = (DEFAULT_TABLE_PREFIX,)) -> None:
        self.path = Path(path)
        for prefix in prefixes:
            self.create_tables(prefix)

    @property
    def jdbc_url(self) -> str:
        """The URL as SCDF would hand it to the task."""
        return f"jdbc:sqlite:{self.path}"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction, committed when the block ends without an error."""
        connection = sqlite3.connect(self.path)
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    def create_tables(self, prefix: str = DEFAULT_TABLE_PREFIX) -> None:
        """The tables the task uses, with SCDF's column names and sizes."""
        p = validate_table_prefix(prefix)
        with self.transaction() as connection:
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {p}EXECUTION (TASK_EXECUTION_ID BIGINT NOT NULL PRIMARY KEY, "
                "START_TIME DATETIME, END_TIME DATETIME, TASK_NAME VARCHAR(100), EXIT_CODE INTEGER, "
                "EXIT_MESSAGE VARCHAR(2500), ERROR_MESSAGE VARCHAR(2500), LAST_UPDATED TIMESTAMP, "
                "EXTERNAL_EXECUTION_ID VARCHAR(255), PARENT_EXECUTION_ID BIGINT)"
            )
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {p}EXECUTION_PARAMS (TASK_EXECUTION_ID BIGINT NOT NULL, "
                f"TASK_PARAM VARCHAR(2500), FOREIGN KEY (TASK_EXECUTION_ID) REFERENCES {p}EXECUTION)"
            )
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {p}SEQ (ID BIGINT NOT NULL, UNIQUE_KEY CHAR(1) NOT NULL UNIQUE)"
            )
            connection.execute(f"INSERT OR IGNORE INTO {p}SEQ (ID, UNIQUE_KEY) VALUES (0, '0')")
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {p}LOCK (LOCK_KEY CHAR(36) NOT NULL, "
                "REGION VARCHAR(100) NOT NULL, CLIENT_ID CHAR(36), CREATED_DATE DATETIME NOT NULL, "
                "PRIMARY KEY (LOCK_KEY, REGION))"
            )

    def create_batch_tables(
        self, batch_prefix: str, *, batch5: bool, task_prefix: str = DEFAULT_TABLE_PREFIX
    ) -> None:
        """Spring Batch's SQLite tables (4.3's, or 5.0's with `batch5`) and the task link table."""
        p = validate_table_prefix(batch_prefix)
        params = (
            "PARAMETER_NAME VARCHAR(100) NOT NULL, PARAMETER_TYPE VARCHAR(100) NOT NULL, "
            "PARAMETER_VALUE VARCHAR(2500)"
            if batch5
            else "TYPE_CD VARCHAR(6) NOT NULL, KEY_NAME VARCHAR(100) NOT NULL, STRING_VAL VARCHAR(250), "
            "DATE_VAL TIMESTAMP DEFAULT NULL, LONG_VAL INTEGER, DOUBLE_VAL DOUBLE PRECISION"
        )
        step_times = (
            "CREATE_TIME TIMESTAMP NOT NULL, START_TIME TIMESTAMP DEFAULT NULL"
            if batch5
            else "START_TIME TIMESTAMP NOT NULL"
        )
        counts = ", ".join(
            f"{c}_COUNT INTEGER"
            for c in (
                "COMMIT",
                "READ",
                "FILTER",
                "WRITE",
                "READ_SKIP",
                "WRITE_SKIP",
                "PROCESS_SKIP",
                "ROLLBACK",
            )
        )
        statements = [
            f"{p}JOB_INSTANCE (JOB_INSTANCE_ID INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, VERSION INTEGER, "
            "JOB_NAME VARCHAR(100) NOT NULL, JOB_KEY VARCHAR(32) NOT NULL, UNIQUE (JOB_NAME, JOB_KEY))",
            f"{p}JOB_EXECUTION (JOB_EXECUTION_ID INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
            "VERSION INTEGER, JOB_INSTANCE_ID INTEGER NOT NULL, CREATE_TIME TIMESTAMP NOT NULL, "
            "START_TIME TIMESTAMP DEFAULT NULL, END_TIME TIMESTAMP DEFAULT NULL, STATUS VARCHAR(10), "
            "EXIT_CODE VARCHAR(100), EXIT_MESSAGE VARCHAR(2500), LAST_UPDATED TIMESTAMP"
            + ("" if batch5 else ", JOB_CONFIGURATION_LOCATION VARCHAR(2500)")
            + f", FOREIGN KEY (JOB_INSTANCE_ID) REFERENCES {p}JOB_INSTANCE(JOB_INSTANCE_ID))",
            f"{p}JOB_EXECUTION_PARAMS (JOB_EXECUTION_ID INTEGER NOT NULL, {params}, "
            "IDENTIFYING CHAR(1) NOT NULL, "
            f"FOREIGN KEY (JOB_EXECUTION_ID) REFERENCES {p}JOB_EXECUTION(JOB_EXECUTION_ID))",
            f"{p}STEP_EXECUTION (STEP_EXECUTION_ID INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
            f"VERSION INTEGER NOT NULL, STEP_NAME VARCHAR(100) NOT NULL, JOB_EXECUTION_ID INTEGER NOT NULL, "
            f"{step_times}, END_TIME TIMESTAMP DEFAULT NULL, STATUS VARCHAR(10), {counts}, "
            "EXIT_CODE VARCHAR(100), EXIT_MESSAGE VARCHAR(2500), LAST_UPDATED TIMESTAMP, "
            f"FOREIGN KEY (JOB_EXECUTION_ID) REFERENCES {p}JOB_EXECUTION(JOB_EXECUTION_ID))",
            f"{p}STEP_EXECUTION_CONTEXT (STEP_EXECUTION_ID INTEGER NOT NULL PRIMARY KEY, "
            "SHORT_CONTEXT VARCHAR(2500) NOT NULL, SERIALIZED_CONTEXT CLOB)",
            f"{p}JOB_EXECUTION_CONTEXT (JOB_EXECUTION_ID INTEGER NOT NULL PRIMARY KEY, "
            "SHORT_CONTEXT VARCHAR(2500) NOT NULL, SERIALIZED_CONTEXT CLOB)",
            *(
                f"{p}{seq}_SEQ (ID INTEGER PRIMARY KEY AUTOINCREMENT)"
                for seq in ("STEP_EXECUTION", "JOB_EXECUTION", "JOB")
            ),
            f"{validate_table_prefix(task_prefix)}TASK_BATCH (TASK_EXECUTION_ID BIGINT NOT NULL, "
            "JOB_EXECUTION_ID BIGINT NOT NULL)",
        ]
        with self.transaction() as connection:
            for statement in statements:
                connection.execute(f"CREATE TABLE IF NOT EXISTS {statement}")

    def jobs(
        self, task_execution_id: int, batch_prefix: str, task_prefix: str = DEFAULT_TABLE_PREFIX
    ) -> list[JobRecord]:
        """The job executions linked to a task execution, with their steps, as SCDF lists them."""
        p, t = validate_table_prefix(batch_prefix), validate_table_prefix(task_prefix)
        found = []
        with self.transaction() as connection:
            rows = connection.execute(
                "SELECT E.JOB_EXECUTION_ID, I.JOB_INSTANCE_ID, I.JOB_NAME, E.STATUS, E.EXIT_CODE, "
                "E.EXIT_MESSAGE "
                f"FROM {t}TASK_BATCH B JOIN {p}JOB_EXECUTION E ON E.JOB_EXECUTION_ID = B.JOB_EXECUTION_ID "
                f"JOIN {p}JOB_INSTANCE I ON I.JOB_INSTANCE_ID = E.JOB_INSTANCE_ID "
                "WHERE B.TASK_EXECUTION_ID = ? ORDER BY E.JOB_EXECUTION_ID",
                (task_execution_id,),
            ).fetchall()
            for job_id, instance_id, name, status, code, message in rows:
                steps = connection.execute(
                    "SELECT STEP_NAME, STATUS, READ_COUNT, WRITE_COUNT, COMMIT_COUNT, EXIT_CODE "
                    f"FROM {p}STEP_EXECUTION WHERE JOB_EXECUTION_ID = ? ORDER BY STEP_EXECUTION_ID",
                    (job_id,),
                ).fetchall()
                found.append(
                    JobRecord(
                        job_id, instance_id, name, status, code, message, [StepRecord(*s) for s in steps]
                    )
                )
        return found

    def create_execution(
        self,
        task_name: str = "python-task",
        prefix: str = DEFAULT_TABLE_PREFIX,
        execution_id: int | None = None,
    ) -> int:
        """Inserts a row as SCDF does before a launch and returns its id (from `<prefix>SEQ` by default)."""
        p = validate_table_prefix(prefix)
        if execution_id is None:
            with self.transaction() as connection:
                execution_id = next_execution_id(SQLITE, connection.cursor(), p)
        with self.transaction() as connection:
            connection.execute(
                f"INSERT INTO {p}EXECUTION (TASK_EXECUTION_ID, TASK_NAME, LAST_UPDATED) VALUES (?, ?, ?)",
                (execution_id, task_name, datetime.now()),
            )
        return execution_id

    def execution(self, execution_id: int, prefix: str = DEFAULT_TABLE_PREFIX) -> ExecutionRow | None:
        p = validate_table_prefix(prefix)
        query = f"SELECT {', '.join(_EXECUTION_COLUMNS)} FROM {p}EXECUTION WHERE TASK_EXECUTION_ID = ?"
        with self.transaction() as connection:
            row = connection.execute(query, (execution_id,)).fetchone()
        if row is None:
            return None
        return ExecutionRow(*(_value(c, v) for c, v in zip(_EXECUTION_COLUMNS, row, strict=True)))

    def last_execution_id(self, prefix: str = DEFAULT_TABLE_PREFIX) -> int:
        """The highest execution id in `<prefix>EXECUTION`, 0 when there is none."""
        p = validate_table_prefix(prefix)
        with self.transaction() as connection:
            (last,) = connection.execute(f"SELECT MAX(TASK_EXECUTION_ID) FROM {p}EXECUTION").fetchone()
        return int(last or 0)

    def execution_ids(self, task_name: str, prefix: str = DEFAULT_TABLE_PREFIX, after: int = 0) -> list[int]:
        """Ids of the executions named `task_name` above `after`, in order."""
        p = validate_table_prefix(prefix)
        query = (
            f"SELECT TASK_EXECUTION_ID FROM {p}EXECUTION "
            "WHERE TASK_NAME = ? AND TASK_EXECUTION_ID > ? ORDER BY TASK_EXECUTION_ID"
        )
        with self.transaction() as connection:
            return [int(i) for (i,) in connection.execute(query, (task_name, after))]

    def locks(self, prefix: str = DEFAULT_TABLE_PREFIX) -> list[tuple[str, str, str | None]]:
        """(LOCK_KEY, REGION, CLIENT_ID) of every single-instance lock held."""
        p = validate_table_prefix(prefix)
        with self.transaction() as connection:
            rows = connection.execute(f"SELECT LOCK_KEY, REGION, CLIENT_ID FROM {p}LOCK ORDER BY LOCK_KEY")
            return [(key, region, client) for key, region, client in rows]

    def params(self, execution_id: int, prefix: str = DEFAULT_TABLE_PREFIX) -> list[str]:
        """TASK_PARAM values of the execution, in the order they were written."""
        p = validate_table_prefix(prefix)
        query = f"SELECT TASK_PARAM FROM {p}EXECUTION_PARAMS WHERE TASK_EXECUTION_ID = ? ORDER BY rowid"
        with self.transaction() as connection:
            return [str(param) for (param,) in connection.execute(query, (execution_id,))]

    def dispose(self) -> None:
        """Nothing stays open between calls; kept for callers that tidy up."""
