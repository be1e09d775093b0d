"""What Db2's driver errors mean for a write: the real ibm_db's errors, told apart by their codes.

Connect failures are made by the real driver against loopback listeners (`listeners.py`), a TLS
failure against a TLS listener whose certificate nobody trusts; a server's own errors, which
need a Db2 server, are built with ibm_db_dbi's own exception classes from the message text the
CLI driver gives (ibm_db carries its codes only in that text: SQLnnnnN and SQLSTATE=).
"""

import ibm_db_dbi  # type: ignore[import-untyped]
import pytest

from tests.scdf.listeners import handshake_listener, listener, tls_listener
from util.column_text import TextUnit
from util.db_adapter import ADAPTER
from util.db_api import DbTarget, Fault, Timeouts


def failed_connect(fault: str, **query: str) -> BaseException:
    with listener(fault) if fault != "tls" else tls_listener() as port:
        target = DbTarget("db2+ibm_db", "127.0.0.1", port, "dataflow", "scdf", "pw", query)
        with pytest.raises(ibm_db_dbi.Error) as raised:
            ADAPTER.connect(target, Timeouts(connect=1, statement=1))
    error: BaseException = raised.value
    return error


def test_a_closed_port_is_a_transient_communication_error() -> None:
    error = failed_connect("closed")
    assert ADAPTER.codes(error) == ["SQL30081N", "08001"]
    assert ADAPTER.classify(error) is Fault.TRANSIENT


def test_an_untrusted_certificate_is_a_tls_failure_not_a_communication_error() -> None:
    error = failed_connect("tls", SECURITY="SSL")
    assert ADAPTER.codes(error) == ["SQL30081N", "08001"]
    assert 'Communication protocol being used: "SSL"' in str(error)
    assert ADAPTER.classify(error) is Fault.TLS


def test_a_connection_dropped_in_the_tls_handshake_is_a_lost_connection() -> None:
    with handshake_listener("db2", "closes") as seen:
        target = DbTarget("db2+ibm_db", "127.0.0.1", seen.port, "dataflow", "scdf", "pw", {"SECURITY": "SSL"})
        with pytest.raises(ibm_db_dbi.Error) as raised:
            ADAPTER.connect(target, Timeouts(connect=1, statement=1))
    assert seen.hellos >= 1
    # GSKit's 420: the socket closed.
    assert 'Protocol specific error code(s): "420"' in str(raised.value)
    assert ADAPTER.classify(raised.value) is Fault.TRANSIENT


def server_error(message: str, cls: type[Exception] = ibm_db_dbi.DatabaseError) -> BaseException:
    return cls(f"ibm_db_dbi::{cls.__name__}: [IBM][CLI Driver][DB2/LINUXX8664] {message}")


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (server_error('SQL30082N  Security processing failed with reason "24". SQLSTATE=08001'), Fault.LOGIN),
        (
            server_error(
                'SQL0911N  The current transaction has been rolled back. Reason code "68".  SQLSTATE=40001'
            ),
            Fault.TRANSIENT,
        ),
        # Known by its SQLSTATE only: the database is not started.
        (
            server_error("SQL1032N  No start database manager command was issued.  SQLSTATE=57019"),
            Fault.TRANSIENT,
        ),
        (server_error('SQL0433N  Value "x" is too long.  SQLSTATE=22001'), Fault.TEXT),
        (server_error('SQL0204N  "TASK_EXECUTION" is an undefined name.  SQLSTATE=42704'), Fault.OTHER),
        # The server's DB2COMM start-up, not TLS.
        (
            server_error("SQL5043N  Support for one or more communications protocols failed to start"),
            Fault.OTHER,
        ),
    ],
)
def test_errors_are_told_apart_by_their_codes(error: BaseException, fault: Fault) -> None:
    assert ADAPTER.classify(error) is fault


def test_a_duplicate_key_is_told_apart() -> None:
    # ibm_db_dbi makes its exception from the CLI driver's message: SQLSTATE class 23 is an
    # IntegrityError. The end of an uncertain start and the single-instance lock both rely on it.
    raised = ibm_db_dbi._get_exception(
        Exception(
            "[IBM][CLI Driver][DB2/LINUXX8664] SQL0803N  One or more values in the INSERT statement "
            'are not valid because the primary key ... "1" constrains table "SCDF.TASK_EXECUTION" '
            "from having duplicate values for the index key.  SQLSTATE=23505"
        )
    )
    assert isinstance(raised, ibm_db_dbi.IntegrityError)
    assert ADAPTER.is_duplicate_key(raised)
    assert not ADAPTER.is_duplicate_key(server_error('SQL0204N  "X" is an undefined name.  SQLSTATE=42704'))


def test_a_deadlock_is_a_conflict() -> None:
    error = server_error(
        'SQL0911N  The current transaction has been rolled back. Reason code "2".  SQLSTATE=40001'
    )
    assert ADAPTER.is_conflict(error)


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("password", DbTarget("db2+ibm_db", "127.0.0.1", 1, "dataflow", "scdf", "pw;HOSTNAME=elsewhere")),
        ("user", DbTarget("db2+ibm_db", "127.0.0.1", 1, "dataflow", "scdf;X=1", "pw")),
        ("database", DbTarget("db2+ibm_db", "127.0.0.1", 1, "data;flow", "scdf", "pw")),
    ],
)
def test_a_semicolon_that_would_end_the_connection_string_is_refused_before_connecting(
    name: str, target: DbTarget
) -> None:
    with pytest.raises(ValueError, match=f"cannot take ';' in the {name}") as raised:
        ADAPTER.connect(target, Timeouts(connect=1, statement=1))
    assert "elsewhere" not in str(raised.value)
    assert ADAPTER.classify(raised.value, connected=False) is Fault.OTHER


def test_texts_are_cut_to_what_the_column_length_counts() -> None:
    # VARCHAR(n) counts bytes (OCTETS).
    assert ADAPTER.text_unit is TextUnit.UTF8_BYTES
