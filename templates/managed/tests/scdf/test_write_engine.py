"""The write engine's own rules (`util.bounded_write`), on SQLite: which host a message names, what
an attempt is given and what becomes of one that is abandoned, how a stop tightens the deadline.

Mutation testing (`npm run mutation` in generator-scdf-task) found these unpinned by the
lifecycle's tests; each assertion here fails on a change of the rule it names.
"""

import logging
import re
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from util import bounded_write
from util.bounded_write import WriteEngine, WriteError
from util.db_api import Connection, Cursor, DbTarget, Fault, Timeouts
from util.db_sqlite import ADAPTER as SQLITE
from util.db_sqlite import SqliteAdapter
from util.redaction import Redactor
from util.single_instance import LockError


def sqlite_target(path: Path) -> DbTarget:
    return DbTarget("sqlite", database=str(path))


ONE_SECOND = Timeouts(1, 1)


def engine(*paths: Path, deadline: float = 5.0, timeouts: Timeouts = ONE_SECOND) -> WriteEngine:
    targets = [sqlite_target(p) for p in paths]
    return WriteEngine(targets, SQLITE, deadline=deadline, timeouts=timeouts, redactor=Redactor())


def make_table(cursor: Cursor, retry: bool) -> None:
    cursor.execute("CREATE TABLE IF NOT EXISTS T (A INTEGER)")


def rows(path: Path) -> list[tuple[int]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT A FROM T ORDER BY A").fetchall()


def test_an_engine_needs_a_host() -> None:
    with pytest.raises(WriteError, match=r"^No database URL given$"):
        WriteEngine([], SQLITE, deadline=5, timeouts=ONE_SECOND, redactor=Redactor())


def test_an_error_as_another_type_keeps_message_fault_certainty_and_traceback() -> None:
    try:
        raise WriteError("Could not record the end: no", Fault.LOGIN, uncertain=True)
    except WriteError as error:
        original = error
    converted = LockError.of(original)
    assert (type(converted), str(converted), converted.fault, converted.uncertain) == (
        LockError,
        "Could not record the end: no",
        Fault.LOGIN,
        True,
    )
    assert converted.__traceback__ is original.__traceback__
    assert LockError.of(converted) is converted


def test_a_stop_keeps_the_earliest_time_and_none_is_left_once_it_passed(tmp_path: Path) -> None:
    writes = engine(tmp_path / "a.db")
    assert writes.stop_left() is None
    writes.stop_within(10)
    writes.stop_within(1)  # a later, tighter stop wins
    left = writes.stop_left()
    assert left is not None
    assert 0.5 < left <= 1
    writes.stop_within(10)  # ... and a looser one changes nothing
    again = writes.stop_left()
    assert again is not None
    assert again <= left
    writes.stop_within(0)
    assert writes.stop_left() == 0.0


def test_an_attempt_gets_no_longer_limits_than_the_time_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given: list[Timeouts] = []
    real_connect = SqliteAdapter.connect

    def connect(self: SqliteAdapter, target: DbTarget, timeouts: Timeouts) -> Connection:
        given.append(timeouts)
        return real_connect(self, target, timeouts)

    monkeypatch.setattr(SqliteAdapter, "connect", connect)
    engine(tmp_path / "a.db", deadline=0.8, timeouts=Timeouts(5, 3)).run("make the table", make_table)
    [timeouts] = given
    assert 0.5 < timeouts.connect <= 0.8
    assert timeouts.statement == timeouts.connect


def test_the_give_up_names_the_host_its_reason_is_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLITE_CANTOPEN: a folder that is not there (yet), a transient error, tried on each host.
    first, second = tmp_path / "gone" / "first.db", tmp_path / "gone" / "second.db"
    tried: list[float] = []
    real_connect = SqliteAdapter.connect

    def connect(self: SqliteAdapter, target: DbTarget, timeouts: Timeouts) -> Connection:
        tried.append(time.monotonic())
        return real_connect(self, target, timeouts)

    monkeypatch.setattr(SqliteAdapter, "connect", connect)
    with caplog.at_level(logging.WARNING), pytest.raises(WriteError) as raised:
        engine(first, second, deadline=0.4, timeouts=Timeouts(0.2, 0.2)).run("record the end", make_table)
    # The next host at once, the first one again after the pause.
    assert tried[1] - tried[0] < 0.2
    assert len(tried) < 3 or tried[2] - tried[1] >= 0.25
    message = str(raised.value)
    # The hosts are tried in turn: the first, the second, the first again after a pause, ...
    attempts = int(message.split("gave up after ")[1].split()[0])
    assert attempts >= 2, message
    last = second if attempts % 2 == 0 else first
    assert message.endswith(f"the SQLite database at {last}: OperationalError: unable to open database file")
    assert (raised.value.fault, raised.value.uncertain) == (Fault.TRANSIENT, False)
    assert "Could not connect to record the end (attempt 1), will retry: " in caplog.text


@pytest.mark.parametrize(
    ("cause", "words"),
    [
        (
            ssl.SSLCertVerificationError("certificate verify failed"),
            "TLS could not be set up with the SQLite database at {where}; check the TLS settings of "
            "spring.datasource.url (its TLS settings) and the server's certificate (not retried): ",
        ),
        (
            None,
            "the SQLite database at {where} refused the login or does not exist; check "
            "spring.datasource.username",
        ),
    ],
)
def test_a_refusal_names_the_host_that_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cause: BaseException | None, words: str
) -> None:
    first, second = tmp_path / "gone" / "first.db", tmp_path / "second.db"
    real_connect = SqliteAdapter.connect

    def connect(self: SqliteAdapter, target: DbTarget, timeouts: Timeouts) -> Connection:
        if target.database == str(second):
            error = sqlite3.OperationalError("refused")
            error.sqlite_errorcode = 1 if cause else 23  # SQLITE_ERROR caused by TLS; SQLITE_AUTH
            error.__cause__ = cause
            raise error
        return real_connect(self, target, timeouts)

    monkeypatch.setattr(SqliteAdapter, "connect", connect)
    with pytest.raises(WriteError) as raised:
        engine(first, second).run("record the end", make_table)
    expected = "Could not connect to record the end: " + words.format(where=f"{second}")
    assert str(raised.value).startswith(expected), raised.value
    assert raised.value.fault is (Fault.TLS if cause else Fault.LOGIN)


