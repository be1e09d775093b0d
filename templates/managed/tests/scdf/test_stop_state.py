"""The parts of the stop (`util.stop`) that a run only shows from outside, checked in this process:
the hard exit and the way `run_task` leaves (in a forked child, so that they end only the
child), the handlers' installation and what the handler says.

Mutation testing (`npm run mutation` in generator-scdf-task) found these unpinned by the tests
that see them only through a task's own process (`test_stop.py`), which it cannot relate to the
code they run.
"""

import logging
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

from util import bounded_write, stop
from util.db_api import Connection, DbTarget, Timeouts
from util.db_sqlite import SqliteAdapter
from util.local_db import LocalScdfDatabase
from util.stop import HARD_EXIT_MARGIN, HardExit, StopSignals, TaskStopped
from util.task_context import TaskContext
from util.task_lifecycle import execute, run_task

if TYPE_CHECKING:
    from tests.scdf.conftest import Recorded

GRACE = 4.0


def in_child(work: Callable[[], None], timeout: float = 20) -> tuple[int, float]:
    """Runs `work` in a forked child, which exits 0 after it: (its exit status, seconds it took)."""
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: whatever happens, it never returns into the test session
        try:
            work()
            os._exit(0)
        except BaseException:  # noqa: BLE001 - reported by the status
            os._exit(99)
    deadline = started + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), time.monotonic() - started
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"the child did not exit within {timeout}s")


