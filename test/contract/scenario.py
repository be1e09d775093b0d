"""One scenario's moves as SCDF makes them, and the checks every scenario shares.

A ``Scenario`` is one backend (server and schema source), table generation and launch shape; its
methods insert rows as SCDF does, launch the generated task the way the deployer would, and check
exact column values, the PARAMS rows, the times against the task's own clock, and that the
database password never reaches the task's output.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from harness import (
    GENERATIONS,
    SCDF_IDS_FROM,
    TASK_NAME,
    Backend,
    Outcome,
    Project,
    Row,
    scdf_launch,
    secret_forms,
    started,
)

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

_ids = itertools.count(SCDF_IDS_FROM)


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
        execution_id: int | None,
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

    def schedule(self, user_args: Sequence[str] = (), **kwargs: object) -> Outcome:
        """A scheduled launch: the same properties and arguments, no execution id, no row."""
        argv, env = self.argv_env(None, user_args, **kwargs)  # type: ignore[arg-type]
        with started(self.project, argv, env) as running:
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
        """Set, ordered, within the task's own clock; fractions kept where the column has them."""
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
                f"{column} {row[column]} is not within the task's local time "
                f"{before} .. {after} (UTC or the server's clock written instead?)"
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
