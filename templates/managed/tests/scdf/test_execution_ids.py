"""Execution ids come from `<prefix>SEQ`, one per run, also when many runs start at once."""

import threading
from pathlib import Path

import pytest

from util.db_sqlite import ADAPTER as SQLITE
from util.execution_ids import SequenceError, next_execution_id
from util.local_db import LocalScdfDatabase


def take(db: LocalScdfDatabase, prefix: str = "TASK_") -> int:
    with db.transaction() as connection:
        return next_execution_id(SQLITE, connection.cursor(), prefix)


def test_ids_count_up_from_the_sequence_row(scdf_db: LocalScdfDatabase) -> None:
    with scdf_db.transaction() as connection:
        connection.execute("UPDATE TASK_SEQ SET ID = 41")

    assert [take(scdf_db), take(scdf_db), take(scdf_db)] == [42, 43, 44]
    with scdf_db.transaction() as connection:
        assert connection.execute("SELECT ID FROM TASK_SEQ").fetchall() == [(44,)]


def test_each_generation_has_its_own_sequence(tmp_path: Path) -> None:
    db = LocalScdfDatabase(tmp_path / "scdf.db", prefixes=("TASK_", "BOOT3_TASK_"))
    assert [take(db, "TASK_"), take(db, "TASK_"), take(db, "BOOT3_TASK_")] == [1, 2, 1]
    db.dispose()


def test_concurrent_takers_get_distinct_ids(scdf_db: LocalScdfDatabase) -> None:
    taken: list[int] = []
    errors: list[Exception] = []

    def worker() -> None:
        try:
            for _ in range(5):
                taken.append(take(scdf_db))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(taken) == list(range(1, 41))


def test_missing_sequence_is_an_error_naming_it(scdf_db: LocalScdfDatabase) -> None:
    with scdf_db.transaction() as connection:
        connection.execute("DROP TABLE TASK_SEQ")

    with pytest.raises(Exception, match="TASK_SEQ"):
        take(scdf_db)


def test_empty_sequence_table_is_an_error_naming_it(scdf_db: LocalScdfDatabase) -> None:
    with scdf_db.transaction() as connection:
        connection.execute("DELETE FROM TASK_SEQ")

    with pytest.raises(SequenceError, match=r"TASK_SEQ must hold exactly one row .* found 0"):
        take(scdf_db)
