"""`python -m util.local_run [--db PATH] [--scheduled] [args...]`: runs the task as SCDF would, locally.

It stands in for SCDF on a SQLite file: creates the task tables, inserts the execution row as
SCDF does before a launch, starts `python_task.py` in a new process with the settings passed the
way SCDF passes them, then prints the status SCDF would show (COMPLETE, ERROR, RUNNING or
UNKNOWN), the exit code and the messages. It exits with the task's exit code.

The SQLite file stays (`local-scdf.db` in the project unless `--db` names another), so runs
accumulate as in SCDF's database: execution ids count up, and a batch job that failed restarts
when it is launched again with the same job parameters.

With `--scheduled` it launches as a schedule does (`task schedule create`): no row and no
execution id, so the task creates its own row from `<prefix>SEQ`.

`launch()` is also what the tests use, with every launch style SCDF has.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from util.launch import BatchSchema
from util.local_db import ExecutionRow, JobRecord, LocalScdfDatabase
from util.task_args import LaunchSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TASK_SCRIPT = PROJECT_ROOT / "python_task.py"
DEFAULT_TASK_NAME = "python-task"
#: The project's task definition name and Boot version, as scdf/register.shell registers them:
#: a local run names its row and picks its tables as the project's SCDF launches do.
PROJECT_TASK_NAME = <%- JSON.stringify(taskName) %>
PROJECT_BOOT_VERSION = <%- JSON.stringify(bootVersion) %>
#: What SCDF 2.11 adds to every launch of an app registered with `--bootVersion 3`.
BOOT3_PROPERTIES = {
    "spring.cloud.task.tablePrefix": "BOOT3_TASK_",
    "spring.batch.jdbc.table-prefix": "BOOT3_BATCH_",
    "spring.cloud.task.schemaTarget": "boot3",
    "spring.cloud.task.initialize-enabled": "false",
    "spring.cloud.deployer.bootVersion": "3",
}

#: How the settings reach the task: the local deployer's docker run, or a Kubernetes entry point style.
STYLES = ("local", "exec", "shell", "boot")
#: local_run's own option: launch without an execution id, as a schedule does.
SCHEDULED_OPTION = "--scheduled"
#: The SQLite file standing in for SCDF's database when `--db` is not given; `.gitignore` and
#: `.dockerignore` keep it out of the repository and the image (`*.db`).
DEFAULT_DB = PROJECT_ROOT / "local-scdf.db"

USAGE = f"""usage: python -m util.local_run [--db PATH] [--scheduled] [--] [task arguments...]

Runs python_task.py as SCDF launches it, against a SQLite file standing in for SCDF's database,
and prints what SCDF would show for the execution (status, times, exit code, messages, batch
jobs). Exits with the task's exit code.