def test_only_a_retry_that_comes_before_the_deadline_is_announced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 0.3 s: the second host at once, but no first one again after the 0.25 s pause.
    first, second = tmp_path / "gone" / "first.db", tmp_path / "gone" / "second.db"
    with caplog.at_level(logging.WARNING), pytest.raises(WriteError, match="gave up after 2 attempts"):
        engine(first, second, deadline=0.3).run("record the end", make_table)
    retries = [m.split(", will retry")[0] for m in caplog.messages if "will retry" in m]
    assert retries == ["Could not connect to record the end (attempt 1)"]


def test_a_deadline_shared_by_several_writes_is_kept(tmp_path: Path) -> None:
    writes = engine(tmp_path / "gone" / "a.db", deadline=5)
    until = time.monotonic() + 0.3  # what is left of a group of writes, not a deadline of its own
    with pytest.raises(WriteError, match=r"gave up after \d+ attempts in 0\.[0-9]s"):
        writes.run("record the end", make_table, until=until)
    assert time.monotonic() - until < 1


def test_a_statement_s_error_names_the_host_it_ran_on(tmp_path: Path) -> None:
    first, second = tmp_path / "gone" / "first.db", tmp_path / "second.db"

    def no_table(cursor: Cursor, retry: bool) -> None:
        cursor.execute("INSERT INTO NOT_THERE (A) VALUES (1)")

    with pytest.raises(WriteError) as raised:
        engine(first, second).run("record the end", no_table)
    assert str(raised.value) == (
        f"Could not record the end (the SQLite database at {second}): "
        "OperationalError: no such table: NOT_THERE"
    )
    assert raised.value.fault is Fault.OTHER


def test_a_write_after_the_stop_s_budget_is_not_tried_and_is_transient(tmp_path: Path) -> None:
    writes = engine(tmp_path / "a.db")
    writes.stop_within(0)
    with pytest.raises(WriteError) as raised:
        writes.run("record the end", make_table)
    assert str(raised.value) == "Could not record the end: the stop grace (task.db.stop-grace) was used up"
    assert raised.value.fault is Fault.TRANSIENT


