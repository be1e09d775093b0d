"""Fixtures shared by the utilities' tests. Managed by generator-scdf-task."""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from util.db_sqlite import SqliteAdapter
from util.testing import launch_task, scdf_db

__all__ = ["launch_task", "recorded", "scdf_db"]


@dataclass
class Recorded:
    """What the utilities did on SQLite connections: statements, batches, connects, commits."""

    #: The first three words of each statement; a batch (executemany) as `<words> x<rows>`.
    statements: list[str] = field(default_factory=list)
    connects: int = 0
    #: Called with the real connection in place of its commit(), when set.
    on_commit: Callable[[object], None] | None = None


class _Cursor:
    def __init__(self, cursor, recorded):
        self._cursor, self._recorded = cursor, recorded

    def execute(self, statement, parameters=()):
        self._recorded.statements.append(" ".join(statement.split()[:3]))
        return self._cursor.execute(statement, parameters)

    def executemany(self, statement, rows):
        rows = list(rows)
        self._recorded.statements.append(" ".join(statement.split()[:3]) + f" x{len(rows)}")
        return self._cursor.executemany(statement, rows)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class _Connection:
    def __init__(self, connection, recorded):
        self._connection, self._recorded = connection, recorded

    def cursor(self):
        return _Cursor(self._connection.cursor(), self._recorded)

    def commit(self):
        if self._recorded.on_commit is not None:
            return self._recorded.on_commit(self._connection)
        return self._connection.commit()

    def __getattr__(self, name):
        return getattr(self._connection, name)


@pytest.fixture
def recorded(monkeypatch):
    """Records what the utilities send over SQLite connections they open while the test runs."""
    found = Recorded()
    real_connect = SqliteAdapter.connect

    def connect(self, target, timeouts):
        found.connects += 1
        return _Connection(real_connect(self, target, timeouts), found)

    monkeypatch.setattr(SqliteAdapter, "connect", connect)
    return found
