"""SQL Server through pymssql (FreeTDS): connecting from the JDBC parts, bounds, error codes."""

from __future__ import annotations

from typing import Any

import pymssql

from util.db_api import Adapter, Connection, DbTarget, Timeouts, given_seconds, whole_seconds


class PymssqlAdapter(Adapter):
    dialect = "mssql"
    package = "pymssql"
    paramstyle = "format"
    # 1205 deadlock victim; 1222 lock request timeout; 233/10053/10054/10060 connection lost;
    # 40197/40501/40613/49918-49920/10928/10929 Azure SQL busy or moving; 20003 FreeTDS timeout;
    # 20004/20006 read/write failed; 20009 server unreachable; 20047 connection dead.
    transient = frozenset(
        {233, 1205, 1222, 10053, 10054, 10060, 10928, 10929, 20003, 20004, 20006, 20009, 20047}
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

    def code(self, error: BaseException) -> int | None:
        args = getattr(error, "args", ())
        return args[0] if args and isinstance(args[0], int) else None


ADAPTER = PymssqlAdapter()
