"""Fixtures of the utilities' own tests, and what a run collects. Managed by generator-scdf-task.

`scdf_db` and `launch_task` come from util/testing.py through the `pytest_plugins` of
tests/conftest.py (pytest takes `pytest_plugins` only from the top-level conftest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from util.db_api import Connection, DbTarget, Timeouts
from util.db_sqlite import SqliteAdapter


@dataclass
class Recorded:
    """What the utilities did on SQLite connections: statements, batches, connects, commits."""

    #: The first three words of each statement; a batch (executemany) as `<words> x<rows>`.
    statements: list[str] = field(default_factory=list)
    connects: int = 0
    #: Called with the real connection in place of its commit(), when set.
    on_commit: Callable[[object], None] | None = None


class _Cursor:
    def __init__(self, cursor: Any, recorded: Recorded) -> None:
        self._cursor, self._recorded = cursor, recorded

    def execute(self, statement: str, parameters: Sequence[Any] = ()) -> Any:
        self._recorded.statements.append(" ".join(statement.split()[:3]))
        return self._cursor.execute(statement, parameters)

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> Any:
        rows = list(rows)
        self._recorded.statements.append(" ".join(statement.split()[:3]) + f" x{len(rows)}")
        return self._cursor.executemany(statement, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _Connection:
    def __init__(self, connection: Any, recorded: Recorded) -> None:
        self._connection, self._recorded = connection, recorded

    def cursor(self) -> _Cursor:
        return _Cursor(self._connection.cursor(), self._recorded)

    def commit(self) -> None:
        if self._recorded.on_commit is not None:
            self._recorded.on_commit(self._connection)
            return
        self._connection.commit()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    """Records what the utilities send over SQLite connections they open while the test runs."""
    found = Recorded()
    real_connect = SqliteAdapter.connect

    def connect(self: SqliteAdapter, target: DbTarget, timeouts: Timeouts) -> Connection:
        found.connects += 1
        return _Connection(real_connect(self, target, timeouts), found)

    monkeypatch.setattr(SqliteAdapter, "connect", connect)
    return found


HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A run that names no path in this folder collects only its smoke tests, `test_smoke*.py`.

    So a plain `pytest` gives the task's own tests in seconds; `pytest tests/scdf` runs every test
    here (a file or a test named in it: that one), new files included with no list to keep.
    """
    # Resolved as HERE is, so a project reached through a symbolic link is no other folder.
    if collection_path.parent.resolve() != HERE or collection_path.name == "conftest.py":
        return None
    if collection_path.name.startswith("test_smoke") or _names_this_folder(config):
        return None
    return True


def _names_this_folder(config: pytest.Config) -> bool:
    if config.args_source is pytest.Config.ArgsSource.TESTPATHS:
        return False  # no path given, started in the project folder
    start = config.invocation_params.dir
    for argument in config.args:
        path = (start / argument.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False
