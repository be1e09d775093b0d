"""The SCDF task contract, checked once and run on every backend, generation and launch shape.

Each scenario plays SCDF (insert the row, launch, set EXTERNAL_EXECUTION_ID) and then checks
exact column values, the PARAMS rows, what SCDF would show, the process's exit code, and that
the database password never reaches the task's output.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from harness import (
    GENERATIONS,
    SHAPES,
    TASK_NAME,
    Backend,
    Outcome,
    Project,
    Row,
    pod_name,
    scdf_launch,
    scdf_status,
    secret_forms,
    started,
    wait_for,
)

pytestmark = [
    pytest.mark.parametrize("generation", GENERATIONS),
    pytest.mark.parametrize("shape", SHAPES),
]

# --- What the generated task promises (templates/user/python_task.py, templates/managed/util) --

# The sample task's launch arguments.
ERROR_ARG = "--error.message"
WORK_ARG = "--work.seconds"
# The setting that bounds how long the task keeps retrying a connection (util/task_args.py).
DEADLINE_PROPERTY = "task.db.connect-deadline"
DEADLINE_S = 1.0
# What a recorded argument that carries a secret looks like (util/redaction.py).
REDACTED = "******"
SECRET_KEYS = {"spring.datasource.password"}

# Process exit codes.
EXIT_OK = 0
EXIT_SIGTERM = 143

# The sample task works 1 s unless told otherwise; a short run keeps the suite quick.
QUICK = f"{WORK_ARG}=0.1"

_ids = itertools.count(1001)


@dataclass
class Scenario:
    """One backend, table generation and launch shape, with SCDF's moves as methods."""

    backend: Backend
    project: Project
    generation: str
    shape: str

    @property
    def prefix(self) -> str:
        return self.generation

    @property
    def other_prefix(self) -> str:
        return next(g for g in GENERATIONS if g != self.generation)

    @staticmethod
    def new_id() -> int:
        return next(_ids)

    def insert(self, execution_id: int, prefix: str | None = None, **overrides: object) -> Row:
        return self.backend.insert_scdf_row(prefix or self.prefix, execution_id, **overrides)

    def row(self, execution_id: int, prefix: str | None = None) -> Row | None:
        return self.backend.read_row(prefix or self.prefix, execution_id)

    def params(self, execution_id: int, prefix: str | None = None) -> list[str]:
        return self.backend.read_params(prefix or self.prefix, execution_id)

    def argv_env(
        self,
        execution_id: int,
        user_args: Sequence[str] = (),
        *,
        extra_properties: dict[str, str] | None = None,
        datasource_url: str | None = None,
    ) -> tuple[list[str], dict[str, str]]:
        launch = scdf_launch(
            self.backend,
            self.shape,
            self.generation,
            execution_id,
            user_args,
            datasource_url=datasource_url,
        )
        launch.properties.update(extra_properties or {})
        return launch.for_shape(self.shape)

    def launch(
        self,
        execution_id: int,
        user_args: Sequence[str] = (),
        *,
        external_id: str | None = None,
        **kwargs: object,
    ) -> Outcome:
        """Launch and wait; like SCDF, write EXTERNAL_EXECUTION_ID once the launch is accepted."""
        argv, env = self.argv_env(execution_id, user_args, **kwargs)  # type: ignore[arg-type]
        with started(self.project, argv, env) as running:
            if external_id is not None:
                self.backend.set_external_execution_id(self.prefix, execution_id, external_id)
            outcome = running.wait()
        self.assert_no_secret(outcome)
        return outcome

    # shared checks
    def assert_no_secret(self, outcome: Outcome) -> None:
        secret = self.backend.password
        if not secret:
            return
        for form in secret_forms(secret):
            assert form not in outcome.stdout, f"password ({form!r}) in stdout"
            assert form not in outcome.stderr, f"password ({form!r}) in stderr"

    def expected_params(self, argv: Sequence[str]) -> list[str]:
        """One PARAMS row per command-line argument, secrets redacted, as Spring Cloud Task
        records them (the table keeps no order: compared sorted)."""
        rows = []
        for arg in argv:
            key, sep, _ = arg.removeprefix("--").partition("=")
            rows.append(f"--{key}={REDACTED}" if sep and key in SECRET_KEYS else arg)
        return sorted(rows)

    def assert_params(self, execution_id: int, outcome: Outcome) -> None:
        params = self.params(execution_id)
        assert params == self.expected_params(outcome.argv)
        secret = self.backend.password
        if secret:
            assert not [p for p in params if secret in p], "password recorded in PARAMS"
            row = self.row(execution_id) or {}
            assert not [c for c, v in row.items() if isinstance(v, str) and secret in v], (
                "password written into the row"
            )

    def assert_times(self, row: Row, before: datetime, after: datetime) -> None:
        """Set, ordered, near the server's local clock; fractions kept where the column has them."""
        start, end, updated = row["START_TIME"], row["END_TIME"], row["LAST_UPDATED"]
        assert all(isinstance(t, datetime) for t in (start, end, updated)), row
        # Ordered at the precision both columns keep: on MariaDB, LAST_UPDATED is a whole-second
        # TIMESTAMP beside DATETIME(6) END_TIME, so it may read a fraction earlier than END_TIME.
        for first, second in (("START_TIME", "END_TIME"), ("END_TIME", "LAST_UPDATED")):
            a, b = row[first], row[second]
            if not (
                self.backend.fractional(self.generation, first)
                and self.backend.fractional(self.generation, second)
            ):
                a, b = a.replace(microsecond=0), b.replace(microsecond=0)
            assert a <= b, f"{first} {row[first]} is after {second} {row[second]}"
        # whole-second columns may truncate (MariaDB) or round (MySQL) the task's clock
        low, high = before.replace(microsecond=0), after + timedelta(seconds=1)
        for column in ("START_TIME", "END_TIME", "LAST_UPDATED"):
            assert low <= row[column] <= high, (
                f"{column} {row[column]} is not within the server's local time "
                f"{before} .. {after} (time zone or clock confusion?)"
            )
        fractional = [
            c for c in ("START_TIME", "END_TIME") if self.backend.fractional(self.generation, c)
        ]
        if fractional:
            assert any(row[c].microsecond for c in fractional), (
                f"{', '.join(fractional)} lost their fractions of a second: {start} / {end}"
            )
        for column in ("START_TIME", "END_TIME", "LAST_UPDATED"):
            if not self.backend.fractional(self.generation, column):
                assert row[column].microsecond == 0

    def assert_other_generation_untouched(self, execution_id: int, expected: Row | None) -> None:
        assert self.row(execution_id, self.other_prefix) == expected
        assert self.params(execution_id, self.other_prefix) == []


