"""The sample task's batch job in Spring Batch's own tables, on every database, both generations.

The tables are made from Spring Batch's own DDL (``schemas/spring-batch``: 4.3.10 for ``BATCH_``,
5.0.6 for ``BOOT3_BATCH_``; on MariaDB 4.3's MySQL file, whose sequences are tables, and 5.0's
MariaDB file, whose sequences are sequences) and the link table of Spring Cloud Task's DDL. The
task is launched as SCDF launches it, fails its second step, is launched again as SCDF's restart
does (the original arguments plus the job parameter), and once more after it completed; every
row is checked exactly.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from harness import SCHEMAS, Backend, Project, split_sql, task_clock
from scenario import QUICK, Scenario

BATCH_SCHEMAS = SCHEMAS / "spring-batch"
# generation -> (Spring Batch version, table prefix, SCDF's restart argument for the date).
GENERATIONS = {
    "TASK_": ("4.3", "BATCH_", "date(string)={date}"),
    "BOOT3_TASK_": ("5.0", "BOOT3_BATCH_", "date={date},java.lang.String"),
}
DDL_FILE = {
    ("postgresql", "4.3"): "postgresql-4.3.sql",
    ("postgresql", "5.0"): "postgresql-5.0.sql",
    ("mariadb", "4.3"): "mysql-4.3.sql",
    ("mariadb", "5.0"): "mariadb-5.0.sql",
    ("sqlite", "4.3"): "sqlite-4.3.sql",
    ("sqlite", "5.0"): "sqlite-5.0.sql",
}
DATE = "2024-01-01"
# JOB_KEY: MD5 of "date=2024-01-01;" (4.3) and of Batch 5's JobParameter text.
KEYS = {"4.3": "287f6e65fa3a5500ad35ccb51fb798e1", "5.0": "8ed8b3f310e8c41741c82ef5290069ba"}
STEP_CONTEXT = {
    "4.3": '{"@class":"java.util.HashMap","batch.taskletType":"python",'
    '"batch.stepType":"org.springframework.batch.core.step.tasklet.TaskletStep"}',
    # Printed by OpenJDK 17's ObjectOutputStream for the same two entries.
    "5.0": "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcAUH2sHDFmDRAwACRgAKbG9hZEZhY3RvckkACXRocmVzaG9sZHhw"
    "P0AAAAAAAAx3"
    "CAAAABAAAAACdAARYmF0Y2gudGFza2xldFR5cGV0AAZweXRob250AA5iYXRjaC5zdGVwVHlwZXQAN29yZy5zcHJpbmdmcmFt"
    "ZXdvcmsuYmF0Y2guY29yZS5zdGVwLnRhc2tsZXQuVGFza2xldFN0ZXB4",
}
JOB_CONTEXT = {
    "4.3": '{"@class":"java.util.HashMap"}',
    "5.0": "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcAUH2sHDFmDRAwACRgAKbG9hZEZhY3RvckkACXRocmVzaG9sZHhw"
    "P0AAAAAAAAB3"
    "CAAAABAAAAAAeA==",
}

_made: set[int] = set()


def link_ddl(prefix: str) -> str:
    # Spring Cloud Task's schema: TASK_BATCH has no key, and a foreign key to the task row.
    return (
        f"CREATE TABLE {prefix}TASK_BATCH (TASK_EXECUTION_ID BIGINT NOT NULL, "
        "JOB_EXECUTION_ID BIGINT NOT NULL, "
        f"CONSTRAINT {prefix}EXEC_BATCH_FK FOREIGN KEY (TASK_EXECUTION_ID) "
        f"REFERENCES {prefix}EXECUTION (TASK_EXECUTION_ID))"
    )


def own_names(ddl: str, prefix: str) -> str:
    """The DDL with `prefix` for `BATCH_`; constraint names, one namespace per database on
    PostgreSQL and MariaDB, get the generation's own prefix (`BOOT3_`), as in SCDF's migrations."""
    ddl = ddl.replace("BATCH_", prefix)
    generation = prefix.removesuffix("BATCH_")
    return re.sub(r"(?i)\bconstraint (\w+)", lambda m: f"constraint {generation}{m.group(1)}", ddl)


@pytest.fixture
def batch_backend(backend: Backend) -> Backend:
    """The backend with Spring Batch's tables of both versions and the link tables."""
    if id(backend) not in _made:
        for generation, (version, prefix, _) in GENERATIONS.items():
            ddl = (BATCH_SCHEMAS / DDL_FILE[(backend.name, version)]).read_text(encoding="utf-8")
            with backend.engine.begin() as conn:
                for statement in split_sql(own_names(ddl, prefix)):
                    conn.exec_driver_sql(statement)
                conn.exec_driver_sql(link_ddl(generation))
        _made.add(id(backend))
    return backend


