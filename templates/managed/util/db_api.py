"""The contract every database adapter meets, on top of the driver's own PEP 249 interface.

The utilities talk to the Python driver directly: an adapter (`util.db_adapter` for the
project's database, `util.db_sqlite` for local runs and tests) knows how to connect from the
parsed JDBC parts (keyword arguments, so no URL text to escape), the driver's parameter style,
how to bound the connect and each statement, how to reach the socket so that a write hung on a
silent server can be cut, and what the driver's error codes mean. Errors are told apart by the
codes drivers and servers attach to them (SQLSTATE, MySQL error numbers, ORA-/DPY- codes, SQL
Server and FreeTDS numbers, Db2's SQLnnnnN), never by the words of a message, which change with
versions and languages.

The SQL is written once, with `?` placeholders (PEP 249's qmark style); `Adapter.sql()` turns
it into the driver's own style.
"""

from __future__ import annotations

import enum
import math
import os
import re
import socket
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Final, Protocol

from util.column_text import CONSERVATIVE, TextUnit
from util.records import FrozenRecord


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


class Timeouts(FrozenRecord):
    """Seconds for one attempt: to connect, and for each statement."""

    _fields = __slots__ = ("connect", "statement")
    connect: Final[float]
    statement: Final[float]

    def __init__(self, connect: float, statement: float) -> None:
        self.connect = connect
        self.statement = statement

    def lock_wait(self) -> float:
        # A lock wait ends well before the statement's own limit, so that it is reported as the
        # server's lock-timeout error (transient, retried) rather than as a cut connection.
        return self.statement / 2


