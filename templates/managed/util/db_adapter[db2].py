"""Db2 through ibm_db's DB-API module (ibm_db_dbi): connecting from the JDBC parts, bounds, error codes."""

from __future__ import annotations

import re
from collections.abc import Sequence

import ibm_db  # type: ignore[import-untyped]
import ibm_db_dbi  # type: ignore[import-untyped]

from util.column_text import TextUnit
from util.db_api import (
    Adapter,
    Connection,
    Cursor,
    DbTarget,
    Fault,
    Timeouts,
    scalar,
    value_of,
    whole_seconds,
)

# ibm_db puts its codes into the text of the error in a fixed form: SQLnnnnN and SQLSTATE=.
_SQLCODE = re.compile(r"\b(SQL\d{4,5}N)\b")
_SQLSTATE = re.compile(r"SQLSTATE=(\w{5})")
# SQL30081N names the protocol and the failing function, then up to three protocol codes.
_COMMUNICATION = re.compile(
    r'Communication protocol being used: "(?P<protocol>[^"]*)".*?'
    r'Protocol specific error code\(s\): "(?P<code>[^"]*)"',
    re.S,
)
# GSKit (Db2's TLS library) codes of a TLS set-up that cannot work: bad or expired certificate,
# no common cipher, bad key database, and so on (414 is what an untrusted certificate gives).
# Not 406 (I/O error) and 420 (socket closed): those are the connection going away.
_GSKIT_LOST = frozenset({"406", "420"})


class IbmDbAdapter(Adapter):
    dialect = "db2"
    label = "Db2"
    tls_settings = "sslConnection, sslCertLocation"
    package = "ibm_db"
    paramstyle = "qmark"
    # VARCHAR(n) without CODEUNITS32 counts OCTETS (bytes) under the default string_units=SYSTEM
    # (https://www.ibm.com/docs/en/SSHRBY/com.ibm.db2.luw.admin.config.doc/doc/r0060936.html);
    # Spring Cloud Task's and Batch's schema-db2.sql declare VARCHAR(2500).
    text_unit = TextUnit.UTF8_BYTES
    # Codes by message id (SQLnnnnN) first, as the more precise, then by SQLSTATE.
    # Communication error (TCP/IP, or TLS that is not set-up: see `meaning`); client reroute;
    # deadlock or timeout rolled back; lock timeout; database not started, quiesced, or being
    # activated; too many connections.
    transient = frozenset(
        {"SQL30081N", "SQL30108N", "SQL0911N", "SQL0913N", "SQL1224N", "SQL1776N", "SQL1032N"}
    ) | frozenset({"40001", "57033", "08001", "57019", "57030", "08004"})
    # Security failure (credentials); database not found; authorization.
    login = frozenset({"SQL30082N", "SQL1013N", "SQL1031N", "SQL1060N", "SQL30061N"})
    # TLS failures are SQL30081N with the protocol "SSL" (see `meaning`); SQL5043N is the
    # server's DB2COMM start-up, not TLS.
    tls = frozenset()
    # Value too long; character conversion; string too long for the column.
    text = frozenset({"SQL0302N", "SQL0433N", "22001", "22021"})
    conflict = frozenset({"SQL0911N", "40001"})

    def connect(self, target: DbTarget, timeouts: Timeouts) -> Connection:
        # The CLI connection string: keyword=value; a value cannot hold ';' (IBM documents no
        # quoting for it): such a value would end early and its rest be read as keywords.
        for name, value in (
            ("password", target.password),
            ("user", target.username),
            ("database", target.database),
        ):
            if value and ";" in value:
                raise ValueError(
                    f"Db2's CLI driver cannot take ';' in the {name} (its connection string ends "
                    "there): change it on the Db2 side"
                )
        fields = {
            "DATABASE": target.database or "",
            "HOSTNAME": target.host or "localhost",
            "PORT": str(target.port or 446),
            "PROTOCOL": "TCPIP",
            "UID": target.username or "",
            "PWD": target.password or "",
            # Without it a listener that accepts and never answers holds the connect forever.
            "ConnectTimeout": str(whole_seconds(timeouts.connect)),
            **target.query,
        }
        dsn = "".join(f"{key}={value};" for key, value in fields.items())
        statement = whole_seconds(timeouts.statement)
        options = {
            ibm_db.SQL_ATTR_AUTOCOMMIT: ibm_db.SQL_AUTOCOMMIT_OFF,
            # The server cancels a statement running longer; the client waits no longer for a
            # reply on the open connection.
            ibm_db.SQL_ATTR_QUERY_TIMEOUT: statement,
            ibm_db.SQL_ATTR_RECEIVE_TIMEOUT: statement,
        }
        connection = ibm_db_dbi.connect(dsn, "", "", conn_options=options)
        cursor = connection.cursor()
        try:
            # Db2 waits for a lock forever by default; this makes it SQL0911N reason 68 (retried).
            cursor.execute(f"SET CURRENT LOCK TIMEOUT {whole_seconds(timeouts.lock_wait())}")
        finally:
            cursor.close()
        return connection  # type: ignore[no-any-return]

    def next_value(self, cursor: Cursor, name: str) -> int:
        return value_of(name, scalar(cursor, f"VALUES NEXTVAL FOR {name}"))

    def codes(self, error: BaseException) -> Sequence[str]:
        text = str(error)
        return [*_SQLCODE.findall(text), *_SQLSTATE.findall(text)]

    def code(self, error: BaseException) -> str | None:
        codes = self.codes(error)
        return codes[0] if codes else None

    def meaning(self, error: BaseException) -> Fault | None:
        text = str(error)
        if "SQL30081N" not in text:
            return None
        found = _COMMUNICATION.search(text)
        if found is None or found.group("protocol") != "SSL":
            return None
        code = found.group("code")
        return Fault.TLS if code.isdigit() and code.startswith("4") and code not in _GSKIT_LOST else None


ADAPTER = IbmDbAdapter()
