"""The task: your code goes in `task()`.

`run_task` does the SCDF part: it checks the execution row SCDF created, records the start, runs
`task()`, and records the end whatever happens (return, exception, `sys.exit(n)`, SIGTERM from
`task execution stop`), then exits with the task's exit code.

Try it locally: `python -m util.local_run --work.seconds=2` or `--error.message=boom`, and
`--orders.date=2024-01-01` for the sample batch job (`--orders.output=<folder>` that does not
exist fails its second step).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from util.task_args import exit_with_usage_when_asked
from util.task_lifecycle import TaskContext, run_task

if TYPE_CHECKING:  # every launch pays its imports: the job module loads only when a job runs
    from util.batch_job import Step

log = logging.getLogger("python_task")


def task(context: TaskContext) -> None:
    """Acknowledges the launch, works for `--work.seconds` (default 1), and fails on request."""
    print(f"Python task {context.task_name} started: execution {context.execution_id}", flush=True)
    seconds = context.get_float("work.seconds", 1.0)
    log.info("Working for %s seconds", seconds)
    time.sleep(seconds)
    # Launch with --error.message=<text> to see how a failure looks in SCDF.
    error_message = context.get_str("error.message")
    if error_message:
        raise RuntimeError(error_message)
    if context.get_str("orders.date"):
        import_orders(context)
    print("Python task done", flush=True)


def import_orders(context: TaskContext) -> None:
    """A two-step Spring Batch job, listed in SCDF's Jobs view with its steps and counts.

    Its instance is the job name plus the identifying parameters (here the date): SCDF's
    "restart" of a failed execution runs it again and skips the steps that completed.
    """
    from pathlib import Path  # here: only the sample job writes files, and every launch would load it

    count = context.get_int("orders.count", 3)
    date = context.get_str("orders.date", "")
    with context.job("import-orders", {"date": date}) as job:

        @job.step("extract")
        def extract(step: Step) -> None:
            step.read_count += count
            step.write_count += count

        @job.step("load")
        def load(step: Step) -> None:
            output = context.get_str("orders.output")
            if output:  # a folder that is not there fails the step; restart once it is
                Path(output, f"orders-{date}.csv").write_text("".join(f"{n}\n" for n in range(count)))
            step.read_count += count
            step.write_count += count


if __name__ == "__main__":
    exit_with_usage_when_asked()  # `--help` outside SCDF: how to run it locally
    run_task(task)
