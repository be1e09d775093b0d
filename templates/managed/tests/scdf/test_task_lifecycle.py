"""Every way a task can end leaves the row as SCDF and the Composed Task Runner need it."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from util.local_db import ExecutionRow, LocalScdfDatabase
from util.task_lifecycle import TaskContext, execute

if TYPE_CHECKING:
    from tests.scdf.conftest import Recorded

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def row_of(db: LocalScdfDatabase, execution_id: int, prefix: str = "TASK_") -> ExecutionRow:
    row = db.execution(execution_id, prefix)
    assert row is not None, f"execution {execution_id} is gone"
    return row


def argv_for(db: LocalScdfDatabase, execution_id: int, *arguments: str) -> list[str]:
    """The command line of SCDF's exec entry point style."""
    return [
        f"--spring.datasource.url={db.jdbc_url}",
        "--spring.cloud.task.name=my-task",
        *arguments,
        f"--spring.cloud.task.executionid={execution_id}",
    ]


def run(
    db: LocalScdfDatabase, execution_id: int, body: Callable[[TaskContext], object], *arguments: str
) -> int:
    return execute(body, argv=argv_for(db, execution_id, *arguments), environ={})


def succeed(context: TaskContext) -> None:
    pass


def test_success_records_end_exit_code_0_and_no_messages(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution("my-task")
    seen: list[TaskContext] = []

    code = run(scdf_db, execution_id, seen.append, "--work.seconds=0")

    assert code == 0
    row = row_of(scdf_db, execution_id)
    assert (row.status, row.exit_code, row.exit_message, row.error_message) == ("COMPLETE", 0, None, None)
    assert row.start_time is not None
    assert row.end_time is not None
    assert row.start_time <= row.end_time == row.last_updated
    assert row.task_name == "my-task"
    assert scdf_db.params(execution_id) == argv_for(scdf_db, execution_id, "--work.seconds=0")
    context = seen[0]
    assert isinstance(context, TaskContext)
    assert (context.execution_id, context.task_name, context.get("work.seconds")) == (
        execution_id,
        "my-task",
        "0",
    )
    # The typed getters read the same settings; the default only when the setting is absent.
    assert (context.get_float("work.seconds", 1.0), context.get_int("work.seconds", 1)) == (0.0, 0)
    assert (context.get_bool("dry-run", True), context.get_str("spring.cloud.task.name")) == (True, "my-task")


def test_exception_records_exit_code_1_and_the_stack_trace_only(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()

    def fail(context: TaskContext) -> None:
        raise ValueError("bad input")

    assert run(scdf_db, execution_id, fail) == 1
    row = row_of(scdf_db, execution_id)
    assert (row.status, row.exit_code, row.exit_message) == ("ERROR", 1, None)
    assert row.error_message is not None
    assert row.error_message.startswith("Traceback (most recent call last):")
    assert row.error_message.rstrip().endswith("ValueError: bad input")
    assert "in fail" in row.error_message


def test_exception_caught_as_exception_cannot_hide_a_failure_exit(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()

    def exit_inside_try(context: TaskContext) -> None:
        try:
            sys.exit(4)
        except Exception:  # noqa: BLE001 - SystemExit is no Exception: the exit goes through
            pytest.fail("SystemExit was caught as Exception")

    assert run(scdf_db, execution_id, exit_inside_try) == 4


@pytest.mark.parametrize(
    ("exit_argument", "code", "status", "error_message"),
    [
        (0, 0, "COMPLETE", None),
        (None, 0, "COMPLETE", None),
        (3, 3, "ERROR", None),
        (2, 2, "ERROR", None),
        ("stopped: nothing to do", 1, "ERROR", "stopped: nothing to do"),
    ],
)
def test_sys_exit_code_is_recorded(
    scdf_db: LocalScdfDatabase,
    exit_argument: str | int | None,
    code: int,
    status: str,
    error_message: str | None,
) -> None:
    execution_id = scdf_db.create_execution()

    def leave(context: TaskContext) -> None:
        sys.exit(exit_argument)

    assert run(scdf_db, execution_id, leave) == code
    row = row_of(scdf_db, execution_id)
    assert (row.status, row.exit_code, row.exit_message, row.error_message) == (
        status,
        code,
        None,
        error_message,
    )
    assert row.end_time is not None


def test_exit_message_set_on_purpose_is_recorded(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()

    def skip(context: TaskContext) -> None:
        context.exit_message = "SKIPPED"

    assert run(scdf_db, execution_id, skip) == 0
    row = row_of(scdf_db, execution_id)
    assert (row.exit_code, row.exit_message) == (0, "SKIPPED")


def test_keyboard_interrupt_inside_the_body_is_recorded_as_130(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()

    def interrupted(context: TaskContext) -> None:
        raise KeyboardInterrupt

    assert run(scdf_db, execution_id, interrupted) == 130
    assert row_of(scdf_db, execution_id).exit_code == 130


def test_parent_execution_id_of_a_composed_task_step_is_recorded(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()
    assert run(scdf_db, execution_id, succeed, "--spring.cloud.task.parent-execution-id=77") == 0
    assert row_of(scdf_db, execution_id).parent_execution_id == 77


def never_called(context: TaskContext) -> None:
    pytest.fail("the body must not run")


def test_missing_row_stops_before_the_body(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    assert run(scdf_db, 404, never_called) == 1
    assert "id 404 not found in TASK_EXECUTION" in caplog.text


def test_ended_row_is_left_alone(scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture) -> None:
    execution_id = scdf_db.create_execution()
    assert run(scdf_db, execution_id, succeed) == 0
    before = scdf_db.execution(execution_id)

    assert run(scdf_db, execution_id, never_called) == 1
    assert scdf_db.execution(execution_id) == before
    assert "has already ended" in caplog.text


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("--spring.cloud.task.tablePrefix=TASK_ OR 1=1", "may only contain letters, digits and '_'"),
        ("--spring.datasource.url=jdbc:h2:tcp://localhost:19092/mem:dataflow", "embedded H2 database"),
        ("--spring.cloud.task.executionid=", "spring.cloud.task.executionid is empty"),
        ("--task.db.stop-grace=-1", "task.db.stop-grace must be a number of seconds, 0 or more"),
        (
            "--spring.cloud.task.single-instance-enabled=maybe",
            "spring.cloud.task.single-instance-enabled must be true or false",
        ),
        ("--task.batch.schema=boot4", "task.batch.schema must be boot2 or boot3, got 'boot4'"),
    ],
)
def test_unusable_settings_stop_before_the_body(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture, argument: str, message: str
) -> None:
    execution_id = scdf_db.create_execution()
    before = scdf_db.execution(execution_id)

    code = execute(never_called, argv=[*argv_for(scdf_db, execution_id), argument], environ={})

    assert code == 1
    assert message in caplog.text
    assert scdf_db.execution(execution_id) == before


def test_boot3_prefix_leaves_the_task_row_with_the_same_id_alone(tmp_path: Path) -> None:
    db = LocalScdfDatabase(tmp_path / "scdf.db", prefixes=("TASK_", "BOOT3_TASK_"))
    db.create_execution("other", "TASK_", execution_id=5)
    db.create_execution("mine", "BOOT3_TASK_", execution_id=5)
    before = db.execution(5, "TASK_")

    assert run(db, 5, succeed, "--spring.cloud.task.tablePrefix=BOOT3_TASK_") == 0

    assert db.execution(5, "TASK_") == before
    assert row_of(db, 5, "BOOT3_TASK_").status == "COMPLETE"
    db.dispose()


def test_unreachable_database_is_retried_until_the_deadline(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    argv = [
        f"--spring.datasource.url=jdbc:sqlite:{tmp_path}/missing/scdf.db",
        "--task.db.connect-deadline=0.6",
        "--spring.cloud.task.executionid=1",
    ]
    started = time.monotonic()

    assert execute(never_called, argv=argv, environ={}) == 1

    assert time.monotonic() - started >= 0.6
    assert "Could not connect to record the start (attempt 1), will retry" in caplog.text
    assert "Could not connect to record the start: gave up after" in caplog.text


def test_failed_final_write_exits_non_zero(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    execution_id = scdf_db.create_execution()

    def remove_own_row(context: TaskContext) -> None:
        with scdf_db.transaction() as connection:
            connection.execute("DELETE FROM TASK_EXECUTION_PARAMS")
            connection.execute("DELETE FROM TASK_EXECUTION")

    assert run(scdf_db, execution_id, remove_own_row) == 1
    assert "The end of the task could not be recorded" in caplog.text


def test_failed_final_write_keeps_a_non_zero_exit_code(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()

    def remove_own_row_and_exit(context: TaskContext) -> None:
        with scdf_db.transaction() as connection:
            connection.execute("DROP TABLE TASK_EXECUTION")
        sys.exit(5)

    assert run(scdf_db, execution_id, remove_own_row_and_exit) == 5


def test_statements_of_one_lifecycle(scdf_db: LocalScdfDatabase, recorded: "Recorded") -> None:
    execution_id = scdf_db.create_execution()

    assert run(scdf_db, execution_id, succeed, "--a=1", "--b=2") == 0

    # One check, one start update, the arguments (url, name, a, b, executionid) in one batch, one
    # end; no set-up statements of a library, one connection per write.
    assert recorded.statements == [
        "SELECT END_TIME, START_TIME",
        "UPDATE TASK_EXECUTION SET",
        "INSERT INTO TASK_EXECUTION_PARAMS x5",
        "UPDATE TASK_EXECUTION SET",
    ]
    assert recorded.connects == 2


def test_logs_go_to_stderr_and_stdout_is_left_to_the_task(
    scdf_db: LocalScdfDatabase, capfd: pytest.CaptureFixture[str]
) -> None:
    execution_id = scdf_db.create_execution()

    def speak(context: TaskContext) -> None:
        print("hello from the task")

    run(scdf_db, execution_id, speak)

    captured = capfd.readouterr()
    assert captured.out == "hello from the task\n"


SLOW_TASK = textwrap.dedent(
    """
    import os
    import time
    from util.task_lifecycle import run_task

    def task(context):
        print("working", os.getpid(), flush=True)
        try:
            time.sleep(60)
        except Exception:  # a stop must not be swallowed by a broad except
            print("swallowed", flush=True)
        print("not stopped", flush=True)

    run_task(task)
    """
)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stop_signal_ends_the_row_then_the_process_with_that_code(
    tmp_path: Path, scdf_db: LocalScdfDatabase, signum: int, code: int
) -> None:
    script = tmp_path / "slow_task.py"
    script.write_text(SLOW_TASK)
    execution_id = scdf_db.create_execution()
    process = subprocess.Popen(
        [sys.executable, str(script), *argv_for(scdf_db, execution_id)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline().startswith("working ")
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()

    assert process.returncode == code, stderr
    assert f"ERROR util.task_lifecycle: Task stopped by {signal.Signals(signum).name}" in stderr
    assert "swallowed" not in stdout
    assert "not stopped" not in stdout
    row = row_of(scdf_db, execution_id)
    assert (row.status, row.exit_code, row.exit_message) == ("ERROR", code, None)
    assert row.end_time is not None
    assert row.error_message is not None
    assert f"Task stopped by {signal.Signals(signum).name}" in row.error_message


def can_run_as_pid_1() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--pid", "--fork", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not can_run_as_pid_1(), reason="needs `unshare --pid` (root or user namespaces)")
def test_sigterm_reaches_the_task_running_as_pid_1(tmp_path: Path, scdf_db: LocalScdfDatabase) -> None:
    """In a container the task is PID 1, which the kernel spares any signal it has no handler for."""
    script = tmp_path / "slow_task.py"
    script.write_text(SLOW_TASK)
    execution_id = scdf_db.create_execution()
    unshare = ["unshare", "--pid", "--fork", "--kill-child"]
    process = subprocess.Popen(
        [*unshare, sys.executable, str(script), *argv_for(scdf_db, execution_id)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline() == "working 1\n"
        # Sent from outside the namespace, like the kubelet's stop: the task's host-side pid.
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        os.kill(int(children[0]), signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()

    assert process.returncode == 143, stderr
    row = row_of(scdf_db, execution_id)
    assert (row.status, row.exit_code) == ("ERROR", 143)
