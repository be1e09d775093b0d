"""What each Python database driver needs to bound a write, and what its errors mean.

Everything driver-specific about the row writes lives here, in one table: how to give a
connection a connect timeout and a statement timeout (each driver has its own setting), how to
reach the socket so that a write hung on a silent server can be cut, and how to tell an error
worth retrying from one that cannot heal. Errors are told apart by the codes the drivers and
servers attach to them (SQLSTATE, MySQL error numbers, ORA-/DPY- codes, SQL Server and FreeTDS
numbers, Db2's SQLnnnnN), never by the words of a message, which change with versions and
languages. The one exception is libpq, which reports TLS failures of the connection with no code.
"""

from __future__ import annotations

import contextlib
import enum
import math
import os
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


class Fault(enum.Enum):
    """What an error means for the write that met it."""

    #: The server is away, slow, busy or restarting, a lock was in the way: try again.
    TRANSIENT = "transient"
    #: Wrong user or password, or no such database: retrying cannot help.
    LOGIN = "login"
    #: TLS cannot be set up (the server offers none, the certificate does not match): cannot heal.
    TLS = "tls"
    #: A value does not fit its column (character set or length): store a simpler value.
    TEXT = "text"
    #: Anything else (a missing table, say): report it.
    OTHER = "other"


@dataclass(frozen=True)
class Timeouts:
    """Seconds for one attempt: to connect, and for each statement."""

    connect: float
    statement: float


@dataclass(frozen=True)
class Driver:
    """One Python driver's settings and error codes."""

    name: str
    #: Connect keyword arguments that bound the connect and each statement.
    connect_params: Callable[[Timeouts, dict[str, Any]], dict[str, Any]] = lambda t, p: {}
    #: Bounds set on a connection once it is open.
    on_connect: Callable[[Any, Timeouts], None] = lambda connection, t: None
    #: The driver's code of an error (its own exception, not SQLAlchemy's), or None.
    code: Callable[[BaseException], str | int | None] = lambda error: None
    transient: frozenset[str | int] = frozenset()
    login: frozenset[str | int] = frozenset()
    tls: frozenset[str | int] = frozenset()
    text: frozenset[str | int] = frozenset()
    #: For a code-less error: its meaning, or None to go by the code.
    uncoded: Callable[[BaseException], Fault | None] = lambda error: None
    #: The socket file descriptor of an open connection, when the driver exposes it.
    socket_fd: Callable[[Any], int | None] = lambda connection: None
    #: Code prefixes (SQLSTATE classes) that are transient as a whole.
    transient_prefixes: tuple[str, ...] = field(default=())


def _whole(seconds: float, minimum: int = 1) -> int:
    return max(minimum, math.ceil(seconds))


def _lock_wait(timeouts: Timeouts) -> float:
    # A lock wait ends well before the statement's own limit, so that it is reported as the
    # server's lock-timeout error (transient, retried) rather than as a cut connection.
    return timeouts.statement / 2


# --- MySQL and MariaDB: PyMySQL --------------------------------------------------------------


def _pymysql_params(timeouts: Timeouts, given: dict[str, Any]) -> dict[str, Any]:
    read = min(timeouts.statement, float(given.get("read_timeout") or math.inf))
    lock = _whole(_lock_wait(timeouts))
    return {
        # PyMySQL applies connect_timeout to the TCP connect only, read_timeout to the handshake
        # and every reply after it: without it a silent server hangs the task for good.
        "connect_timeout": min(timeouts.connect, float(given.get("connect_timeout") or math.inf)),
        "read_timeout": read,
        "write_timeout": read,
        # Both MySQL and MariaDB know this one (max_statement_time is MariaDB's only).
        "init_command": f"SET SESSION innodb_lock_wait_timeout = {lock}",
    }


