"""What MySQL and MariaDB's driver errors mean for a write: told apart by their codes, never their words.

TLS failures are made by the real PyMySQL against a listener whose greeting offers TLS and that
then drops the connection in the handshake or shows a certificate nobody trusts (`listeners.py`).
"""

import pymysql  # type: ignore[import-untyped]
import pytest

from tests.scdf.listeners import handshake_listener
from util.column_text import TextUnit
from util.db_adapter import ADAPTER
from util.db_api import DbTarget, Fault, Timeouts


class CodedError(Exception):
    """An error shaped like PyMySQL's: the number first in args."""

    #: Set only where a test wraps another error, as PyMySQL does.
    original_exception: BaseException


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (CodedError(1205, "Lock wait timeout exceeded"), Fault.TRANSIENT),
        (CodedError(1213, "Deadlock found"), Fault.TRANSIENT),
        (CodedError(2013, "Lost connection to server during query"), Fault.TRANSIENT),
        (CodedError(1045, "Access denied"), Fault.LOGIN),
        (CodedError(1049, "Unknown database"), Fault.LOGIN),
        (CodedError(2026, "SSL is required but the server doesn't support it"), Fault.TLS),
        (CodedError(1366, "Incorrect string value"), Fault.TEXT),
        (CodedError(1146, "Table doesn't exist"), Fault.OTHER),
    ],
)
def test_errors_are_told_apart_by_their_codes(error: BaseException, fault: Fault) -> None:
    assert ADAPTER.classify(error) is fault


def test_words_in_a_message_change_nothing() -> None:
    # "password" and "does not exist" in a transient error's text: still transient.
    error = CodedError(2013, "Lost connection; password authentication failed; does not exist")
    assert ADAPTER.classify(error) is Fault.TRANSIENT


def test_a_tls_error_anywhere_in_the_chain_is_not_retried() -> None:
    import ssl

    wrapped = CodedError(2003, "Can't connect to MySQL server")
    wrapped.original_exception = ssl.SSLCertVerificationError("certificate verify failed")
    assert ADAPTER.classify(wrapped) is Fault.TLS


def connect_through(end: str, **tls: str) -> BaseException:
    with handshake_listener("mysql", end) as seen:
        target = DbTarget("mysql+pymysql", "127.0.0.1", seen.port, "dataflow", "scdf", "pw", tls)
        with pytest.raises(pymysql.err.OperationalError) as raised:
            ADAPTER.connect(target, Timeouts(connect=2, statement=2))
    assert seen.hellos == 1  # PyMySQL got as far as its ClientHello
    error: BaseException = raised.value
    return error


@pytest.mark.parametrize("end", ["closes", "resets"])
def test_a_connection_dropped_in_the_tls_handshake_is_a_lost_connection(end: str) -> None:
    # PyMySQL's 2003, caused by ssl.SSLEOFError (a close) or ConnectionResetError (a reset).
    error = connect_through(end, ssl_check_hostname="false")
    assert error.args[0] == 2003
    assert ADAPTER.classify(error) is Fault.TRANSIENT


def test_a_certificate_nobody_trusts_is_a_tls_failure() -> None:
    error = connect_through("untrusted", ssl_verify_cert="true")
    assert error.args[0] == 2003
    assert "CERTIFICATE_VERIFY_FAILED" in str(error)
    assert ADAPTER.classify(error) is Fault.TLS


def test_deadlocks_ask_for_the_lock_to_be_tried_again() -> None:
    assert ADAPTER.is_conflict(CodedError(1213, "Deadlock found"))
    assert not ADAPTER.is_conflict(CodedError(1062, "Duplicate entry"))


def test_the_pymysql_driver_s_own_errors_carry_the_codes() -> None:
    assert ADAPTER.classify(pymysql.err.OperationalError(1045, "Access denied")) is Fault.LOGIN
    assert ADAPTER.is_duplicate_key(pymysql.err.IntegrityError(1062, "Duplicate entry"))


def test_texts_are_cut_to_what_the_column_length_counts() -> None:
    # VARCHAR(M) counts characters.
    assert ADAPTER.text_unit is TextUnit.CHARACTERS
