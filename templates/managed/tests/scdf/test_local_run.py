"""`python -m util.local_run` stands in for SCDF: the row, the status it shows, the exit code."""

import subprocess
import sys
from pathlib import Path

import pytest

from util.local_db import LocalScdfDatabase, scdf_status
from util.testing import LaunchTask

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def local_run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "util.local_run", *arguments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sample_completes() -> None:
    result = local_run("--work.seconds=0")

    assert result.returncode == 0, result.stderr
    assert "Task execution 1 (python-task): COMPLETE" in result.stdout
    assert "  exit code:     0\n" in result.stdout
    assert "  exit message:  (null)\n" in result.stdout
    assert "  error message: (null)\n" in result.stdout


def test_sample_fails_with_the_given_message() -> None:
    result = local_run("--work.seconds=0", "--error.message=boom")

    assert result.returncode == 1
    assert "Task execution 1 (python-task): ERROR" in result.stdout
    assert "  exit code:     1\n" in result.stdout
    assert "  exit message:  (null)\n" in result.stdout
    assert "RuntimeError: boom" in result.stdout


def test_table_prefix_argument_is_honoured() -> None:
    result = local_run("--work.seconds=0", "--spring.cloud.task.tablePrefix=BOOT3_TASK_")
    assert result.returncode == 0, result.stderr
    assert "  table:         BOOT3_TASK_EXECUTION\n" in result.stdout


@pytest.mark.parametrize("style", ["local", "exec", "shell", "boot"])
def test_every_launch_style_reaches_the_same_row(
    scdf_db: LocalScdfDatabase, launch_task: LaunchTask, style: str
) -> None:
    run = launch_task("--work.seconds=0", style=style)

    assert run.returncode == 0, run.stderr
    assert (run.row.status, run.row.task_name, run.row.exit_code) == ("COMPLETE", "python-task", 0)
    # The params table records the command line as the task got it; the shell style has none.
    user_arguments = ["--work.seconds=0", f"--spring.cloud.task.executionid={run.execution_id}"]
    properties = [
        "--spring.cloud.task.name=python-task",
        f"--spring.datasource.url={scdf_db.jdbc_url}",
        "--spring.datasource.driverClassName=org.sqlite.JDBC",
    ]
    expected = {
        "local": user_arguments,
        "boot": user_arguments,
        "exec": properties + user_arguments,
        "shell": [],
    }
    assert run.params == expected[style]


def test_status_as_scdf_derives_it() -> None:
    assert scdf_status(None, None, None) == "UNKNOWN"
    assert scdf_status("t", None, None) == "RUNNING"
    assert scdf_status("t", "t", None) == "RUNNING"
    assert scdf_status("t", "t", 0) == "COMPLETE"
    assert scdf_status("t", "t", 143) == "ERROR"
