"""SQLite through the standard library's sqlite3: the local stand-in for SCDF's database.

Local runs (`python -m util.local_run`) and the tests use it, so every project has it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from util.db_api import Adapter, Connection, DbTarget, Timeouts


def _datetime_text(value: datetime) -> str:
    # The text form SQLAlchemy and Spring's SQLite dialects read back: ISO with a space,
    # always to the microsecond. (sqlite3's own datetime adapter is deprecated since 3.12.)
    return value.isoformat(" ", "microseconds")


sqlite3.register_adapter(datetime, _datetime_text)


class SqliteAdapter(Adapter):
    dialect = "sqlite"
    package = "Python's sqlite3 module"
    paramstyle = "qmark"
    # SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN (the file's folder is not there yet).
    transient = frozenset({5, 6, 14})
    login = frozenset({23})  # SQLITE_AUTH

    def connect(self, target: DbTarget, timeouts: Timeouts) -> Connection:
        # `timeout`: how long to wait for another writer's lock.
        return sqlite3.connect(target.database or ":memory:", timeout=timeouts.statement)

    def code(self, error: BaseException) -> int | None:
        code = getattr(error, "sqlite_errorcode", None)
        return code & 0xFF if isinstance(code, int) else None  # the primary code


ADAPTER = SqliteAdapter()