def _pymysql_code(error: BaseException) -> int | None:
    args = getattr(error, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _pymysql_socket(connection: Any) -> int | None:
    sock = getattr(connection, "_sock", None)
    return sock.fileno() if sock is not None else None


PYMYSQL = Driver(
    "pymysql",
    connect_params=_pymysql_params,
    code=_pymysql_code,
    # 0: PyMySQL's own "connection already closed"; 2002/2003/2006/2013/2055: client-side
    # connection errors; 1040 too many connections; 1053 shutdown; 1205 lock wait timeout; 1213
    # deadlock; 1317 query interrupted; 1290/1836 read-only during a failover; 1927 connection
    # killed (MariaDB); 1969 max_statement_time (MariaDB); 3024 max_execution_time (MySQL);
    # 4031 disconnected by the server for inactivity (MySQL 8).
    transient=frozenset(
        {0, 1040, 1053, 1205, 1213, 1290, 1317, 1836, 1927, 1969, 2002, 2003, 2006, 2013, 2055, 3024, 4031}
    ),
    # 1044/1045/1698 access denied; 1049 unknown database; 1251/2059 authentication plugin;
    # 1862 password expired.
    login=frozenset({1044, 1045, 1049, 1251, 1698, 1862, 2059}),
    # 2026 TLS connection error (also "required but the server offers none"); 3159 the server
    # requires TLS.
    tls=frozenset({2026, 3159}),
    # 1366 incorrect string value (the column's character set); 1300 invalid character string;
    # 1406 data too long.
    text=frozenset({1300, 1366, 1406}),
    socket_fd=_pymysql_socket,
)


# --- PostgreSQL: psycopg 3 -------------------------------------------------------------------


def _psycopg_params(timeouts: Timeouts, given: dict[str, Any]) -> dict[str, Any]:
    statement_ms = max(1, int(timeouts.statement * 1000))
    lock_ms = max(1, int(_lock_wait(timeouts) * 1000))
    limits = f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}"
    options = f"{given['options']} {limits}" if given.get("options") else limits
    given_timeout = float(given.get("connect_timeout") or math.inf)
    # libpq counts whole seconds and takes anything below 2 as 2.
    return {"connect_timeout": str(_whole(min(timeouts.connect, given_timeout), 2)), "options": options}


def _psycopg_code(error: BaseException) -> str | None:
    return getattr(error, "sqlstate", None)


def _psycopg_uncoded(error: BaseException) -> Fault | None:
    # A failed connect carries no SQLSTATE (libpq has no API for it). The server only refuses
    # a login after the password was sent: wrong credentials, or no such database.
    pgconn = getattr(error, "pgconn", None)
    if pgconn is not None and getattr(pgconn, "used_password", False):
        return Fault.LOGIN
    # libpq sets up TLS itself and reports its failures in words only ("SSL ...", "server
    # certificate for ... does not match"); these two markers are stable across its versions.
    message = str(error)
    if "SSL" in message or "certificate" in message:
        return Fault.TLS
    # Otherwise a code-less failure of the connection itself (refused, timed out, cut): by DB-API
    # class, which psycopg's own subclasses (ConnectionTimeout, ...) inherit.
    lost = {"OperationalError", "InterfaceError"} & {c.__name__ for c in type(error).__mro__}
    return Fault.TRANSIENT if lost else None


def _psycopg_socket(connection: Any) -> int | None:
    pgconn = getattr(connection, "pgconn", None)
    return pgconn.socket if pgconn is not None else None


PSYCOPG = Driver(
    "psycopg",
    connect_params=_psycopg_params,
    code=_psycopg_code,
    # Class 08: connection exception. 40001 serialization failure; 40P01 deadlock; 53xxx
    # insufficient resources (too many connections); 55P03 lock not available (lock_timeout);
    # 57014 canceled (statement_timeout); 57P01-57P03 shutdown, crash, cannot connect now.
    transient_prefixes=("08", "53"),
    transient=frozenset({"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03"}),
    # Class 28: invalid authorization; 3D000 no such database.
    login=frozenset({"28000", "28P01", "3D000"}),
    # 22001 too long; 22021 not in the character set; 22P05 no equivalent in the database's one.
    text=frozenset({"22001", "22021", "22P05"}),
    uncoded=_psycopg_uncoded,
    socket_fd=_psycopg_socket,
)


# --- SQL Server: pymssql (FreeTDS) -------------------------------------------------------------


def _pymssql_params(timeouts: Timeouts, given: dict[str, Any]) -> dict[str, Any]:
    login = min(timeouts.connect, float(given.get("login_timeout") or math.inf))
    return {"login_timeout": _whole(login), "timeout": _whole(timeouts.statement)}


