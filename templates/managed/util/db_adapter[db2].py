"""Db2 through ibm_db's DB-API module (ibm_db_dbi): how to connect from the JDBC parts, read its errors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import ibm_db_dbi  # type: ignore[import-untyped]

from util.db_api import Adapter, Connection, DbTarget, Timeouts, whole_seconds

_DB2_CODES = re.compile(r"\b(SQL\d{4,5}N)\b|SQLSTATE=(\w{5})")


def _db2_codes(error: BaseException) -> Iterator[str]:
    # ibm_db puts its codes into the text of the error in a fixed form: SQLnnnnN and SQLSTATE=.
    for match in _DB2_CODES.finditer(str(error)):
        yield match.group(1) or match.group(2)


class IbmDbAdapter(Adapter):
    dialect = "db2"
    package = "ibm_db"
    paramstyle = "qmark"
    # communication error; client reroute; deadlock/timeout rolled back; lock timeout;
    # database not started or quiesced; too many connections.
    transient = frozenset(
        {"SQL30081N", "SQL30108N", "SQL0911N", "SQL0913N", "SQL1224N", "SQL1776N"}
    ) | frozenset({"40001", "57033", "08001", "57019"})
    # security failure (credentials); database not found; authorization.
    login = frozenset({"SQL30082N", "SQL1013N", "SQL1031N", "SQL1060N", "SQL30061N"})
    # TLS (GSKit) set-up failures.
    tls = frozenset({"SQL5043N"})
    text = frozenset({"SQL0302N", "SQL0433N", "22001", "22021"})
    conflict = frozenset({"SQL0911N", "40001"})

    def connect(self, target: DbTarget, timeouts: Timeouts) -> Connection:
        # The CLI connection string: keyword=value; a value cannot hold ';' (IBM documents no
        # quoting for it, hence the warning on such passwords in util.jdbc_url).
        fields = {
            "DATABASE": target.database or "",
            "HOSTNAME": target.host or "localhost",
            "PORT": str(target.port or 446),
            "PROTOCOL": "TCPIP",
            "UID": target.username or "",
            "PWD": target.password or "",
            "ConnectTimeout": str(whole_seconds(timeouts.connect)),
            **target.query,
        }
        dsn = "".join(f"{key}={value};" for key, value in fields.items())
        connection = ibm_db_dbi.connect(dsn, "", "")
        connection.set_autocommit(False)
        return connection  # type: ignore[no-any-return]

    def code(self, error: BaseException) -> str | None:
        codes = list(_db2_codes(error))
        # SQLnnnnN is more precise than the SQLSTATE (SQL30082N and SQL30081N share 08001).
        return next((c for c in codes if c.startswith("SQL")), codes[0] if codes else None)


ADAPTER = IbmDbAdapter()
