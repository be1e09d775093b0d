"""A SQLite file standing in for SCDF's database, for local runs and tests.

It holds the task tables under any prefix (`<prefix>EXECUTION`, `_PARAMS`, the `<prefix>SEQ`
incrementer in its one-row table form and the single-instance `<prefix>LOCK`), inserts an
execution row the way SCDF does before a launch (TASK_NAME set, START_TIME and EXIT_CODE null, the
id from `<prefix>SEQ`), and reads rows back with the status SCDF's TaskExecutionResource would show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, Integer, String, bindparam, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeEngine

from util.execution_ids import next_execution_id
from util.task_args import DEFAULT_TABLE_PREFIX, validate_table_prefix

_EXECUTION_COLUMNS: dict[str, TypeEngine[Any]] = {
    "TASK_EXECUTION_ID": Integer(),
    "START_TIME": DateTime(),
    "END_TIME": DateTime(),
    "TASK_NAME": String(),
    "EXIT_CODE": Integer(),
    "EXIT_MESSAGE": String(),
    "ERROR_MESSAGE": String(),
    "LAST_UPDATED": DateTime(),
    "EXTERNAL_EXECUTION_ID": String(),
    "PARENT_EXECUTION_ID": Integer(),
}


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


class LocalScdfDatabase:
    """A SQLite file with SCDF's task tables."""

    def __init__(self, path: Path, prefixes: tuple[str, ...] = (DEFAULT_TABLE_PREFIX,)) -> None:
        self.path = Path(path)
        self.url = URL.create("sqlite", database=str(self.path))
        self.engine: Engine = create_engine(self.url, poolclass=NullPool)
        for prefix in prefixes:
            self.create_tables(prefix)

    @property
    def jdbc_url(self) -> str:
        """The URL as SCDF would hand it to the task."""
        return f"jdbc:sqlite:{self.path}"

    def create_tables(self, prefix: str = DEFAULT_TABLE_PREFIX) -> None:
        """The tables the task uses, with SCDF's column names and sizes."""
        p = validate_table_prefix(prefix)
        with self.engine.begin() as connection:
            connection.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {p}EXECUTION (TASK_EXECUTION_ID BIGINT NOT NULL PRIMARY KEY, "
                "START_TIME DATETIME, END_TIME DATETIME, TASK_NAME VARCHAR(100), EXIT_CODE INTEGER, "
                "EXIT_MESSAGE VARCHAR(2500), ERROR_MESSAGE VARCHAR(2500), LAST_UPDATED TIMESTAMP, "
                "EXTERNAL_EXECUTION_ID VARCHAR(255), PARENT_EXECUTION_ID BIGINT)"
            )
            connection.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {p}EXECUTION_PARAMS (TASK_EXECUTION_ID BIGINT NOT NULL, "
                f"TASK_PARAM VARCHAR(2500), FOREIGN KEY (TASK_EXECUTION_ID) REFERENCES {p}EXECUTION)"
            )
            connection.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {p}SEQ (ID BIGINT NOT NULL, UNIQUE_KEY CHAR(1) NOT NULL UNIQUE)"
            )
            connection.exec_driver_sql(f"INSERT OR IGNORE INTO {p}SEQ (ID, UNIQUE_KEY) VALUES (0, '0')")
            connection.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {p}LOCK (LOCK_KEY CHAR(36) NOT NULL, "
                "REGION VARCHAR(100) NOT NULL, CLIENT_ID CHAR(36), CREATED_DATE DATETIME NOT NULL, "
                "PRIMARY KEY (LOCK_KEY, REGION))"
            )

    def create_execution(
        self,
        task_name: str = "python-task",
        prefix: str = DEFAULT_TABLE_PREFIX,
        execution_id: int | None = None,
    ) -> int:
        """Inserts a row as SCDF does before a launch and returns its id (from `<prefix>SEQ` by default)."""
        p = validate_table_prefix(prefix)
        if execution_id is None:
            with self.engine.begin() as connection:
                execution_id = next_execution_id(connection, p)
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    f"INSERT INTO {p}EXECUTION (TASK_EXECUTION_ID, TASK_NAME, LAST_UPDATED) "
                    "VALUES (:id, :name, :now)"
                ).bindparams(bindparam("now", datetime.now(), type_=DateTime())),
                {"id": execution_id, "name": task_name},
            )
        return execution_id

    def execution(self, execution_id: int, prefix: str = DEFAULT_TABLE_PREFIX) -> ExecutionRow | None:
        p = validate_table_prefix(prefix)
        query = text(
            f"SELECT {', '.join(_EXECUTION_COLUMNS)} FROM {p}EXECUTION WHERE TASK_EXECUTION_ID = :id"
        ).columns(**_EXECUTION_COLUMNS)
        with self.engine.connect() as connection:
            row = connection.execute(query, {"id": execution_id}).first()
        return ExecutionRow(*row) if row is not None else None

    def last_execution_id(self, prefix: str = DEFAULT_TABLE_PREFIX) -> int:
        """The highest execution id in `<prefix>EXECUTION`, 0 when there is none."""
        p = validate_table_prefix(prefix)
        with self.engine.connect() as connection:
            last = connection.execute(text(f"SELECT MAX(TASK_EXECUTION_ID) FROM {p}EXECUTION")).scalar()
        return int(last or 0)

    def execution_ids(self, task_name: str, prefix: str = DEFAULT_TABLE_PREFIX, after: int = 0) -> list[int]:
        """Ids of the executions named `task_name` above `after`, in order."""
        p = validate_table_prefix(prefix)
        query = text(
            f"SELECT TASK_EXECUTION_ID FROM {p}EXECUTION "
            "WHERE TASK_NAME = :name AND TASK_EXECUTION_ID > :after ORDER BY TASK_EXECUTION_ID"
        )
        with self.engine.connect() as connection:
            return [int(i) for i in connection.execute(query, {"name": task_name, "after": after}).scalars()]

    def locks(self, prefix: str = DEFAULT_TABLE_PREFIX) -> list[tuple[str, str, str | None]]:
        """(LOCK_KEY, REGION, CLIENT_ID) of every single-instance lock held."""
        p = validate_table_prefix(prefix)
        with self.engine.connect() as connection:
            query = text(f"SELECT LOCK_KEY, REGION, CLIENT_ID FROM {p}LOCK ORDER BY LOCK_KEY")
            rows = connection.execute(query)
            return [(key, region, client) for key, region, client in rows]

    def params(self, execution_id: int, prefix: str = DEFAULT_TABLE_PREFIX) -> list[str]:
        """TASK_PARAM values of the execution, in the order they were written."""
        p = validate_table_prefix(prefix)
        query = text(
            f"SELECT TASK_PARAM FROM {p}EXECUTION_PARAMS WHERE TASK_EXECUTION_ID = :id ORDER BY rowid"
        )
        with self.engine.connect() as connection:
            return list(connection.execute(query, {"id": execution_id}).scalars())

    def dispose(self) -> None:
        self.engine.dispose()
