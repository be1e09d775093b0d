"""Oracle through python-oracledb (thin): connecting from the JDBC parts, bounds, error codes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import oracledb

from util.column_text import TextUnit
from util.db_api import Adapter, Connection, Cursor, DbTarget, Timeouts, given_seconds, scalar, value_of

# DPY-6000 (the listener refused) carries the server's reason as "(Similar to ORA-12514)".
_SIMILAR = re.compile(r"\(Similar to (ORA-\d{5})\)")


class OracledbAdapter(Adapter):
    dialect = "oracle"
    label = "Oracle"
    tls_settings = "the TCPS protocol, ssl_server_dn_match"
    package = "oracledb"
    paramstyle = "numeric"
    # Spring Cloud Task's schema-oracle.sql and SCDF's Flyway V1__Initial_Setup declare
    # VARCHAR2(2500) without CHAR, which counts bytes under the default NLS_LENGTH_SEMANTICS=BYTE
    # (https://docs.oracle.com/en/database/oracle/oracle-database/26/refrn/NLS_LENGTH_SEMANTICS.html).
    # Batch's columns are VARCHAR2(2500 char), but a VARCHAR2 holds at most 4000 bytes anyway.
    text_unit = TextUnit.UTF8_BYTES
    transient = frozenset(
        # deadlock, resource busy, lost contact, end of file on channel, connection lost,
        # timeouts, listener refused or not there, instance going down or starting.
        {"ORA-00060", "ORA-00054", "ORA-30006", "ORA-02049", "ORA-01033", "ORA-01034", "ORA-01089"}
        | {"ORA-03113", "ORA-03114", "ORA-03135", "ORA-12170", "ORA-12537", "ORA-12541", "ORA-12543"}
        | {"ORA-12528", "ORA-12519", "ORA-12516", "ORA-25408"}
        # python-oracledb's own: connection closed; cannot connect (thin mode's one code, with
        # `code == 0`, for a closed port, a reset, a broken pipe or a silent listener); call
        # timeout; the listener refused (its reason, when given, decides first).
        | {"DPY-4011", "DPY-6005", "DPY-4024", "DPY-6000"}
    )
    # Invalid credentials, account locked, password expired, unknown service or SID (the server's
    # ORA- codes, and thin mode's DPY-6001 and DPY-6003 for the last two).
    login = frozenset(
        {"ORA-01017", "ORA-28000", "ORA-28001", "ORA-12514", "ORA-12505", "DPY-6001", "DPY-6003"}
    )
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

    def next_value(self, cursor: Cursor, name: str) -> int:
        return value_of(name, scalar(cursor, f"SELECT {name}.NEXTVAL FROM DUAL"))

    def codes(self, error: BaseException) -> Sequence[str]:
        args = getattr(error, "args", ())
        full_code = getattr(args[0], "full_code", None) if args else None
        if not isinstance(full_code, str) or not full_code:
            return ()
        return [*_SIMILAR.findall(str(error)), full_code]

    def code(self, error: BaseException) -> str | None:
        codes = self.codes(error)
        return codes[-1] if codes else None


ADAPTER = OracledbAdapter()
