"""Runs a task body between the start and end records SCDF relies on, whatever way it ends.

A body can return, raise, call `sys.exit(n)` or be stopped (SIGTERM, SIGINT: see `util.stop`).
In each case the row gets END_TIME and an exit code before the process exits with that code, so
SCDF and the Composed Task Runner never wait on a row left RUNNING. A stop, wherever it arrives,
puts every write left (the end, the lock's release) on one budget, `task.db.stop-grace`; the
process then leaves with 128 + the signal number before the platform's own grace ends in SIGKILL.

How the parts fit: the launch is read and checked once (`util.launch.Launch`); the database is
opened once (`util.database`: the adapter, and the bounded write engine of `util.bounded_write`);
the row (`util.task_status`), the single-instance lock (`util.single_instance`) and a batch job
(`util.batch_job`) are given what they need from the launch and all write through that engine.
The body gets a `util.task_context.TaskContext`; `util.stop` owns the signals and
`util.exit_codes` the code the process leaves with.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn

from util.bounded_write import WriteError, left_behind
from util.database import open_engine
from util.db_api import Timeouts
from util.exit_codes import SETUP_FAILURE, leave_with, process_exit_code
from util.jdbc_url import JdbcUrlError
from util.launch import Launch, LockSettings
from util.redaction import Redactor, install_log_redaction
from util.stop import STOP_SIGNALS, HardExit, StopSignals, TaskStopped
from util.task_args import DEFAULT_STOP_GRACE, LaunchSettings, TaskConfigError
from util.task_context import JobHooks, TaskContext
from util.task_status import TaskStatus, TaskStatusError

if TYPE_CHECKING:  # loaded only by a launch that takes the single-instance lock
    from util.single_instance import SingleInstanceLock

log = logging.getLogger(__name__)

# Importable from here, where task code and tests have found them.
__all__ = [
    "SETUP_FAILURE",
    "STOP_SIGNALS",
    "TaskContext",
    "TaskStopped",
    "execute",
    "process_exit_code",
    "run_task",
]


class _Outcome:
    __slots__ = ("error_message", "exit_code")

    def __init__(self, exit_code: int, error_message: str | None = None) -> None:
        self.exit_code = exit_code
        self.error_message = error_message


class _Run:
    """What `execute()` opened, closed in its `finally` whatever happened."""

    __slots__ = ("lock", "signals", "status")

    def __init__(self, signals: StopSignals) -> None:
        self.signals = signals
        self.status: TaskStatus | None = None
        self.lock: SingleInstanceLock | None = None


def execute(
    body: Callable[[TaskContext], object],
    *,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Runs `body` as an SCDF task execution and returns the exit code to leave with.

    `argv`/`environ` default to this process's; tests pass their own.
    """
    hard_exit = HardExit()
    run = _Run(StopSignals(DEFAULT_STOP_GRACE, hard_exit))
    run.signals.install()
    uninstall_logging = install_log_redaction(Redactor())
    try:
        try:
            settings = LaunchSettings.parse(
                sys.argv[1:] if argv is None else argv,
                os.environ if environ is None else environ,
            )
            # Masked from here on, also in the message of a setting found unusable next.
            redactor = Redactor(settings.secrets())
            uninstall_logging()
            uninstall_logging = install_log_redaction(redactor)
            code = _run(body, run, settings, redactor)
        except TaskConfigError as error:
            log.error("Task not started: %s", error)
            code = SETUP_FAILURE
        _release_lock(run)
        # A stop at any point, the release included, is what the process leaves with.
        return leave_with(code, run.signals.exit_code())
    finally:
        _release_lock(run)  # when an error escaped before the release above
        if run.status is not None:
            run.status.dispose()
        uninstall_logging()
        run.signals.restore()
        hard_exit.cancel()  # the process leaves now, in time: no need to force it


def _release_lock(run: _Run) -> None:
    """Released only after the end is recorded: the next run never starts beside a row that still
    shows RUNNING. A stop meanwhile gives the release what is left of its budget."""
    if run.lock is not None:
        lock, run.lock = run.lock, None
        lock.release()


def _run(
    body: Callable[[TaskContext], object], run: _Run, settings: LaunchSettings, redactor: Redactor
) -> int:
    """Starts the row, takes the lock, runs the body, records the end: the code to record."""
    signals = run.signals
    try:
        launch = Launch.from_settings(settings)
        signals.grace = launch.timing.stop_grace
        status = run.status = _open_status(launch, redactor, signals)
        if signals.stopping:
            log.error("Task stopped by %s before the task started; the row was not touched", _name(signals))
            return SETUP_FAILURE
        try:
            execution_id = status.start()
        except TaskStatusError as error:
            _end_unknown_start(status, error, signals)
            raise
        context = TaskContext(launch, execution_id, _job_hooks=JobHooks(status.engine, status.clock, signals))
        if launch.lock is not None:
            # Here, not at the top: every launch would pay for the module, few take the lock.
            from util.single_instance import LockError, TaskAlreadyRunningError

            try:
                run.lock = _single_instance(status, launch, launch.lock)
            except (TaskAlreadyRunningError, LockError) as error:
                return _refused(status, error, signals)
    except (TaskConfigError, JdbcUrlError, WriteError) as error:
        # WriteError: the row's start (TaskStatusError), or a database that cannot be opened.
        log.error("Task not started: %s", error)
        return SETUP_FAILURE
    except Exception as error:  # a driver's own error, say: logged (redacted), never lost
        log.error("Task not started: %s", type(error).__name__, exc_info=error)
        return SETUP_FAILURE
    log.info("Task execution %d started (%sEXECUTION)", status.task_id, status.table_prefix)
    outcome = _run_body(body, context, signals, redactor)
    try:
        with signals.held():
            if outcome.exit_code == 0:
                status.completed(exit_message=context.exit_message)
            else:
                status.failed(outcome.exit_code, context.exit_message, outcome.error_message)
    except TaskStatusError as error:
        log.error("The end of the task could not be recorded: %s", error)
        return outcome.exit_code or SETUP_FAILURE
    except Exception as error:
        log.error("The end of the task could not be recorded", exc_info=error)
        return outcome.exit_code or SETUP_FAILURE
    log.info("Task execution %d ended with exit code %d", status.task_id, outcome.exit_code)
    return outcome.exit_code