class DbTarget(FrozenRecord):
    """Where to connect, as parsed from the JDBC URL: one host of it, credentials included.

    `query` holds the driver settings the JDBC parameters were translated to, named as in a
    SQLAlchemy URL of `drivername` (what `util.jdbc_url.sqlalchemy_url()` builds).
    """

    _fields = __slots__ = ("drivername", "host", "port", "database", "username", "password", "query")
    _hidden = frozenset({"password"})
    drivername: Final[str]
    host: Final[str | None]
    port: Final[int | None]
    database: Final[str | None]
    username: Final[str | None]
    password: Final[str | None]
    query: Final[Mapping[str, str]]

    def __init__(
        self,
        drivername: str,
        host: str | None = None,
        port: int | None = None,
        database: str | None = None,
        username: str | None = None,
        password: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        self.drivername = drivername
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
        self.query = {} if query is None else query

    def with_host(self, host: str, port: int | None) -> DbTarget:
        return DbTarget(self.drivername, host, port, self.database, self.username, self.password, self.query)


class SequenceError(RuntimeError):
    """An incrementer (`<prefix>SEQ`, Spring Batch's `..._SEQ`) is missing or unusable; it is named."""


class Cursor(Protocol):
    """The part of a PEP 249 cursor the utilities use."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, operation: str, parameters: Sequence[Any] = ..., /) -> object: ...

    def executemany(self, operation: str, seq_of_parameters: Sequence[Sequence[Any]], /) -> object: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...

    def close(self) -> object: ...


class Connection(Protocol):
    """The part of a PEP 249 connection the utilities use."""

    def cursor(self) -> Any: ...

    def commit(self) -> object: ...

    def rollback(self) -> object: ...

    def close(self) -> object: ...


class Adapter:
    """One driver: how to connect, its parameter style, its error codes.

    Subclasses fill in the class attributes and `connect`; the rest is shared.
    """

    #: The server kind, as SQLAlchemy names its dialect.
    dialect: ClassVar[str]
    #: The database's name in messages to the user.
    label: ClassVar[str]
    #: The JDBC URL's TLS settings for this database, named in the message of a TLS failure.
    tls_settings: ClassVar[str] = "its TLS settings"
    #: What to `pip install` when the driver module is missing.
    package: ClassVar[str]
    #: PEP 249 paramstyle: qmark, format or numeric.
    paramstyle: ClassVar[str] = "qmark"
    #: What the length of a VARCHAR(n) column in SCDF's and Spring Batch's tables counts here
    #: (`util.column_text` cuts texts to it); UTF-8 bytes unless the adapter knows better.
    text_unit: ClassVar[TextUnit] = CONSERVATIVE
    transient: ClassVar[frozenset[str | int]] = frozenset()
    #: Code prefixes (SQLSTATE classes) that are transient as a whole.
    transient_prefixes: ClassVar[tuple[str, ...]] = ()
    login: ClassVar[frozenset[str | int]] = frozenset()
    tls: ClassVar[frozenset[str | int]] = frozenset()
    text: ClassVar[frozenset[str | int]] = frozenset()
    #: Deadlock and serialization codes: the server asks for the transaction to be run again.
    conflict: ClassVar[frozenset[str | int]] = frozenset()

    def connect(self, target: DbTarget, timeouts: Timeouts) -> Connection:
        """An open connection in a transaction (autocommit off), bounded by `timeouts`."""
        raise NotImplementedError

    def sql(self, statement: str) -> str:
        """`statement`, written with `?` placeholders, in the driver's parameter style."""
        if self.paramstyle == "format":
            return statement.replace("?", "%s")
        if self.paramstyle == "numeric":
            pieces = statement.split("?")
            return pieces[0] + "".join(f":{n}{piece}" for n, piece in enumerate(pieces[1:], 1))
        return statement

    def next_value(self, cursor: Cursor, name: str) -> int:
        """The next value of the incrementer `name`, in the form this database gives it.

        Spring Batch's incrementer factory picks the form per database type (a sequence, or a
        table standing in for one); Spring Cloud Task's `<prefix>SEQ` and Spring Batch's
        `..._SEQ` are drawn the same way. Run it in a transaction of its own and commit at once,
        as Spring's incrementers do: a table form holds a row lock until the commit.
        """
        raise NotImplementedError

    def next_task_id(self, cursor: Cursor, name: str) -> int:
        """The next value of Spring Cloud Task's `<prefix>SEQ` (`name`): by default as any incrementer."""
        return self.next_value(cursor, name)

    def read_committed(self, connection: Connection) -> None:
        """Puts the next transaction of `connection` in READ COMMITTED, where that is not the default."""

    def is_duplicate_key(self, error: BaseException) -> bool:
        """Whether `error` is the driver's IntegrityError (PEP 249 names it so in every driver)."""
        return any(c.__name__ == "IntegrityError" for e in causes(error) for c in type(e).__mro__)

    def code(self, error: BaseException) -> str | int | None:
        """The driver's code of an error, or None."""
        return None

    def codes(self, error: BaseException) -> Sequence[str | int]:
        """Every code an error carries, the one that decides first (Db2's carry two)."""
        code = self.code(error)
        return () if code is None else (code,)

    def meaning(self, error: BaseException) -> Fault | None:
        """What an error means when its codes alone do not tell (Db2's TLS failures); else None."""
        return None

    def describe(self, error: BaseException) -> str:
        """The error as the user reads it: its class and the driver's own message."""
        return f"{type(error).__name__}: {error}".strip()

    def uncoded(self, error: BaseException) -> Fault | None:
        """For a code-less error: its meaning, or None to go by the exception's class."""
        return None

    def socket_fd(self, connection: Connection) -> int | None:
        """The socket file descriptor of an open connection, when the driver exposes it."""
        return None

    def classify(self, error: BaseException, *, connected: bool = False) -> Fault:
        """What `error` means for a write.

        `connected`: the connection was set up before the error. A TLS failure then is a lost
        connection (the session's TLS layer saw it end), not a setting that cannot work.
        """
        fault = self._classify(error)
        return Fault.TRANSIENT if connected and fault is Fault.TLS else fault

    def _classify(self, error: BaseException) -> Fault:
        chain = list(causes(error))
        # Only a driver that imported ssl can raise its errors: no import of it here (start-up time).
        ssl = sys.modules.get("ssl")
        # The peer closing the connection mid-handshake (EOF, or TLS's own close) is a connection
        # lost, as a restarting server or a proxy failing over does: the codes below decide.
        # Every other TLS error (certificate, protocol version, alerts) is a setting that cannot
        # heal. A plain server on a TLS port that hangs up on the ClientHello is therefore retried
        # until the deadline, its error named in the message that ends it.
        lost = () if ssl is None else (ssl.SSLEOFError, ssl.SSLZeroReturnError)
        if ssl is not None and any(isinstance(e, ssl.SSLError) and not isinstance(e, lost) for e in chain):
            return Fault.TLS
        if any(isinstance(e, UnicodeEncodeError) for e in chain):
            return Fault.TEXT  # the client's character set cannot carry it to the server at all
        for cause in chain:
            meaning = self.meaning(cause)
            if meaning is not None:
                return meaning
        for cause in chain:
            codes = self.codes(cause)
            if not codes:
                continue
            # The first code any table knows decides; an error whose codes none knows is OTHER.
            for code in codes:
                fault = self._fault_of(code)
                if fault is not None:
                    return fault
            return Fault.OTHER
        for cause in chain:
            meaning = self.uncoded(cause)
            if meaning is not None:
                return meaning
        if any(isinstance(e, (ConnectionError, TimeoutError, socket.timeout, *lost)) for e in chain):
            return Fault.TRANSIENT
        return Fault.OTHER

    def _fault_of(self, code: str | int) -> Fault | None:
        for fault, codes in (
            (Fault.LOGIN, self.login),
            (Fault.TLS, self.tls),
            (Fault.TEXT, self.text),
            (Fault.TRANSIENT, self.transient),
        ):
            if code in codes:
                return fault
        if isinstance(code, str) and self.transient_prefixes and code.startswith(self.transient_prefixes):
            return Fault.TRANSIENT
        return None

    def is_conflict(self, error: BaseException) -> bool:
        """A deadlock or serialization failure: the whole transaction may simply be run again."""
        return any(code in self.conflict for e in causes(error) for code in self.codes(e))

    def cut(self, connection: Connection) -> bool:
        """Shuts the connection's socket down, so that a read blocked on a silent server returns.

        Works from another thread: the blocked driver sees the connection closed and raises its
        own "connection lost" error. Returns whether there was a socket to cut.
        """
        # A connection closed or lost already has nothing left to cut; drivers say so with their
        # own errors (psycopg's OperationalError "the connection is closed"), not only OSError.
        try:
            fd = self.socket_fd(connection)
        except Exception:  # noqa: BLE001 - any driver's error here means no socket
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


def causes(error: BaseException) -> Iterator[BaseException]:
    """`error` and what it was raised from, in breadth-first order."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (
            getattr(current, "original_exception", None),  # PyMySQL keeps the OSError here
            current.__cause__,
            current.__context__,
        ):
            if isinstance(linked, BaseException):
                pending.append(linked)


def scalar(cursor: Cursor, statement: str, parameters: Sequence[object] = ()) -> Any:
    """The first column of the first row of `statement`, or None."""
    cursor.execute(statement, parameters)
    row = cursor.fetchone()
    return row[0] if row is not None else None


def value_of(name: str, value: Any) -> int:
    """An incrementer's value as an int; None means it gave none."""
    if value is None:
        raise SequenceError(f"{name} returned no value")
    return int(value)


def one_row_table(cursor: Cursor, name: str, increment: str, read: str) -> int:
    """The value of a one-row table standing in for a sequence, incremented by `increment`."""
    cursor.execute(increment)
    if cursor.rowcount != 1:
        raise SequenceError(
            f"{name} must hold exactly one row (Spring Cloud Task's DDL inserts it), found {cursor.rowcount}"
        )
    return value_of(name, scalar(cursor, read))


def address(target: DbTarget) -> str:
    """`host:port` of a target for messages, an IPv6 host in brackets (`[::1]:1433`)."""
    if target.drivername == "sqlite":
        return target.database or ":memory:"
    if target.host is None and "dsn" in target.query:
        dsn = target.query["dsn"]
        # An Oracle descriptor: its first address.
        found = re.search(r"\(HOST\s*=\s*([^)\s]+)\).*?\(PORT\s*=\s*(\d+)\)", dsn, re.I)
        if found:
            return f"{found.group(1)}:{found.group(2)}"
        # Easy Connect with its protocol (`tcps://host:port/service`): its host and port.
        found = re.match(r"tcps?://(\[[^\]]+\]|[^:/\s]+)(?::(\d+))?", dsn, re.I)
        if found:
            return found.group(1) + (f":{found.group(2)}" if found.group(2) else "")
    host = target.host or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{target.port}" if target.port is not None else host


def whole_seconds(seconds: float, minimum: int = 1) -> int:
    """Seconds rounded up, for drivers that only take whole ones; never below `minimum`."""
    return max(minimum, math.ceil(seconds))


def given_seconds(query: Mapping[str, str], name: str) -> float:
    """A timeout the JDBC URL set (`query[name]`), or infinity."""
    value = query.get(name)
    return float(value) if value else math.inf