@pytest.fixture
def scenario(backend: Backend, project: Project, generation: str, shape: str) -> Scenario:
    return Scenario(backend, project, generation, shape)


def ended_row(
    execution_id: int, *, exit_code: int, external_id: str | None, parent: int | None
) -> Row:
    """The columns, other than times and error text, a finished execution must have."""
    return {
        "TASK_EXECUTION_ID": execution_id,
        "TASK_NAME": TASK_NAME,
        "EXIT_CODE": exit_code,
        "EXIT_MESSAGE": None,  # a message would become the composed-task step status
        "EXTERNAL_EXECUTION_ID": external_id,
        "PARENT_EXECUTION_ID": parent,
    }


def pick(row: Row | None, columns: Sequence[str]) -> dict[str, object]:
    assert row is not None, "the row is gone"
    return {c: row[c] for c in columns}


# --- scenarios --------------------------------------------------------------------------------


def test_success(scenario: Scenario) -> None:
    """A normal run: started, ended with exit code 0, COMPLETE; arguments recorded."""
    s = scenario
    eid, pod = s.new_id(), pod_name()
    s.insert(eid)
    before = s.backend.server_now()
    outcome = s.launch(eid, [QUICK], external_id=pod)
    after = s.backend.server_now()

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
    before = s.backend.server_now()
    outcome = s.launch(eid, [QUICK, f"{ERROR_ARG}={message}"], external_id=pod)
    after = s.backend.server_now()

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


def test_sigterm_mid_run(scenario: Scenario) -> None:
    """`task execution stop` on Kubernetes: SIGTERM while RUNNING must end the row, not leave
    it RUNNING forever."""
    s = scenario
    eid, pod = s.new_id(), pod_name()
    s.insert(eid)
    before = s.backend.server_now()
    argv, env = s.argv_env(eid, [f"{WORK_ARG}=60"])
    with started(s.project, argv, env) as running:
        s.backend.set_external_execution_id(s.prefix, eid, pod)
        running_row = wait_for(
            lambda: (r := s.row(eid)) and scdf_status(r) == "RUNNING" and r,
            "the task to mark its row RUNNING",
        )
        running.terminate()
        outcome = running.wait(timeout=15)
    after = s.backend.server_now()
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
        START_TIME=s.backend.server_now().replace(microsecond=0) - timedelta(seconds=5),
        EXTERNAL_EXECUTION_ID="composed-ctr-pod",
    )
    s.insert(eid)
    child_args = [QUICK, f"--spring.cloud.task.parent-execution-id={parent_id}"]
    if s.generation == "BOOT3_TASK_":
        child_args.append("--spring.cloud.task.parent-schema-target=boot3")
    before = s.backend.server_now()
    outcome = s.launch(eid, child_args, external_id=pod)
    after = s.backend.server_now()

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
        START_TIME=s.backend.server_now().replace(microsecond=0) - timedelta(seconds=30),
        EXTERNAL_EXECUTION_ID="someone-else-pod",
    )
    s.insert(eid)
    before = s.backend.server_now()
    outcome = s.launch(eid, [QUICK], external_id=pod)
    after = s.backend.server_now()

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
    now = s.backend.server_now().replace(microsecond=0)
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
    assert stderr.count("retry") >= 2, f"not retried:\n{outcome.stderr}"
    assert "could not connect" in stderr, f"no clear failure:\n{outcome.stderr}"
    assert "traceback" not in stderr, "a raw traceback is not a clear failure"
    assert s.row(eid) == before_row
    assert scdf_status(before_row) == "UNKNOWN"
    assert s.params(eid) == []
