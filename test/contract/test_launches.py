"""Launches without an execution id, and single-instance runs, on both schema sources.

A schedule (``task schedule create``) starts the app with the task's properties and arguments
and no execution id: the task takes the next id from ``<prefix>SEQ``, inserts its own row and
its params, and ends it, as Spring Cloud Task does. With
``spring.cloud.task.single-instance-enabled=true`` a run takes Spring Cloud Task's lock in
``<prefix>LOCK``; a second run while it is held is refused and records that in its own row.

Every scenario runs on Spring Cloud Task's DDL and on the schema SCDF 2.11.5's migrations
create (on MariaDB: TASK_SEQ a table, BOOT3_TASK_SEQ a sequence).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest

from harness import (
    GENERATIONS,
    SCHEMA_SOURCES,
    SHAPES,
    TASK_NAME,
    Backend,
    Project,
    Row,
    java_name_uuid,
    lock_clock,
    scdf_status,
    started,
    task_clock,
    wait_for,
)
from scenario import ERROR_ARG, EXIT_OK, EXIT_SIGTERM, QUICK, WORK_ARG, Scenario, ended_row, pick

pytestmark = [
    pytest.mark.parametrize("schema", SCHEMA_SOURCES),
    pytest.mark.parametrize("generation", GENERATIONS),
]

SINGLE = "--spring.cloud.task.single-instance-enabled=true"
TTL_PROPERTY = "--spring.cloud.task.single-instance-lock-ttl"
ALREADY_RUNNING = f'Task with name "{TASK_NAME}" is already running.'
# java.util.UUID.nameUUIDFromBytes("contract-task".getBytes(UTF_8)), printed by OpenJDK 17: the
# LOCK_KEY a Java run of this task writes.
LOCK_KEY = "d748b71b-ede2-3cfa-99e1-0b1cb9cacd9f"
# The same for client ids (execution ids as text), to check the harness's own conversion.
JAVA_CLIENT_IDS = {
    1001: "b8c37e33-defd-351c-b91e-1e03e51657da",
    42: "a1d0c6e8-3f02-3327-9846-1063f4ac58a6",
}
EXIT_REFUSED = 1
CONCURRENT_RUNS = 20


def rotated_shape(schema: str, generation: str, offset: int) -> str:
    """One launch shape per (schema, generation) for the multi-process single-instance
    scenarios, rotated so that each scenario meets every shape across the combinations."""
    index = SCHEMA_SOURCES.index(schema) * len(GENERATIONS) + GENERATIONS.index(generation)
    return SHAPES[(index + offset) % len(SHAPES)]


def scenario_for(
    backend: Backend, project: Project, schema: str, generation: str, offset: int
) -> Scenario:
    return Scenario(backend, project, generation, rotated_shape(schema, generation, offset))


# --- scheduled launches -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_scheduled_launch_creates_its_row(
    backend: Backend, project: Project, generation: str, shape: str
) -> None:
    """No id: the next id of this generation's sequence, a row with TASK_NAME, both launcher
    ids and the arguments, ended COMPLETE; the other generation's sequence is left alone."""
    s = Scenario(backend, project, generation, shape)
    eid = s.backend.next_sequence_value(s.prefix)
    other_next = s.backend.next_sequence_value(s.other_prefix)
    external, parent = f"cron-{eid}", 77
    before = task_clock()
    outcome = s.schedule(
        [
            QUICK,
            f"--spring.cloud.task.external-execution-id={external}",
            f"--spring.cloud.task.parent-execution-id={parent}",
        ]
    )
    after = task_clock()

    assert outcome.returncode == EXIT_OK, outcome.stderr
    row = s.row(eid)
    expected = ended_row(eid, exit_code=0, external_id=external, parent=parent)
    assert pick(row, list(expected)) == expected
    assert row is not None
    assert row["ERROR_MESSAGE"] is None
    assert scdf_status(row) == "COMPLETE"
    s.assert_times(row, before, after)
    s.assert_params(eid, outcome)
    assert s.backend.execution_ids(s.prefix, after=eid) == [], "more than one row created"
    assert s.backend.next_sequence_value(s.prefix) == eid + 1
    assert s.backend.next_sequence_value(s.other_prefix) == other_next


def test_scheduled_launch_that_fails_is_recorded(
    backend: Backend, project: Project, schema: str, generation: str
) -> None:
    s = scenario_for(backend, project, schema, generation, 0)
    eid = s.backend.next_sequence_value(s.prefix)
    message = f"scheduled boom {eid}"
    outcome = s.schedule([QUICK, f"{ERROR_ARG}={message}"])

    assert outcome.returncode not in (EXIT_OK, None)
    row = s.row(eid)
    assert row is not None
    assert row["EXIT_CODE"] == outcome.returncode, "the row and the process disagree"
    expected = ended_row(eid, exit_code=outcome.returncode, external_id=None, parent=None)
    assert pick(row, list(expected)) == expected
    assert message in (row["ERROR_MESSAGE"] or "")
    assert scdf_status(row) == "ERROR"
    s.assert_params(eid, outcome)


