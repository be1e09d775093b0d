"""SQL Server through pymssql (FreeTDS): connecting from the JDBC parts, bounds, error codes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pymssql

from util.column_text import TextUnit
from util.db_api import (
    Adapter,
    Connection,
    Cursor,
    DbTarget,
    Timeouts,
    given_seconds,
    scalar,
    value_of,
    whole_seconds,
)

# pymssql raises OperationalError((number, message_bytes)): the message holds every message of
# the failed call, the server's ("SQL Server message 18456, ...") and FreeTDS's own ("DB-Lib error
# message 20002, ..."), each with its number. The number in args is not always the last message's.
_MESSAGE_NUMBER = re.compile(r"^(?:SQL Server|DB-Lib error) message (\d+), severity \d+", re.M)


class PymssqlAdapter(Adapter):
    dialect = "mssql"
    label = "SQL Server"
    tls_settings = "encrypt, trustServerCertificate, hostNameInCertificate"
    package = "pymssql"
    paramstyle = "format"
    # VARCHAR(n): "n defines the string size in bytes", in the collation's code page or UTF-8
    # (https://learn.microsoft.com/sql/t-sql/data-types/char-and-varchar-transact-sql); UTF-8
    # bytes bound both. Spring Cloud Task's and Batch's schema-sqlserver.sql declare VARCHAR(2500)
    # (NVARCHAR would count UTF-16 code units, which UTF-8 bytes bound too).
    text_unit = TextUnit.UTF8_BYTES
    # 1205 deadlock victim; 1222 lock request timeout; 233/10053/10054/10060 connection lost;
    # 40197/40501/40613/49918-49920/10928/10929 Azure SQL busy or moving. FreeTDS's own: 20002
    # connection failed (what a closed, silent or foreign listener gives: the server's own
    # refusals come with their numbers first); 20003 timeout; 20004/20006 read/write failed;
    # 20009 server unreachable; 20017 unexpected EOF from the server; 20047 connection dead.
    transient = frozenset(
        {233, 1205, 1222, 10053, 10054, 10060, 10928, 10929}
        | {20002, 20003, 20004, 20006, 20009, 20017, 20047}
        | {40197, 40501, 40613, 49918, 49919, 49920}
    )
    # 18456 login failed; 4060 cannot open the database; 18486/18487/18488 account locked/expired.
    login = frozenset({4060, 18456, 18486, 18487, 18488})
    # 8152/2628 string would be truncated.
    text = frozenset({2628, 8152})
    conflict = frozenset({1205})

    def connect(self, target: DbTarget, timeouts: Timeouts) -> Connection:
        settings: dict[str, Any] = dict(target.query)
        login = min(timeouts.connect, given_seconds(target.query, "login_timeout"))
        settings["login_timeout"] = whole_seconds(login)
        host = target.host or "localhost"
        if ":" in host:  # IPv6: `[::1]:1433`, so the port cannot be read as part of the address
            host = f"[{host}]"
        # `host\instance` asks the server's browser for the port; otherwise `host:port`.
        if target.port is not None:
            host = f"{host}:{target.port}"
        connection = pymssql.connect(
            host=host,
            user=target.username,
            password=target.password,
            database=target.database or "",
            timeout=whole_seconds(timeouts.statement),
            **settings,
        )
        cursor = connection.cursor()
        try:
            cursor.execute(f"SET LOCK_TIMEOUT {max(1, int(timeouts.lock_wait() * 1000))}")
        finally:
            cursor.close()
        return connection

    def next_value(self, cursor: Cursor, name: str) -> int:
        if scalar(cursor, self.sql("SELECT COUNT(*) FROM sys.sequences WHERE name = ?"), (name,)):
            return value_of(name, scalar(cursor, f"SELECT NEXT VALUE FOR {name}"))
        # Spring Cloud Task 2.x on SQL Server: a table with an IDENTITY column; old rows go.
        value = value_of(name, scalar(cursor, f"INSERT INTO {name} OUTPUT INSERTED.ID DEFAULT VALUES"))
        cursor.execute(self.sql(f"DELETE FROM {name} WHERE ID < ?"), (value,))
        return value

    def codes(self, error: BaseException) -> Sequence[int]:
        number, message = _number_and_message(error)
        # The server's and FreeTDS's messages in the order given, then the number in args.
        found = [int(n) for n in _MESSAGE_NUMBER.findall(message)]
        if number is not None and number not in found:
            found.append(number)
        return found

    def code(self, error: BaseException) -> int | None:
        codes = self.codes(error)
        return codes[0] if codes else None

    def describe(self, error: BaseException) -> str:
        number, message = _number_and_message(error)
        if number is None:
            return super().describe(error)
        # One line: the messages' texts, without their headers and repeats.
        lines = [line.strip() for line in message.splitlines()]
        texts = [t for t in lines if t and not _MESSAGE_NUMBER.match(t)]
        return f"{type(error).__name__} {number}: {'; '.join(dict.fromkeys(texts))}"


def _number_and_message(error: BaseException) -> tuple[int | None, str]:
    args: tuple[Any, ...] = getattr(error, "args", ())
    first: Any = args[0] if args else None
    if isinstance(first, tuple) and len(first) == 2 and isinstance(first[0], int):
        number, text = first
        return number, text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    if isinstance(first, int):
        return first, str(args[1]) if len(args) > 1 else ""
    return None, ""


ADAPTER = PymssqlAdapter()
