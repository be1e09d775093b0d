"""Plays SCDF on a server the user names, through the generated project's own driver and adapter.

Run by test_named_servers.py with the generated project's venv, from the project's folder, so
that it connects exactly as the task does (`util.jdbc_url`, `util.db_adapter`), with no
SQLAlchemy dialect needed for SQL Server, Oracle or Db2. The settings come from the environment
(SCDF_NAMED_URL, SCDF_NAMED_USERNAME, SCDF_NAMED_PASSWORD), never from argv.

    python named_helper.py create PREFIX     # the task tables, the sequence and the lock table
    python named_helper.py insert PREFIX ID  # SCDF's row before a launch
    python named_helper.py read PREFIX ID    # the row and its params, as JSON
    python named_helper.py drop PREFIX       # everything `create` made
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import Any

from util.db_adapter import ADAPTER
from util.db_api import Timeouts
from util.jdbc_url import targets

# Column types per database, from Spring Cloud Task's schema files (schema-<db>.sql): the same
# columns and lengths everywhere, the time and number types differing.
_TYPES = {
    "postgresql": ("BIGINT", "TIMESTAMP", "INTEGER", "VARCHAR"),
    "mysql": ("BIGINT", "DATETIME(6)", "INTEGER", "VARCHAR"),
    "mssql": ("BIGINT", "DATETIME2", "INTEGER", "VARCHAR"),
    "oracle": ("NUMBER(19,0)", "TIMESTAMP(9)", "INTEGER", "VARCHAR2"),
    "db2": ("BIGINT", "TIMESTAMP(9)", "INTEGER", "VARCHAR"),
}


def _statements(prefix: str) -> list[str]:
    big, time, integer, text = _TYPES[ADAPTER.dialect]
    p = prefix
    statements = [
        f"CREATE TABLE {p}EXECUTION (TASK_EXECUTION_ID {big} NOT NULL PRIMARY KEY, "
        f"START_TIME {time}, END_TIME {time}, TASK_NAME {text}(100), EXIT_CODE {integer}, "
        f"EXIT_MESSAGE {text}(2500), ERROR_MESSAGE {text}(2500), LAST_UPDATED {time}, "
        f"EXTERNAL_EXECUTION_ID {text}(255), PARENT_EXECUTION_ID {big})",
        f"CREATE TABLE {p}EXECUTION_PARAMS "
        f"(TASK_EXECUTION_ID {big} NOT NULL, TASK_PARAM {text}(2500))",
        f"CREATE TABLE {p}LOCK (LOCK_KEY CHAR(36) NOT NULL, REGION {text}(100) NOT NULL, "
        f"CLIENT_ID CHAR(36), CREATED_DATE {time} NOT NULL, PRIMARY KEY (LOCK_KEY, REGION))",
    ]
    if ADAPTER.dialect == "mysql":  # Spring Cloud Task's MySQL form: a one-row table
        statements += [
            f"CREATE TABLE {p}SEQ "
            "(ID BIGINT NOT NULL, UNIQUE_KEY CHAR(1) NOT NULL, UNIQUE (UNIQUE_KEY))",
            f"INSERT INTO {p}SEQ (ID, UNIQUE_KEY) VALUES (0, '0')",
        ]
    else:
        statements.append(f"CREATE SEQUENCE {p}SEQ START WITH 1 MINVALUE 1")
    return statements


def _drops(prefix: str) -> list[str]:
    sequence = (
        f"DROP TABLE {prefix}SEQ" if ADAPTER.dialect == "mysql" else f"DROP SEQUENCE {prefix}SEQ"
    )
    return [f"DROP TABLE {prefix}{t}" for t in ("EXECUTION_PARAMS", "EXECUTION", "LOCK")] + [
        sequence
    ]


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def main(command: str, prefix: str, *rest: str) -> None:
    [target] = targets(
        os.environ["SCDF_NAMED_URL"],
        username=os.environ.get("SCDF_NAMED_USERNAME") or None,
        password=os.environ.get("SCDF_NAMED_PASSWORD") or None,
    )[:1]
    connection = ADAPTER.connect(target, Timeouts(connect=10, statement=30))
    cursor = connection.cursor()
    try:
        if command == "create":
            for statement in _statements(prefix):
                cursor.execute(statement)
        elif command == "drop":
            for statement in _drops(prefix):
                try:
                    cursor.execute(statement)
                    connection.commit()
                except Exception:  # drop what is there, whatever failed before
                    connection.rollback()
        elif command == "insert":
            cursor.execute(
                ADAPTER.sql(
                    f"INSERT INTO {prefix}EXECUTION (TASK_EXECUTION_ID, EXIT_CODE, START_TIME, "
                    "TASK_NAME, LAST_UPDATED, EXTERNAL_EXECUTION_ID, PARENT_EXECUTION_ID) "
                    "VALUES (?, NULL, NULL, ?, ?, NULL, NULL)"
                ),
                (int(rest[0]), "contract-task", datetime.now().replace(microsecond=0)),
            )
        elif command == "read":
            columns = (
                "START_TIME",
                "END_TIME",
                "TASK_NAME",
                "EXIT_CODE",
                "EXIT_MESSAGE",
                "ERROR_MESSAGE",
            )
            cursor.execute(
                ADAPTER.sql(
                    f"SELECT {', '.join(columns)} FROM {prefix}EXECUTION "
                    "WHERE TASK_EXECUTION_ID = ?"
                ),
                (int(rest[0]),),
            )
            row = cursor.fetchone()
            cursor.execute(
                ADAPTER.sql(
                    f"SELECT TASK_PARAM FROM {prefix}EXECUTION_PARAMS WHERE TASK_EXECUTION_ID = ?"
                ),
                (int(rest[0]),),
            )
            params = sorted(str(p) for (p,) in cursor.fetchall())
            cursor.execute(
                f"SELECT TASK_EXECUTION_ID FROM {prefix}EXECUTION ORDER BY TASK_EXECUTION_ID"
            )
            ids = [int(i) for (i,) in cursor.fetchall()]
            cursor.execute(f"SELECT COUNT(*) FROM {prefix}LOCK")
            (locks,) = cursor.fetchone()
            found = (
                None if row is None else {c: _value(v) for c, v in zip(columns, row, strict=True)}
            )
            print(json.dumps({"row": found, "params": params, "ids": ids, "locks": int(locks)}))
        else:
            raise SystemExit(f"unknown command {command!r}")
        connection.commit()
    finally:
        cursor.close()
        connection.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
