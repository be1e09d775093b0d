"""The next task execution id, taken from `<prefix>SEQ` the way Spring Cloud Task takes it.

Spring Cloud Task asks Spring Batch's incrementer factory for `<prefix>SEQ` by database type; the
form of an incrementer differs per database, and per table generation even inside one (see the
adapter's `next_value`), so the adapter of the project's database draws it.

Every form is safe when many runs start in the same second: a sequence never hands out a value
twice, and the table form is one UPDATE of one row, which the database serialises.
"""

from __future__ import annotations

from util.db_api import Adapter, Cursor, SequenceError
from util.task_args import validate_table_prefix

__all__ = ["SequenceError", "next_execution_id", "next_value", "sequence_name"]


def sequence_name(table_prefix: str) -> str:
    return f"{validate_table_prefix(table_prefix)}SEQ"


def next_execution_id(adapter: Adapter, cursor: Cursor, table_prefix: str) -> int:
    """The next value of `<prefix>SEQ`, in whichever form the database has it.

    Run it in a transaction of its own and commit at once, as Spring's incrementers do: the
    table form holds a row lock on `<prefix>SEQ` until the commit.
    """
    return adapter.next_task_id(cursor, sequence_name(table_prefix))


def next_value(adapter: Adapter, cursor: Cursor, name: str) -> int:
    """The next value of the incrementer `name` (Spring Batch's `<prefix>JOB_SEQ` and the others)."""
    return adapter.next_value(cursor, name)
