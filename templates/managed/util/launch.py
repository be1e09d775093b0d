"""The launch, read once: what the task was launched to do, checked and typed, in one value.

`Launch.read(argv, environ)` merges every channel SCDF passes settings through (`util.task_args`)
and reads each setting the utilities act on, so a bad value stops the task before anything is
written, with a message that names it. The value then flows down unchanged: the write engine gets
the database targets and timings, the execution row its id, prefix and names, the lock its
settings, a batch job its table generation and the command line's job parameters. Nothing below
reads a setting again. The task body gets `settings` too, for settings of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Final

from util.db_api import DbTarget
from util.records import FrozenRecord
from util.task_args import LaunchSettings, TaskConfigError, validate_table_prefix

# --- the single-instance lock ------------------------------------------------------------

LOCK_ENABLED = "spring.cloud.task.single-instance-enabled"
LOCK_TTL = "spring.cloud.task.single-instance-lock-ttl"
#: Spring Cloud Task's default time to live: Integer.MAX_VALUE milliseconds.
DEFAULT_LOCK_TTL_MS = 2_147_483_647

# --- the batch tables --------------------------------------------------------------------

#: The table generation: `boot2` (Spring Batch 4.3) or `boot3` (Spring Batch 5).
SCHEMA_SETTING = "task.batch.schema"
#: What SCDF passes: the Batch table prefix, and the generation by name.
BATCH_PREFIX_SETTING = "spring.batch.jdbc.table-prefix"
SCHEMA_TARGET_SETTING = "spring.cloud.task.schemaTarget"
BOOT_VERSION_SETTING = "spring.cloud.deployer.bootVersion"
SCHEMAS = ("boot2", "boot3")
DEFAULT_BATCH_PREFIXES = {"boot2": "BATCH_", "boot3": "BOOT3_BATCH_"}


class LockSettings(FrozenRecord):
    """Spring Cloud Task's single-instance lock, as the launch asks for it."""

    _fields = __slots__ = ("ttl", "utc")
    ttl: Final[timedelta]
    #: Whether CREATED_DATE is UTC (Boot 3 / Spring Integration 6) rather than local time.
    utc: Final[bool]

    def __init__(self, ttl: timedelta, utc: bool) -> None:
        self.ttl = ttl
        self.utc = utc

    @classmethod
    def from_launch(cls, settings: LaunchSettings) -> LockSettings | None:
        """The lock this launch asks for, or None when single instance is not enabled."""
        if not settings.get_bool(LOCK_ENABLED, False):
            return None
        raw_ttl = (settings.get(LOCK_TTL) or "").strip()
        try:
            ttl_ms = int(raw_ttl) if raw_ttl else DEFAULT_LOCK_TTL_MS
        except ValueError:
            ttl_ms = 0
        if not 0 < ttl_ms <= DEFAULT_LOCK_TTL_MS:
            raise TaskConfigError(
                f"{LOCK_TTL} must be a whole number of milliseconds, 1 to {DEFAULT_LOCK_TTL_MS}"
            )
        boot3 = (
            settings.table_prefix() == "BOOT3_TASK_"
            or (settings.get(SCHEMA_TARGET_SETTING) or "").lower() == "boot3"
            or (settings.get(BOOT_VERSION_SETTING) or "").strip() == "3"
        )
        return cls(timedelta(milliseconds=ttl_ms), utc=boot3)


class BatchSchema(FrozenRecord):
    """Which Batch tables to write and how: the generation and its table prefix."""

    _fields = __slots__ = ("generation", "prefix")
    generation: Final[str]
    prefix: Final[str]

    def __init__(self, generation: str, prefix: str) -> None:
        self.generation = generation
        self.prefix = prefix

    @property
    def batch5(self) -> bool:
        return self.generation == "boot3"

    @classmethod
    def from_settings(cls, settings: LaunchSettings) -> BatchSchema:
        """`task.batch.schema`, else SCDF's `spring.cloud.task.schemaTarget`, else what the
        table prefixes say (`BOOT3_...` is boot3), else boot2."""
        named = settings.get(SCHEMA_SETTING) or settings.get(SCHEMA_TARGET_SETTING)
        prefix = settings.get(BATCH_PREFIX_SETTING)
        if named is None:
            task_prefix = settings.table_prefix()
            named = "boot3" if (prefix or task_prefix).upper().startswith("BOOT3_") else "boot2"
        generation = named.strip().lower()
        if generation not in SCHEMAS:
            raise TaskConfigError(f"{SCHEMA_SETTING} must be boot2 or boot3, got {named!r}")
        return cls(generation, validate_table_prefix(prefix or DEFAULT_BATCH_PREFIXES[generation]))


