"""pytest fixtures for testing a task against a fake SCDF row (needs pytest: a dev dependency).

`tests/conftest.py` makes them available to every test:

    def test_task_succeeds(launch_task):
        run = launch_task("--work.seconds=0")
        assert run.returncode == 0
        assert run.row.status == "COMPLETE"

`launch_task(*arguments, style="local", environ=None, timeout=60, scheduled=False)` inserts a
row as SCDF does, runs `python_task.py` in a new process and returns a `util.local_run.LocalRun`
(the exit code, the row read back, its parameters, stdout and stderr). With `scheduled=True` it
launches as a schedule does: no row, no execution id; the task creates its row. `scdf_db` is the
SQLite file behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from util.local_db import LocalScdfDatabase
from util.local_run import LocalRun, launch

__all__ = ["LaunchTask", "launch_task", "scdf_db"]

LaunchTask = Callable[..., LocalRun]


@pytest.fixture
def scdf_db(tmp_path: Path) -> Iterator[LocalScdfDatabase]:
    """An empty SQLite stand-in for SCDF's database, with the TASK_ tables."""
    db = LocalScdfDatabase(tmp_path / "scdf.db")
    yield db
    db.dispose()


@pytest.fixture
def launch_task(scdf_db: LocalScdfDatabase) -> LaunchTask:
    """Launches `python_task.py` as SCDF would, against `scdf_db`."""

    def run(
        *arguments: str,
        style: str = "local",
        environ: Mapping[str, str] | None = None,
        timeout: float = 60,
        scheduled: bool = False,
    ) -> LocalRun:
        return launch(
            scdf_db,
            arguments,
            style=style,
            environ=environ,
            capture=True,
            timeout=timeout,
            scheduled=scheduled,
        )

    return run