def query(backend: Backend, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with backend.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def when(value: Any) -> str:
    """A time as text to the second: SQLite keeps text, the servers datetimes."""
    return str(value)[:19]


@pytest.mark.parametrize("generation", list(GENERATIONS))
def test_batch_job_rows_fail_restart_and_refusal(
    batch_backend: Backend, project: Project, generation: str, tmp_path: Path
) -> None:
    version, p, restart_form = GENERATIONS[generation]
    output = tmp_path / "orders-out"
    s = Scenario(batch_backend, project, generation, "local")
    arguments = [QUICK, f"--orders.date={DATE}", f"--orders.output={output}"]

    first = s.new_id()
    s.insert(first)
    before = task_clock()
    outcome = s.launch(first, arguments)
    after = task_clock()
    assert outcome.returncode == 1, outcome.stderr
    row = s.row(first)
    assert row is not None
    assert row["EXIT_CODE"] == 1
    assert (
        row["ERROR_MESSAGE"]
        .rstrip()
        .endswith(f"No such file or directory: '{output}/orders-{DATE}.csv'")
    )

    assert query(
        s.backend, f"SELECT JOB_INSTANCE_ID, VERSION, JOB_NAME, JOB_KEY FROM {p}JOB_INSTANCE"
    ) == [(1, 0, "import-orders", KEYS[version])]
    [job] = query(
        s.backend,
        "SELECT JOB_EXECUTION_ID, VERSION, JOB_INSTANCE_ID, STATUS, EXIT_CODE, EXIT_MESSAGE, "
        "CREATE_TIME, "
        f"START_TIME, END_TIME, LAST_UPDATED FROM {p}JOB_EXECUTION",
    )
    assert job[:5] == (1, 2, 1, "FAILED", "FAILED")
    assert job[5].startswith("Traceback (most recent call last):")
    assert (
        job[5]
        .rstrip()
        .endswith(
            f"FileNotFoundError: [Errno 2] No such file or directory: '{output}/orders-{DATE}.csv'"
        )
    )
    times = [when(t) for t in job[6:]]
    assert when(before) <= times[0] <= times[1] <= times[2] <= times[3] <= when(after)
    if version == "5.0":
        assert query(s.backend, f"SELECT * FROM {p}JOB_EXECUTION_PARAMS") == [
            (1, "date", "java.lang.String", DATE, "Y")
        ]
    else:
        [params] = query(s.backend, f"SELECT * FROM {p}JOB_EXECUTION_PARAMS")
        assert (*params[:4], when(params[4]), *params[5:]) == (
            1, "STRING", "date", DATE, "1970-01-01 00:00:00", 0, 0.0, "Y"
        )  # fmt: skip
    steps = (
        "SELECT STEP_EXECUTION_ID, VERSION, STEP_NAME, JOB_EXECUTION_ID, STATUS, COMMIT_COUNT, "
        "READ_COUNT, FILTER_COUNT, WRITE_COUNT, READ_SKIP_COUNT, WRITE_SKIP_COUNT, "
        "PROCESS_SKIP_COUNT, ROLLBACK_COUNT, "
        f"EXIT_CODE FROM {p}STEP_EXECUTION ORDER BY STEP_EXECUTION_ID"
    )
    assert query(s.backend, steps) == [
        (1, 3, "extract", 1, "COMPLETED", 1, 3, 0, 3, 0, 0, 0, 0, "COMPLETED"),
        (2, 2, "load", 1, "FAILED", 0, 0, 0, 0, 0, 0, 0, 1, "FAILED"),
    ]
    assert query(
        s.backend,
        "SELECT STEP_EXECUTION_ID, SHORT_CONTEXT, SERIALIZED_CONTEXT "
        f"FROM {p}STEP_EXECUTION_CONTEXT ORDER BY STEP_EXECUTION_ID",
    ) == [(1, STEP_CONTEXT[version], None), (2, STEP_CONTEXT[version], None)]
    assert query(s.backend, f"SELECT * FROM {p}JOB_EXECUTION_CONTEXT") == [
        (1, JOB_CONTEXT[version], None)
    ]
    link = (
        f"SELECT TASK_EXECUTION_ID, JOB_EXECUTION_ID FROM {generation}TASK_BATCH "
        "ORDER BY JOB_EXECUTION_ID"
    )
    assert query(s.backend, link) == [(first, 1)]

    # SCDF's restart: a new launch with the original arguments plus the job parameter.
    output.mkdir()
    second = s.new_id()
    s.insert(second)
    outcome = s.launch(second, [*arguments, restart_form.format(date=DATE)])
    assert outcome.returncode == 0, outcome.stderr
    assert (output / f"orders-{DATE}.csv").read_text() == "0\n1\n2\n"
    jobs = "SELECT JOB_EXECUTION_ID, JOB_INSTANCE_ID, STATUS, EXIT_CODE, VERSION"
    jobs += f" FROM {p}JOB_EXECUTION"
    assert query(s.backend, f"{jobs} ORDER BY 1") == [
        (1, 1, "FAILED", "FAILED", 2),
        (2, 1, "COMPLETED", "COMPLETED", 2),
    ]
    assert query(s.backend, steps)[2:] == [
        (3, 3, "load", 2, "COMPLETED", 1, 3, 0, 3, 0, 0, 0, 0, "COMPLETED")
    ]
    assert query(s.backend, link) == [(first, 1), (second, 2)]

    # Completed: the same parameters are refused, nothing new is written, the task fails.
    third = s.new_id()
    s.insert(third)
    outcome = s.launch(third, arguments)
    assert outcome.returncode == 1
    refused = s.row(third)
    assert refused is not None
    shown = (
        "identifying parameters="
        "{'date':'{value=2024-01-01, type=class java.lang.String, identifying=true}'}"
        if version == "5.0"
        else "parameters={date=2024-01-01}"
    )
    assert (
        refused["ERROR_MESSAGE"]
        .rstrip()
        .endswith(
            "JobInstanceAlreadyCompleteError: A job instance already exists and is complete for "
            f"{shown}.  "
            "If you want to run this job again, change the parameters."
        )
    )
    assert query(s.backend, f"SELECT COUNT(*) FROM {p}JOB_EXECUTION") == [(2,)]
    assert query(s.backend, link) == [(first, 1), (second, 2)]
