"""The SCDF task contract, checked once and run on every backend, generation and launch shape.

Each scenario plays SCDF (insert the row, launch, set EXTERNAL_EXECUTION_ID) and then checks
exact column values, the PARAMS rows, what SCDF would show, the process's exit code, and that
the database password never reaches the task's output.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from harness import (
    GENERATIONS,
    SHAPES,
    Backend,
    Project,
    pod_name,
    scdf_status,
    started,
    task_clock,
    wait_for,
)
from scenario import (
    DEADLINE_PROPERTY,
    DEADLINE_S,
    ERROR_ARG,
    EXIT_OK,
    EXIT_SIGTERM,
    QUICK,
    WORK_ARG,
    Scenario,
    ended_row,
    pick,
)

pytestmark = [
    pytest.mark.parametrize("generation", GENERATIONS),
    pytest.mark.parametrize("shape", SHAPES),
]


@pytest.fixture
def scenario(backend: Backend, project: Project, generation: str, shape: str) -> Scenario:
    return Scenario(backend, project, generation, shape)


# --- scenarios --------------------------------------------------------------------------------


def test_success(scenario: Scenario) -> None:
    """A normal run: started, ended with exit code 0, COMPLETE; arguments recorded."""
    s = scenario
    eid, pod = s.new_id(), pod_name()
    s.insert(eid)
    before = task_clock()
    outcome = s.launch(eid, [QUICK], external_id=pod)
    after = task_clock()

    assert outcome.returncode == EXIT_OK, outcome.stderr
    row = s.row(eid)
    expected = ended_row(eid, exit_code=0, external_id=pod, parent=None)
    assert pick(row, list(expected)) == expected
    assert row is not None
    assert row["ERROR_MESSAGE"] is None
    assert scdf_status(row) == "COMPLETE"
    s.assert_times(row, before, after)
    s.assert_params(eid, outcome)
    s.assert_other_generation_untouched(eid, None)


def test_failure(scenario: Scenario) -> None:
    """The task body raises: ERROR with the message, EXIT_MESSAGE left null, non-zero exit."""
    s = scenario
    eid, pod = s.new_id(), pod_name()
    message = f"boom {eid}: disk full"
    s.insert(eid)
    before = task_clock()
    outcome = s.launch(eid, [QUICK, f"{ERROR_ARG}={message}"], external_id=pod)
    after = task_clock()

    assert outcome.returncode not in (EXIT_OK, None)
    row = s.row(eid)
    assert row is not None
    assert row["EXIT_CODE"] not in (0, None)
    assert row["EXIT_CODE"] == outcome.returncode, "the row and the process disagree"
    expected = ended_row(eid, exit_code=row["EXIT_CODE"], external_id=pod, parent=None)
    assert pick(row, list(expected)) == expected
    assert row["ERROR_MESSAGE"]
    assert message in row["ERROR_MESSAGE"]
    assert len(row["ERROR_MESSAGE"]) <= 2500
    assert scdf_status(row) == "ERROR"
    s.assert_times(row, before, after)
    s.assert_params(eid, outcome)
    s.assert_other_generation_untouched(eid, None)


def test_long_wide_texts_keep_2500_characters(scenario: Scenario) -> None:
    """A long CJK error message and argument: SQLite, PostgreSQL and MariaDB count VARCHAR(2500)
    in characters, so 2500 characters are kept, ending with the real end of the text (a cut to
    2500 UTF-8 bytes would keep about 833)."""
    s = scenario
    eid = s.new_id()
    message = "漢" * 3000 + f" end of {eid}"
    note = "--note=" + "字" * 3000 + "END"
    s.insert(eid)
    outcome = s.launch(eid, [QUICK, f"{ERROR_ARG}={message}", note])

    assert outcome.returncode not in (EXIT_OK, None)
    row = s.row(eid)
    assert row is not None
    error = row["ERROR_MESSAGE"]
    assert len(error) == 2500
    assert error.startswith("[...]\n")
    assert error.endswith(message[-2000:] + "\n"), "not the end of the message"
    # Recorded where the deployer puts the arguments on the command line (not the shell shape).
    kept = "--note=[...]" + note[-(2500 - len("--note=[...]")) :]
    stored = [p for p in s.params(eid) if p.startswith("--note=")]
    assert stored == ([kept] if note in outcome.argv else [])
    assert [len(p) for p in stored] == [2500] * len(stored)


def test_sigterm_mid_run(scenario: Scenario) -> None:
    """`task execution stop` on Kubernetes: SIGTERM while RUNNING must end the row, not leave
    it RUNNING forever."""
    s = scenario
    eid, pod = s.new_id(), pod_name()
    s.insert(eid)
    before = task_clock()
    argv, env = s.argv_env(eid, [f"{WORK_ARG}=60"])
    with started(s.project, argv, env) as running:
        s.backend.set_external_execution_id(s.prefix, eid, pod)
        running_row = wait_for(
            lambda: (r := s.row(eid)) and scdf_status(r) == "RUNNING" and r,
            "the task to mark its row RUNNING",
        )
        running.terminate()
        outcome = running.wait(timeout=15)
    after = task_clock()
    s.assert_no_secret(outcome)

    assert running_row["END_TIME"] is None
    assert outcome.elapsed < 30, "the task did not stop promptly on SIGTERM"
    assert outcome.returncode == EXIT_SIGTERM, outcome.stderr
    row = s.row(eid)
    assert row is not None
    assert row["EXIT_CODE"] not in (0, None)
    assert row["EXIT_CODE"] == outcome.returncode, "the row and the process disagree"
    expected = ended_row(eid, exit_code=row["EXIT_CODE"], external_id=pod, parent=None)
    assert pick(row, list(expected)) == expected
    assert row["ERROR_MESSAGE"]
    assert "SIGTERM" in row["ERROR_MESSAGE"]
    assert scdf_status(row) == "ERROR"
    s.assert_times(row, before, after)
    s.assert_params(eid, outcome)


def test_composed_task_child(scenario: Scenario) -> None:
    """A child of a composed task records its parent; the parent's (CTR's) row is left alone."""
    s = scenario
    parent_id, eid, pod = s.new_id(), s.new_id(), pod_name()
    parent_before = s.insert(
        parent_id,
        TASK_NAME="composed",
        START_TIME=task_clock().replace(microsecond=0) - timedelta(seconds=5),
        EXTERNAL_EXECUTION_ID="composed-ctr-pod",
    )
    s.insert(eid)
    child_args = [QUICK, f"--spring.cloud.task.parent-execution-id={parent_id}"]
    if s.generation == "BOOT3_TASK_":
        child_args.append("--spring.cloud.task.parent-schema-target=boot3")
    before = task_clock()
    outcome = s.launch(eid, child_args, external_id=pod)
    after = task_clock()

    assert outcome.returncode == EXIT_OK, outcome.stderr
    row = s.row(eid)
    expected = ended_row(eid, exit_code=0, external_id=pod, parent=parent_id)
    assert pick(row, list(expected)) == expected
    assert row is not None
    assert scdf_status(row) == "COMPLETE"
    s.assert_times(row, before, after)
    s.assert_params(eid, outcome)
    assert s.row(parent_id) == parent_before
    assert s.params(parent_id) == []


def test_table_prefix_isolation(scenario: Scenario) -> None:
    """TASK_ and BOOT3_TASK_ have separate sequences: the same id in both tables is normal.
    Only the row under the prefix SCDF sent (none at all means TASK_) may change."""
    s = scenario
    eid, pod = s.new_id(), pod_name()
    other_before = s.insert(
        eid,
        s.other_prefix,
        TASK_NAME="someone-else",
        START_TIME=task_clock().replace(microsecond=0) - timedelta(seconds=30),
        EXTERNAL_EXECUTION_ID="someone-else-pod",
    )
    s.insert(eid)
    before = task_clock()
    outcome = s.launch(eid, [QUICK], external_id=pod)
    after = task_clock()

    assert outcome.returncode == EXIT_OK, outcome.stderr
    row = s.row(eid)
    expected = ended_row(eid, exit_code=0, external_id=pod, parent=None)
    assert pick(row, list(expected)) == expected
    assert row is not None
    assert scdf_status(row) == "COMPLETE"
    s.assert_times(row, before, after)
    s.assert_params(eid, outcome)
    s.assert_other_generation_untouched(eid, other_before)


def test_missing_row(scenario: Scenario) -> None:
    """No row for the id: fail clearly, insert nothing (SCDF owns inserts)."""
    s = scenario
    eid = s.new_id()
    outcome = s.launch(eid)

    assert outcome.returncode not in (EXIT_OK, None)
    assert str(eid) in outcome.stderr, "the failure does not name the execution id"
    assert s.row(eid) is None
    assert s.params(eid) == []
    s.assert_other_generation_untouched(eid, None)


def test_already_ended_row(scenario: Scenario) -> None:
    """A row that already has END_TIME (e.g. a restarted pod): fail, change nothing."""
    s = scenario
    eid = s.new_id()
    now = task_clock().replace(microsecond=0)
    before_row = s.insert(
        eid,
        START_TIME=now - timedelta(minutes=2),
        END_TIME=now - timedelta(minutes=1),
        EXIT_CODE=0,
        LAST_UPDATED=now - timedelta(minutes=1),
        EXTERNAL_EXECUTION_ID="first-pod",
    )
    outcome = s.launch(eid)

    assert outcome.returncode not in (EXIT_OK, None)
    assert str(eid) in outcome.stderr, "the failure does not name the execution id"
    assert s.row(eid) == before_row
    assert s.params(eid) == []
    s.assert_other_generation_untouched(eid, None)


def test_database_down_at_start(scenario: Scenario) -> None:
    """The database cannot be reached: retry until the deadline, then fail clearly. (The row in
    the real database stays UNKNOWN: that is all SCDF can show for it.)"""
    s = scenario
    eid = s.new_id()
    before_row = s.insert(eid)
    outcome = s.launch(
        eid,
        datasource_url=s.backend.unreachable_jdbc_url(s.shape),
        extra_properties={DEADLINE_PROPERTY: f"{DEADLINE_S:g}"},
    )

    assert outcome.returncode not in (EXIT_OK, None)
    assert outcome.elapsed >= DEADLINE_S * 0.8, "gave up before the deadline"
    assert outcome.elapsed < DEADLINE_S + 15, "kept trying long past the deadline"
    stderr = outcome.stderr.lower()
    # Retried: a second attempt at least, announced by the first.
    attempts = re.search(r"gave up after (\d+) attempts", stderr)
    assert attempts is not None, f"no clear failure:\n{outcome.stderr}"
    assert int(attempts.group(1)) >= 2, f"not retried:\n{outcome.stderr}"
    assert "(attempt 1), will retry" in stderr, outcome.stderr
    assert "could not connect" in stderr, f"no clear failure:\n{outcome.stderr}"
    assert "traceback" not in stderr, "a raw traceback is not a clear failure"
    assert s.row(eid) == before_row
    assert scdf_status(before_row) == "UNKNOWN"
    assert s.params(eid) == []