def test_twenty_scheduled_runs_at_once_get_twenty_distinct_ended_rows(
    backend: Backend, project: Project, generation: str
) -> None:
    """Runs started in the same moment (a CronJob's pods after a missed schedule, say), in
    every launch shape at once: distinct, consecutive ids, every row ended and its own."""
    first = backend.next_sequence_value(generation)
    scenarios = [
        Scenario(backend, project, generation, SHAPES[i % len(SHAPES)])
        for i in range(CONCURRENT_RUNS)
    ]
    launches = [
        s.argv_env(None, [QUICK, f"--spring.cloud.task.external-execution-id=run-{i}"])
        for i, s in enumerate(scenarios)
    ]
    with contextlib.ExitStack() as stack:
        running = [stack.enter_context(started(project, argv, env)) for argv, env in launches]
        outcomes = [r.wait(timeout=120) for r in running]

    failed = [(i, o.stderr) for i, o in enumerate(outcomes) if o.returncode != EXIT_OK]
    assert failed == []
    ids = backend.execution_ids(generation, after=first - 1)
    assert ids == list(range(first, first + CONCURRENT_RUNS))
    seen_runs = set()
    for eid in ids:
        row = backend.read_row(generation, eid)
        assert row is not None
        assert scdf_status(row) == "COMPLETE", row
        run = int(row["EXTERNAL_EXECUTION_ID"].removeprefix("run-"))
        seen_runs.add(run)
        scenarios[run].assert_params(eid, outcomes[run])
    assert seen_runs == set(range(CONCURRENT_RUNS))
    assert backend.next_sequence_value(generation) == first + CONCURRENT_RUNS


# --- single instance ---------------------------------------------------------------------------


def holding(s: Scenario, eid: int) -> list[Row]:
    """Wait until execution ``eid`` runs and holds the lock (taken right after its row is
    started, as Spring Cloud Task's @BeforeTask listener does); return the lock rows."""
    wait_for(
        lambda: (r := s.row(eid)) and scdf_status(r) == "RUNNING",
        f"execution {eid} to be RUNNING",
    )
    return wait_for(lambda: s.backend.lock_rows(s.prefix), f"execution {eid} to take the lock")


def assert_refused(s: Scenario, eid: int) -> None:
    """A run refused by the lock: non-zero at once, its own row ended with the reason."""
    before = task_clock()
    outcome = s.schedule([QUICK, SINGLE])
    after = task_clock()
    assert outcome.returncode == EXIT_REFUSED, outcome.stderr
    assert outcome.elapsed < 15, "the refusal was not prompt"
    assert ALREADY_RUNNING in outcome.stderr
    row = s.row(eid)
    assert row is not None, "the refused run recorded no row"
    assert row["EXIT_CODE"] == EXIT_REFUSED
    assert ALREADY_RUNNING in (row["ERROR_MESSAGE"] or "")
    assert row["EXIT_MESSAGE"] is None
    assert scdf_status(row) == "ERROR"
    s.assert_times(row, before, after)


def test_second_run_is_refused_and_sigterm_releases_the_lock(
    backend: Backend, project: Project, schema: str, generation: str
) -> None:
    # The harness's own UUID conversion first, against values Java printed.
    assert java_name_uuid(TASK_NAME) == LOCK_KEY
    assert {i: java_name_uuid(str(i)) for i in JAVA_CLIENT_IDS} == JAVA_CLIENT_IDS
    s = scenario_for(backend, project, schema, generation, 0)
    holder_id = s.backend.next_sequence_value(s.prefix)
    argv, env = s.argv_env(None, [f"{WORK_ARG}=60", SINGLE])
    with started(project, argv, env) as holder:
        [lock] = holding(s, holder_id)
        assert {k: lock[k] for k in ("LOCK_KEY", "REGION", "CLIENT_ID")} == {
            "LOCK_KEY": LOCK_KEY,
            "REGION": "DEFAULT",
            "CLIENT_ID": java_name_uuid(str(holder_id)),
        }
        now = lock_clock(s.generation)
        assert now - timedelta(seconds=30) <= lock["CREATED_DATE"] <= now, (
            f"CREATED_DATE {lock['CREATED_DATE']} is not on the {s.generation} lock clock ({now})"
        )

        assert_refused(s, holder_id + 1)
        [still] = s.backend.lock_rows(s.prefix)
        assert still["CLIENT_ID"] == java_name_uuid(str(holder_id)), "the refused run took the lock"

        holder.terminate()
        stopped = holder.wait(timeout=15)
    assert stopped.returncode == EXIT_SIGTERM, stopped.stderr
    row = s.row(holder_id)
    assert row is not None
    assert (row["EXIT_CODE"], scdf_status(row)) == (EXIT_SIGTERM, "ERROR")
    assert s.backend.lock_rows(s.prefix) == [], "SIGTERM left the lock behind"


