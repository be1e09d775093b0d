"""Runs a task body between the start and end records SCDF relies on, whatever way it ends.

A body can return, raise, call `sys.exit(n)` or be stopped: `task execution stop` on Kubernetes
deletes the pod, which sends SIGTERM (and SIGKILL after the grace period); Ctrl-C sends SIGINT.
In each case the row gets END_TIME and an exit code before the process exits with that code, so
SCDF and the Composed Task Runner never wait on a row left RUNNING. Python running as PID 1 in a
container ignores SIGTERM unless it installs a handler, so handlers are installed here. A signal
that comes during a database write lets the write finish within `task.db.stop-grace` seconds;
then the process exits with 128 + the signal number whatever happened, before the platform's own
grace period ends in SIGKILL.

How the parts fit: the launch is read and checked once (`util.launch.Launch`); the database is
opened once (`util.database`: the adapter, and the bounded write engine of `util.bounded_write`);
the row (`util.task_status`), the single-instance lock (`util.single_instance`) and a batch job
(`util.batch_job`) are given what they need from the launch and all write through that engine.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from util.bounded_write import left_behind
from util.database import open_engine
from util.db_api import Timeouts
from util.jdbc_url import JdbcUrlError
from util.launch import Launch, LockSettings
from util.redaction import Redactor, install_log_redaction
from util.single_instance import LockError, SingleInstanceLock, TaskAlreadyRunningError
from util.task_args import LaunchSettings, TaskConfigError, TypedSettings
from util.task_status import TaskStatus, TaskStatusError

if TYPE_CHECKING:
    from util.batch_job import Job

log = logging.getLogger(__name__)

#: Exit code when the task could not start or its end could not be recorded.
SETUP_FAILURE = 1

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

#: After the stop grace, the writes have ended on their own; this is for a driver call that
#: cannot be interrupted.
_HARD_EXIT_MARGIN = 1.0


class TaskStopped(BaseException):
    """Raised in the body when the process receives SIGTERM or SIGINT.

    A BaseException, like KeyboardInterrupt, so that a body's `except Exception` does not
    swallow the stop.
    """

    def __init__(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        super().__init__(f"Task stopped by {self.signal_name}")
        self.exit_code = 128 + signum  # the shell's convention: 143 for SIGTERM, 130 for SIGINT


@dataclass
class TaskContext(TypedSettings):
    """What a task body gets: its settings, typed (`context.get_float("work.seconds", 1.0)`), and
    a way to set an exit message on purpose."""

    launch: Launch
    execution_id: int
    #: Left None, EXIT_MESSAGE stays NULL. Set it only for composed-task transitions
    #: (`mytask 'SKIPPED' -> other`): any value becomes the step's status.
    exit_message: str | None = None

    #: What `job()` records through: set by `execute()` for the body.
    _job_hooks: _JobHooks | None = field(default=None, repr=False)

    @property
    def settings(self) -> LaunchSettings:
        """Every setting of the launch, from all channels."""
        return self.launch.settings

    @property
    def task_name(self) -> str | None:
        """`spring.cloud.task.name` as SCDF passed it."""
        return self.launch.task_name

    def get(self, name: str, default: str | None = None) -> str | None:
        """A launch setting or argument, in any of Spring's relaxed forms."""
        return self.settings.get(name, default)

    def _launch_settings(self) -> LaunchSettings:
        return self.settings

    def job(self, name: str, parameters: Mapping[str, object] | None = None) -> Job:
        """A Spring Batch job execution for SCDF's Jobs view: `with context.job(name, params) as job:`.

        See `util.batch_job`: steps, counts, restart.
        """
        from util.batch_job import open_job

        hooks = self._job_hooks
        if hooks is None:
            raise RuntimeError("context.job() records into the task execution: run the body with run_task()")
        return open_job(
            hooks.status,
            self.launch,
            name,
            parameters,
            resume=hooks.signals.allow,
            on_stop=lambda: hooks.status.stop_within(self.launch.timing.stop_grace),
            redact=hooks.status.engine.redactor.redact,
        )


@dataclass(frozen=True)
class _JobHooks:
    status: TaskStatus
    signals: _StopSignals