@pytest.fixture
def no_fork_warning() -> Iterator[None]:
    """Forking a process with threads (pytest's, the hard exit's) warns; the child runs no locks."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@pytest.mark.usefixtures("no_fork_warning")
def test_the_hard_exit_leaves_with_its_code_when_its_time_comes(capfd: pytest.CaptureFixture[str]) -> None:
    def armed() -> None:
        logging.getLogger("util.stop").addHandler(logging.StreamHandler())
        hard_exit = HardExit()
        hard_exit.arm(time.monotonic() + 0.3, 143)
        time.sleep(10)  # a driver call that cannot be interrupted

    # This process's own, unarmed and then cancelled, never fires (it would end the session).
    others = set(threading.enumerate())
    here = HardExit()
    [watching] = [t for t in threading.enumerate() if t not in others and t.name == "hard-exit"]
    assert watching.daemon  # it never keeps a process that is done from exiting
    code, took = in_child(armed)
    here.arm(time.monotonic() + 0.2, 143)
    here.cancel()
    assert code == 143
    assert 0.3 <= took < 3
    said = "The stop grace is over and a database call still blocks; exiting with 143"
    assert said in capfd.readouterr().err.splitlines()
    time.sleep(0.3)
    watching.join(1)
    assert not watching.is_alive()


@pytest.mark.usefixtures("no_fork_warning")
def test_a_stop_arms_the_hard_exit_at_the_end_of_the_grace_and_a_margin() -> None:
    def stopped() -> None:
        signals = StopSignals(0.3, HardExit())
        signals.stop(signal.SIGINT)
        time.sleep(10)

    code, took = in_child(stopped)
    assert code == 130
    assert 0.3 + HARD_EXIT_MARGIN <= took < 3


def test_handlers_are_installed_only_in_the_main_thread(caplog: pytest.LogCaptureFixture) -> None:
    before = signal.getsignal(signal.SIGTERM)
    signals = StopSignals(GRACE)
    with caplog.at_level(logging.WARNING):
        thread = threading.Thread(target=signals.install)
        thread.start()
        thread.join()
    assert signal.getsignal(signal.SIGTERM) is before
    assert "Not in the main thread: SIGTERM/SIGINT will not be recorded in the row" in caplog.messages


def test_restore_puts_back_the_handlers_found() -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGINT, mine)
    try:
        signals = StopSignals(GRACE)
        signals.install()
        assert signal.getsignal(signal.SIGINT) == signals._handle
        assert signal.getsignal(signal.SIGTERM) == signals._handle
        signals.restore()
        assert signal.getsignal(signal.SIGINT) is mine
        signals.restore()  # twice: nothing left to restore
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_signal_during_a_write_says_what_the_writes_left_get(caplog: pytest.LogCaptureFixture) -> None:
    signals = StopSignals(GRACE)

    def write_under_two_signals() -> None:
        with signals.held():
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGINT)

    signals.install()
    try:
        with caplog.at_level(logging.WARNING), signals.body(), pytest.raises(TaskStopped) as raised:
            write_under_two_signals()
    finally:
        signals.restore()
    assert str(raised.value) == "Task stopped by SIGTERM"
    assert (raised.value.signal_name, raised.value.exit_code) == ("SIGTERM", 143)
    assert caplog.messages == [
        "Received SIGTERM; the database writes left get at most 4.0s, then the process exits with 143",
        "Received SIGINT while stopping; the stop already under way goes on",
    ]


def test_a_stop_raised_on_leaving_a_write_is_raised_once() -> None:
    signals = StopSignals(GRACE)

    def write_stopped_meanwhile() -> None:
        with signals.held():
            signals.stop(signal.SIGTERM)

    with signals.body():
        with pytest.raises(TaskStopped):
            write_stopped_meanwhile()
        with signals.held():
            pass  # the body caught the stop; a later write leaves without raising it again
    assert signals.exit_code() == 143


def test_the_budget_is_counted_down_and_never_below_zero() -> None:
    signals = StopSignals(0.3)
    assert (signals.time_left(), signals.exit_code(), signals.stopping) == (None, None, False)
    signals.stop(signal.SIGTERM)
    left = signals.time_left()
    assert left is not None
    assert 0 < left <= 0.3
    assert (signals.exit_code(), signals.stopping) == (143, True)
    time.sleep(0.4)
    assert signals.time_left() == 0.0


def leaves_by(body: Callable[[TaskContext], object], argv: list[str]) -> Callable[[], None]:
    """`run_task(body)` in a forked child, which then exits 200 + the code when `run_task` raised
    SystemExit (the interpreter's shutdown would follow), else with what `run_task` left with."""

    def child() -> None:
        bounded_write._left_behind = 0  # this process's earlier tests count for the parent only
        try:
            run_task(body, argv=argv, environ={})
        except SystemExit as leaving:
            os._exit(200 + leaving.code if isinstance(leaving.code, int) else 99)

    return child


def never_answers(self: SqliteAdapter, target: DbTarget, timeouts: Timeouts) -> Connection:
    threading.Event().wait(30)  # a driver call no timeout of its own ends
    raise AssertionError("unreachable")


@pytest.mark.usefixtures("no_fork_warning")
def test_a_run_with_writes_left_behind_leaves_at_once_and_one_without_through_the_shutdown(
    scdf_db: LocalScdfDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = [f"--spring.datasource.url={scdf_db.jdbc_url}", "--spring.cloud.task.executionid=7"]
    code, _ = in_child(leaves_by(lambda context: None, argv))
    assert code == 200 + 1  # no row 7: not started, and nothing left behind

    monkeypatch.setattr(SqliteAdapter, "connect", never_answers)
    bounds = ["--task.db.connect-deadline=0.5", "--task.db.connect-timeout=0.2"]
    code, took = in_child(leaves_by(lambda context: None, [*argv, *bounds]))
    assert code == 1  # os._exit: a blocked driver call cannot hold the shutdown
    assert took < 5


def swallows_the_stop(context: TaskContext) -> None:
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # the kubelet's stop, at once
    except BaseException:  # noqa: BLE001 - what a careless body does: the hard exit ends it
        print("swallowed", flush=True)
    time.sleep(30)


@pytest.mark.usefixtures("no_fork_warning")
def test_a_run_whose_body_swallows_the_stop_ends_by_the_hard_exit_after_its_grace(
    scdf_db: LocalScdfDatabase,
) -> None:
    execution_id = scdf_db.create_execution("my-task")
    argv = [
        f"--spring.datasource.url={scdf_db.jdbc_url}",
        "--task.db.stop-grace=0.5",
        f"--spring.cloud.task.executionid={execution_id}",
    ]
    code, took = in_child(leaves_by(swallows_the_stop, argv), timeout=8)
    assert code == 143
    assert 0.5 + HARD_EXIT_MARGIN <= took < 4  # the launch's grace, not the default's 10 s


def test_execute_arms_the_hard_exit_at_the_launch_s_grace(
    scdf_db: LocalScdfDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the forked run above, in this process: the hard exit's `os._exit`, as `util.stop` sees
    it, is recorded instead of ending the test session."""
    fired: list[tuple[int, float]] = []
    fired_once = threading.Event()

    def record_exit(code: int) -> None:
        fired.append((code, time.monotonic()))
        fired_once.set()

    monkeypatch.setattr(stop, "os", SimpleNamespace(_exit=record_exit))
    signalled: list[float] = []

    def swallows_then_waits(context: TaskContext) -> None:
        try:
            signalled.append(time.monotonic())
            signal.raise_signal(signal.SIGTERM)
        except TaskStopped:
            pass  # swallowed: only the hard exit can end this run now
        assert fired_once.wait(5), "the hard exit never fired"

    execution_id = scdf_db.create_execution("my-task")
    argv = [
        f"--spring.datasource.url={scdf_db.jdbc_url}",
        "--task.db.stop-grace=0.3",
        f"--spring.cloud.task.executionid={execution_id}",
    ]
    assert execute(swallows_then_waits, argv=argv, environ={}) == 143
    code, at = fired[0]
    assert code == 143
    assert 0.3 + HARD_EXIT_MARGIN <= at - signalled[0] < 3


def test_a_stop_while_a_job_is_created_is_raised_once_all_its_start_is_written(
    scdf_db: LocalScdfDatabase, recorded: "Recorded"
) -> None:
    """A job's start is several writes (its instance, ids, execution, start): a stop that comes
    in one of them waits for the last, so the job is ended STOPPED, never left half started."""
    scdf_db.create_batch_tables("BATCH_", batch5=False)
    execution_id = scdf_db.create_execution("my-task")
    stopped: list[str] = []

    def commit(connection: object) -> None:
        assert isinstance(connection, sqlite3.Connection)
        connection.commit()
        if recorded.statements[-1].startswith("INSERT INTO BATCH_JOB_EXECUTION") and not stopped:
            stopped.append("in the job's creation")
            signal.raise_signal(signal.SIGTERM)

    recorded.on_commit = commit
    entered: list[str] = []

    def body(context: TaskContext) -> None:
        with context.job("stopped-job"):
            entered.append("the job")

    argv = [f"--spring.datasource.url={scdf_db.jdbc_url}", f"--spring.cloud.task.executionid={execution_id}"]
    assert execute(body, argv=argv, environ={}) == 143
    assert (stopped, entered) == (["in the job's creation"], [])
    [job] = scdf_db.jobs(execution_id, "BATCH_")
    assert (job.status, job.exit_code) == ("STOPPED", "STOPPED")