def run_task(
    body: Callable[[TaskContext], object],
    *,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> NoReturn:
    """Runs `body` as an SCDF task execution and exits the process with its exit code."""
    # What is loaded by now (the driver, these modules, the task's own imports) lives as long as
    # the process: kept out of the cyclic collector's walks, during the run and in the full
    # collections of the interpreter's exit, it saves every launch about a tenth of its CPU time
    # (measured by generator-scdf-task's `npm run bench:task`). Objects made from here on are
    # collected as usual; run_task() ends the process, so nothing stays frozen past it.
    gc.freeze()
    code = execute(body, argv=argv, environ=environ)
    sys.stdout.flush()
    if left_behind():
        # A driver call still blocked (an abandoned write) can hold the interpreter's shutdown
        # past the deadline the write kept: leave now, with everything written out.
        logging.shutdown()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _name(signals: StopSignals) -> str:
    return signal.Signals(signals.signum).name if signals.signum is not None else "a signal"


def _open_status(launch: Launch, redactor: Redactor, signals: StopSignals) -> TaskStatus:
    """The execution row, over the one write engine its lock and batch records share."""
    engine = open_engine(
        launch.targets,
        deadline=launch.timing.deadline,
        timeouts=Timeouts(launch.timing.connect_timeout, launch.timing.statement_timeout),
        redactor=redactor,
        guard=signals.held,
    )
    signals.bind(engine)
    return TaskStatus.for_launch(launch, engine)


def _end_unknown_start(status: TaskStatus, error: TaskStatusError, signals: StopSignals) -> None:
    """A start write given up while connected may still commit (its COMMIT reached the server,
    the reply came too late): the row would then show RUNNING for good, SCDF's row as much as
    one a schedule's run creates (SCDF lists that under the task's name too). So the run ends
    the row as failed, within the stop grace, before it leaves: safe to repeat, and a row whose
    creation never landed is created ended (`TaskStatus.end_uncertain_start`)."""
    if not error.uncertain or status.task_id is None:
        return  # nothing can have committed, or not even the id of a row to create was taken
    log.warning("The start may have been recorded all the same; ending the row as failed")
    left = signals.time_left()
    status.stop_within(signals.grace if left is None else left)
    try:
        status.end_uncertain_start(signals.exit_code() or SETUP_FAILURE, f"Task not started: {error}")
    except Exception as failure:  # noqa: BLE001 - the start's failure is what is reported
        log.error("The row could not be ended: %s", failure)


def _single_instance(status: TaskStatus, launch: Launch, lock_settings: LockSettings) -> SingleInstanceLock:
    """Spring Cloud Task takes the lock once the row is started (a @BeforeTask listener)."""
    from util.single_instance import SingleInstanceLock

    assert status.task_id is not None
    lock = SingleInstanceLock(
        status.engine, status.table_prefix, launch.row_task_name, status.task_id, lock_settings
    )
    lock.acquire()
    return lock


def _refused(status: TaskStatus, error: Exception, signals: StopSignals) -> int:
    """Spring Cloud Task's refusal: the run fails, and its own row says why."""
    log.error("Task refused: %s", error)
    try:
        with signals.held():
            status.failed(
                signals.exit_code() or SETUP_FAILURE, error_message=f"{type(error).__name__}: {error}"
            )
    except Exception as failure:  # the refusal stands, recorded or not
        log.error("The refusal could not be recorded", exc_info=failure)
    return SETUP_FAILURE


def _run_body(
    body: Callable[[TaskContext], object], context: TaskContext, signals: StopSignals, redactor: Redactor
) -> _Outcome:
    try:
        # From its end until the process exits, a signal waits for the end to be recorded.
        with signals.body():
            body(context)
    except SystemExit as stop:
        return _exit_outcome(stop.code)
    except TaskStopped as stop:
        log.error("%s", stop)
        return _Outcome(stop.exit_code, _trace(stop, redactor))
    except KeyboardInterrupt as interrupt:
        return _Outcome(128 + signal.SIGINT, _trace(interrupt, redactor))
    except BaseException as error:  # every failure must reach the row
        log.error("Task failed", exc_info=error)
        return _Outcome(1, _trace(error, redactor))
    return _Outcome(0)


def _exit_outcome(code: object) -> _Outcome:
    """`sys.exit(code)` as Python would exit: None is 0, an int itself, anything else 1."""
    if code is None or isinstance(code, int):
        if code:
            log.error("Task called sys.exit(%d)", code)
        return _Outcome(int(code or 0))
    # Python prints such a message to stderr on exit; it is also the error to record.
    log.error("Task exited: %s", code)
    return _Outcome(1, str(code))


def _trace(error: BaseException, redactor: Redactor) -> str:
    return redactor.redact("".join(traceback.format_exception(error)))
