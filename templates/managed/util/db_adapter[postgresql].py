"""PostgreSQL through psycopg 3: how to connect from the JDBC parts, bound a write, read its errors."""

from __future__ import annotations

from typing import Any

import psycopg

from util.column_text import TextUnit
from util.db_api import (
    Adapter,
    Connection,
    Cursor,
    DbTarget,
    Fault,
    Timeouts,
    given_seconds,
    scalar,
    value_of,
    whole_seconds,
)

# libpq's words for a TLS session the peer ended (fe-secure-openssl.c): a reset or EOF seen by
# the socket ("SSL SYSCALL error: Connection reset by peer", "... EOF detected"), OpenSSL 3's
# "unexpected eof while reading", a close_notify before the end.
_TLS_LOST = (
    "SSL SYSCALL error",
    "unexpected eof while reading",
    "SSL connection has been closed unexpectedly",
)


class PsycopgAdapter(Adapter):
    dialect = "postgresql"
    label = "PostgreSQL"
    tls_settings = "sslmode, sslrootcert"
    package = "psycopg[binary]"
    paramstyle = "format"
    # VARCHAR(n) stores "strings up to n characters in length", whatever the server encoding
    # (https://www.postgresql.org/docs/current/datatype-character.html); Spring Cloud Task's and
    # Batch's schema-postgresql.sql declare VARCHAR(2500).
    text_unit = TextUnit.CHARACTERS
    # Class 08: connection exception; class 53: insufficient resources (too many connections).
    transient_prefixes = ("08", "53")
    # 40001 serialization failure; 40P01 deadlock; 55P03 lock not available (lock_timeout);
    # 57014 canceled (statement_timeout); 57P01-57P03 shutdown, crash, cannot connect now.
    transient = frozenset({"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03"})
    # Class 28: invalid authorization; 3D000 no such database.
    login = frozenset({"28000", "28P01", "3D000"})
    # 22001 too long; 22021 not in the character set; 22P05 no equivalent in the database's one.
    text = frozenset({"22001", "22021", "22P05"})
    conflict = frozenset({"40001", "40P01"})

    def connect(self, target: DbTarget, timeouts: Timeouts) -> Connection:
        settings: dict[str, Any] = dict(target.query)
        statement_ms = max(1, int(timeouts.statement * 1000))
        lock_ms = max(1, int(timeouts.lock_wait() * 1000))
        # Sent in the start-up packet: bounds set with no statement of their own.
        limits = f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}"
        settings["options"] = f"{settings['options']} {limits}" if settings.get("options") else limits
        # libpq counts whole seconds and takes anything below 2 as 2.
        connect = min(timeouts.connect, given_seconds(target.query, "connect_timeout"))
        settings["connect_timeout"] = str(whole_seconds(connect, 2))
        if target.host is not None:
            settings["host"] = target.host
        if target.port is not None:
            settings["port"] = target.port
        # Keyword arguments: psycopg quotes each value into the connection string itself.
        return psycopg.connect(
            dbname=target.database, user=target.username, password=target.password, **settings
        )

    def next_value(self, cursor: Cursor, name: str) -> int:
        return value_of(name, scalar(cursor, self.sql("SELECT nextval(CAST(? AS regclass))"), (name,)))

    def code(self, error: BaseException) -> str | None:
        sqlstate = getattr(error, "sqlstate", None)
        return sqlstate if isinstance(sqlstate, str) else None

    def uncoded(self, error: BaseException) -> Fault | None:
        # A failed connect carries no SQLSTATE (libpq has no API for it). The server only refuses
        # a login after the password was sent: wrong credentials, or no such database.
        pgconn = getattr(error, "pgconn", None)
        if pgconn is not None and getattr(pgconn, "used_password", False):
            return Fault.LOGIN
        # libpq sets up TLS itself and reports its failures in words only ("SSL ...", "server
        # certificate for ... does not match"); these markers are stable across its versions.
        message = str(error)
        if "invalid response to SSL negotiation" in message:
            return Fault.OTHER  # no PostgreSQL server answers there: its first reply is foreign
        # One line per host or address tried: any that says TLS cannot work decides. A line
        # that says the TLS session ended (the server closed or reset it, even mid-handshake)
        # is a connection lost, retried with the others below.
        if any(
            ("SSL" in line or "certificate" in line) and not any(m in line for m in _TLS_LOST)
            for line in message.splitlines()
        ):
            return Fault.TLS
        # Otherwise a code-less failure of the connection itself (refused, timed out, cut): by
        # DB-API class, which psycopg's own subclasses (ConnectionTimeout, ...) inherit.
        lost = {"OperationalError", "InterfaceError"} & {c.__name__ for c in type(error).__mro__}
        return Fault.TRANSIENT if lost else None

    def socket_fd(self, connection: Connection) -> int | None:
        pgconn = getattr(connection, "pgconn", None)
        return int(pgconn.socket) if pgconn is not None else None


ADAPTER = PsycopgAdapter()