def test_tls_ending_on_an_open_connection_is_a_lost_connection_and_retried(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    engine(path).run("make the table", make_table)
    attempts: list[bool] = []

    def lost_then_done(cursor: Cursor, retry: bool) -> None:
        attempts.append(retry)
        if not retry:
            error = sqlite3.OperationalError("the connection was lost")
            error.sqlite_errorcode = 1
            error.__cause__ = ssl.SSLError("decryption failed or bad record mac")
            raise error
        cursor.execute("INSERT INTO T (A) VALUES (1)")

    engine(path).run("record the end", lost_then_done)
    assert attempts == [False, True]
    assert rows(path) == [(1,)]


def test_a_read_committed_write_sets_it_on_its_own_connection(tmp_path: Path) -> None:
    connected: list[Connection] = []
    isolated: list[Connection] = []

    class Isolating(SqliteAdapter):
        def connect(self, target: DbTarget, timeouts: Timeouts) -> Connection:
            connected.append(super().connect(target, timeouts))
            return connected[-1]

        def read_committed(self, connection: Connection) -> None:
            isolated.append(connection)

    writes = WriteEngine(
        [sqlite_target(tmp_path / "a.db")],
        Isolating(),
        deadline=5,
        timeouts=ONE_SECOND,
        redactor=Redactor(),
    )
    writes.run("make the table", make_table)
    assert isolated == []
    writes.run("take the lock", make_table, isolate=True)
    assert len(connected) == 2
    assert isolated == connected[1:]


def test_a_connect_that_never_returns_is_given_up_as_not_connected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def never_answers(self: SqliteAdapter, target: DbTarget, timeouts: Timeouts) -> Connection:
        release.wait(10)
        raise ConnectionRefusedError("released")

    monkeypatch.setattr(SqliteAdapter, "connect", never_answers)
    # Each attempt is abandoned 0.5 s after its limits (0.1 + 0.1 s): two fit in the deadline.
    writes = engine(tmp_path / "a.db", deadline=1.2, timeouts=Timeouts(0.1, 0.1))
    before = bounded_write.left_behind()
    try:
        with pytest.raises(WriteError) as raised:
            writes.run("record the end", make_table)
    finally:
        release.set()
    message = str(raised.value)
    assert message.startswith("Could not connect to record the end: gave up after "), message
    assert message.endswith("(the attempt was abandoned)"), message
    assert raised.value.uncertain is False  # nothing was connected: nothing can have committed
    attempts = int(message.split("gave up after ")[1].split()[0])
    assert attempts >= 2, message
    assert (writes.abandoned, bounded_write.left_behind() - before) == (attempts, attempts)


def test_an_abandoned_attempt_is_retried_runs_on_as_a_daemon_and_never_commits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "a.db"
    engine(path).run("make the table", make_table)
    release = threading.Event()
    abandoned_threads: list[threading.Thread] = []

    def stuck_then_done(cursor: Cursor, retry: bool) -> None:
        if not retry:
            # A driver call that outlives its limits (no socket to cut on SQLite), and then writes.
            abandoned_threads.append(threading.current_thread())
            release.wait(10)
        cursor.execute("INSERT INTO T (A) VALUES (?)", (2 if retry else 1,))

    writes = engine(path, deadline=5, timeouts=Timeouts(0.4, 0.4))
    before = bounded_write.left_behind()
    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING):
            writes.run("record the end", stuck_then_done)
        elapsed = time.monotonic() - started
        [thread] = abandoned_threads
        assert thread.is_alive()
        assert (thread.name, thread.daemon) == ("db-write", True)  # it never holds the process
    finally:
        release.set()
    thread.join(5)
    # Its limits (0.4 s to connect + 0.4 s for statements), then the cut's grace of 0.5 s.
    [warning] = [m for m in caplog.messages if "(attempt 1), will retry" in m]
    waited = float(warning.split("no answer within ")[1].split("s ")[0])
    assert 1.3 <= waited <= elapsed, warning
    assert warning.startswith("Could not record the end (attempt 1)")  # connected: not "connect to"
    assert (writes.abandoned, bounded_write.left_behind() - before) == (1, 1)
    assert rows(path) == [(2,)]  # the abandoned attempt's INSERT was not committed


class Cuttable(SqliteAdapter):
    """SQLite with a socket beside each connection, as a network driver has one: a work that
    waits on it is woken by the engine's cut, as a driver's read of a silent server is."""

    def __init__(self) -> None:
        self.sockets: dict[int, socket.socket] = {}
        self.peers: list[socket.socket] = []

    def connect(self, target: DbTarget, timeouts: Timeouts) -> Connection:
        connection = super().connect(target, timeouts)
        ours, peer = socket.socketpair()
        self.sockets[id(connection)] = ours
        self.peers.append(peer)  # kept open and silent, as a hung server
        return connection

    def socket_fd(self, connection: Connection) -> int | None:
        return self.sockets[id(connection)].fileno()

    def close(self) -> None:
        for sock in [*self.sockets.values(), *self.peers]:
            sock.close()


@pytest.fixture
def cuttable() -> Iterator[Cuttable]:
    adapter = Cuttable()
    yield adapter
    adapter.close()


def cuttable_engine(adapter: Cuttable, path: Path, deadline: float, timeouts: Timeouts) -> WriteEngine:
    return WriteEngine(
        [sqlite_target(path)], adapter, deadline=deadline, timeouts=timeouts, redactor=Redactor()
    )