def test_lock_is_released_when_the_task_fails(
    backend: Backend, project: Project, schema: str, generation: str
) -> None:
    s = scenario_for(backend, project, schema, generation, 1)
    eid = s.backend.next_sequence_value(s.prefix)
    failed = s.schedule([QUICK, SINGLE, f"{ERROR_ARG}=boom"])
    assert failed.returncode not in (EXIT_OK, None)
    assert scdf_status(s.row(eid)) == "ERROR"
    assert s.backend.lock_rows(s.prefix) == [], "a failed run left the lock behind"

    again = s.schedule([QUICK, SINGLE])
    assert again.returncode == EXIT_OK, again.stderr
    assert scdf_status(s.row(eid + 1)) == "COMPLETE"
    assert s.backend.lock_rows(s.prefix) == []


def test_lock_of_a_killed_run_expires_after_its_time_to_live(
    backend: Backend, project: Project, schema: str, generation: str
) -> None:
    """SIGKILL leaves the lock; within the TTL it still refuses, after it the next run goes."""
    ttl = timedelta(seconds=5)
    ttl_arg = f"{TTL_PROPERTY}={int(ttl.total_seconds() * 1000)}"
    s = scenario_for(backend, project, schema, generation, 2)
    holder_id = s.backend.next_sequence_value(s.prefix)
    argv, env = s.argv_env(None, [f"{WORK_ARG}=60", SINGLE, ttl_arg])
    with started(project, argv, env) as holder:
        holding(s, holder_id)
        holder.kill()
    [left] = s.backend.lock_rows(s.prefix)
    assert left["CLIENT_ID"] == java_name_uuid(str(holder_id))

    refused = s.schedule([QUICK, SINGLE, ttl_arg])
    if lock_clock(s.generation) < left["CREATED_DATE"] + ttl:  # still within the TTL
        assert refused.returncode == EXIT_REFUSED, refused.stderr
        assert ALREADY_RUNNING in refused.stderr
    wait_for(
        lambda: lock_clock(s.generation) > left["CREATED_DATE"] + ttl,
        "the lock's time to live to pass",
        timeout=ttl.total_seconds() + 5,
    )
    after_ttl = s.schedule([QUICK, SINGLE, ttl_arg])
    assert after_ttl.returncode == EXIT_OK, after_ttl.stderr
    created = s.backend.execution_ids(s.prefix, after=holder_id)
    assert scdf_status(s.row(created[-1])) == "COMPLETE"
    assert s.backend.lock_rows(s.prefix) == []
    row = s.row(holder_id)
    assert row is not None
    assert scdf_status(row) == "RUNNING", "nothing can end the row of a killed run"


def test_python_and_java_runs_exclude_each_other(
    backend: Backend, project: Project, schema: str, generation: str
) -> None:
    """A lock row exactly as a Java run of this generation writes it (key, region, client id,
    CREATED_DATE on its clock) refuses a Python run within the TTL and is taken over after."""
    s = scenario_for(backend, project, schema, generation, 3)
    ttl_arg = f"{TTL_PROPERTY}=60000"
    java_client = JAVA_CLIENT_IDS[42]
    s.backend.insert_lock(s.prefix, LOCK_KEY, java_client, lock_clock(s.generation))
    try:
        eid = s.backend.next_sequence_value(s.prefix)
        refused = s.schedule([QUICK, SINGLE, ttl_arg])
        assert refused.returncode == EXIT_REFUSED, refused.stderr
        assert scdf_status(s.row(eid)) == "ERROR"
        [held] = s.backend.lock_rows(s.prefix)
        assert held["CLIENT_ID"] == java_client

        s.backend.delete_locks(s.prefix)
        stale = lock_clock(s.generation) - timedelta(seconds=61)
        s.backend.insert_lock(s.prefix, LOCK_KEY, java_client, stale)
        taken = s.schedule([QUICK, SINGLE, ttl_arg])
        assert taken.returncode == EXIT_OK, taken.stderr
        assert scdf_status(s.row(eid + 1)) == "COMPLETE"
        assert s.backend.lock_rows(s.prefix) == []
    finally:
        s.backend.delete_locks(s.prefix)