class WriteTiming(FrozenRecord):
    """How long the database writes may take (`task.db.*`), in seconds."""

    _fields = __slots__ = ("deadline", "connect_timeout", "statement_timeout", "stop_grace")
    #: One start or end write, retries included.
    deadline: Final[float]
    #: One attempt's connect, and each statement's answer.
    connect_timeout: Final[float]
    statement_timeout: Final[float]
    #: What the end write still gets after SIGTERM or SIGINT.
    stop_grace: Final[float]

    def __init__(
        self, deadline: float, connect_timeout: float, statement_timeout: float, stop_grace: float
    ) -> None:
        self.deadline = deadline
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self.stop_grace = stop_grace


class Launch(FrozenRecord):
    """Everything the utilities act on, read from one launch; build it with `Launch.read()`."""

    _fields = __slots__ = (
        "settings",
        "execution_id",
        "task_name",
        "row_task_name",
        "external_execution_id",
        "parent_execution_id",
        "table_prefix",
        "targets",
        "timing",
        "lock",
        "batch_schema",
        "secrets",
    )
    _hidden = frozenset({"settings", "targets", "secrets"})
    #: All settings, for the body's own (`TaskContext.get_int(...)` and the like).
    settings: Final[LaunchSettings]
    #: The row SCDF created; None for a scheduled launch, where the task creates its own.
    execution_id: Final[int | None]
    #: `spring.cloud.task.name` as given, and the name a row the task creates carries.
    task_name: Final[str | None]
    row_task_name: Final[str]
    external_execution_id: Final[str | None]
    parent_execution_id: Final[int | None]
    table_prefix: Final[str]
    #: Where to write: one target per host of a failover or load-balanced JDBC URL.
    targets: Final[tuple[DbTarget, ...]]
    timing: Final[WriteTiming]
    lock: Final[LockSettings | None]
    batch_schema: Final[BatchSchema]
    #: The values no output may show: the password, also inside the URL, and secret-named settings.
    secrets: Final[tuple[str, ...]]

    def __init__(
        self,
        settings: LaunchSettings,
        execution_id: int | None,
        task_name: str | None,
        row_task_name: str,
        external_execution_id: str | None,
        parent_execution_id: int | None,
        table_prefix: str,
        targets: tuple[DbTarget, ...],
        timing: WriteTiming,
        lock: LockSettings | None,
        batch_schema: BatchSchema,
        secrets: tuple[str, ...],
    ) -> None:
        self.settings = settings
        self.execution_id = execution_id
        self.task_name = task_name
        self.row_task_name = row_task_name
        self.external_execution_id = external_execution_id
        self.parent_execution_id = parent_execution_id
        self.table_prefix = table_prefix
        self.targets = targets
        self.timing = timing
        self.lock = lock
        self.batch_schema = batch_schema
        self.secrets = secrets

    @classmethod
    def read(cls, argv: Sequence[str], environ: Mapping[str, str]) -> Launch:
        """Reads and checks the launch; raises TaskConfigError (or JdbcUrlError) naming the setting."""
        return cls.from_settings(LaunchSettings.parse(argv, environ))

    @classmethod
    def from_settings(cls, settings: LaunchSettings) -> Launch:
        """The launch those merged settings describe (`read()`, for a caller that masks
        `settings.secrets()` in its output before any setting is checked)."""
        return cls(
            settings=settings,
            execution_id=settings.execution_id(),
            task_name=settings.task_name(),
            row_task_name=settings.resolved_task_name(),
            external_execution_id=settings.external_execution_id(),
            parent_execution_id=settings.parent_execution_id(),
            table_prefix=settings.table_prefix(),
            targets=tuple(settings.db_urls()),
            timing=WriteTiming(
                settings.connect_deadline(),
                settings.connect_timeout(),
                settings.statement_timeout(),
                settings.stop_grace(),
            ),
            lock=LockSettings.from_launch(settings),
            batch_schema=BatchSchema.from_settings(settings),
            secrets=tuple(settings.secrets()),
        )

    @property
    def arguments(self) -> tuple[str, ...]:
        """The command-line arguments exactly as given: the execution's recorded parameters."""
        return self.settings.arguments
