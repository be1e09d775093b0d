"""Jobs and steps land in Spring Batch's tables as Batch writes them, for both generations."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from util.batch_job import BatchJobError, JobInstanceAlreadyCompleteError, JobWriteError, Step, split_context
from util.batch_parameters import ParameterValue, command_line_parameters, job_key, restart_arguments
from util.bounded_write import WriteError
from util.column_text import TextUnit
from util.db_sqlite import SqliteAdapter
from util.java_context import ContextError, to_java_base64, to_json
from util.launch import BatchSchema
from util.local_db import ExecutionRow, LocalScdfDatabase
from util.task_args import LaunchSettings, TaskConfigError
from util.task_lifecycle import TaskContext, execute
from util.task_status import TaskStatusError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BOOT2 = BatchSchema("boot2", "BATCH_")
BOOT3 = BatchSchema("boot3", "BOOT3_BATCH_")
GENERATIONS = {"boot2": ("TASK_", BOOT2), "boot3": ("BOOT3_TASK_", BOOT3)}

# What Jackson writes for Batch 4.3 and the JDK's ObjectOutputStream for Batch 5 (this one
# printed by OpenJDK 17 for a HashMap put in the order a, b, c, d, and the odd key).
STEP_CONTEXT_JSON = (
    '{"@class":"java.util.HashMap","batch.taskletType":"python",'
    '"batch.stepType":"org.springframework.batch.core.step.tasklet.TaskletStep"}'
)
EMPTY_HASHMAP = (
    "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcAUH2sHDFmDRAwACRgAKbG9hZEZhY3RvckkACXRocmVzaG9sZHhwP0AAAAAAAAB3"
    "CAAAABAAAAAAeA=="
)
JDK_MIXED = (
    "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcAUH2sHDFmDRAwACRgAKbG9hZEZhY3RvckkACXRocmVzaG9sZHhwP0AAAAAAAAx3CAAAABAAAAAF"
    "dAABYXNyABBqYXZhLmxhbmcuRG91YmxlgLPCSilr+wQCAAFEAAV2YWx1ZXhyABBqYXZhLmxhbmcuTnVtYmVyhqyVHQuU4IsCAAB4cD/4AAAAAAAA"
    "dAABYnNyABFqYXZhLmxhbmcuQm9vbGVhbs0gcoDVnPruAgABWgAFdmFsdWV4cAF0AAFjc3IADmphdmEubGFuZy5Mb25nO4vkkMyPI98CAAFKAAV2"
    "YWx1ZXhxAH4ABAAAAAAAAAAHdAABZHNxAH4ACgAAAAAAAAAIdAALw6nimIPtoLTttJ50AAR4wIB5eA=="
)


# --- keys, parameters, contexts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "parameters", "key"),
    [
        (BOOT2, {}, "d41d8cd98f00b204e9800998ecf8427e"),
        (BOOT3, {}, "d41d8cd98f00b204e9800998ecf8427e"),
        (BOOT2, {"date": "2024-01-01"}, "287f6e65fa3a5500ad35ccb51fb798e1"),
        (BOOT2, {"count": 5}, "3899a790598df75035b79bb23cbe89d4"),
        (BOOT2, {"date": "2024-01-01", "count": 5}, "a6ea75528c3f722fb7fba609004831ca"),
        (BOOT2, {"rate": 1.5}, "49b48622dac5da29a15286601679822c"),
        (BOOT3, {"date": "2024-01-01"}, "8ed8b3f310e8c41741c82ef5290069ba"),
        (BOOT3, {"count": 5}, "65e4a15e35c1bb3f7c1af6f28b99f805"),
        (BOOT3, {"date": "2024-01-01", "count": 5}, "447740eec3c1cb926bbaa1dae087a095"),
        (BOOT3, {"rate": 1.5}, "2b6647e8082de8df7ae27a2d559383e3"),
    ],
)
def test_job_key_is_batchs_md5_of_the_identifying_parameters(
    schema: BatchSchema, parameters: dict[str, ParameterValue], key: str
) -> None:
    assert job_key(parameters, schema) == key


def test_contexts_in_both_forms() -> None:
    assert to_json({}) == '{"@class":"java.util.HashMap"}'
    assert to_json({"name": "x", "count": 5, "rate": 1.5, "ok": True}) == (
        '{"@class":"java.util.HashMap","name":"x","count":["java.lang.Long",5],"rate":1.5,"ok":true}'
    )
    assert to_java_base64({}) == EMPTY_HASHMAP
    assert to_java_base64({"a": 1.5, "b": True, "c": 7, "d": 8, "é☃𝄞": "x\x00y"}) == JDK_MIXED
    with pytest.raises(ContextError, match="'when' is a datetime"):
        to_json({"when": __import__("datetime").datetime(2024, 1, 1)})


def test_long_context_is_split_as_batch_splits_it() -> None:
    assert split_context("x" * 2500) == ("x" * 2500, None)
    assert split_context("y" * 2501) == ("y" * 2492 + " ...", "y" * 2501)


@pytest.mark.parametrize(
    ("schema", "arguments", "expected"),
    [
        # SCDF's restart appends these to the original arguments; `--` ones are settings.
        (BOOT2, ["--orders.date=x", "date(string)=2024-01-01", "count(long)=5", "rate(double)=1.5"],
         {"date": "2024-01-01", "count": 5, "rate": 1.5}),
        (BOOT2, ["plain=text", "-skipped(long)=1"], {"plain": "text"}),
        (BOOT3, ["date=2024-01-01,java.lang.String", "count=5,java.lang.Long", "rate=1.5,java.lang.Double"],
         {"date": "2024-01-01", "count": 5, "rate": 1.5}),
        (BOOT3, ["plain=text", "other=1,java.lang.Long,false"], {"plain": "text"}),
    ],
)  # fmt: skip
def test_job_parameters_on_the_command_line_as_scdfs_restart_passes_them(
    schema: BatchSchema, arguments: list[str], expected: dict[str, ParameterValue]
) -> None:
    assert command_line_parameters(arguments, schema) == expected


def test_restart_arguments_are_scdfs_forms() -> None:
    parameters: dict[str, ParameterValue] = {"date": "2024-01-01", "count": 5}
    assert restart_arguments(parameters, BOOT2) == ["date(string)=2024-01-01", "count(long)=5"]
    assert restart_arguments(parameters, BOOT3) == [
        "date=2024-01-01,java.lang.String",
        "count=5,java.lang.Long",
    ]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], BOOT2),
        (["--spring.cloud.task.tablePrefix=BOOT3_TASK_"], BOOT3),
        (["--spring.cloud.task.schemaTarget=boot3", "--spring.batch.jdbc.table-prefix=BOOT3_BATCH_"], BOOT3),
        (["--task.batch.schema=boot3"], BOOT3),
        (["--task.batch.schema=boot2", "--spring.batch.jdbc.table-prefix=MY_"], BatchSchema("boot2", "MY_")),
    ],
)
def test_generation_from_the_settings_scdf_passes(arguments: list[str], expected: BatchSchema) -> None:
    assert BatchSchema.from_settings(LaunchSettings.parse(arguments, {})) == expected


def test_unknown_generation_is_refused_by_name() -> None:
    with pytest.raises(TaskConfigError, match=r"task.batch.schema must be boot2 or boot3, got 'boot4'"):
        BatchSchema.from_settings(LaunchSettings.parse(["--task.batch.schema=boot4"], {}))


# --- runs against the SQLite stand-in ------------------------------------------------------


def rows(db: LocalScdfDatabase, statement: str, *parameters: object) -> list[Any]:
    with sqlite3.connect(db.path) as connection:
        return connection.execute(statement, parameters).fetchall()


def row_of(db: LocalScdfDatabase, execution_id: int, prefix: str) -> ExecutionRow:
    row = db.execution(execution_id, prefix)
    assert row is not None, f"execution {execution_id} is gone"
    return row


def error_of(db: LocalScdfDatabase, execution_id: int, prefix: str) -> str:
    message = row_of(db, execution_id, prefix).error_message
    assert message is not None, f"execution {execution_id} has no error message"
    return message


def prepare(db: LocalScdfDatabase, generation: str) -> tuple[str, str]:
    task_prefix, schema = GENERATIONS[generation]
    db.create_tables(task_prefix)
    db.create_batch_tables(schema.prefix, batch5=schema.batch5, task_prefix=task_prefix)
    return task_prefix, schema.prefix


def launch(
    db: LocalScdfDatabase, generation: str, body: Callable[[TaskContext], object], *arguments: str
) -> tuple[int, int]:
    task_prefix, _ = GENERATIONS[generation]
    execution_id = db.create_execution("my-task", task_prefix)
    argv = [
        f"--spring.datasource.url={db.jdbc_url}",
        f"--spring.cloud.task.tablePrefix={task_prefix}",
        *arguments,
        f"--spring.cloud.task.executionid={execution_id}",
    ]
    return execution_id, execute(body, argv=argv, environ={})


def two_steps(fail: str | None = None) -> Callable[[TaskContext], None]:
    def body(context: TaskContext) -> None:
        with context.job("import-orders", {"date": "2024-01-01"}) as job:

            @job.step("extract")
            def extract(step: Step) -> None:
                step.read_count += 3
                step.write_count += 2
                step.filter_count += 1
                step.context["last.id"] = 42

            @job.step("load")
            def load(step: Step) -> None:
                step.read_count += 2
                step.write_count += 2
                if fail:
                    raise RuntimeError(fail)

    return body


STEP_COLUMNS = (
    "STEP_EXECUTION_ID, VERSION, STEP_NAME, JOB_EXECUTION_ID, STATUS, COMMIT_COUNT, READ_COUNT, "
    "FILTER_COUNT, WRITE_COUNT, READ_SKIP_COUNT, WRITE_SKIP_COUNT, PROCESS_SKIP_COUNT, ROLLBACK_COUNT, "
    "EXIT_CODE"
)


@pytest.mark.parametrize("generation", ["boot2", "boot3"])
def test_a_two_step_job_is_recorded_as_spring_batch_records_it(
    scdf_db: LocalScdfDatabase, generation: str
) -> None:
    task_prefix, p = prepare(scdf_db, generation)
    task_id, code = launch(scdf_db, generation, two_steps())

    assert code == 0
    assert row_of(scdf_db, task_id, task_prefix).status == "COMPLETE"
    key = "8ed8b3f310e8c41741c82ef5290069ba" if generation == "boot3" else "287f6e65fa3a5500ad35ccb51fb798e1"
    assert rows(scdf_db, f"SELECT JOB_INSTANCE_ID, VERSION, JOB_NAME, JOB_KEY FROM {p}JOB_INSTANCE") == [
        (1, 0, "import-orders", key)
    ]
    (job,) = rows(
        scdf_db,
        f"SELECT JOB_EXECUTION_ID, VERSION, JOB_INSTANCE_ID, STATUS, EXIT_CODE, EXIT_MESSAGE, "
        f"CREATE_TIME, START_TIME, END_TIME, LAST_UPDATED FROM {p}JOB_EXECUTION",
    )
    assert job[:6] == (1, 2, 1, "COMPLETED", "COMPLETED", "")
    assert job[6] <= job[7] <= job[8] <= job[9]
    assert rows(scdf_db, f"SELECT TASK_EXECUTION_ID, JOB_EXECUTION_ID FROM {task_prefix}TASK_BATCH") == [
        (task_id, 1)
    ]
    assert rows(scdf_db, f"SELECT {STEP_COLUMNS} FROM {p}STEP_EXECUTION ORDER BY 1") == [
        (1, 3, "extract", 1, "COMPLETED", 1, 3, 1, 2, 0, 0, 0, 0, "COMPLETED"),
        (2, 3, "load", 1, "COMPLETED", 1, 2, 0, 2, 0, 0, 0, 0, "COMPLETED"),
    ]
    step_contexts = rows(
        scdf_db,
        f"SELECT STEP_EXECUTION_ID, SHORT_CONTEXT, SERIALIZED_CONTEXT FROM {p}STEP_EXECUTION_CONTEXT "
        "ORDER BY 1",
    )
    job_contexts = rows(
        scdf_db, f"SELECT JOB_EXECUTION_ID, SHORT_CONTEXT, SERIALIZED_CONTEXT FROM {p}JOB_EXECUTION_CONTEXT"
    )
    if generation == "boot3":
        assert rows(scdf_db, f"SELECT * FROM {p}JOB_EXECUTION_PARAMS") == [
            (1, "date", "java.lang.String", "2024-01-01", "Y")
        ]
        assert job_contexts == [(1, EMPTY_HASHMAP, None)]
        # Batch 5 leaves START_TIME out at the insert and sets CREATE_TIME; both are there at the end.
        assert rows(scdf_db, f"SELECT COUNT(*) FROM {p}STEP_EXECUTION WHERE CREATE_TIME <= START_TIME") == [
            (2,)
        ]
        assert [c[1].startswith("rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA") for c in step_contexts] == [True, True]
    else:
        assert rows(scdf_db, f"SELECT * FROM {p}JOB_EXECUTION_PARAMS") == [
            (1, "STRING", "date", "2024-01-01", "1970-01-01 00:00:00.000000", 0, 0.0, "Y")
        ]
        assert job_contexts == [(1, '{"@class":"java.util.HashMap"}', None)]
        assert step_contexts == [
            (1, STEP_CONTEXT_JSON[:-1] + ',"last.id":["java.lang.Long",42]}', None),
            (2, STEP_CONTEXT_JSON, None),
        ]


@pytest.mark.parametrize("generation", ["boot2", "boot3"])
def test_a_failed_step_fails_the_job_and_the_task_and_a_restart_skips_the_completed_step(
    scdf_db: LocalScdfDatabase, generation: str
) -> None:
    task_prefix, p = prepare(scdf_db, generation)
    first, code = launch(scdf_db, generation, two_steps(fail="no such order file"))

    assert code == 1
    task = row_of(scdf_db, first, task_prefix)
    assert (task.status, task.exit_code) == ("ERROR", 1)
    assert error_of(scdf_db, first, task_prefix).rstrip().endswith("RuntimeError: no such order file")
    (job,) = rows(scdf_db, f"SELECT STATUS, EXIT_CODE, EXIT_MESSAGE, VERSION FROM {p}JOB_EXECUTION")
    assert job[:2] == ("FAILED", "FAILED")
    assert job[2].rstrip().endswith("RuntimeError: no such order file")
    assert job[2].startswith("Traceback (most recent call last):")
    assert job[3] == 2
    assert rows(scdf_db, f"SELECT {STEP_COLUMNS} FROM {p}STEP_EXECUTION ORDER BY 1") == [
        (1, 3, "extract", 1, "COMPLETED", 1, 3, 1, 2, 0, 0, 0, 0, "COMPLETED"),
        (2, 2, "load", 1, "FAILED", 0, 2, 0, 2, 0, 0, 0, 1, "FAILED"),
    ]

    # SCDF's restart: the original arguments plus the job's identifying parameters.
    schema = GENERATIONS[generation][1]
    second, code = launch(
        scdf_db, generation, two_steps(), *restart_arguments({"date": "2024-01-01"}, schema)
    )

    assert code == 0
    assert row_of(scdf_db, second, task_prefix).status == "COMPLETE"
    assert rows(
        scdf_db, f"SELECT JOB_EXECUTION_ID, JOB_INSTANCE_ID, STATUS, EXIT_CODE FROM {p}JOB_EXECUTION"
    ) == [
        (1, 1, "FAILED", "FAILED"),
        (2, 1, "COMPLETED", "COMPLETED"),
    ]
    assert rows(
        scdf_db, f"SELECT STEP_EXECUTION_ID, STEP_NAME, JOB_EXECUTION_ID, STATUS FROM {p}STEP_EXECUTION"
    ) == [
        (1, "extract", 1, "COMPLETED"),
        (2, "load", 1, "FAILED"),
        (3, "load", 2, "COMPLETED"),
    ]
    assert rows(scdf_db, f"SELECT TASK_EXECUTION_ID, JOB_EXECUTION_ID FROM {task_prefix}TASK_BATCH") == [
        (first, 1),
        (second, 2),
    ]

    # Completed: the same parameters are refused, with Batch's message, and the task fails.
    third, code = launch(scdf_db, generation, two_steps())
    assert code == 1
    refused = error_of(scdf_db, third, task_prefix)
    shown = (
        "identifying parameters={'date':'{value=2024-01-01, type=class java.lang.String, identifying=true}'}"
        if generation == "boot3"
        else "parameters={date=2024-01-01}"
    )
    assert (
        f"JobInstanceAlreadyCompleteError: A job instance already exists and is complete for {shown}.  "
        in refused
    )
    assert "If you want to run this job again, change the parameters." in refused
    assert rows(scdf_db, f"SELECT COUNT(*) FROM {p}JOB_EXECUTION") == [(2,)]


def test_wide_messages_and_contexts_keep_2500_characters_where_characters_are_counted(
    scdf_db: LocalScdfDatabase,
) -> None:
    # SQLite counts characters, as PostgreSQL and MariaDB do: nothing is cut to 2500 bytes.
    _, p = prepare(scdf_db, "boot2")

    def body(context: TaskContext) -> None:
        with context.job("wide", {}) as job:

            @job.step("only")
            def only(step: Step) -> None:
                step.context["note"] = "漢" * 3000
                raise RuntimeError("漢" * 3000 + "END")

    launch(scdf_db, "boot2", body)

    for table in ("JOB_EXECUTION", "STEP_EXECUTION"):
        ((message,),) = rows(scdf_db, f"SELECT EXIT_MESSAGE FROM {p}{table}")
        assert len(message) == 2500, table
        assert message.rstrip().endswith("漢" * 100 + "END")
    ((short,),) = rows(scdf_db, f"SELECT SHORT_CONTEXT FROM {p}STEP_EXECUTION_CONTEXT")
    assert len(short) == 2496
    assert short.endswith("漢 ...")


def test_the_refusal_reaches_the_body_as_batchs_own_error(scdf_db: LocalScdfDatabase) -> None:
    prepare(scdf_db, "boot2")
    launch(scdf_db, "boot2", two_steps())
    refused: list[str] = []

    def body(context: TaskContext) -> None:
        try:
            with context.job("import-orders", {"date": "2024-01-01"}):
                pass
        except JobInstanceAlreadyCompleteError as error:
            refused.append(str(error))

    _, code = launch(scdf_db, "boot2", body)
    assert code == 0
    assert refused == [
        "A job instance already exists and is complete for parameters={date=2024-01-01}.  "
        "If you want to run this job again, change the parameters."
    ]


def test_a_job_whose_records_cannot_be_written_raises_its_own_error(scdf_db: LocalScdfDatabase) -> None:
    # The batch tables are missing: the job's first write fails, not retried, as the job's error
    # (on the engine's WriteError), never the row's; the row then records the failure.
    task_prefix, _ = GENERATIONS["boot2"]
    scdf_db.create_tables(task_prefix)
    caught: list[BaseException] = []

    def body(context: TaskContext) -> None:
        try:
            with context.job("import-orders", {"date": "2024-01-01"}):
                pass
        except WriteError as error:
            caught.append(error)
            raise

    task_id, code = launch(scdf_db, "boot2", body)
    assert code == 1
    assert len(caught) == 1
    error = caught[0]
    assert type(error) is JobWriteError
    assert not isinstance(error, TaskStatusError)
    assert str(error).startswith("Could not look up the instance of job import-orders")
    assert "no such table: BATCH_JOB_INSTANCE" in str(error)
    assert row_of(scdf_db, task_id, task_prefix).status == "ERROR"
    assert "JobWriteError: Could not look up the instance of job import-orders" in error_of(
        scdf_db, task_id, task_prefix
    )


def test_the_restarts_parameters_win_over_what_the_body_derives(scdf_db: LocalScdfDatabase) -> None:
    _, p = prepare(scdf_db, "boot2")
    launch(scdf_db, "boot2", two_steps(fail="boom"))

    def derived(context: TaskContext) -> None:
        # As a body that takes today's date: the restart must still find the failed instance.
        with context.job("import-orders", {"date": "2099-12-31"}) as job:
            job.run_step("extract", lambda step: None)
            job.run_step("load", lambda step: None)

    _, code = launch(scdf_db, "boot2", derived, "date(string)=2024-01-01")
    assert code == 0
    assert rows(scdf_db, f"SELECT JOB_INSTANCE_ID, STATUS FROM {p}JOB_EXECUTION") == [
        (1, "FAILED"),
        (1, "COMPLETED"),
    ]
    assert rows(scdf_db, f"SELECT STEP_NAME FROM {p}STEP_EXECUTION WHERE JOB_EXECUTION_ID = 2") == [("load",)]


def test_without_identifying_parameters_a_rerun_finds_every_step_done(scdf_db: LocalScdfDatabase) -> None:
    _, p = prepare(scdf_db, "boot2")

    def body(context: TaskContext) -> None:
        with context.job("cleanup") as job:
            job.run_step("purge", lambda step: None)

    launch(scdf_db, "boot2", body)
    _, code = launch(scdf_db, "boot2", body)
    assert code == 0
    assert rows(scdf_db, f"SELECT STATUS, EXIT_CODE, EXIT_MESSAGE FROM {p}JOB_EXECUTION ORDER BY 1") == [
        ("COMPLETED", "COMPLETED", ""),
        ("COMPLETED", "NOOP", "All steps already completed or no steps configured for this job."),
    ]


def test_a_job_left_running_blocks_its_instance_with_a_clear_message(scdf_db: LocalScdfDatabase) -> None:
    task_prefix, p = prepare(scdf_db, "boot2")
    launch(scdf_db, "boot2", two_steps(fail="boom"))
    with sqlite3.connect(scdf_db.path) as connection:
        connection.execute(f"UPDATE {p}JOB_EXECUTION SET STATUS = 'STARTED', END_TIME = NULL")
    task_id, code = launch(scdf_db, "boot2", two_steps())
    assert code == 1
    message = error_of(scdf_db, task_id, task_prefix)
    assert (
        "A job execution for this job is already running: JobInstance: id=1, version=0, Job=[import-orders]"
        in message
    )


def test_unusable_parameters_are_refused_by_name(scdf_db: LocalScdfDatabase) -> None:
    task_prefix, _ = prepare(scdf_db, "boot2")

    def body(context: TaskContext) -> None:
        with context.job("import-orders", {"when": True}):
            pass

    task_id, code = launch(scdf_db, "boot2", body)
    assert code == 1
    assert "Job parameter 'when' is a bool" in error_of(scdf_db, task_id, task_prefix)
    with pytest.raises(BatchJobError, match=r"type 'java\.time\.Instant' is not supported"):
        command_line_parameters(["at=1,java.time.Instant"], BOOT3)


@pytest.mark.parametrize(
    ("unit", "longest"),
    [(TextUnit.CHARACTERS, "漢" * 100), (TextUnit.UTF8_BYTES, "漢" * 33 + "a")],
)
def test_names_fit_their_100_long_columns_in_the_databases_unit(
    scdf_db: LocalScdfDatabase, monkeypatch: pytest.MonkeyPatch, unit: TextUnit, longest: str
) -> None:
    monkeypatch.setattr(SqliteAdapter, "text_unit", unit)  # UTF-8 bytes as on Oracle, SQL Server, Db2
    task_prefix, p = prepare(scdf_db, "boot2")

    def body(context: TaskContext) -> None:
        with context.job(longest) as job:
            job.run_step(longest, lambda step: None)
            job.run_step(longest + "x", lambda step: None)

    task_id, code = launch(scdf_db, "boot2", body)

    assert code == 1
    assert rows(scdf_db, f"SELECT JOB_NAME FROM {p}JOB_INSTANCE") == [(longest,)]
    assert rows(scdf_db, f"SELECT STEP_NAME FROM {p}STEP_EXECUTION") == [(longest,)]
    assert f"must have 1 to 100 {unit.value} (STEP_NAME)" in error_of(scdf_db, task_id, task_prefix)


def test_a_stop_from_scdf_between_steps_stops_the_job(scdf_db: LocalScdfDatabase) -> None:
    task_prefix, p = prepare(scdf_db, "boot2")

    def body(context: TaskContext) -> None:
        with context.job("import-orders", {"date": "2024-01-01"}) as job:

            @job.step("extract")
            def extract(step: Step) -> None:
                # What SCDF's PUT /jobs/executions/{id}?stop=true writes: STOPPING, VERSION + 1.
                with sqlite3.connect(scdf_db.path) as connection:
                    connection.execute(
                        f"UPDATE {p}JOB_EXECUTION SET STATUS = 'STOPPING', VERSION = VERSION + 1"
                    )

            job.run_step("load", lambda step: None)

    task_id, code = launch(scdf_db, "boot2", body)
    assert code == 1
    assert "JobExecution interrupted." in error_of(scdf_db, task_id, task_prefix)
    assert rows(scdf_db, f"SELECT STATUS, EXIT_CODE, EXIT_MESSAGE, VERSION FROM {p}JOB_EXECUTION") == [
        ("STOPPED", "STOPPED", "org.springframework.batch.core.JobInterruptedException", 3)
    ]
    assert rows(scdf_db, f"SELECT STEP_NAME, STATUS FROM {p}STEP_EXECUTION") == [("extract", "COMPLETED")]


SLOW_JOB = textwrap.dedent(
    """
    import time
    from util.task_lifecycle import run_task

    def task(context):
        with context.job("slow", {"run": 1}) as job:

            @job.step("wait")
            def wait(step):
                step.read_count += 1
                print("working", flush=True)
                time.sleep(60)

    run_task(task)
    """
)


@pytest.mark.parametrize("generation", ["boot2", "boot3"])
def test_sigterm_stops_the_step_and_the_job_and_ends_the_task_with_143(
    tmp_path: Path, scdf_db: LocalScdfDatabase, generation: str
) -> None:
    task_prefix, p = prepare(scdf_db, generation)
    script = tmp_path / "slow_job.py"
    script.write_text(SLOW_JOB)
    task_id = scdf_db.create_execution("my-task", task_prefix)
    process = subprocess.Popen(
        [
            sys.executable,
            str(script),
            f"--spring.datasource.url={scdf_db.jdbc_url}",
            f"--spring.cloud.task.tablePrefix={task_prefix}",
            f"--spring.cloud.task.executionid={task_id}",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "working\n"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()

    assert process.returncode == 143, stderr
    task = row_of(scdf_db, task_id, task_prefix)
    assert (task.status, task.exit_code) == ("ERROR", 143)
    interrupted = "org.springframework.batch.core.JobInterruptedException"
    assert rows(
        scdf_db, f"SELECT STATUS, EXIT_CODE, EXIT_MESSAGE, END_TIME IS NOT NULL FROM {p}JOB_EXECUTION"
    ) == [("STOPPED", "STOPPED", interrupted, 1)]
    assert rows(
        scdf_db,
        f"SELECT STATUS, EXIT_CODE, EXIT_MESSAGE, READ_COUNT, END_TIME IS NOT NULL FROM {p}STEP_EXECUTION",
    ) == [("STOPPED", "STOPPED", interrupted, 1, 1)]


def test_local_run_prints_the_job_and_its_steps(tmp_path: Path) -> None:
    db = str(tmp_path / "scdf.db")  # local_run keeps its file: a fresh one makes this execution 1
    completed = subprocess.run(
        [sys.executable, "-m", "util.local_run", "--db", db, "--work.seconds=0", "--orders.date=2024-01-01"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "SPRING_APPLICATION_JSON"},
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.endswith(
        "Job execution 1 (import-orders, instance 1): COMPLETED, exit code COMPLETED\n"
        "  step extract: COMPLETED, read 3, written 3, commits 1\n"
        "  step load: COMPLETED, read 3, written 3, commits 1\n"
    )