@dataclass
class _Outcome:
    exit_code: int
    error_message: str | None = None


@dataclass
class _StopSignals:
    """Turns stop signals into TaskStopped while the body runs, and holds them back otherwise."""

    interruptible: bool = True
    pending: int | None = None
    #: Called once with the signal number when a signal is held back.
    on_hold: Callable[[int], None] | None = None
    _previous: dict[int, object] = field(default_factory=dict)

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            log.warning("Not in the main thread: SIGTERM/SIGINT will not be recorded in the row")
            return
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.interruptible:
            raise TaskStopped(signum)
        log.warning("Received %s; finishing the database write first", signal.Signals(signum).name)
        first = self.pending is None
        self.pending = self.pending or signum
        if first and self.on_hold is not None:
            self.on_hold(signum)

    @contextmanager
    def held_back(self) -> Iterator[None]:
        """A database write must not be cut in half: signals wait, until `allow()` at least."""
        self.interruptible = False
        yield

    def allow(self) -> None:
        """Lets signals interrupt again, first delivering one that arrived meanwhile."""
        self.interruptible = True
        if self.pending is not None:
            signum, self.pending = self.pending, None
            raise TaskStopped(signum)


def execute(
    body: Callable[[TaskContext], object],
    *,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Runs `body` as an SCDF task execution and returns the exit code to leave with.

    `argv`/`environ` default to this process's; tests pass their own.
    """
    signals = _StopSignals()
    signals.install()
    uninstall_logging = install_log_redaction(Redactor())
    status: TaskStatus | None = None
    hard_exit = _HardExit()
    lock: SingleInstanceLock | None = None
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
            launch = Launch.from_settings(settings)
            status = _open_status(launch, redactor, signals)
            signals.on_hold = _stop_within(status, launch.timing.stop_grace, hard_exit)
            execution_id = status.start(
                launch.arguments,
                task_name=launch.row_task_name,
                external_execution_id=launch.external_execution_id,
            )
            context = TaskContext(launch, execution_id, _job_hooks=_JobHooks(status, signals))
            if launch.lock is not None:
                lock = _single_instance(status, launch, launch.lock)
        except (TaskConfigError, JdbcUrlError, TaskStatusError) as error:
            log.error("Task not started: %s", error)
            return 128 + signals.pending if signals.pending else SETUP_FAILURE
        except (TaskAlreadyRunningError, LockError) as error:
            assert status is not None  # the lock is taken only once the row is started
            return _refused(status, error, signals)
        except TaskStopped as stop:
            log.error("%s before the task started; the row was not touched", stop)
            return stop.exit_code
        except Exception as error:  # a driver's own error, say: logged (redacted), never lost
            log.error("Task not started: %s", type(error).__name__, exc_info=error)
            return SETUP_FAILURE
        log.info("Task execution %d started (%sEXECUTION)", status.task_id, status.table_prefix)
        outcome = _run_body(body, context, signals, redactor)
        try:
            with signals.held_back():
                if outcome.exit_code == 0:
                    status.completed(exit_message=context.exit_message)
                else:
                    status.failed(outcome.exit_code, context.exit_message, outcome.error_message)
        except TaskStatusError as error:
            log.error("The end of the task could not be recorded: %s", error)
            return _leave_with(outcome.exit_code or SETUP_FAILURE, signals)
        except Exception as error:
            log.error("The end of the task could not be recorded", exc_info=error)
            return _leave_with(outcome.exit_code or SETUP_FAILURE, signals)
        log.info("Task execution %d ended with exit code %d", status.task_id, outcome.exit_code)
        return _leave_with(outcome.exit_code, signals)
    finally:
        # Released only after the end is recorded: the next run never starts beside a row that
        # still shows RUNNING.
        if lock is not None:
            lock.release()
        if status is not None:
            status.dispose()
        uninstall_logging()
        signals.restore()
        hard_exit.cancel()  # the process leaves now, in time: no need to force it


def run_task(
    body: Callable[[TaskContext], object],
    *,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> NoReturn:
    """Runs `body` as an SCDF task execution and exits the process with its exit code."""
    code = execute(body, argv=argv, environ=environ)
    sys.stdout.flush()
    if left_behind():
        # A driver call still blocked (an abandoned write) can hold the interpreter's shutdown
        # past the deadline the write kept: leave now, with everything written out.
        logging.shutdown()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def process_exit_code(code: int) -> int:
    """The exit status for a recorded exit code: the same success or failure for every code.

    A process exit status is `code & 0xFF`, so 256 or 512 would read as success: they leave
    with 1. Negative codes keep Python's own mapping (-1 leaves with 255).
    """
    status = code & 0xFF
    return 1 if code and not status else status


def _leave_with(exit_code: int, signals: _StopSignals) -> int:
    if signals.pending is not None:
        # Stopped during the end write: the platform asked for the stop, so it gets that code.
        return 128 + signals.pending
    status = process_exit_code(exit_code)
    if status != exit_code:
        log.warning(
            "Exit code %d recorded; the process exits with %d (exit statuses are 0-255)", exit_code, status
        )
    return status


class _HardExit:
    """Leaves the process at a set time even if a driver call cannot be interrupted.

    A daemon thread, started before any signal can come, polls one attribute: the signal
    handler only assigns it, since a handler must not take locks or start threads.
    """

    POLL = 0.1

    def __init__(self) -> None:
        self.at: float | None = None
        self.code = 0
        self._done = False
        threading.Thread(target=self._watch, name="hard-exit", daemon=True).start()

    def cancel(self) -> None:
        self._done = True

    def _watch(self) -> None:
        while not self._done:
            if self.at is not None and time.monotonic() >= self.at:
                log.error("The database write did not end within the stop grace; exiting with %d", self.code)
                logging.shutdown()
                os._exit(self.code)
            time.sleep(self.POLL)


def _stop_within(status: TaskStatus, grace: float, hard_exit: _HardExit) -> Callable[[int], None]:
    """What a signal held back during a write does: cut the writes short, and exit at the latest
    shortly after the grace."""

    def stop(signum: int) -> None:
        status.stop_within(grace)
        hard_exit.code = 128 + signum
        hard_exit.at = time.monotonic() + grace + _HARD_EXIT_MARGIN
        log.warning(
            "The end write gets at most %.1fs more; then the process exits with %d", grace, 128 + signum
        )

    return stop


def _open_status(launch: Launch, redactor: Redactor, signals: _StopSignals) -> TaskStatus:
    """The execution row, over the one write engine its lock and batch records share."""
    engine = open_engine(
        launch.targets,
        deadline=launch.timing.deadline,
        timeouts=Timeouts(launch.timing.connect_timeout, launch.timing.statement_timeout),
        redactor=redactor,
        guard=signals.held_back,
    )
    return TaskStatus(
        launch.execution_id, engine, launch.table_prefix, parent_execution_id=launch.parent_execution_id
    )


def _single_instance(status: TaskStatus, launch: Launch, lock_settings: LockSettings) -> SingleInstanceLock:
    """Spring Cloud Task takes the lock once the row is started (a @BeforeTask listener)."""
    assert status.task_id is not None
    lock = SingleInstanceLock(
        status.engine, status.table_prefix, launch.row_task_name, status.task_id, lock_settings
    )
    lock.acquire()
    return lock


def _refused(status: TaskStatus, error: Exception, signals: _StopSignals) -> int:
    """Spring Cloud Task's refusal: the run fails, and its own row says why."""
    log.error("Task refused: %s", error)
    try:
        with signals.held_back():
            status.failed(SETUP_FAILURE, error_message=f"{type(error).__name__}: {error}")
    except Exception as failure:  # the refusal stands, recorded or not
        log.error("The refusal could not be recorded", exc_info=failure)
    return SETUP_FAILURE


def _run_body(
    body: Callable[[TaskContext], object], context: TaskContext, signals: _StopSignals, redactor: Redactor
) -> _Outcome:
    try:
        try:
            signals.allow()
            body(context)
        finally:
            # From here until the process exits, a signal waits for the end to be recorded.
            signals.interruptible = False
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
