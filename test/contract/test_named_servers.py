"""The contract's core scenarios on a database server the user names: how whoever has a SQL Server,
Oracle or Db2 proves the generated task on it.

    SCDF_TEST_SQLSERVER_URL='jdbc:sqlserver://db:1433;databaseName=scdf;encrypt=false' \\
    SCDF_TEST_SQLSERVER_USERNAME=scdf SCDF_TEST_SQLSERVER_PASSWORD=... \\
      bash test/contract/run.sh -k named

`SCDF_TEST_<DB>_URL` (DB: SQLSERVER, ORACLE, DB2, and POSTGRESQL, MARIADB, MYSQL, which is how
this very path is checked here) is the JDBC URL as SCDF would pass it; the login needs to create
and drop tables and a sequence. Each run creates the task tables under a prefix of its own
(`SCDFT<hex>_`), plays SCDF on them through the generated project's own driver
(`named_helper.py`), and drops them at the end. The module is collected only when such a URL is
set, so a run without one neither skips nor fails here.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness import Outcome, Project, started

HELPER = Path(__file__).with_name("named_helper.py")
#: The databases a name can be given for, and their JDBC URL kinds.
NAMED = ("sqlserver", "oracle", "db2", "postgresql", "mariadb", "mysql")
RUN_TIMEOUT_S = 120.0


def named_servers() -> list[str]:
    return [db for db in NAMED if os.environ.get(f"SCDF_TEST_{db.upper()}_URL")]


@dataclass(frozen=True)
class NamedServer:
    database: str
    project: Project
    prefix: str
    url: str
    username: str
    password: str = field(repr=False)

    def helper(self, *args: str) -> str:
        env = {
            "PATH": os.environ.get("PATH", ""),
            # The project's `util`, as the task imports it.
            "PYTHONPATH": str(self.project.directory),
            "SCDF_NAMED_URL": self.url,
            "SCDF_NAMED_USERNAME": self.username,
            "SCDF_NAMED_PASSWORD": self.password,
        }
        done = subprocess.run(
            [str(self.project.python), str(HELPER), *args],
            cwd=self.project.directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"named_helper.py {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout

    def read(self, execution_id: int) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.helper("read", self.prefix, str(execution_id)))
        return found

    def launch(self, *arguments: str, execution_id: int | None) -> Outcome:
        argv = [
            f"--spring.datasource.url={self.url}",
            f"--spring.datasource.username={self.username}",
            f"--spring.datasource.password={self.password}",
            "--spring.cloud.task.name=contract-task",
            f"--spring.cloud.task.tablePrefix={self.prefix}",
            *arguments,
        ]
        if execution_id is not None:
            argv.append(f"--spring.cloud.task.executionid={execution_id}")
        with started(self.project, argv, {}) as running:
            outcome = running.wait(RUN_TIMEOUT_S)
        assert self.password not in outcome.output or not self.password
        return outcome


@pytest.fixture(scope="module", params=named_servers())
def server(request: pytest.FixtureRequest) -> Iterator[NamedServer]:
    database = str(request.param)
    directory = Path(os.environ.get("SCDF_NAMED_PROJECTS", "")) / database
    python = directory / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"no generated {database} project with a venv at {directory}", pytrace=False)
    key = f"SCDF_TEST_{database.upper()}"
    named = NamedServer(
        database,
        Project(directory, python),
        f"SCDFT{secrets.token_hex(3).upper()}_",
        os.environ[f"{key}_URL"],
        os.environ.get(f"{key}_USERNAME", ""),
        os.environ.get(f"{key}_PASSWORD", ""),
    )
    named.helper("drop", named.prefix)
    named.helper("create", named.prefix)
    try:
        yield named
    finally:
        named.helper("drop", named.prefix)


def shown(outcome: Outcome) -> str:
    return f"exit {outcome.returncode}\n{outcome.stderr}"


def test_named_success_ends_the_row_complete(server: NamedServer) -> None:
    server.helper("insert", server.prefix, "101")
    outcome = server.launch("--work.seconds=0", "--a=1", execution_id=101)
    assert outcome.returncode == 0, shown(outcome)
    found = server.read(101)
    row = found["row"]
    assert row["START_TIME"] is not None, row
    assert row["END_TIME"] is not None, row
    assert (row["TASK_NAME"], row["EXIT_CODE"], row["EXIT_MESSAGE"], row["ERROR_MESSAGE"]) == (
        "contract-task",
        0,
        None,
        None,
    )
    assert "--a=1" in found["params"]
    assert not any(server.password in p for p in found["params"] if server.password)


def test_named_failure_records_exit_code_1_and_the_error(server: NamedServer) -> None:
    server.helper("insert", server.prefix, "102")
    outcome = server.launch("--work.seconds=0", "--error.message=named boom", execution_id=102)
    assert outcome.returncode == 1, shown(outcome)
    row = server.read(102)["row"]
    assert row["END_TIME"] is not None, row
    assert row["EXIT_CODE"] == 1, row
    assert row["EXIT_MESSAGE"] is None
    assert "RuntimeError: named boom" in row["ERROR_MESSAGE"]


def test_named_scheduled_launch_creates_its_row_from_the_sequence(server: NamedServer) -> None:
    before = server.read(0)["ids"]
    outcome = server.launch("--work.seconds=0", execution_id=None)
    assert outcome.returncode == 0, shown(outcome)
    created = [i for i in server.read(0)["ids"] if i not in before]
    assert len(created) == 1, created
    row = server.read(created[0])["row"]
    assert (row["TASK_NAME"], row["EXIT_CODE"]) == ("contract-task", 0), row
    assert row["END_TIME"] is not None


def test_named_single_instance_refuses_a_second_run(server: NamedServer) -> None:
    lock = "--spring.cloud.task.single-instance-enabled=true"
    server.helper("insert", server.prefix, "201")
    server.helper("insert", server.prefix, "202")
    first_argv = ["--work.seconds=4", lock]
    base = [
        f"--spring.datasource.url={server.url}",
        f"--spring.datasource.username={server.username}",
        f"--spring.datasource.password={server.password}",
        "--spring.cloud.task.name=contract-task",
        f"--spring.cloud.task.tablePrefix={server.prefix}",
    ]
    with started(
        server.project, [*base, *first_argv, "--spring.cloud.task.executionid=201"], {}
    ) as first:
        # The first run takes the lock right after its row shows a start.
        deadline = time.monotonic() + 60
        while not server.read(201)["locks"] and time.monotonic() < deadline:
            time.sleep(0.2)
        second = server.launch("--work.seconds=0", lock, execution_id=202)
        first_outcome = first.wait(RUN_TIMEOUT_S)
    assert first_outcome.returncode == 0, shown(first_outcome)
    assert second.returncode == 1, shown(second)
    row = server.read(202)["row"]
    assert row["EXIT_CODE"] == 1
    assert 'Task with name "contract-task" is already running.' in row["ERROR_MESSAGE"]
