"""The single-instance lock (`util.single_instance`) when its writes meet trouble, on SQLite: a
database that asks to try again, a lock row that is gone, a release or renewal that fails.

Mutation testing (`npm run mutation` in generator-scdf-task) found these unpinned; each
assertion fails on a change of the rule it names.
"""

import logging
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from util.bounded_write import WriteEngine
from util.db_api import Connection, DbTarget, Timeouts
from util.db_sqlite import SqliteAdapter
from util.launch import LockSettings
from util.local_db import LocalScdfDatabase
from util.redaction import Redactor
from util.single_instance import ACQUIRE_WAIT, LockError, SingleInstanceLock, TaskAlreadyRunningError
from util.task_status import TaskStatus

#: Renewed every 0.1 s (a quarter of it).
QUICK = LockSettings(timedelta(seconds=0.4), utc=False)
LONG = LockSettings(timedelta(hours=1), utc=False)


def lock_of(db: LocalScdfDatabase, execution_id: int, settings: LockSettings = LONG) -> SingleInstanceLock:
    return SingleInstanceLock(
        TaskStatus.open(None, db.jdbc_url).engine, "TASK_", "my-task", execution_id, settings
    )


def lock_rows(db: LocalScdfDatabase) -> list[tuple[str, str]]:
    with db.transaction() as connection:
        return connection.execute("SELECT CLIENT_ID, CREATED_DATE FROM TASK_LOCK").fetchall()


class AsksToTryAgain(SqliteAdapter):
    """SQLite whose "database is locked" stands for a deadlock: what MariaDB (1213) and
    PostgreSQL (40P01) answer two runs that take the lock at once."""

    conflict = frozenset({5})  # SQLITE_BUSY


def test_a_database_that_asks_to_try_again_is_a_lock_taken_not_an_error(scdf_db: LocalScdfDatabase) -> None:
    engine = WriteEngine(
        [DbTarget("sqlite", database=str(scdf_db.path))],
        AsksToTryAgain(),
        deadline=5,
        timeouts=Timeouts(0.05, 0.05),
        redactor=Redactor(),
    )
    lock = SingleInstanceLock(engine, "TASK_", "my-task", 1001, LONG)
    # Another connection's write keeps the database busy for longer than a take keeps trying.
    blocker = sqlite3.connect(scdf_db.path)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(TaskAlreadyRunningError, match=r'^Task with name "my-task" is already running\.$'):
            lock.acquire()
        took = time.monotonic() - started
    finally:
        blocker.rollback()
        blocker.close()
    # Tried again for the acquire's wait, as Spring Integration does, not for the write deadline.
    assert ACQUIRE_WAIT <= took < 2.5
    assert lock_rows(scdf_db) == []


def test_a_lock_that_cannot_be_read_is_a_lock_error(scdf_db: LocalScdfDatabase) -> None:
    with scdf_db.transaction() as connection:
        connection.execute("DROP TABLE TASK_LOCK")
    with pytest.raises(
        LockError, match=r"^Could not take the lock in TASK_LOCK \(.*no such table: TASK_LOCK"
    ):
        lock_of(scdf_db, 1001).acquire()


