"""The stop of a task: SIGTERM or SIGINT, wherever it arrives, ends the run within one budget.

`task execution stop` on Kubernetes deletes the pod, which sends SIGTERM and, after the pod's
grace period (30 s by default), SIGKILL; Ctrl-C sends SIGINT. Python running as PID 1 in a
container ignores SIGTERM unless it installs a handler, so `StopSignals` installs one.

`StopSignals` is a small state machine, the one place that owns the stop:

- normal: the body runs; a signal raises `TaskStopped` in it at once;
- held: a database write (or a group of writes that must not be cut apart, like a batch job's
  start) is under way, or the task is outside its body; a signal waits, and is raised when the
  outermost hold is left inside the body. `held()` and `body()` are context managers that
  restore the state they found whatever way their block ends, so no failure can leave signals
  held for good;
- stopping: entered by the first signal, in either state, and never left. At that moment one
  budget starts, `task.db.stop-grace` seconds: every write engine bound with `bind()` (the row's,
  which the lock and batch jobs share) ends every remaining write by then, the write under way
  included, and a hard exit is armed shortly after it for a driver call that cannot be
  interrupted. The process then leaves with 128 + the signal number: 143 for SIGTERM, 130 for
  SIGINT, within the grace and a second, before the platform's own grace ends in SIGKILL.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Protocol

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

#: The hard exit fires this long after the budget: the writes have been abandoned by then, and
#: what remains (logging, the exit) takes milliseconds; the sum stays within the grace + 1 s.
HARD_EXIT_MARGIN = 0.5


class TaskStopped(BaseException):
    """Raised in the body when the process receives SIGTERM or SIGINT.

    A BaseException, like KeyboardInterrupt, so that a body's `except Exception` does not
    swallow the stop.
    """

    def __init__(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        super().__init__(f"Task stopped by {self.signal_name}")
        self.exit_code = stop_exit_code(signum)


def stop_exit_code(signum: int) -> int:
    """The shell's convention: 143 for SIGTERM, 130 for SIGINT."""
    return 128 + signum


class Budgeted(Protocol):
    """What a stop tightens: a write engine (`util.bounded_write.WriteEngine`)."""

    def stop_within(self, seconds: float) -> None: ...


class HardExit:
    """Leaves the process at a set time even if a driver call cannot be interrupted.

    A daemon thread, started before any signal can come, polls two attributes: the signal
    handler only assigns them, since a handler must not take locks or start threads.
    """

    POLL = 0.05

    def __init__(self) -> None:
        self.at: float | None = None
        self.code = 0
        self._done = False
        self._thread = threading.Thread(target=self._watch, name="hard-exit", daemon=True)
        self._thread.start()

    def arm(self, at: float, code: int) -> None:
        self.code = code
        self.at = at

    def cancel(self) -> None:
        self._done = True

    def _watch(self) -> None:
        while not self._done:
            if self.at is not None and time.monotonic() >= self.at:
                log.error(
                    "The stop grace is over and a database call still blocks; exiting with %d", self.code
                )
                logging.shutdown()
                os._exit(self.code)
            time.sleep(self.POLL)


class StopSignals:
    """Stop signals for one run: normal in the body, held during writes, then stopping."""

    def __init__(self, grace: float, hard_exit: HardExit | None = None) -> None:
        #: `task.db.stop-grace`: known once the launch is read; a stop before that gets the default.
        self.grace = grace
        #: The first stop signal's number, once one came: the state is then "stopping".
        self.signum: int | None = None
        #: The monotonic time every remaining write must be done by, once stopping.
        self.stop_at: float | None = None
        self._hard_exit = hard_exit
        self._in_body = False
        self._holds = 0
        #: Whether TaskStopped was raised already: a stop is raised in the body once.
        self._delivered = False
        self._bound: list[Budgeted] = []
        self._previous: dict[int, object] = {}

    # --- the state ------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self.signum is not None

    @property
    def interruptible(self) -> bool:
        """Whether a signal now raises TaskStopped at once: in the body, outside any write."""
        return self._in_body and self._holds == 0

    def exit_code(self) -> int | None:
        """128 + the signal number once stopping, else None."""
        return None if self.signum is None else stop_exit_code(self.signum)

    def time_left(self) -> float | None:
        """Seconds left of the stop budget (0 when spent), None when not stopping."""
        return None if self.stop_at is None else max(self.stop_at - time.monotonic(), 0.0)

    def bind(self, engine: Budgeted) -> None:
        """`engine`'s writes keep the stop budget: from the stop on, or at once when stopping."""
        self._bound.append(engine)
        left = self.time_left()
        if left is not None:
            engine.stop_within(left)

    # --- the transitions ------------------------------------------------------------------

    @contextmanager
    def held(self) -> Iterator[None]:
        """A block that a signal must not cut in half (a write); a stop that came meanwhile is
        raised on leaving the outermost hold in the body."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
        self._deliver()

    @contextmanager
    def body(self) -> Iterator[None]:
        """The task body: a signal raises TaskStopped at once, one that came before on entry."""
        self._in_body = True
        try:
            self._deliver()
            yield
        finally:
            self._in_body = False

    def stop(self, signum: int) -> None:
        """Enters "stopping" (once): the budget starts, every bound engine keeps it, the hard
        exit is armed. Called by the handler; a test may call it to stop without a signal."""
        if self.signum is not None:
            return
        self.signum = signum
        self.stop_at = time.monotonic() + self.grace
        for engine in self._bound:
            engine.stop_within(self.grace)
        if self._hard_exit is not None:
            self._hard_exit.arm(self.stop_at + HARD_EXIT_MARGIN, stop_exit_code(signum))

    def _deliver(self) -> None:
        if self.signum is not None and self.interruptible and not self._delivered:
            self._delivered = True
            raise TaskStopped(self.signum)

    # --- the handlers ---------------------------------------------------------------------

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
        name = signal.Signals(signum).name
        if self.signum is not None:
            log.warning("Received %s while stopping; the stop already under way goes on", name)
            return
        self.stop(signum)
        if self.interruptible:
            self._delivered = True
            raise TaskStopped(signum)
        log.warning(
            "Received %s; the database writes left get at most %.1fs, then the process exits with %d",
            name,
            self.grace,
            stop_exit_code(signum),
        )
