"""A batch job's restart, as Spring Batch decides it: which instance a run belongs to, and what it skips.

A run with the same job name and identifying parameters (the job key) as an earlier one is that
instance again. It is refused while an execution of it runs, after one ended UNKNOWN, and after
one COMPLETED (with parameters); otherwise it is a restart, and the steps whose last execution
COMPLETED are skipped, the others getting their last context back (`util.batch_job` runs them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from util.batch_parameters import BatchJobError, ParameterValue, java_parameters
from util.db_api import Cursor
from util.java_context import ContextValue, from_json
from util.launch import BatchSchema

#: Runs one statement on the cursor (`?` marks, as the adapter turns them for its driver).
Execute = Callable[[Cursor, str, Sequence[object]], None]


class JobInstanceAlreadyCompleteError(BatchJobError):
    pass


class JobExecutionAlreadyRunningError(BatchJobError):
    pass


@dataclass
class Instance:
    """The job instance a run belongs to: None for a first run, and what a restart carries over."""

    id: int | None
    completed_steps: frozenset[str] = frozenset()
    step_contexts: Mapping[str, dict[str, ContextValue]] = field(default_factory=dict)


def find_instance(
    cursor: Cursor,
    execute: Execute,
    schema: BatchSchema,
    name: str,
    key: str,
    parameters: Mapping[str, ParameterValue],
) -> Instance:
    """The instance of job `name` with `key`, or a BatchJobError with Spring Batch's refusal."""
    p = schema.prefix
    execute(
        cursor,
        f"SELECT JOB_INSTANCE_ID FROM {p}JOB_INSTANCE WHERE JOB_NAME = ? AND JOB_KEY = ?",
        (name, key),
    )
    rows = cursor.fetchall()
    if not rows:
        return Instance(None)
    if len(rows) > 1:
        raise BatchJobError(f"instance count must be 1 but was {len(rows)}")
    instance_id = int(rows[0][0])
    execute(
        cursor,
        f"SELECT JOB_EXECUTION_ID, STATUS, START_TIME, END_TIME FROM {p}JOB_EXECUTION "
        "WHERE JOB_INSTANCE_ID = ? ORDER BY JOB_EXECUTION_ID",
        (instance_id,),
    )
    described = f"JobInstance: id={instance_id}, version=0, Job=[{name}]"
    for _, status, start, end in cursor.fetchall():
        running = (
            status in ("STARTING", "STARTED", "STOPPING")
            if schema.batch5
            else ((start is not None and end is None) or status == "STOPPING")
        )
        if running:
            raise JobExecutionAlreadyRunningError(
                f"A job execution for this job is already running: {described}. If its process is "
                "gone, stop the execution in SCDF (or set its STATUS to FAILED) before running it again."
            )
        if status == "UNKNOWN":
            raise BatchJobError(
                "Cannot restart job from UNKNOWN status. The last execution ended with a failure that "
                "could not be rolled back, so it may be dangerous to proceed. Manual intervention is "
                "probably necessary."
            )
        if status in ("COMPLETED", "ABANDONED") and parameters:
            noun = "identifying parameters" if schema.batch5 else "parameters"
            raise JobInstanceAlreadyCompleteError(
                f"A job instance already exists and is complete for {noun}="
                f"{java_parameters(parameters, schema)}.  If you want to run this job "
                "again, change the parameters."
            )
    # The last execution of each step within the instance decides whether it runs again.
    execute(
        cursor,
        f"SELECT S.STEP_NAME, S.STATUS, C.SHORT_CONTEXT, C.SERIALIZED_CONTEXT FROM {p}STEP_EXECUTION S "
        f"JOIN {p}JOB_EXECUTION E ON S.JOB_EXECUTION_ID = E.JOB_EXECUTION_ID "
        f"LEFT JOIN {p}STEP_EXECUTION_CONTEXT C ON C.STEP_EXECUTION_ID = S.STEP_EXECUTION_ID "
        "WHERE E.JOB_INSTANCE_ID = ? ORDER BY S.STEP_EXECUTION_ID",
        (instance_id,),
    )
    last: dict[str, str] = {}
    contexts: dict[str, dict[str, ContextValue]] = {}
    for step_name, status, short, serialized in cursor.fetchall():
        last[step_name] = status
        contexts[step_name] = read_context(serialized or short, schema)
    if "UNKNOWN" in last.values():
        raise BatchJobError(
            "Cannot restart step from UNKNOWN status. Manual intervention is probably necessary."
        )
    completed = frozenset(n for n, s in last.items() if s in ("COMPLETED", "ABANDONED"))
    return Instance(instance_id, completed, contexts)


def read_context(text: str | None, schema: BatchSchema) -> dict[str, ContextValue]:
    """A step's saved context, for its restart."""
    # A restarted step gets its previous context back, as in Batch; the Java form of
    # Batch 5 is not read back (a restart then starts the step with an empty context).
    if not text or schema.batch5:
        return {}
    try:
        found = from_json(text)
    except ValueError:
        return {}
    return {k: v for k, v in found.items() if not k.startswith("batch.")}
