"""One bounded, retried database write: the engine every write to SCDF's tables goes through.

The execution row (`util.task_status`), the single-instance lock (`util.single_instance`) and the
batch records (`util.batch_job`) all write through `WriteEngine.run()`. A write:

- runs on a fresh, short connection, in one transaction, committed at once;
- is retried while its error is transient by the driver's code (`util.db_adapter`), and is told
  by `retry` that an earlier attempt may have committed (its reply lost), so it can be safe;
- finishes or gives up within its deadline (`task.db.connect-deadline`), whatever the driver does.

That last point is this module's and not the driver's: driver timeouts do not bound every wait.
python-oracledb's thin mode waits forever on a listener that accepts and never answers, whatever
timeout is set; FreeTDS (pymssql) gives up only after twice its login timeout and some seconds
more; Db2's CLI driver keeps trying a refused port for seconds. So each attempt runs in a worker
thread while the caller waits on its own clock. At the attempt's limit the connection's socket is
cut where the driver exposes it (the blocked call then fails at once with the driver's own
"connection lost" error, which is retried); an attempt that still has not returned is abandoned:
its daemon thread is left to end by itself and does not commit when its call returns (a commit
already under way may still land, as one whose reply was lost does), and it never holds the
process. Every driver releases the GIL while it waits on the network, so the caller keeps its
clock.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Self

from util.db_api import Adapter, Connection, Cursor, DbTarget, Fault, Timeouts, address
from util.redaction import Redactor

log = logging.getLogger(__name__)

#: What a write does on one connection: `work(cursor, retry)`.
Work = Callable[[Cursor, bool], None]

#: How often the waiting caller looks at its clock (and at a deadline a stop signal tightened).
_POLL = 0.02
#: How long a cut connection's driver gets to return its own error before the attempt is abandoned.
_CUT_GRACE = 0.5
#: Pauses between attempts: doubled from the first up to the last.
_FIRST_PAUSE, _LONGEST_PAUSE = 0.25, 2.0
#: Less time than this left, no further attempt starts: it could not end in time, would be
#: abandoned at the deadline, and its "no answer" would replace the last real error. The least
#: time limit an attempt gets (`_attempt`), so that no attempt is started only to be cut.
_LEAST_ROOM = 0.1


#: Attempts abandoned in this process, by any engine (see `left_behind()`).
_left_behind = 0


def left_behind() -> int:
    """How many attempts this process abandoned while their driver call still ran.

    Such a call may keep the interpreter's shutdown waiting (Db2's CLI driver does, for
    seconds), so a process that has any leaves with `os._exit` once its output is flushed.
    """
    return _left_behind


class WriteError(RuntimeError):
    """A write could not be done; the message is safe to log (no secrets) and names what to check.

    The engine's own error. The row, the lock and a batch job each raise an error type of their
    own built on it (`WriteError.of`), so a caller can tell whose write failed, or catch them all.
    """

    def __init__(self, message: str, fault: Fault | None = None, *, uncertain: bool = False) -> None:
        super().__init__(message)
        #: Why the write failed, when a database error was the cause.
        self.fault = fault
        #: Whether an attempt was connected when it failed or was given up: its transaction may
        #: have committed all the same (a COMMIT the server had, its reply lost or too late).
        self.uncertain = uncertain

    @classmethod
    def of(cls, error: WriteError) -> Self:
        """`error` as this type: the same message, fault, certainty and traceback."""
        if isinstance(error, cls):
            return error
        return cls(str(error), error.fault, uncertain=error.uncertain).with_traceback(error.__traceback__)


class _ConnectError(Exception):
    """Setting up the connection failed (as opposed to a statement on an open one)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _NoAnswerError(Exception):
    """An attempt passed its limit and was abandoned: the database did not answer in time."""

    def __init__(self, message: str, *, connecting: bool) -> None:
        super().__init__(message)
        #: Whether the driver was still setting up the connection.
        self.connecting = connecting