def test_a_call_past_its_limits_is_cut_and_its_own_error_retried(
    tmp_path: Path, cuttable: Cuttable, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "a.db"
    engine(path).run("make the table", make_table)

    def reads_a_silent_server(cursor: Cursor, retry: bool) -> None:
        if not retry:
            sock = list(cuttable.sockets.values())[-1]
            if sock.recv(1) == b"":  # woken by the cut
                raise ConnectionResetError("the server closed the connection")
        cursor.execute("INSERT INTO T (A) VALUES (1)")

    writes = cuttable_engine(cuttable, path, deadline=5, timeouts=Timeouts(0.3, 0.3))
    before = bounded_write.left_behind()
    with caplog.at_level(logging.WARNING):
        writes.run("record the end", reads_a_silent_server)
    assert "A database call passed its time limit; the connection was cut" in caplog.messages
    assert any(
        "will retry: ConnectionResetError: the server closed the connection" in m for m in caplog.messages
    )
    # The driver returned its own error: nothing was abandoned.
    assert (writes.abandoned, bounded_write.left_behind()) == (0, before)
    assert rows(path) == [(1,)]


def test_a_call_that_ignores_the_cut_is_abandoned_after_the_cut_s_grace(
    tmp_path: Path, cuttable: Cuttable, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "a.db"
    release = threading.Event()

    def deaf(cursor: Cursor, retry: bool) -> None:
        if not retry:
            release.wait(10)

    writes = cuttable_engine(cuttable, path, deadline=5, timeouts=Timeouts(0.3, 0.3))
    try:
        with caplog.at_level(logging.WARNING):
            writes.run("record the end", deaf)
    finally:
        release.set()
    assert "A database call passed its time limit; the connection was cut" in caplog.messages
    [warning] = [m for m in caplog.messages if "(attempt 1), will retry" in m]
    # Cut at its limits (0.6 s), abandoned 0.5 s later.
    waited = float(warning.split("no answer within ")[1].split("s ")[0])
    assert waited >= 1.1, warning
    assert writes.abandoned == 1


@pytest.mark.parametrize("stopped", [False, True])
def test_a_call_is_cut_and_abandoned_at_the_deadline_even_within_its_limits(
    tmp_path: Path, cuttable: Cuttable, stopped: bool
) -> None:
    """The write's deadline (or the stop's, set while it runs) ends it, whatever its limits."""
    path = tmp_path / "a.db"
    release = threading.Event()

    def deaf(cursor: Cursor, retry: bool) -> None:
        release.wait(10)

    # Each attempt may last 2 x 1.0 s by its limits: the deadline, 1.0 s, comes first.
    writes = cuttable_engine(cuttable, path, deadline=5 if stopped else 1.0, timeouts=Timeouts(2, 2))
    if stopped:
        threading.Timer(0.2, writes.stop_within, (0.8,)).start()
    started = time.monotonic()
    try:
        with pytest.raises(WriteError) as raised:
            writes.run("record the end", deaf)
    finally:
        release.set()
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 1.4, raised.value
    bound = "task.db.stop-grace" if stopped else "task.db.connect-deadline"
    pattern = rf"^Could not record the end: gave up after 1 attempts in 1\.[0-3]s \({re.escape(bound)}\); "
    assert re.search(pattern, str(raised.value)), raised.value
    assert str(raised.value).endswith("(the attempt was abandoned)")
    assert raised.value.uncertain is True  # connected: its commit may have landed


def test_pauses_between_attempts_double_from_a_quarter_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[float] = []

    def busy(self: SqliteAdapter, target: DbTarget, timeouts: Timeouts) -> Connection:
        tried.append(time.monotonic())
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = 5  # SQLITE_BUSY: transient
        raise error

    monkeypatch.setattr(SqliteAdapter, "connect", busy)
    with pytest.raises(WriteError) as raised:
        engine(tmp_path / "a.db", deadline=1.3).run("record the end", make_table)
    # At 0, 0.25 and 0.75 s; the next would come at 1.75 s, past the deadline.
    assert len(tried) == 3, raised.value
    first, second = tried[1] - tried[0], tried[2] - tried[1]
    assert 0.25 <= first < 0.45
    assert 0.5 <= second < 0.7
    assert raised.value.uncertain is False  # never connected


def test_a_statement_that_keeps_failing_leaves_the_outcome_uncertain(tmp_path: Path) -> None:
    def busy(cursor: Cursor, retry: bool) -> None:
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = 5  # SQLITE_BUSY: transient
        raise error

    with pytest.raises(WriteError) as raised:
        engine(tmp_path / "a.db", deadline=0.4).run("record the end", busy)
    message = str(raised.value)
    assert message.startswith("Could not record the end: gave up after 2 attempts in "), message
    assert message.endswith(
        "(task.db.connect-deadline); the SQLite database at "
        f"{tmp_path / 'a.db'}: OperationalError: database is locked"
    ), message
    assert (raised.value.fault, raised.value.uncertain) == (Fault.TRANSIENT, True)
