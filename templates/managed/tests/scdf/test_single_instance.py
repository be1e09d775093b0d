"""The single-instance lock writes what Spring Cloud Task's lock writes, so Java and Python runs of
one task exclude each other, and a lock left behind expires after its time to live."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from util.bounded_write import WriteEngine
from util.launch import DEFAULT_LOCK_TTL_MS, LockSettings
from util.local_db import LocalScdfDatabase
from util.single_instance import SingleInstanceLock, TaskAlreadyRunningError, lock_uuid
from util.task_args import LaunchSettings, TaskConfigError
from util.task_status import TaskStatus

# java.util.UUID.nameUUIDFromBytes(s.getBytes("UTF-8")), printed by OpenJDK 17.
JAVA_NAME_UUIDS = {
    "contract-task": "d748b71b-ede2-3cfa-99e1-0b1cb9cacd9f",
    "1001": "b8c37e33-defd-351c-b91e-1e03e51657da",
    "42": "a1d0c6e8-3f02-3327-9846-1063f4ac58a6",
    "zürich-task": "fad36daf-d18d-3c3c-b01e-52d51442ab40",
}
SHORT = LockSettings(timedelta(seconds=2), utc=False)


@pytest.mark.parametrize(("value", "expected"), JAVA_NAME_UUIDS.items())
def test_keys_are_java_name_based_uuids(value: str, expected: str) -> None:
    assert lock_uuid(value) == expected


def test_a_uuid_is_its_own_key_as_in_spring_integration() -> None:
    assert lock_uuid("D748B71B-EDE2-3CFA-99E1-0B1CB9CACD9F") == "d748b71b-ede2-3cfa-99e1-0b1cb9cacd9f"


def settings(*arguments: str) -> LockSettings | None:
    return LockSettings.from_launch(LaunchSettings.parse(arguments, {}))


@pytest.mark.parametrize("value", ["false", "FALSE", "no", "0", ""])
def test_off_unless_enabled(value: str) -> None:
    assert settings() is None
    assert settings(f"--spring.cloud.task.single-instance-enabled={value}") is None


@pytest.mark.parametrize("value", ["true", "True", "on", "yes", "1"])
def test_enabled_with_spring_cloud_task_defaults(value: str) -> None:
    found = settings(f"--spring.cloud.task.single-instance-enabled={value}")
    assert found == LockSettings(timedelta(milliseconds=DEFAULT_LOCK_TTL_MS), utc=False)


@pytest.mark.parametrize(
    ("arguments", "utc"),
    [
        (["--spring.cloud.task.tablePrefix=BOOT3_TASK_"], True),
        (["--spring.cloud.task.schemaTarget=boot3"], True),
        (["--spring.cloud.deployer.bootVersion=3"], True),
        (["--spring.cloud.task.schemaTarget=boot2"], False),
    ],
)
def test_boot3_locks_use_utc_like_spring_integration_6(arguments: list[str], utc: bool) -> None:
    found = settings("--spring.cloud.task.singleInstanceEnabled=true", *arguments)
    assert found is not None
    assert found.utc is utc


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("--spring.cloud.task.single-instance-enabled=maybe", "must be true or false"),
        ("--spring.cloud.task.single-instance-lock-ttl=soon", "whole number of milliseconds"),
        ("--spring.cloud.task.single-instance-lock-ttl=0", "whole number of milliseconds"),
        ("--spring.cloud.task.single-instance-lock-ttl=2147483648", "whole number of milliseconds"),
    ],
)
def test_unusable_settings_are_named(argument: str, message: str) -> None:
    with pytest.raises(TaskConfigError, match=message):
        settings("--spring.cloud.task.single-instance-enabled=true", argument)


def lock_rows(db: LocalScdfDatabase) -> list[Any]:
    with db.transaction() as connection:
        return connection.execute(
            "SELECT LOCK_KEY, REGION, CLIENT_ID, CREATED_DATE FROM TASK_LOCK"
        ).fetchall()


def put_lock(db: LocalScdfDatabase, client_id: str, created: datetime) -> None:
    """A lock row as a Java run of `contract-task` leaves it."""
    with db.transaction() as connection:
        connection.execute(
            "INSERT INTO TASK_LOCK (LOCK_KEY, REGION, CLIENT_ID, CREATED_DATE) VALUES (?, 'DEFAULT', ?, ?)",
            (JAVA_NAME_UUIDS["contract-task"], client_id, created),
        )


def database(db: LocalScdfDatabase) -> WriteEngine:
    """The lock's connections: the write engine of the task's own status writer."""
    return TaskStatus.open(None, db.jdbc_url).engine


def test_taken_with_spring_cloud_task_values_and_released(scdf_db: LocalScdfDatabase) -> None:
    lock = SingleInstanceLock(database(scdf_db), "TASK_", "contract-task", 1001, SHORT)
    before = datetime.now()
    lock.acquire()
    try:
        [(key, region, client, created)] = lock_rows(scdf_db)
        assert (key, region, client) == (
            JAVA_NAME_UUIDS["contract-task"],
            "DEFAULT",
            JAVA_NAME_UUIDS["1001"],
        )
        created = datetime.fromisoformat(created)
        assert before - timedelta(seconds=1) <= created <= datetime.now()
    finally:
        lock.release()
    assert lock_rows(scdf_db) == []


def test_a_held_lock_refuses_another_execution_and_stays(scdf_db: LocalScdfDatabase) -> None:
    put_lock(scdf_db, JAVA_NAME_UUIDS["42"], datetime.now())
    lock = SingleInstanceLock(database(scdf_db), "TASK_", "contract-task", 1001, SHORT)

    started = time.monotonic()
    refusal = r'^Task with name "contract-task" is already running\.$'
    with pytest.raises(TaskAlreadyRunningError, match=refusal):
        lock.acquire()
    assert time.monotonic() - started < 3

    lock.release()  # not held: nothing to delete
    [(_, _, client, _)] = lock_rows(scdf_db)
    assert client == JAVA_NAME_UUIDS["42"]


def test_an_expired_lock_is_taken_over(scdf_db: LocalScdfDatabase) -> None:
    put_lock(scdf_db, JAVA_NAME_UUIDS["42"], datetime.now() - timedelta(seconds=3))
    lock = SingleInstanceLock(database(scdf_db), "TASK_", "contract-task", 1001, SHORT)

    lock.acquire()
    [(_, _, client, _)] = lock_rows(scdf_db)
    assert client == JAVA_NAME_UUIDS["1001"]
    lock.release()


def test_a_held_lock_is_renewed_within_its_time_to_live(scdf_db: LocalScdfDatabase) -> None:
    lock = SingleInstanceLock(database(scdf_db), "TASK_", "contract-task", 1001, SHORT)
    lock.acquire()
    try:
        [(_, _, _, first)] = lock_rows(scdf_db)
        time.sleep(2.5)  # longer than the TTL: only renewals keep it valid
        [(_, _, _, renewed)] = lock_rows(scdf_db)
        assert datetime.fromisoformat(renewed) - datetime.fromisoformat(first) >= timedelta(seconds=1)
        with pytest.raises(TaskAlreadyRunningError):
            SingleInstanceLock(database(scdf_db), "TASK_", "contract-task", 1002, SHORT).acquire()
    finally:
        lock.release()


def test_utc_clock_for_boot3(tmp_path: Path) -> None:
    unused = TaskStatus.open(None, f"jdbc:sqlite:{tmp_path / 'scdf.db'}").engine
    lock = SingleInstanceLock(unused, "BOOT3_TASK_", "t", 1, LockSettings(timedelta(seconds=1), utc=True))
    assert abs(lock.now() - datetime.now(UTC).replace(tzinfo=None)) < timedelta(seconds=1)
