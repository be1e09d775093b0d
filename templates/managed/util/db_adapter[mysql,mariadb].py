"""MySQL and MariaDB through PyMySQL: how to connect from the JDBC parts, bound a write, read its errors."""

from __future__ import annotations

from typing import Any

# PyMySQL ships no type hints (they are a separate stubs package).
import pymysql  # type: ignore[import-untyped]
from pymysql.constants import CLIENT  # type: ignore[import-untyped]

from util.column_text import TextUnit
from util.db_api import (
    Adapter,
    Connection,
    Cursor,
    DbTarget,
    SequenceError,
    Timeouts,
    given_seconds,
    one_row_table,
    scalar,
    value_of,
    whole_seconds,
)
from util.task_args import TRUE_WORDS

# TLS settings the JDBC parser writes (named as SQLAlchemy's PyMySQL dialect names them): the
# first two go into PyMySQL's `ssl` dictionary, the others are its own keyword arguments.
_SSL_DICT = {"ssl_ca": "ca", "ssl_check_hostname": "check_hostname"}
_SSL_FLAGS = ("ssl_disabled", "ssl_verify_cert", "ssl_verify_identity")


def _flag(value: str) -> bool:
    return value.strip().lower() in TRUE_WORDS


class PyMysqlAdapter(Adapter):
    dialect = "mysql"
    label = <%- JSON.stringify(profile.label) %>
    tls_settings = "sslMode, useSSL, trustServerCertificate"
    package = <%- JSON.stringify(profile.requirements[0].split('==')[0]) %>
    paramstyle = "format"
    # VARCHAR(M): "M represents the maximum column length in characters" (https://mariadb.com/kb/en/varchar/;
    # MySQL's manual, String Data Type Syntax, says the same); Spring Cloud Task's and Batch's
    # schema-mysql.sql / schema-mariadb.sql and SCDF's Flyway scripts declare VARCHAR(2500).
    text_unit = TextUnit.CHARACTERS
    # 0: PyMySQL's own "connection already closed"; 2002/2003/2006/2013/2055: client-side
    # connection errors; 1040 too many connections; 1053 shutdown; 1205 lock wait timeout; 1213
    # deadlock; 1317 query interrupted; 1290/1836 read-only during a failover; 1927 connection
    # killed (MariaDB); 1969 max_statement_time (MariaDB); 3024 max_execution_time (MySQL);
    # 4031 disconnected by the server for inactivity (MySQL 8).
    transient = frozenset(
        {0, 1040, 1053, 1205, 1213, 1290, 1317, 1836, 1927, 1969, 2002, 2003, 2006, 2013, 2055, 3024, 4031}
    )
    # 1044/1045/1698 access denied; 1049 unknown database; 1251/2059 authentication plugin;
    # 1862 password expired.
    login = frozenset({1044, 1045, 1049, 1251, 1698, 1862, 2059})
    # 2026 TLS connection error (also "required but the server offers none"); 3159 the server
    # requires TLS.
    tls = frozenset({2026, 3159})
    # 1366 incorrect string value (the column's character set); 1300 invalid character string;
    # 1406 data too long.
    text = frozenset({1300, 1366, 1406})
    conflict = frozenset({1205, 1213})

    def connect(self, target: DbTarget, timeouts: Timeouts) -> Connection:
        query = target.query
        settings: dict[str, Any] = {}
        ssl = {
            _SSL_DICT[k]: (_flag(v) if k == "ssl_check_hostname" else v)
            for k, v in query.items()
            if k in _SSL_DICT
        }
        if ssl:
            settings["ssl"] = ssl
        settings.update({k: _flag(v) for k, v in query.items() if k in _SSL_FLAGS})
        read = min(timeouts.statement, given_seconds(query, "read_timeout"))
        connection: Connection = pymysql.connect(
            host=target.host or "localhost",
            port=target.port or 3306,
            user=target.username,
            password=target.password or "",
            database=target.database,
            # PyMySQL applies connect_timeout to the TCP connect only, read_timeout to the
            # handshake and every reply after it: without it a silent server hangs the task.
            connect_timeout=min(timeouts.connect, given_seconds(query, "connect_timeout")),
            read_timeout=read,
            write_timeout=read,
            # Sent in the handshake's round trip; both MySQL and MariaDB know it
            # (max_statement_time is MariaDB's only).
            init_command=f"SET SESSION innodb_lock_wait_timeout = {whole_seconds(timeouts.lock_wait())}",
            # UPDATE's row count counts the rows matched, not only those changed: a repeated
            # end write (same values after a lost reply) still finds its row.
            client_flag=CLIENT.FOUND_ROWS,
            **settings,
        )
        return connection

    def next_value(self, cursor: Cursor, name: str) -> int:
        # Looked up, not assumed: in the schema SCDF 2.11's migrations create on MariaDB,
        # `TASK_SEQ` is a one-row table as on MySQL, and `BOOT3_TASK_SEQ` a sequence.
        kind = scalar(
            cursor,
            self.sql(
                "SELECT TABLE_TYPE FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
            ),
            (name,),
        )
        if kind is None:
            raise SequenceError(f"{name} does not exist: create the tables (SCDF's schema or Spring's DDL)")
        if kind == "SEQUENCE":  # MariaDB 10.3+
            return value_of(name, scalar(cursor, f"SELECT NEXT VALUE FOR {name}"))
        # MySQLMaxValueIncrementer's form: LAST_INSERT_ID(expr) is per connection, so concurrent
        # runs each read back their own value.
        return one_row_table(
            cursor, name, f"UPDATE {name} SET ID = LAST_INSERT_ID(ID + 1)", "SELECT LAST_INSERT_ID()"
        )

    def read_committed(self, connection: Connection) -> None:
        cursor = connection.cursor()
        try:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        finally:
            cursor.close()

    def code(self, error: BaseException) -> int | None:
        args = getattr(error, "args", ())
        return args[0] if args and isinstance(args[0], int) else None

    def socket_fd(self, connection: Connection) -> int | None:
        sock = getattr(connection, "_sock", None)
        return int(sock.fileno()) if sock is not None else None


ADAPTER = PyMysqlAdapter()