def test_a_lock_row_gone_is_reported_by_the_next_renewal(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    lock = lock_of(scdf_db, 1001, QUICK)
    lock.acquire()
    try:
        with caplog.at_level(logging.WARNING):
            with scdf_db.transaction() as connection:
                connection.execute("DELETE FROM TASK_LOCK")
            time.sleep(0.5)
    finally:
        lock.release()
    assert "Single instance: the lock on 'my-task' was lost (expired or removed)" in caplog.messages


def test_a_failed_renewal_is_logged_and_renewals_go_on(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    lock = lock_of(scdf_db, 1001, QUICK)
    lock.acquire()
    try:
        with caplog.at_level(logging.WARNING):
            with scdf_db.transaction() as connection:
                connection.execute("ALTER TABLE TASK_LOCK RENAME TO TASK_LOCK_AWAY")
            time.sleep(0.35)
            with scdf_db.transaction() as connection:
                connection.execute("ALTER TABLE TASK_LOCK_AWAY RENAME TO TASK_LOCK")
            [(_, before)] = lock_rows(scdf_db)
            time.sleep(0.35)
            [(_, after)] = lock_rows(scdf_db)
    finally:
        lock.release()
    failed = [m for m in caplog.messages if m.startswith("Single instance: the lock could not be renewed: ")]
    assert failed, caplog.messages
    assert failed[0].startswith(
        "Single instance: the lock could not be renewed: WriteError: Could not renew the lock in TASK_LOCK "
    ), failed[0]
    assert failed[0].endswith("no such table: TASK_LOCK"), failed[0]
    assert not [m for m in caplog.messages if "was lost" in m]  # renewed: the row was there
    assert after > before  # renewed again once the table was back
    assert lock_rows(scdf_db) == []


def test_a_failed_release_is_logged_not_raised_and_can_be_tried_again(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    lock = lock_of(scdf_db, 1001)
    others = set(threading.enumerate())
    with caplog.at_level(logging.INFO):
        lock.acquire()
    assert caplog.messages == ["Single instance: lock on task name 'my-task' taken in TASK_LOCK"]
    [renewing] = [t for t in threading.enumerate() if t not in others and t.name == "lock-renewal"]
    assert renewing.daemon  # it never keeps a process that is done from exiting
    caplog.clear()
    with scdf_db.transaction() as connection:
        connection.execute("ALTER TABLE TASK_LOCK RENAME TO TASK_LOCK_AWAY")
    with caplog.at_level(logging.INFO):
        lock.release()
    [failed] = [m for m in caplog.messages if "could not be released" in m]
    assert failed == (
        "Single instance: the lock could not be released: WriteError: Could not release the lock in "
        f"TASK_LOCK (the SQLite database at {scdf_db.path}): OperationalError: no such table: TASK_LOCK"
    )
    assert "released" not in " ".join(m for m in caplog.messages if m != failed)
    with scdf_db.transaction() as connection:
        connection.execute("ALTER TABLE TASK_LOCK_AWAY RENAME TO TASK_LOCK")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        lock.release()  # still held: the second release deletes the row
    assert lock_rows(scdf_db) == []
    assert caplog.messages == ["Single instance: lock on task name 'my-task' released"]
    assert not renewing.is_alive()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        lock.release()  # released: nothing left to do
    assert caplog.messages == []


def test_only_the_take_asks_for_read_committed(scdf_db: LocalScdfDatabase) -> None:
    isolated: list[str] = []

    class RecordsIsolation(SqliteAdapter):
        def read_committed(self, connection: Connection) -> None:
            isolated.append("READ COMMITTED")

    engine = WriteEngine(
        [DbTarget("sqlite", database=str(scdf_db.path))],
        RecordsIsolation(),
        deadline=5,
        timeouts=Timeouts(1, 1),
        redactor=Redactor(),
    )
    lock = SingleInstanceLock(engine, "TASK_", "my-task", 1001, LONG)
    lock.acquire()
    assert isolated == ["READ COMMITTED"]  # as Spring Integration 6 takes it (MySQL's gap locks)
    lock.release()
    assert isolated == ["READ COMMITTED"]


def test_a_lock_never_taken_releases_nothing(
    scdf_db: LocalScdfDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    lock = lock_of(scdf_db, 1001)
    with caplog.at_level(logging.INFO):
        lock.release()
    assert caplog.messages == []


@pytest.mark.parametrize("utc", [False, True])
def test_the_lock_s_clock_is_local_time_or_utc(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, utc: bool
) -> None:
    # Far from UTC, so that the two clocks differ here whatever this machine's zone is.
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        engine = TaskStatus.open(None, f"jdbc:sqlite:{tmp_path / 'scdf.db'}").engine
        lock = SingleInstanceLock(engine, "TASK_", "t", 1, LockSettings(timedelta(seconds=1), utc=utc))
        expected = datetime.now(UTC).replace(tzinfo=None) if utc else datetime.now()
        assert abs(lock.now() - expected) < timedelta(seconds=1)
        assert lock.now().tzinfo is None
    finally:
        monkeypatch.undo()
        time.tzset()