def _pymssql_on_connect(connection: Any, timeouts: Timeouts) -> None:
    with contextlib.closing(connection.cursor()) as cursor:
        cursor.execute(f"SET LOCK_TIMEOUT {max(1, int(_lock_wait(timeouts) * 1000))}")


PYMSSQL = Driver(
    "pymssql",
    connect_params=_pymssql_params,
    on_connect=_pymssql_on_connect,
    code=_pymysql_code,  # pymssql also puts the number first in args
    # 1205 deadlock victim; 1222 lock request timeout; 233/10053/10054/10060 connection lost;
    # 40197/40501/40613/49918-49920/10928/10929 Azure SQL busy or moving; 20003 FreeTDS timeout;
    # 20004/20006 read/write failed; 20009 server unreachable; 20047 connection dead.
    transient=frozenset(
        {233, 1205, 1222, 10053, 10054, 10060, 10928, 10929, 20003, 20004, 20006, 20009, 20047}
        | {40197, 40501, 40613, 49918, 49919, 49920}
    ),
    # 18456 login failed; 4060 cannot open the database; 18486/18487/18488 account locked/expired.
    login=frozenset({4060, 18456, 18486, 18487, 18488}),
    # 8152/2628 string would be truncated.
    text=frozenset({2628, 8152}),
)


# --- Oracle: python-oracledb (thin) ------------------------------------------------------------


def _oracledb_params(timeouts: Timeouts, given: dict[str, Any]) -> dict[str, Any]:
    given_timeout = float(given.get("tcp_connect_timeout") or math.inf)
    return {"tcp_connect_timeout": min(timeouts.connect, given_timeout)}


def _oracledb_on_connect(connection: Any, timeouts: Timeouts) -> None:
    # A client-side bound on every round trip: DPY-4024 when it passes.
    connection.call_timeout = max(1, int(timeouts.statement * 1000))


def _oracledb_code(error: BaseException) -> str | None:
    args = getattr(error, "args", ())
    return getattr(args[0], "full_code", None) if args else None


ORACLEDB = Driver(
    "oracledb",
    connect_params=_oracledb_params,
    on_connect=_oracledb_on_connect,
    code=_oracledb_code,
    transient=frozenset(
        # deadlock, resource busy, lost contact, end of file on channel, connection lost,
        # timeouts, listener refused or not there, instance going down or starting.
        {"ORA-00060", "ORA-00054", "ORA-30006", "ORA-02049", "ORA-01033", "ORA-01034", "ORA-01089"}
        | {"ORA-03113", "ORA-03114", "ORA-03135", "ORA-12170", "ORA-12537", "ORA-12541", "ORA-12543"}
        | {"ORA-12528", "ORA-12519", "ORA-12516", "ORA-25408"}
        # python-oracledb's own: connection closed, cannot connect, call timeout, connect timeout
        | {"DPY-4011", "DPY-6005", "DPY-4024", "DPY-6000"}
    ),
    # invalid credentials, account locked, password expired, unknown service or SID.
    login=frozenset({"ORA-01017", "ORA-28000", "ORA-28001", "ORA-12514", "ORA-12505"}),
    # TLS: certificate mismatch, wallet and handshake failures.
    tls=frozenset({"ORA-29024", "ORA-29003", "ORA-28759", "ORA-28860", "DPY-6006", "DPY-4035"}),
    # value too large for the column; partial multibyte character.
    text=frozenset({"ORA-12899", "ORA-01461", "ORA-29275"}),
)


# --- Db2: ibm_db -------------------------------------------------------------------------------

_DB2_CODES = re.compile(r"\b(SQL\d{4,5}N)\b|SQLSTATE=(\w{5})")


def _db2_codes(error: BaseException) -> Iterator[str]:
    # ibm_db puts its codes into the text of the error in a fixed form: SQLnnnnN and SQLSTATE=.
    for match in _DB2_CODES.finditer(str(error)):
        yield match.group(1) or match.group(2)


def _db2_code(error: BaseException) -> str | None:
    codes = list(_db2_codes(error))
    # SQLnnnnN is more precise than the SQLSTATE (SQL30082N and SQL30081N share 08001).
    return next((c for c in codes if c.startswith("SQL")), codes[0] if codes else None)