options (before the task's arguments):
  -h, --help   show this help and exit
  --db PATH    the SQLite file (default: {DEFAULT_DB.name} in the project, ignored by git and
               left out of the image). It stays between runs: execution ids count up, and a
               batch job that failed restarts when launched again with the same parameters.
               Delete the file to start afresh.
  --scheduled  launch as a schedule does: no row and no execution id; the task creates its row
  --           everything after it goes to the task, even --db, --scheduled or --help

Every other argument goes to the task as SCDF appends it, for example:
  python -m util.local_run --work.seconds=2
  python -m util.local_run --error.message=boom
  python -m util.local_run --orders.date=2024-01-01 --orders.output=missing-folder
"""


class UsageError(Exception):
    """A local_run option used wrongly: printed with a pointer to `--help`, exit code 2."""


@dataclass(frozen=True)
class Options:
    """local_run's own options, read from the front of its command line."""

    db: Path
    scheduled: bool
    help: bool
    task_arguments: list[str]


def parse_options(arguments: Sequence[str]) -> Options:
    """Takes local_run's options from the front; the first other argument starts the task's."""
    db, scheduled, show_help = DEFAULT_DB, False, False
    rest = list(arguments)
    while rest:
        argument = rest[0]
        if argument == "--":
            rest.pop(0)
            break
        if argument in ("-h", "--help"):
            show_help = True
        elif argument == SCHEDULED_OPTION:
            scheduled = True
        elif argument == "--db" or argument.startswith("--db="):
            value = argument.partition("=")[2] if "=" in argument else (rest.pop(1) if len(rest) > 1 else "")
            if not value:
                raise UsageError("--db needs a path: --db PATH or --db=PATH")
            db = Path(value).resolve()
        else:
            break
        rest.pop(0)
    return Options(db=db, scheduled=scheduled, help=show_help, task_arguments=rest)


@dataclass(frozen=True)
class LocalRun:
    """The outcome of one launch: the process's exit code and the row it left."""

    execution_id: int
    table_prefix: str
    returncode: int
    row: ExecutionRow
    params: list[str]
    stdout: str | None = None
    stderr: str | None = None
    #: The Spring Batch job executions the run recorded (`context.job()`), with their steps.
    jobs: list[JobRecord] = field(default_factory=list)


def launch(
    db: LocalScdfDatabase,
    arguments: Sequence[str] = (),
    *,
    style: str = "local",
    task_name: str = DEFAULT_TASK_NAME,
    script: Path = TASK_SCRIPT,
    environ: Mapping[str, str] | None = None,
    capture: bool = False,
    timeout: float | None = None,
    scheduled: bool = False,
    boot_version: str = "2",
) -> LocalRun:
    """Inserts an execution row and runs `script` with `arguments`, as SCDF launches a task.

    `scheduled`: no row and no execution id, as a schedule launches it; the task creates the row.
    `boot_version` "3": with the properties SCDF 2.11 adds for a Boot 3 app (`BOOT3_` tables).
    """
    base_env = {k: v for k, v in (os.environ if environ is None else environ).items()}
    base_env.pop("SPRING_APPLICATION_JSON", None)
    properties = {
        "spring.cloud.task.name": task_name,
        "spring.datasource.url": db.jdbc_url,
        "spring.datasource.driverClassName": "org.sqlite.JDBC",
        **(BOOT3_PROPERTIES if boot_version == "3" else {}),
    }
    # The tables are the ones the task will write: SCDF's properties, overridden by arguments.
    launch_env = {**base_env, "SPRING_APPLICATION_JSON": json.dumps(properties)}
    settings = LaunchSettings.parse(arguments, launch_env)
    prefix = settings.table_prefix()
    db.create_tables(prefix)
    batch = BatchSchema.from_settings(settings)
    db.create_batch_tables(batch.prefix, batch5=batch.batch5, task_prefix=prefix)
    if scheduled:
        last_before = db.last_execution_id(prefix)
        argv, env = _channels(style, properties, list(arguments))
    else:
        execution_id = db.create_execution(task_name, prefix)
        argv, env = _channels(
            style, properties, [*arguments, f"--spring.cloud.task.executionid={execution_id}"]
        )
    command = [sys.executable, str(script), *argv]
    process = subprocess.Popen(
        command,
        cwd=script.parent,
        env={**base_env, **env},
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        text=True,
    )
    # Ctrl-C reaches the task too; it records the stop, and this process waits to report it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    code = process.returncode if process.returncode >= 0 else 128 - process.returncode
    if scheduled:
        created = db.execution_ids(task_name, prefix, after=last_before)
        if len(created) != 1:
            raise RuntimeError(
                f"the scheduled run created {len(created)} rows in {prefix}EXECUTION, not one: "
                f"exit code {code}{_output(stderr)}"
            )
        execution_id = created[0]
    row = db.execution(execution_id, prefix)
    if row is None:
        raise RuntimeError(f"execution {execution_id} was deleted from {prefix}EXECUTION during the run")
    jobs = db.jobs(execution_id, batch.prefix, prefix)
    return LocalRun(execution_id, prefix, code, row, db.params(execution_id, prefix), stdout, stderr, jobs)


def _channels(
    style: str, properties: dict[str, str], arguments: list[str]
) -> tuple[list[str], dict[str, str]]:
    """Command line and environment for one launch style, as SCDF's deployers build them."""
    if style == "local":  # docker run -e SPRING_APPLICATION_JSON=... image <arguments>
        return arguments, {"SPRING_APPLICATION_JSON": json.dumps(properties)}
    if style == "exec":
        return [f"--{k}={v}" for k, v in properties.items()] + arguments, {}
    if style == "boot":
        return arguments, {"SPRING_APPLICATION_JSON": json.dumps(properties)}
    if style == "shell":
        pairs = dict(properties)
        for argument in arguments:
            key, _, value = argument.removeprefix("--").partition("=")
            pairs[key] = value
        return [], {k.replace(".", "_").upper(): v for k, v in pairs.items()}
    raise ValueError(f"unknown launch style {style!r}; one of {', '.join(STYLES)}")


def _output(stderr: str | None) -> str:
    return f", stderr:\n{stderr}" if stderr else ""


def report(run: LocalRun) -> str:
    """What SCDF would show for the execution."""
    row = run.row

    def shown(value: object) -> str:
        return "(null)" if value is None else str(value)

    lines = [
        f"Task execution {run.execution_id} ({shown(row.task_name)}): {row.status}",
        f"  table:         {run.table_prefix}EXECUTION",
        f"  start time:    {shown(row.start_time)}",
        f"  end time:      {shown(row.end_time)}",
        f"  exit code:     {shown(row.exit_code)}",
        f"  external id:   {shown(row.external_execution_id)}",
        f"  exit message:  {shown(row.exit_message)}",
        "  error message: " + shown(row.error_message).rstrip().replace("\n", "\n                 "),
        f"  parameters:    {' '.join(run.params) if run.params else '(none)'}",
        f"  process exit code: {run.returncode}",
    ]
    for job in run.jobs:
        lines.append(
            f"Job execution {job.execution_id} ({job.name}, instance {job.instance_id}): "
            f"{job.status}, exit code {job.exit_code}"
        )
        lines += [
            f"  step {s.name}: {s.status}, read {s.read_count}, written {s.write_count}, "
            f"commits {s.commit_count}"
            for s in job.steps
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = parse_options(sys.argv[1:] if argv is None else argv)
    except UsageError as error:
        print(f"local_run: {error}; see python -m util.local_run --help", file=sys.stderr)
        return 2
    if options.help:
        print(USAGE, end="")
        return 0
    options.db.parent.mkdir(parents=True, exist_ok=True)
    db = LocalScdfDatabase(options.db, prefixes=())
    try:
        run = launch(
            db,
            options.task_arguments,
            task_name=PROJECT_TASK_NAME,
            boot_version=PROJECT_BOOT_VERSION,
            scheduled=options.scheduled,
        )
    finally:
        db.dispose()
    print(f"SCDF's database stood in for by {options.db}", report(run), sep="\n", flush=True)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
