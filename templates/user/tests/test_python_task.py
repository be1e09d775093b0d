"""Tests of the task, run against a fake SCDF execution row (see util/testing.py)."""

from util.testing import LaunchTask


def test_sample_completes_and_records_its_arguments(launch_task: LaunchTask) -> None:
    run = launch_task("--work.seconds=0")

    assert run.returncode == 0
    assert run.row.status == "COMPLETE"
    assert run.row.exit_code == 0
    assert run.row.exit_message is None
    assert run.row.error_message is None
    assert run.params == ["--work.seconds=0", f"--spring.cloud.task.executionid={run.execution_id}"]
    assert run.stdout is not None
    assert f"execution {run.execution_id}" in run.stdout


def test_error_message_makes_the_task_fail_with_that_text(launch_task: LaunchTask) -> None:
    run = launch_task("--work.seconds=0", "--error.message=boom")

    assert run.returncode == 1
    assert run.row.status == "ERROR"
    assert run.row.exit_code == 1
    # EXIT_MESSAGE stays NULL so composed tasks read the step as FAILED; the trace is the error.
    assert run.row.exit_message is None
    assert run.row.error_message is not None
    assert run.row.error_message.rstrip().endswith("RuntimeError: boom")


def test_a_work_time_that_is_no_number_fails_naming_the_setting(launch_task: LaunchTask) -> None:
    run = launch_task("--work.seconds=soon")

    assert run.returncode == 1
    assert run.row.status == "ERROR"
    assert run.row.error_message is not None
    assert run.row.error_message.rstrip().endswith(
        "TaskConfigError: work.seconds must be a number, got 'soon' (command line)"
    )
