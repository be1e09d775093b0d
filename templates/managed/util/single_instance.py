"""One run at a time per task name: Spring Cloud Task's single-instance lock in `<prefix>LOCK`.

With `spring.cloud.task.single-instance-enabled=true`, Spring Cloud Task's
SingleInstanceTaskListener takes a lock from Spring Integration's JDBC lock registry
(DefaultLockRepository, table prefix = the task's) after the execution row is started, and a run
that cannot get it fails with `Task with name "<name>" is already running.`, recorded in its own
row. The same row values are written here, so that Python and Java runs of one task exclude each
other:

- LOCK_KEY: the name-based (MD5, version 3) UUID of the task name, as `UUIDConverter` makes it;
- REGION: `DEFAULT`;
- CLIENT_ID: the name-based UUID of the execution id (the listener's client id);
- CREATED_DATE: when the lock was taken or last renewed. A lock older than the time to live
  (`spring.cloud.task.single-instance-lock-ttl`, milliseconds, default 2147483647, about 24.8
  days) is expired and may be taken over: that is how a lock left by a killed run goes away.

The settings are read with the launch (`util.launch.LockSettings`), and the lock writes through
the execution's own write engine. Taking it is Spring Integration's `acquire`: UPDATE the row
when it is ours or expired, else INSERT; a duplicate key means another run holds it. A Java
holder renews CREATED_DATE every 500 ms; a thread here renews it well within the time to live,
so a short TTL never lets a second run in while the first is alive.

The clock of CREATED_DATE follows the Java side of the same table generation: Spring Integration
5.x (Spring Cloud Task 2.x, Boot 2 apps, `TASK_` tables) writes the JVM's local time, 6.x (Spring
Cloud Task 3.x, Boot 3 apps, SCDF 2.11's `BOOT3_TASK_` tables) writes UTC.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import UTC, datetime

from util.bounded_write import WriteEngine, WriteError
from util.db_api import Cursor
from util.launch import LockSettings
from util.task_args import validate_table_prefix

log = logging.getLogger(__name__)

REGION = "DEFAULT"
#: How long a start keeps trying before it gives up (the Java leader initiator's heartbeat) ...
ACQUIRE_WAIT = 0.5
#: ... and the pause between tries (JdbcLockRegistry's idleBetweenTries).
ACQUIRE_IDLE = 0.1
#: Renewals stay this far inside the time to live, and are never rarer than MAX_RENEW_INTERVAL.
RENEWALS_PER_TTL = 4
MAX_RENEW_INTERVAL = 30.0
#: How long a release waits for a renewal under way, when no stop set a shorter time.
RENEWAL_JOIN = 10.0

_UUID_FORM = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class TaskAlreadyRunningError(RuntimeError):
    """Another run of the same task holds the lock."""


class LockError(WriteError):
    """The lock could not be read or written; the message is safe to log."""


class _TakenError(WriteError):
    """The lock's key is held by another run (or the database asked to try again): no retry."""


def lock_uuid(value: str) -> str:
    """Spring Integration's UUIDConverter for a string: itself if it is a UUID, else its
    name-based UUID (java.util.UUID.nameUUIDFromBytes of the UTF-8 bytes)."""
    # Imported here: uuid loads platform, hashlib OpenSSL's libcrypto (psycopg does not load it),
    # and only single-instance launches need them.
    import hashlib
    import uuid

    if _UUID_FORM.fullmatch(value):
        return str(uuid.UUID(value))
    digest = hashlib.md5(value.encode("utf-8"), usedforsecurity=False).digest()
    return str(uuid.UUID(bytes=digest, version=3))


