"""`python -m util.local_run` stands in for SCDF: the row, the status it shows, the exit code."""

import fnmatch
import subprocess
import sys
from pathlib import Path

import pytest

from util.local_db import LocalScdfDatabase, scdf_status
from util.local_run import BOOT3_PROPERTIES, DEFAULT_DB, PROJECT_BOOT_VERSION, PROJECT_TASK_NAME, USAGE
from util.testing import LaunchTask

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: The tables the project's SCDF launches write: `BOOT3_TASK_` for an app registered as Boot 3.
PROJECT_PREFIX = BOOT3_PROPERTIES["spring.cloud.task.tablePrefix"] if PROJECT_BOOT_VERSION == "3" else "TASK_"


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    """A SQLite file of the test's own: the project's default one is the developer's."""
    return tmp_path / "scdf.db"


def local_run(db_file: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "util.local_run", "--db", str(db_file), *arguments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sample_completes(db_file: Path) -> None:
    result = local_run(db_file, "--work.seconds=0")

    assert result.returncode == 0, result.stderr
    assert f"Task execution 1 ({PROJECT_TASK_NAME}): COMPLETE" in result.stdout
    assert "  exit code:     0\n" in result.stdout
    assert "  exit message:  (null)\n" in result.stdout
    assert "  error message: (null)\n" in result.stdout
    assert f"SCDF's database stood in for by {db_file}\nTask execution 1" in result.stdout


def test_sample_fails_with_the_given_message(db_file: Path) -> None:
    result = local_run(db_file, "--work.seconds=0", "--error.message=boom")

    assert result.returncode == 1
    assert f"Task execution 1 ({PROJECT_TASK_NAME}): ERROR" in result.stdout
    assert "  exit code:     1\n" in result.stdout
    assert "  exit message:  (null)\n" in result.stdout
    assert "RuntimeError: boom" in result.stdout


def test_help_explains_the_options_and_runs_nothing(db_file: Path) -> None:
    result = local_run(db_file, "--help")

    assert (result.returncode, result.stdout, result.stderr) == (0, USAGE, "")
    assert result.stdout.startswith("usage: python -m util.local_run [--db PATH] [--scheduled]")
    assert not db_file.exists()


def test_db_without_a_path_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "util.local_run", "--db"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "local_run: --db needs a path: --db PATH or --db=PATH; see python -m util.local_run --help\n"
    )


def test_runs_accumulate_in_the_database_file(db_file: Path) -> None:
    first = local_run(db_file, "--work.seconds=0")
    second = local_run(db_file, "--work.seconds=0", "--error.message=boom")
    scheduled = local_run(db_file, "--scheduled", "--work.seconds=0")

    assert f"Task execution 1 ({PROJECT_TASK_NAME}): COMPLETE" in first.stdout, first.stderr
    assert f"Task execution 2 ({PROJECT_TASK_NAME}): ERROR" in second.stdout, second.stderr
    assert f"Task execution 3 ({PROJECT_TASK_NAME}): COMPLETE" in scheduled.stdout, scheduled.stderr
    db = LocalScdfDatabase(db_file, prefixes=())
    assert [db.execution(i, PROJECT_PREFIX) is not None for i in (1, 2, 3)] == [True, True, True]


def test_runs_as_the_project_is_registered(db_file: Path) -> None:
    """The project's task name and Boot version, as scdf/register.shell registers the app."""
    result = local_run(db_file, "--work.seconds=0")

    assert result.returncode == 0, result.stderr
    assert f"Python task {PROJECT_TASK_NAME} started: execution 1\n" in result.stdout
    assert f"  table:         {PROJECT_PREFIX}EXECUTION\n" in result.stdout
    row = LocalScdfDatabase(db_file, prefixes=()).execution(1, PROJECT_PREFIX)
    assert row is not None
    assert (row.task_name, row.status, row.exit_code) == (PROJECT_TASK_NAME, "COMPLETE", 0)
    register = (PROJECT_ROOT / "scdf" / "register.shell").read_text()
    assert f"app register --name {PROJECT_TASK_NAME} --type task" in register
    assert (" --bootVersion 3 " in register) == (PROJECT_BOOT_VERSION == "3")


def test_a_failed_batch_job_restarts_on_the_next_run(db_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "orders"
    arguments = ("--work.seconds=0", "--orders.date=2024-01-01", f"--orders.output={output}")

    failed = local_run(db_file, *arguments)
    output.mkdir()
    restarted = local_run(db_file, *arguments)
    again = local_run(db_file, *arguments)

    assert failed.returncode == 1
    assert "Job execution 1 (import-orders, instance 1): FAILED, exit code FAILED\n" in failed.stdout
    assert "  step load: FAILED" in failed.stdout
    assert restarted.returncode == 0, restarted.stderr
    job = restarted.stdout[restarted.stdout.index("Job execution") :]
    assert job.startswith("Job execution 2 (import-orders, instance 1): COMPLETED, exit code COMPLETED\n")
    assert "step extract" not in job  # completed in the first run: skipped, as SCDF's restart does
    assert "  step load: COMPLETED, read 3, written 3" in job
    assert (output / "orders-2024-01-01.csv").exists()
    assert again.returncode == 1
    # Spring Batch's own words, which changed in 5 (the Boot 3 tables).
    parameters = (
        "identifying parameters={'date':'{value=2024-01-01, type=class java.lang.String, identifying=true}'}"
        if PROJECT_BOOT_VERSION == "3"
        else "parameters={date=2024-01-01}"
    )
    assert f"A job instance already exists and is complete for {parameters}" in again.stdout


def test_the_default_database_is_in_the_project_and_kept_out_of_git_and_the_image() -> None:
    assert DEFAULT_DB.parent == PROJECT_ROOT

    def ignored(ignore_file: str) -> bool:
        patterns = (PROJECT_ROOT / ignore_file).read_text().splitlines()
        return any(fnmatch.fnmatch(DEFAULT_DB.name, p) for p in patterns if p and not p.startswith("#"))

    assert ignored(".gitignore")
    assert ignored(".dockerignore")


def test_table_prefix_argument_is_honoured(db_file: Path) -> None:
    result = local_run(db_file, "--work.seconds=0", "--spring.cloud.task.tablePrefix=BOOT3_TASK_")
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
