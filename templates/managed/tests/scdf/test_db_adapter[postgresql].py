"""What PostgreSQL's driver errors mean for a write: told apart by their codes, never their words.

TLS failures are made by the real psycopg (its libpq) against a listener that answers the
SSLRequest and then drops the connection or shows a certificate nobody trusts (`listeners.py`).
"""

import re
import threading
import time

import psycopg
import pytest

from tests.scdf.listeners import handshake_listener, postgresql_session
from util.bounded_write import WriteEngine, WriteError
from util.column_text import TextUnit
from util.db_adapter import ADAPTER
from util.db_api import Cursor, DbTarget, Fault, Timeouts
from util.redaction import Redactor


class CodedError(Exception):
    """An error shaped like psycopg's: a `sqlstate` attribute."""

    def __init__(self, sqlstate: str, message: str = "error") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class OperationalError(Exception):
    """psycopg's connect failure has this name and no SQLSTATE."""

    def __init__(self, message: str, used_password: bool = False) -> None:
        super().__init__(message)
        self.pgconn = type("PGconn", (), {"used_password": used_password})()


class ConnectionTimeout(OperationalError):  # noqa: N818 - the name psycopg gives it
    """psycopg's own subclass for a connect that timed out."""


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (CodedError("40P01"), Fault.TRANSIENT),
        (CodedError("55P03"), Fault.TRANSIENT),
        (CodedError("57014"), Fault.TRANSIENT),
        (CodedError("08006"), Fault.TRANSIENT),
        (CodedError("53300"), Fault.TRANSIENT),
        (CodedError("28P01"), Fault.LOGIN),
        (CodedError("3D000"), Fault.LOGIN),
        (CodedError("22P05"), Fault.TEXT),
        (CodedError("42P01"), Fault.OTHER),
        (OperationalError("connection refused"), Fault.TRANSIENT),
        (ConnectionTimeout("connection timeout expired"), Fault.TRANSIENT),
        (OperationalError("FATAL: nope", used_password=True), Fault.LOGIN),
        (OperationalError("server does not support SSL, but SSL was required"), Fault.TLS),
    ],
)
def test_errors_are_told_apart_by_their_codes(error: BaseException, fault: Fault) -> None:
    assert ADAPTER.classify(error) is fault


def test_words_in_a_message_change_nothing() -> None:
    error = CodedError("57P01", "password authentication failed; does not exist")
    assert ADAPTER.classify(error) is Fault.TRANSIENT


def test_a_tls_error_on_an_open_connection_is_a_lost_connection() -> None:
    # An error of the TLS layer after the connection was set up: the session broke.
    broken = OperationalError("consuming input failed: SSL error: decryption failed or bad record mac")
    assert ADAPTER.classify(broken) is Fault.TLS
    assert ADAPTER.classify(broken, connected=True) is Fault.TRANSIENT


@pytest.mark.parametrize(
    "message",
    [
        "consuming input failed: SSL error: unexpected eof while reading",
        "SSL SYSCALL error: EOF detected",
        "SSL connection has been closed unexpectedly",
    ],
)
def test_libpq_s_words_for_a_tls_session_the_peer_ended_are_a_lost_connection(message: str) -> None:
    assert ADAPTER.classify(OperationalError(message)) is Fault.TRANSIENT


def test_a_tls_failure_on_any_address_tried_is_not_retried() -> None:
    # libpq reports each address it tried on a line of its own.
    message = (
        'connection to server at "::1", port 5432 failed: SSL error: certificate verify failed\n'
        'connection to server at "127.0.0.1", port 5432 failed: SSL error: unexpected eof while reading'
    )
    assert ADAPTER.classify(OperationalError(message)) is Fault.TLS


def connect_through(end: str, **tls: str) -> BaseException:
    with handshake_listener("postgresql", end) as seen:
        target = DbTarget("postgresql+psycopg", "127.0.0.1", seen.port, "d", "scdf", "pw", tls)
        with pytest.raises(psycopg.OperationalError) as raised:
            ADAPTER.connect(target, Timeouts(connect=2, statement=2))
    assert seen.hellos == 1  # libpq got as far as its ClientHello
    return raised.value


@pytest.mark.parametrize("end", ["closes", "resets"])
def test_a_connection_dropped_in_the_tls_handshake_is_a_lost_connection(end: str) -> None:
    error = connect_through(end, sslmode="require")
    lost = "SSL error: unexpected eof while reading" if end == "closes" else "SSL SYSCALL error:"
    assert lost in str(error)
    assert ADAPTER.classify(error) is Fault.TRANSIENT


def test_a_certificate_nobody_trusts_is_a_tls_failure() -> None:
    error = connect_through("untrusted", sslmode="verify-full", sslrootcert="system")
    assert "certificate verify failed" in str(error)
    assert ADAPTER.classify(error) is Fault.TLS


def test_cutting_a_closed_connection_finds_nothing_to_cut() -> None:
    # psycopg raises its own OperationalError("the connection is closed") for the socket of a
    # closed connection: not an OSError.
    with postgresql_session() as port:
        connection = psycopg.connect(host="127.0.0.1", port=port, user="scdf", dbname="d", connect_timeout=2)
        assert ADAPTER.cut(connection) is True
        connection.close()
        assert ADAPTER.cut(connection) is False


def test_an_attempt_whose_connection_is_closed_at_its_limit_is_abandoned() -> None:
    # The driver closed the connection (its work ended on an error, say) just as the caller's
    # clock ran out: the attempt is abandoned, and its work can no longer commit.
    released = threading.Event()

    def closes_and_hangs(cursor: Cursor, retry: bool) -> None:
        cursor.connection.close()  # type: ignore[attr-defined]
        released.wait(5)

    try:
        with postgresql_session() as port:
            engine = WriteEngine(
                [DbTarget("postgresql+psycopg", "127.0.0.1", port, "d", "scdf", None)],
                ADAPTER,
                deadline=1.0,
                timeouts=Timeouts(connect=1, statement=1),
                redactor=Redactor(),
            )
            started = time.monotonic()
            with pytest.raises(WriteError) as raised:
                engine.run("record the start", closes_and_hangs)
            elapsed = time.monotonic() - started
    finally:
        released.set()
    assert "gave up after 1 attempts" in str(raised.value)
    # Not the driver's "the connection is closed", which would have been retried.
    assert re.search(r": no answer within 1\.\ds \(the attempt was abandoned\)$", str(raised.value))
    assert engine.abandoned == 1
    assert 1.0 <= elapsed < 2.0


def test_the_psycopg_driver_s_own_errors_carry_the_codes() -> None:
    import psycopg.errors

    assert ADAPTER.classify(psycopg.errors.DeadlockDetected()) is Fault.TRANSIENT
    assert ADAPTER.is_conflict(psycopg.errors.SerializationFailure())
    assert ADAPTER.is_duplicate_key(psycopg.errors.UniqueViolation())


def test_texts_are_cut_to_what_the_column_length_counts() -> None:
    # VARCHAR(n) counts characters.
    assert ADAPTER.text_unit is TextUnit.CHARACTERS