class SingleInstanceLock:
    """The `<prefix>LOCK` row of one task name, held by one execution."""

    def __init__(
        self,
        engine: WriteEngine,
        table_prefix: str,
        task_name: str,
        execution_id: int,
        settings: LockSettings,
    ) -> None:
        """The lock of `task_name` for `execution_id`, written through the execution's `engine`."""
        self.table = f"{validate_table_prefix(table_prefix)}LOCK"
        self.task_name = task_name
        self.lock_key = lock_uuid(task_name)
        self.client_id = lock_uuid(str(execution_id))
        self._engine = engine
        self._settings = settings
        self._held = False
        self._stop_renewing = threading.Event()
        self._renewer: threading.Thread | None = None

    def now(self) -> datetime:
        """CREATED_DATE's clock, naive, to the microsecond as DATETIME(6) keeps it."""
        return datetime.now(UTC).replace(tzinfo=None) if self._settings.utc else datetime.now()

    def acquire(self) -> None:
        """Takes the lock or raises TaskAlreadyRunningError; keeps it renewed until `release()`."""
        deadline = time.monotonic() + ACQUIRE_WAIT
        while True:
            if self._try_acquire():
                self._held = True
                self._start_renewing()
                log.info("Single instance: lock on task name %r taken in %s", self.task_name, self.table)
                return
            if time.monotonic() >= deadline:
                raise TaskAlreadyRunningError(f'Task with name "{self.task_name}" is already running.')
            time.sleep(ACQUIRE_IDLE)

    def release(self) -> None:
        """Deletes the lock row if this execution holds it; never raises (logs instead)."""
        if not self._held:
            return
        self._stop_renewing.set()
        if self._renewer is not None:
            # A renewal under way ends by itself within its deadline, or by the stop's budget.
            left = self._engine.stop_left()
            self._renewer.join(timeout=RENEWAL_JOIN if left is None else left)
        delete = f"DELETE FROM {self.table} WHERE REGION = ? AND LOCK_KEY = ? AND CLIENT_ID = ?"

        def release(cursor: Cursor, retry: bool) -> None:
            cursor.execute(self._engine.adapter.sql(delete), self._key())

        try:
            self._engine.run(f"release the lock in {self.table}", release)
            self._held = False
            log.info("Single instance: lock on task name %r released", self.task_name)
        except Exception as error:  # noqa: BLE001 - any failure: the lock then expires
            # Left behind, the lock expires after its time to live, as a Java run's would.
            log.error("Single instance: the lock could not be released: %s", self._describe(error))

    # --- Spring Integration's DefaultLockRepository statements --------------------------------

    def _try_acquire(self) -> bool:
        now = self.now()
        region, key, client = self._key()
        take = (
            f"UPDATE {self.table} SET CLIENT_ID = ?, CREATED_DATE = ? WHERE REGION = ? "
            "AND LOCK_KEY = ? AND (CLIENT_ID = ? OR CREATED_DATE < ?)"
        )
        insert = f"INSERT INTO {self.table} (REGION, LOCK_KEY, CLIENT_ID, CREATED_DATE) VALUES (?, ?, ?, ?)"
        adapter = self._engine.adapter

        def take_or_insert(cursor: Cursor, retry: bool) -> None:
            try:
                cursor.execute(
                    adapter.sql(take), (client, now, region, key, client, now - self._settings.ttl)
                )
                if cursor.rowcount > 0:
                    return
                cursor.execute(adapter.sql(insert), (region, key, client, now))
            except Exception as error:
                # A duplicate key: another run holds the lock and it has not expired. A deadlock
                # or serialization failure: the database asks to try again, which acquire() does.
                if adapter.is_duplicate_key(error) or adapter.is_conflict(error):
                    raise _TakenError("taken") from None
                raise

        try:
            # READ COMMITTED, as Spring Integration 6 takes it: under MySQL's REPEATABLE READ two
            # runs' UPDATEs of a missing row take gap locks and their INSERTs deadlock.
            self._engine.run(f"take the lock in {self.table}", take_or_insert, isolate=True)
            return True
        except _TakenError:
            return False
        except WriteError as error:
            raise LockError.of(error) from None

    def _renew(self) -> None:
        renew = (
            f"UPDATE {self.table} SET CREATED_DATE = ? WHERE REGION = ? AND LOCK_KEY = ? AND CLIENT_ID = ?"
        )

        def renew_it(cursor: Cursor, retry: bool) -> None:
            cursor.execute(self._engine.adapter.sql(renew), (self.now(), *self._key()))
            if cursor.rowcount == 0 and not retry:
                log.warning("Single instance: the lock on %r was lost (expired or removed)", self.task_name)

        self._engine.run(f"renew the lock in {self.table}", renew_it)

    def _start_renewing(self) -> None:
        interval = min(self._settings.ttl.total_seconds() / RENEWALS_PER_TTL, MAX_RENEW_INTERVAL)

        def renew_until_released() -> None:
            while not self._stop_renewing.wait(interval):
                try:
                    self._renew()
                except Exception as error:  # noqa: BLE001 - any driver error: the next renewal tries again
                    log.warning("Single instance: the lock could not be renewed: %s", self._describe(error))

        self._renewer = threading.Thread(target=renew_until_released, name="lock-renewal", daemon=True)
        self._renewer.start()

    def _key(self) -> tuple[str, str, str]:
        return (REGION, self.lock_key, self.client_id)

    def _describe(self, error: BaseException) -> str:
        return self._engine.redactor.redact(f"{type(error).__name__}: {error}")
