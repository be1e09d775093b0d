"""The write engine's own rules (`util.bounded_write`), on SQLite: which host a message names, what
an attempt is given and what becomes of one that is abandoned, how a stop tightens the deadline.

Mutation testing (`npm run mutation` in generator-scdf-task) found these unpinned by the
lifecycle's tests; each assertion here fails on a change of the rule it names.
"""

import logging
import sqlite3
import ssl
import threading
import time
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
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # SQLITE_CANTOPEN: a folder that is not there (yet), a transient error, tried on each host.
    first, second = tmp_path / "gone" / "first.db", tmp_path / "gone" / "second.db"
    with caplog.at_level(logging.WARNING), pytest.raises(WriteError) as raised:
        engine(first, second, deadline=0.4, timeouts=Timeouts(0.2, 0.2)).run("record the end", make_table)
    message = str(raised.value)
    # The hosts are tried in turn: the first, the second, the first again after a pause, ...
    attempts = int(message.split("gave up after ")[1].split()[0])
    assert attempts >= 2, message
    last = second if attempts % 2 == 0 else first
    assert message.endswith(f"the SQLite database at {last}: OperationalError: unable to open database file")
    assert raised.value.fault is Fault.TRANSIENT
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
    try:
        with pytest.raises(WriteError) as raised:
            engine(tmp_path / "a.db", deadline=0.5, timeouts=Timeouts(0.2, 0.2)).run(
                "record the end", make_table
            )
    finally:
        release.set()
    assert str(raised.value).startswith("Could not connect to record the end: gave up after "), raised.value
    assert "no answer within" in str(raised.value)
    assert raised.value.uncertain is False  # nothing was connected: nothing can have committed


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
