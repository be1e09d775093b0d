"""SQLite through the standard library's sqlite3: the local stand-in for SCDF's database.

Local runs (`python -m util.local_run`) and the tests use it, so every project has it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from util.column_text import TextUnit
from util.db_api import (
    Adapter,
    Connection,
    Cursor,
    DbTarget,
    SequenceError,
    Timeouts,
    one_row_table,
    scalar,
    value_of,
)


def _datetime_text(value: datetime) -> str:
    # The text form SQLAlchemy and Spring's SQLite dialects read back: ISO with a space,
    # always to the microsecond. (sqlite3's own datetime adapter is deprecated since 3.12.)
    return value.isoformat(" ", "microseconds")


sqlite3.register_adapter(datetime, _datetime_text)


class SqliteAdapter(Adapter):
    dialect = "sqlite"
    label = "SQLite"
    package = "Python's sqlite3 module"
    paramstyle = "qmark"
    # SQLite enforces no VARCHAR length: "VARCHAR(255)" arguments "are ignored by SQLite - SQLite
    # does not impose any length restrictions" (https://www.sqlite.org/datatype3.html). Texts are
    # cut to the declared 2500 characters, as Spring Cloud Task cuts its messages (Java string
    # length), so a local run stores what PostgreSQL and MariaDB would.
    text_unit = TextUnit.CHARACTERS
    # SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN (the file's folder is not there yet).
    transient = frozenset({5, 6, 14})
    login = frozenset({23})  # SQLITE_AUTH

    def connect(self, target: DbTarget, timeouts: Timeouts) -> Connection:
        # `timeout`: how long to wait for another writer's lock.
        return sqlite3.connect(target.database or ":memory:", timeout=timeouts.statement)

    def next_task_id(self, cursor: Cursor, name: str) -> int:
        # The local stand-in always gives `<prefix>SEQ` its one-row form: no need to look it up.
        return one_row_table(cursor, name, f"UPDATE {name} SET ID = ID + 1", f"SELECT ID FROM {name}")

    def next_value(self, cursor: Cursor, name: str) -> int:
        cursor.execute(f"SELECT name FROM pragma_table_info('{name}')")
        columns = {str(c).upper() for (c,) in cursor.fetchall()}
        if not columns:
            raise SequenceError(f"{name} does not exist: create the tables first")
        if "UNIQUE_KEY" in columns:  # the one-row form the local stand-in gives `<prefix>SEQ`
            return one_row_table(cursor, name, f"UPDATE {name} SET ID = ID + 1", f"SELECT ID FROM {name}")
        # Spring's SqliteMaxValueIncrementer: a row per value, the older ones deleted.
        cursor.execute(f"INSERT INTO {name} VALUES (NULL)")
        value = value_of(name, scalar(cursor, f"SELECT MAX(rowid) FROM {name}"))
        cursor.execute(f"DELETE FROM {name} WHERE ID < ?", (value,))
        return value

    def code(self, error: BaseException) -> int | None:
        code = getattr(error, "sqlite_errorcode", None)
        return code & 0xFF if isinstance(code, int) else None  # the primary code


ADAPTER = SqliteAdapter()