class _Attempt:
    """One connection and one run of the work, in a thread of its own."""

    def __init__(
        self,
        adapter: Adapter,
        target: DbTarget,
        timeouts: Timeouts,
        work: Work,
        *,
        retry: bool,
        isolate: bool,
    ) -> None:
        self._adapter = adapter
        self._target = target
        self._timeouts = timeouts
        self._work = work
        self._retry = retry
        self._isolate = isolate
        #: Set once the driver returned a connection: what a cut shuts down.
        self.connection: Connection | None = None
        self.error: BaseException | None = None
        #: Set by the caller that stopped waiting: the work's transaction must not be committed.
        self.abandoned = False
        self.done = threading.Event()

    def run(self) -> None:
        try:
            try:
                connection = self._adapter.connect(self._target, self._timeouts)
            except Exception as error:  # noqa: BLE001 - handed to the caller, which classifies it
                self.error = _ConnectError(error)
                return
            self.connection = connection
            with contextlib.closing(connection):
                if self._isolate:
                    self._adapter.read_committed(connection)
                cursor = connection.cursor()
                try:
                    self._work(cursor, self._retry)
                finally:
                    cursor.close()
                if not self.abandoned:  # closed uncommitted: the caller has moved on
                    connection.commit()
        except BaseException as error:  # noqa: BLE001 - handed to the caller, which classifies it
            self.error = error
        finally:
            self.done.set()


