"""The task: your code goes in `task()`.

`run_task` does the SCDF part: it checks the execution row SCDF created, records the start, runs
`task()`, and records the end whatever happens (return, exception, `sys.exit(n)`, SIGTERM from
`task execution stop`), then exits with the task's exit code.

Try it locally: `python -m util.local_run --work.seconds=2` or `--error.message=boom`.
"""

import logging
import time

from util.task_lifecycle import TaskContext, run_task

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
    print("Python task done", flush=True)


if __name__ == "__main__":
    run_task(task)
