"""What a task body gets: its launch's settings, typed, its execution id, and batch jobs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Final

from util.launch import Launch
from util.records import FrozenRecord, Record
from util.task_args import LaunchSettings, TypedSettings

if TYPE_CHECKING:
    from util.batch_job import Job
    from util.bounded_write import WriteEngine
    from util.stop import StopSignals


class JobHooks(FrozenRecord):
    """What `TaskContext.job()` records through: the execution's write engine (the one its row
    and lock use), the row's clock, and the run's stop."""

    _fields = __slots__ = ("engine", "clock", "signals")
    engine: Final[WriteEngine]
    clock: Final[Callable[[], datetime]]
    signals: Final[StopSignals]

    def __init__(self, engine: WriteEngine, clock: Callable[[], datetime], signals: StopSignals) -> None:
        self.engine = engine
        self.clock = clock
        self.signals = signals


class TaskContext(TypedSettings, Record):
    """What a task body gets: its settings, typed (`context.get_float("work.seconds", 1.0)`), and
    a way to set an exit message on purpose."""

    # No __slots__: a body may keep attributes of its own on its context, as on any object.
    _fields = ("launch", "execution_id", "exit_message", "_job_hooks")
    _hidden = frozenset({"_job_hooks"})
    launch: Launch
    execution_id: int
    #: Left None, EXIT_MESSAGE stays NULL. Set it only for composed-task transitions
    #: (`mytask 'SKIPPED' -> other`): any value becomes the step's status.
    exit_message: str | None
    #: What `job()` records through: set by `util.task_lifecycle.execute()` for the body.
    _job_hooks: JobHooks | None

    def __init__(
        self,
        launch: Launch,
        execution_id: int,
        exit_message: str | None = None,
        _job_hooks: JobHooks | None = None,
    ) -> None:
        self.launch = launch
        self.execution_id = execution_id
        self.exit_message = exit_message
        self._job_hooks = _job_hooks

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
            hooks.engine,
            self.launch,
            name,
            parameters,
            task_id=self.execution_id,
            clock=hooks.clock,
            hold=hooks.signals.held,
            redact=hooks.engine.redactor.redact,
        )