class WriteEngine:
    """Bounded, retried writes to one database (the hosts of one JDBC URL, tried in order)."""

    def __init__(
        self,
        targets: Sequence[DbTarget],
        adapter: Adapter,
        *,
        deadline: float,
        timeouts: Timeouts,
        redactor: Redactor,
        guard: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
    ) -> None:
        if not targets:
            raise WriteError("No database URL given")
        self.adapter = adapter
        self._targets = list(targets)
        self._deadline = deadline
        self._timeouts = timeouts
        #: What every message this engine makes is masked with; the row masks its texts with it too.
        self.redactor = redactor
        self._guard = guard
        #: Set by `stop_within()`: no write may last past this (monotonic) time.
        self._stop_at: float | None = None
        #: Attempts left running in the background, for the log at the end.
        self.abandoned = 0

    def stop_within(self, seconds: float) -> None:
        """From now on, every write (also one under way) ends within `seconds`.

        Safe to call from a signal handler: it only assigns an attribute, which the waiting
        caller reads on each look at its clock.
        """
        at = time.monotonic() + seconds
        self._stop_at = at if self._stop_at is None else min(self._stop_at, at)

    def stop_left(self) -> float | None:
        """Seconds left before the time `stop_within()` set (0 when past), None when not set."""
        return None if self._stop_at is None else max(self._stop_at - time.monotonic(), 0.0)

    def new_deadline(self) -> float:
        """The monotonic time a write starting now must be done by."""
        return self._limit(time.monotonic() + self._deadline)

    def where(self, target: DbTarget | None = None) -> str:
        """The database and host, for messages: `the SQL Server database at db.example.com:1433`."""
        return f"the {self.adapter.label} database at {address(target or self._targets[0])}"

    def run(self, purpose: str, work: Work, *, until: float | None = None, isolate: bool = False) -> None:
        """Runs `work` in one committed transaction, retried while the errors are transient.

        `purpose` completes "Could not ..." in messages. `until`: a deadline shared by several
        writes (`new_deadline()`); by default one of its own. `isolate`: READ COMMITTED where the
        database's default is stricter. A WriteError the work raises ends the write as it is.
        """
        until = self.new_deadline() if until is None else until
        started = time.monotonic()
        attempt, pause, reason, connecting = 0, _FIRST_PAUSE, "", False
        # The host of the last attempt, which `reason` is about (not the next one in turn).
        tried = self._targets[0]
        uncertain = False
        # Only the main thread's writes hold stop signals back (a lock renewal runs in its own).
        guard = (
            self._guard()
            if threading.current_thread() is threading.main_thread()
            else contextlib.nullcontext()
        )
        with guard:
            if self._stop_at is not None and time.monotonic() >= self._stop_at:
                # Nothing could be done in the time left: not even tried, so the budget holds.
                raise WriteError(
                    f"Could not {purpose}: the stop grace (task.db.stop-grace) was used up", Fault.TRANSIENT
                )
            while True:
                for index, target in enumerate(self._targets, 1):
                    if attempt and self._limit(until) - time.monotonic() < _LEAST_ROOM:
                        self._wait(_LEAST_ROOM, until)  # to the deadline: the last error stands
                        break
                    attempt, tried = attempt + 1, target
                    try:
                        self._attempt(target, work, until, retry=attempt > 1, isolate=isolate)
                        return
                    except WriteError:
                        raise
                    except _NoAnswerError as silent:
                        reason, connecting = str(silent), silent.connecting
                        uncertain = uncertain or not silent.connecting
                    except _ConnectError as failed:
                        reason = self._fail_or_describe(
                            f"connect to {purpose}", target, failed.error, connected=False
                        )
                        connecting = True
                    except Exception as error:  # noqa: BLE001 - classified: only transient ones retried
                        reason = self._fail_or_describe(purpose, target, error, connected=True)
                        connecting, uncertain = False, True
                    what = f"connect to {purpose}" if connecting else purpose
                    # The next host at once, the first one again after the pause: said only
                    # when that comes before the deadline.
                    next_at = time.monotonic() + (0 if index < len(self._targets) else pause)
                    if next_at + _LEAST_ROOM <= self._limit(until):
                        log.warning("Could not %s (attempt %d), will retry: %s", what, attempt, reason)
                if time.monotonic() >= self._limit(until):
                    what = f"connect to {purpose}" if connecting else purpose
                    bound = "task.db.stop-grace" if self._limit(until) < until else "task.db.connect-deadline"
                    raise WriteError(
                        f"Could not {what}: gave up after {attempt} attempts in "
                        f"{time.monotonic() - started:.1f}s ({bound}); "
                        f"{self.where(tried)}: {reason}",
                        Fault.TRANSIENT,
                        uncertain=uncertain,
                    )
                self._wait(pause, until)
                pause = min(pause * 2, _LONGEST_PAUSE)

    def _limit(self, until: float) -> float:
        return until if self._stop_at is None else min(until, self._stop_at)

    def _wait(self, seconds: float, until: float) -> None:
        # In slices, so that a deadline a stop signal tightened meanwhile is kept.
        end = time.monotonic() + seconds
        while (now := time.monotonic()) < min(end, self._limit(until)):
            time.sleep(min(_POLL * 5, end - now))

    def _attempt(self, target: DbTarget, work: Work, until: float, *, retry: bool, isolate: bool) -> None:
        # A timeout of 0 would mean "no timeout" or "non-blocking" to some drivers.
        room = max(self._limit(until) - time.monotonic(), _LEAST_ROOM)
        timeouts = Timeouts(min(self._timeouts.connect, room), min(self._timeouts.statement, room))
        began = time.monotonic()
        limit = began + timeouts.connect + timeouts.statement
        attempt = _Attempt(self.adapter, target, timeouts, work, retry=retry, isolate=isolate)
        worker = threading.Thread(target=attempt.run, name="db-write", daemon=True)
        worker.start()
        cut_at: float | None = None
        while not attempt.done.wait(_POLL):
            now = time.monotonic()
            hard = self._limit(until)
            if cut_at is None and now >= min(limit, hard):
                cut_at = now
                connection = attempt.connection
                if connection is not None and self.adapter.cut(connection):
                    log.warning("A database call passed its time limit; the connection was cut")
                    continue
            if cut_at is not None and (now >= cut_at + _CUT_GRACE or now >= hard):
                attempt.abandoned = True
                self.abandoned += 1
                global _left_behind  # one count per process, read at exit
                _left_behind += 1
                raise _NoAnswerError(
                    f"no answer within {now - began:.1f}s (the attempt was abandoned)",
                    connecting=attempt.connection is None,
                )
        if attempt.error is not None:
            raise attempt.error

    def _fail_or_describe(
        self, purpose: str, target: DbTarget, error: BaseException, *, connected: bool
    ) -> str:
        """Raises a clear WriteError unless `error` is transient; returns its description."""
        fault = self.adapter.classify(error, connected=connected)
        reason = self.redactor.redact(self.adapter.describe(error))
        if fault is Fault.TRANSIENT:
            return reason
        where = self.where(target)
        if fault is Fault.LOGIN:
            message = (
                f"Could not {purpose}: {where} refused the login or does not exist; check "
                f"spring.datasource.username, password and url (not retried): {reason}"
            )
        elif fault is Fault.TLS:
            message = (
                f"Could not {purpose}: TLS could not be set up with {where}; check the TLS "
                f"settings of spring.datasource.url ({self.adapter.tls_settings}) and the server's "
                f"certificate (not retried): {reason}"
            )
        else:
            message = f"Could not {purpose} ({where}): {reason}"
        raise WriteError(message, fault) from None
