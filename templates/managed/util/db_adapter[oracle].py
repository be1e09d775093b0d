"""Oracle through python-oracledb (thin): connecting from the JDBC parts, bounds, error codes."""

from __future__ import annotations

from typing import Any

import oracledb

from util.db_api import Adapter, Connection, DbTarget, Timeouts, given_seconds


class OracledbAdapter(Adapter):
    dialect = "oracle"
    package = "oracledb"
    paramstyle = "numeric"
    transient = frozenset(
        # deadlock, resource busy, lost contact, end of file on channel, connection lost,
        # timeouts, listener refused or not there, instance going down or starting.
        {"ORA-00060", "ORA-00054", "ORA-30006", "ORA-02049", "ORA-01033", "ORA-01034", "ORA-01089"}
        | {"ORA-03113", "ORA-03114", "ORA-03135", "ORA-12170", "ORA-12537", "ORA-12541", "ORA-12543"}
        | {"ORA-12528", "ORA-12519", "ORA-12516", "ORA-25408"}
        # python-oracledb's own: connection closed, cannot connect, call timeout, connect timeout
        | {"DPY-4011", "DPY-6005", "DPY-4024", "DPY-6000"}
    )
    # invalid credentials, account locked, password expired, unknown service or SID.
    login = frozenset({"ORA-01017", "ORA-28000", "ORA-28001", "ORA-12514", "ORA-12505"})
    # TLS: certificate mismatch, wallet and handshake failures.
    tls = frozenset({"ORA-29024", "ORA-29003", "ORA-28759", "ORA-28860", "DPY-6006", "DPY-4035"})
    # value too large for the column; partial multibyte character.
    text = frozenset({"ORA-12899", "ORA-01461", "ORA-29275"})
    conflict = frozenset({"ORA-00060", "ORA-08177"})

    def connect(self, target: DbTarget, timeouts: Timeouts) -> Connection:
        settings: dict[str, Any] = dict(target.query)
        settings["tcp_connect_timeout"] = min(
            timeouts.connect, given_seconds(target.query, "tcp_connect_timeout")
        )
        if "dsn" not in settings:
            settings["host"] = target.host
            settings["port"] = target.port or 1521
            if "service_name" not in settings and target.database:
                settings["sid"] = target.database  # jdbc:oracle:thin:@host:port:SID
        connection = oracledb.connect(user=target.username, password=target.password, **settings)
        # A client-side bound on every round trip: DPY-4024 when it passes.
        connection.call_timeout = max(1, int(timeouts.statement * 1000))
        return connection

    def code(self, error: BaseException) -> str | None:
        args = getattr(error, "args", ())
        full_code = getattr(args[0], "full_code", None) if args else None
        return full_code if isinstance(full_code, str) else None


ADAPTER = OracledbAdapter()
