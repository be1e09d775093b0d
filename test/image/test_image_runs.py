"""The generated image, run as SCDF and Kubernetes run it, against real PostgreSQL and MariaDB.

Each case starts the built image with podman (``docker run``), hands it the launch as a deployer
does (exec-style arguments, ``SPRING_APPLICATION_JSON`` as the boot style, environment variables
as the shell style), and asserts the row SCDF reads, the container's exit code and the time taken.
The container's clock is UTC (no TZ in the image, as in a pod), so times are compared with UTC.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import pytest

from engine import Container, run
from harness import TASK_NAME, Backend, Outcome, Project, scdf_status, wait_for
from scenario import ERROR_ARG, EXIT_OK, EXIT_SIGTERM, QUICK, WORK_ARG, Scenario, ended_row, pick

EXIT_ERROR = 1
EXIT_SIGINT = 130
SINGLE = "--spring.cloud.task.single-instance-enabled=true"
ALREADY_RUNNING = f'Task with name "{TASK_NAME}" is already running.'
# One container run: podman's start and removal plus the task (about 1 s here); the bound leaves
# room for a loaded machine without hiding a hang on a database timeout (30 s by default).
RUN_BOUND_S = 15.0
# `docker stop -t GRACE`: the task must record the stop and leave well before SIGKILL.
GRACE_S = 10


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ImageScenario(Scenario):
    """A contract scenario whose task runs as the built image instead of a venv."""

    image: str = ""

    def container(
        self, execution_id: int | None, user_args: Sequence[str] = ()
    ) -> AbstractContextManager[Container]:
        argv, env = self.argv_env(execution_id, user_args)
        return run(self.image, argv, env)

    def run_image(
        self,
        execution_id: int | None,
        user_args: Sequence[str] = (),
        options: Sequence[str] = (),
    ) -> Outcome:
        argv, env = self.argv_env(execution_id, user_args)
        with run(self.image, argv, env, options) as container:
            outcome = container.wait()
        self.assert_no_secret(outcome)
        return outcome


def scenario(backend: Backend, image: str, shape: str, generation: str = "TASK_") -> ImageScenario:
    # The project is the image: there is no venv or folder to run the task from.
    s = ImageScenario(backend, Project(__file__, __file__), generation, shape)  # type: ignore[arg-type]
    s.image = image
    return s


def assert_ended(s: ImageScenario, eid: int, outcome: Outcome, exit_code: int) -> dict[str, object]:
    assert outcome.returncode == exit_code, outcome.output
    row = s.row(eid)
    assert pick(row, ["TASK_EXECUTION_ID", "TASK_NAME", "EXIT_CODE", "EXIT_MESSAGE"]) == {
        k: v
        for k, v in ended_row(eid, exit_code=exit_code, external_id=None, parent=None).items()
        if k in ("TASK_EXECUTION_ID", "TASK_NAME", "EXIT_CODE", "EXIT_MESSAGE")
    }
    assert row is not None
    return row


@pytest.mark.parametrize("generation", ["TASK_", "BOOT3_TASK_"])
@pytest.mark.parametrize("shape", ["exec", "boot", "shell"])
def test_launch_completes(backend: Backend, image: str, shape: str, generation: str) -> None:
    s = scenario(backend, image, shape, generation)
    eid = s.new_id()
    s.insert(eid)
    before = utc_now()
    outcome = s.run_image(eid, [QUICK, "--greeting=a b=c 'quoted'"])
    after = utc_now()
    row = assert_ended(s, eid, outcome, EXIT_OK)
    assert row["ERROR_MESSAGE"] is None
    assert scdf_status(row) == "COMPLETE"
    s.assert_times(row, before, after)
    if shape != "shell":  # the shell style passes no command-line arguments to record
        s.assert_params(eid, outcome)
    s.assert_other_generation_untouched(eid, None)
    assert outcome.elapsed < RUN_BOUND_S, f"one container run took {outcome.elapsed:.1f} s"


@pytest.mark.parametrize("shape", ["exec", "boot", "shell"])
def test_error_message_ends_error_1(backend: Backend, image: str, shape: str) -> None:
    s = scenario(backend, image, shape)
    eid = s.new_id()
    message = f"disk full on volume {eid}"
    s.insert(eid)
    before = utc_now()
    outcome = s.run_image(eid, [QUICK, f"{ERROR_ARG}={message}"])
    after = utc_now()
    row = assert_ended(s, eid, outcome, EXIT_ERROR)
    assert scdf_status(row) == "ERROR"
    assert message in str(row["ERROR_MESSAGE"])
    assert message in outcome.stderr
    s.assert_times(row, before, after)
    assert outcome.elapsed < RUN_BOUND_S


def test_scheduled_launch_creates_and_ends_its_own_row(backend: Backend, image: str) -> None:
    s = scenario(backend, image, "exec")
    eid = s.backend.next_sequence_value(s.prefix)
    before = utc_now()
    outcome = s.run_image(None, [QUICK])
    after = utc_now()
    row = assert_ended(s, eid, outcome, EXIT_OK)
    assert scdf_status(row) == "COMPLETE"
    s.assert_times(row, before, after)
    assert outcome.elapsed < RUN_BOUND_S


def test_single_instance_refuses_a_second_container(backend: Backend, image: str) -> None:
    s = scenario(backend, image, "exec")
    holder_id = s.backend.next_sequence_value(s.prefix)
    with s.container(None, [f"{WORK_ARG}=60", SINGLE]) as holder:
        wait_for(lambda: s.backend.lock_rows(s.prefix), "the first container to take the lock")
        refused_id = holder_id + 1
        refused = s.run_image(None, [QUICK, SINGLE])
        row = assert_ended(s, refused_id, refused, EXIT_ERROR)
        assert row["ERROR_MESSAGE"] is not None
        assert ALREADY_RUNNING in row["ERROR_MESSAGE"]
        assert refused.elapsed < RUN_BOUND_S
        assert scdf_status(s.row(holder_id)) == "RUNNING"
        holder.stop(GRACE_S)
        stopped = holder.wait(timeout=30)
    assert stopped.returncode == EXIT_SIGTERM, stopped.output
    assert (s.row(holder_id) or {}).get("EXIT_CODE") == EXIT_SIGTERM
    assert s.backend.lock_rows(s.prefix) == [], "the stopped container left the lock behind"


def test_docker_stop_records_143_within_the_grace(backend: Backend, image: str) -> None:
    s = scenario(backend, image, "exec")
    eid = s.new_id()
    s.insert(eid)
    with s.container(eid, [f"{WORK_ARG}=60"]) as holder:
        wait_for(lambda: (r := s.row(eid)) and scdf_status(r) == "RUNNING", "the row to be RUNNING")
        # The exec-form entry point: Python itself is PID 1, so the stop's SIGTERM reaches it.
        cmdline = holder.exec("cat", "/proc/1/cmdline").split("\0")
        assert cmdline[:2] == ["python", "/app/python_task.py"], cmdline
        took = holder.stop(GRACE_S)
        outcome = holder.wait(timeout=30)
    row = assert_ended(s, eid, outcome, EXIT_SIGTERM)
    assert scdf_status(row) == "ERROR"
    assert took < GRACE_S, f"the stop took {took:.1f} s: the task waited for SIGKILL"


def test_docker_kill_int_records_130(backend: Backend, image: str) -> None:
    s = scenario(backend, image, "exec")
    eid = s.new_id()
    s.insert(eid)
    with s.container(eid, [f"{WORK_ARG}=60"]) as holder:
        wait_for(lambda: (r := s.row(eid)) and scdf_status(r) == "RUNNING", "the row to be RUNNING")
        begun = time.monotonic()
        holder.kill("INT")
        outcome = holder.wait(timeout=30)
        took = time.monotonic() - begun
    row = assert_ended(s, eid, outcome, EXIT_SIGINT)
    assert scdf_status(row) == "ERROR"
    assert took < GRACE_S


@pytest.mark.parametrize(
    "options",
    [
        # Kubernetes readOnlyRootFilesystem: no tmpfs either, nothing in the image is writable.
        ("--read-only", "--read-only-tmpfs=false"),
        # OpenShift's restricted policy: an arbitrary uid in the root group, no passwd entry.
        ("--user", "1000650000:0"),
    ],
    ids=["read-only-root", "arbitrary-uid"],
)
def test_locked_down_containers_still_work(
    backend: Backend, image: str, options: tuple[str, ...]
) -> None:
    s = scenario(backend, image, "exec")
    eid = s.new_id()
    s.insert(eid)
    before = utc_now()
    outcome = s.run_image(eid, [QUICK], options)
    after = utc_now()
    row = assert_ended(s, eid, outcome, EXIT_OK)
    assert scdf_status(row) == "COMPLETE"
    s.assert_times(row, before, after)
    assert outcome.elapsed < RUN_BOUND_S
