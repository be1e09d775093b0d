"""The next task execution id, taken from `<prefix>SEQ` the way Spring Cloud Task takes it.

Spring Cloud Task asks Spring Batch's incrementer factory for `<prefix>SEQ` by database type, and
the form of `<prefix>SEQ` differs per database and per table generation, even inside one
database: in the schema SCDF 2.11's own migrations create on MariaDB, `TASK_SEQ` is a one-row
table (ID, UNIQUE_KEY) as on MySQL, while `BOOT3_TASK_SEQ` is a sequence. So on MySQL/MariaDB
and SQL Server the form is looked up in the database rather than assumed.

Every form is safe when many runs start in the same second: a sequence never hands out a value
twice, and the table form is one UPDATE of one row, which the database serialises.
"""

from __future__ import annotations

from typing import Any

from util.db_api import Adapter, Cursor
from util.task_args import validate_table_prefix


class SequenceError(RuntimeError):
    """`<prefix>SEQ` is missing or unusable; the message names it."""


def sequence_name(table_prefix: str) -> str:
    return f"{validate_table_prefix(table_prefix)}SEQ"


def next_execution_id(adapter: Adapter, cursor: Cursor, table_prefix: str) -> int:
    """The next value of `<prefix>SEQ`, in whichever form the database has it.

    Run it in a transaction of its own and commit at once, as Spring's incrementers do: the
    table form holds a row lock on `<prefix>SEQ` until the commit.
    """
    name = sequence_name(table_prefix)
    if adapter.dialect == "sqlite":  # the local stand-in's one-row form
        return int(_one_row_table(cursor, name, f"UPDATE {name} SET ID = ID + 1", f"SELECT ID FROM {name}"))
    return next_value(adapter, cursor, name)


def next_value(adapter: Adapter, cursor: Cursor, name: str) -> int:
    """The next value of the incrementer `name` (a sequence, or a table standing in for one).

    Spring Batch's `<prefix>JOB_SEQ` and the others are drawn the same way as `<prefix>SEQ`.
    """
    dialect = adapter.dialect
    if dialect == "mysql":
        value = _mysql(adapter, cursor, name)
    elif dialect == "postgresql":
        value = _scalar(cursor, adapter.sql("SELECT nextval(CAST(? AS regclass))"), (name,))
    elif dialect == "mssql":
        value = _sqlserver(adapter, cursor, name)
    elif dialect == "oracle":
        value = _scalar(cursor, f"SELECT {name}.NEXTVAL FROM DUAL")
    elif dialect == "db2":
        value = _scalar(cursor, f"VALUES NEXTVAL FOR {name}")
    elif dialect == "sqlite":
        value = _sqlite(cursor, name)
    else:
        raise SequenceError(f"No execution id incrementer known for the {dialect} database")
    if value is None:
        raise SequenceError(f"{name} returned no value")
    return int(value)


def _scalar(cursor: Cursor, statement: str, parameters: tuple[object, ...] = ()) -> Any:
    cursor.execute(statement, parameters)
    row = cursor.fetchone()
    return row[0] if row is not None else None


def _mysql(adapter: Adapter, cursor: Cursor, name: str) -> Any:
    kind = _scalar(
        cursor,
        adapter.sql(
            "SELECT TABLE_TYPE FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
        ),
        (name,),
    )
    if kind is None:
        raise SequenceError(f"{name} does not exist: create the tables (SCDF's schema or Spring's DDL)")
    if kind == "SEQUENCE":  # MariaDB 10.3+
        return _scalar(cursor, f"SELECT NEXT VALUE FOR {name}")
    # MySQLMaxValueIncrementer's form: LAST_INSERT_ID(expr) is per connection, so concurrent
    # runs each read back their own value.
    return _one_row_table(
        cursor, name, f"UPDATE {name} SET ID = LAST_INSERT_ID(ID + 1)", "SELECT LAST_INSERT_ID()"
    )


def _sqlite(cursor: Cursor, name: str) -> Any:
    cursor.execute(f"SELECT name FROM pragma_table_info('{name}')")
    columns = {str(c).upper() for (c,) in cursor.fetchall()}
    if not columns:
        raise SequenceError(f"{name} does not exist: create the tables first")
    if "UNIQUE_KEY" in columns:  # the one-row form the local stand-in gives `<prefix>SEQ`
        return _one_row_table(cursor, name, f"UPDATE {name} SET ID = ID + 1", f"SELECT ID FROM {name}")
    # Spring's SqliteMaxValueIncrementer: a row per value, the older ones deleted.
    cursor.execute(f"INSERT INTO {name} VALUES (NULL)")
    value = _scalar(cursor, f"SELECT MAX(rowid) FROM {name}")
    cursor.execute(f"DELETE FROM {name} WHERE ID < ?", (value,))
    return value


def _sqlserver(adapter: Adapter, cursor: Cursor, name: str) -> Any:
    if _scalar(cursor, adapter.sql("SELECT COUNT(*) FROM sys.sequences WHERE name = ?"), (name,)):
        return _scalar(cursor, f"SELECT NEXT VALUE FOR {name}")
    # Spring Cloud Task 2.x on SQL Server: a table with an IDENTITY column; old rows go.
    value = _scalar(cursor, f"INSERT INTO {name} OUTPUT INSERTED.ID DEFAULT VALUES")
    cursor.execute(adapter.sql(f"DELETE FROM {name} WHERE ID < ?"), (value,))
    return value


def _one_row_table(cursor: Cursor, name: str, increment: str, read: str) -> Any:
    cursor.execute(increment)
    if cursor.rowcount != 1:
        raise SequenceError(
            f"{name} must hold exactly one row (Spring Cloud Task's DDL inserts it), found {cursor.rowcount}"
        )
    return _scalar(cursor, read)
