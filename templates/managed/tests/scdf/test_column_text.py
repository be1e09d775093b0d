"""Texts are cut to what the column's length counts on the database: characters or UTF-8 bytes."""

import pytest

from util.batch_job import split_context
from util.column_text import (
    ARGUMENT_CUT_MARK,
    MAX_TEXT,
    TRUNCATION_MARK,
    TextUnit,
    fit_argument,
    fit_text,
)
from util.db_sqlite import SqliteAdapter
from util.local_db import LocalScdfDatabase
from util.task_status import TaskStatus

CHARACTERS, UTF8_BYTES = TextUnit.CHARACTERS, TextUnit.UTF8_BYTES
KANJI = "漢"  # 3 bytes in UTF-8
EMOJI = "😀"  # 4 bytes in UTF-8, one character


def test_sqlite_counts_characters() -> None:
    # SQLite enforces no length; the cut keeps to the declared VARCHAR(2500) as characters.
    assert SqliteAdapter.text_unit is CHARACTERS


# --- fit_text -----------------------------------------------------------------------------------


@pytest.mark.parametrize("char", [KANJI, EMOJI, "é"])
def test_in_characters_a_wide_text_keeps_2500_characters(char: str) -> None:
    cut = fit_text(char * 3000 + "END", unit=CHARACTERS)
    assert cut == TRUNCATION_MARK + char * (MAX_TEXT - len(TRUNCATION_MARK) - 3) + "END"
    assert len(cut) == MAX_TEXT


def test_in_bytes_a_kanji_text_keeps_every_whole_character_that_fits() -> None:
    cut = fit_text(KANJI * 3000, unit=UTF8_BYTES)
    kept = (MAX_TEXT - len(TRUNCATION_MARK.encode())) // 3
    assert cut == TRUNCATION_MARK + KANJI * kept
    assert len(cut.encode()) == 2499  # one more 3-byte character would make 2502


@pytest.mark.parametrize("char", [KANJI, EMOJI, "é", "x"])
def test_in_bytes_nothing_is_cut_that_would_have_fitted(char: str) -> None:
    text = "a" * 7 + char * 3000
    cut = fit_text(text, unit=UTF8_BYTES)
    assert cut is not None
    tail = cut[len(TRUNCATION_MARK) :]
    assert text.endswith(tail)
    assert len(cut.encode()) <= MAX_TEXT
    one_more = TRUNCATION_MARK + text[-len(tail) - 1 :]
    assert len(one_more.encode()) > MAX_TEXT


def test_a_text_within_2500_characters_is_kept_whole_only_where_characters_are_counted() -> None:
    text = KANJI * MAX_TEXT
    assert fit_text(text, unit=CHARACTERS) == text
    cut = fit_text(text, unit=UTF8_BYTES)
    assert cut is not None
    assert len(cut.encode()) <= MAX_TEXT


def test_an_ascii_text_is_cut_alike_in_both_units() -> None:
    text = "x" * 3000 + "END"
    assert fit_text(text, unit=CHARACTERS) == fit_text(text, unit=UTF8_BYTES)
    assert fit_text("y" * MAX_TEXT, unit=CHARACTERS) == "y" * MAX_TEXT


def test_without_a_unit_the_cut_fits_either_kind_of_column() -> None:
    text = EMOJI * 1000 + KANJI * 1000
    assert fit_text(text) == fit_text(text, unit=UTF8_BYTES)
    assert fit_argument("--a=" + text) == fit_argument("--a=" + text, unit=UTF8_BYTES)


# --- fit_argument -------------------------------------------------------------------------------


def test_in_characters_a_wide_argument_keeps_2500_characters() -> None:
    cut = fit_argument("--note=" + KANJI * 3000 + "END", unit=CHARACTERS)
    prefix = "--note=" + ARGUMENT_CUT_MARK
    assert cut == prefix + KANJI * (MAX_TEXT - len(prefix) - 3) + "END"
    assert len(cut) == MAX_TEXT


def test_in_bytes_a_wide_argument_keeps_its_key_and_every_character_that_fits() -> None:
    cut = fit_argument("--note=" + KANJI * 3000, unit=UTF8_BYTES)
    prefix = "--note=" + ARGUMENT_CUT_MARK
    assert cut == prefix + KANJI * ((MAX_TEXT - len(prefix)) // 3)
    assert MAX_TEXT - 3 < len(cut.encode()) <= MAX_TEXT


# --- SHORT_CONTEXT ------------------------------------------------------------------------------


def test_a_wide_context_is_split_to_what_short_context_counts() -> None:
    serialized = KANJI * 3000
    short, whole = split_context(serialized, CHARACTERS)
    assert (short, whole) == (KANJI * (MAX_TEXT - 8) + " ...", serialized)
    short, whole = split_context(serialized, UTF8_BYTES)
    assert (short, whole) == (KANJI * ((MAX_TEXT - 8) // 3) + " ...", serialized)
    assert split_context(KANJI * MAX_TEXT, CHARACTERS) == (KANJI * MAX_TEXT, None)


# --- the writes use their database's unit --------------------------------------------------------


def test_the_row_keeps_2500_characters_where_characters_are_counted(scdf_db: LocalScdfDatabase) -> None:
    execution_id = scdf_db.create_execution()
    status = TaskStatus.open(execution_id, scdf_db.jdbc_url)
    status.running(["--note=" + KANJI * 3000 + "END"])
    status.failed(1, error_message=KANJI * 3000 + "ValueError: last line")

    row = scdf_db.execution(execution_id)
    assert row is not None
    assert row.error_message is not None
    assert len(row.error_message) == MAX_TEXT
    assert row.error_message.endswith(KANJI * 100 + "ValueError: last line")
    (param,) = scdf_db.params(execution_id)
    assert len(param) == MAX_TEXT
    assert param.startswith("--note=" + ARGUMENT_CUT_MARK)
    assert param.endswith(KANJI + "END")


def test_the_row_keeps_2500_bytes_where_bytes_are_counted(
    scdf_db: LocalScdfDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SqliteAdapter, "text_unit", UTF8_BYTES)  # as on Oracle, SQL Server, Db2
    execution_id = scdf_db.create_execution()
    status = TaskStatus.open(execution_id, scdf_db.jdbc_url)
    status.running(["--note=" + KANJI * 3000])
    status.failed(1, error_message=KANJI * 3000)

    row = scdf_db.execution(execution_id)
    assert row is not None
    assert row.error_message is not None
    assert MAX_TEXT - 3 < len(row.error_message.encode()) <= MAX_TEXT
    (param,) = scdf_db.params(execution_id)
    assert MAX_TEXT - 3 < len(param.encode()) <= MAX_TEXT