IBM_DB = Driver(
    "ibm_db",
    code=_db2_code,
    # communication error; client reroute; deadlock/timeout rolled back; lock timeout;
    # database not started or quiesced; too many connections.
    transient=frozenset({"SQL30081N", "SQL30108N", "SQL0911N", "SQL0913N", "SQL1224N", "SQL1776N"})
    | frozenset({"40001", "57033", "08001", "57019"}),
    # security failure (credentials); database not found; authorization.
    login=frozenset({"SQL30082N", "SQL1013N", "SQL1031N", "SQL1060N", "SQL30061N"}),
    # TLS (GSKit) set-up failures.
    tls=frozenset({"SQL5043N"}),
    text=frozenset({"SQL0302N", "SQL0433N", "22001", "22021"}),
)


# --- SQLite: the local stand-in for SCDF's database --------------------------------------------


def _sqlite_params(timeouts: Timeouts, given: dict[str, Any]) -> dict[str, Any]:
    return {"timeout": timeouts.statement}  # how long to wait for another writer's lock


def _sqlite_code(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None  # the primary code


SQLITE = Driver(
    "pysqlite",
    connect_params=_sqlite_params,
    code=_sqlite_code,
    # SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN (the file's folder is not there yet).
    transient=frozenset({5, 6, 14}),
    login=frozenset({23}),  # SQLITE_AUTH
)

_DRIVERS = {d.name: d for d in (PYMYSQL, PSYCOPG, PYMSSQL, ORACLEDB, IBM_DB, SQLITE)}
_GENERIC = Driver("generic")


def driver_for(name: str) -> Driver:
    """The entry for SQLAlchemy's driver name (`url.get_driver_name()`), or a generic one."""
    return _DRIVERS.get(name, _GENERIC)


def classify(driver: Driver, error: BaseException, *, connected: bool = False) -> Fault:
    """What `error` (SQLAlchemy's or the driver's own) means for a write.

    `connected`: the connection was set up before the error. A TLS failure then is a lost
    connection (the session's TLS layer saw it end), not a setting that cannot work.
    """
    fault = _classify(driver, error)
    return Fault.TRANSIENT if connected and fault is Fault.TLS else fault


def _classify(driver: Driver, error: BaseException) -> Fault:
    # SQLAlchemy's wrappers (they carry `orig`) share names with the driver's own errors but
    # none of their details: judge by the driver's.
    chain = [e for e in _causes(error) if getattr(e, "orig", None) is None]
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return Fault.TLS
    if any(isinstance(e, UnicodeEncodeError) for e in chain):
        return Fault.TEXT  # the client's character set cannot carry it to the server at all
    for cause in chain:
        code = driver.code(cause)
        if code is None:
            continue
        for fault, codes in (
            (Fault.LOGIN, driver.login),
            (Fault.TLS, driver.tls),
            (Fault.TEXT, driver.text),
            (Fault.TRANSIENT, driver.transient),
        ):
            if code in codes:
                return fault
        if isinstance(code, str) and code.startswith(driver.transient_prefixes or ("\0",)):
            return Fault.TRANSIENT
        return Fault.OTHER
    for cause in chain:
        meaning = driver.uncoded(cause)
        if meaning is not None:
            return meaning
    if any(isinstance(e, (ConnectionError, TimeoutError, socket.timeout)) for e in chain):
        return Fault.TRANSIENT
    return Fault.OTHER


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, the driver error SQLAlchemy wraps, and what each was raised from."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (
            getattr(current, "orig", None),
            getattr(current, "original_exception", None),  # PyMySQL keeps the OSError here
            current.__cause__,
            current.__context__,
        ):
            if isinstance(linked, BaseException):
                pending.append(linked)


def cut_connection(driver: Driver, connection: Any) -> bool:
    """Shuts the connection's socket down, so that a read blocked on a silent server returns.

    Works from another thread: the blocked driver sees the connection closed and raises its
    own "connection lost" error. Returns whether there was a socket to cut.
    """
    try:
        fd = driver.socket_fd(connection)
    except (AttributeError, OSError):  # a connection half closed already: nothing left to cut
        return False
    if fd is None or fd < 0:
        return False
    try:
        duplicate = socket.socket(fileno=os.dup(fd))
    except OSError:
        return False
    with duplicate:
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        except OSError:
            return False
    return True
