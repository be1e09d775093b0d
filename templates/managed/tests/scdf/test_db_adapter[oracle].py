"""What Oracle's driver errors mean for a write: the real python-oracledb's errors, told apart by codes.

Connect failures are made by the real driver (thin mode) against loopback listeners
(`listeners.py`), TLS failures against TLS listeners whose certificate nobody trusts or that
drop the connection in the handshake; the listener's and server's own refusals, which need an
Oracle listener, are built with python-oracledb's own error constructors.
"""

from typing import Any

import oracledb
import pytest
from oracledb import errors

from tests.scdf.listeners import handshake_listener, listener, tls_listener
from util.column_text import TextUnit
from util.db_adapter import ADAPTER
from util.db_api import DbTarget, Fault, Timeouts, address
from util.jdbc_url import convert


def failed_connect(fault: str, **query: str) -> BaseException:
    with listener(fault) as port:
        target = DbTarget(
            "oracle+oracledb", "127.0.0.1", port, None, "scdf", "pw", {"service_name": "x", **query}
        )
        with pytest.raises(oracledb.Error) as raised:
            ADAPTER.connect(target, Timeouts(connect=1, statement=1))
    return raised.value


@pytest.mark.parametrize("fault", ["closed", "closes", "garbage"])
def test_every_failed_connect_is_dpy_6005_with_code_0_and_transient(fault: str) -> None:
    error = failed_connect(fault)
    assert (error.args[0].full_code, error.args[0].code) == ("DPY-6005", 0)
    assert ADAPTER.classify(error) is Fault.TRANSIENT


def test_an_untrusted_certificate_is_a_tls_failure() -> None:
    with tls_listener() as port:
        target = DbTarget(
            "oracle+oracledb",
            "127.0.0.1",
            port,
            None,
            "scdf",
            "pw",
            {"service_name": "x", "protocol": "tcps"},
        )
        with pytest.raises(oracledb.Error) as raised:
            ADAPTER.connect(target, Timeouts(connect=2, statement=2))
    assert raised.value.args[0].full_code == "DPY-6005"  # the same code: only the cause tells
    assert ADAPTER.classify(raised.value) is Fault.TLS


@pytest.mark.parametrize("end", ["closes", "resets"])
def test_a_connection_dropped_in_the_tls_handshake_is_a_lost_connection(end: str) -> None:
    with handshake_listener("oracle", end) as seen:
        dsn = f"tcps://127.0.0.1:{seen.port}/x"
        target = DbTarget("oracle+oracledb", None, None, None, "scdf", "pw", {"dsn": dsn})
        with pytest.raises(oracledb.Error) as raised:
            ADAPTER.connect(target, Timeouts(connect=2, statement=2))
    assert seen.hellos == 1
    # DPY-6005, caused by ssl.SSLEOFError (a close) or ConnectionResetError (a reset).
    assert raised.value.args[0].full_code == "DPY-6005"
    assert ADAPTER.classify(raised.value) is Fault.TRANSIENT


def driver_error(number: int, **values: Any) -> BaseException:
    error = errors._create_err(number, **values)
    raised: BaseException = error.exc_type(error)
    return raised


def server_error(message: str) -> BaseException:
    return oracledb.DatabaseError(oracledb._Error(message))


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (driver_error(errors.ERR_INVALID_SERVICE_NAME, service_name="x", host="db", port=1521), Fault.LOGIN),
        (driver_error(errors.ERR_INVALID_SID, sid="x", host="db", port=1521), Fault.LOGIN),
        (driver_error(errors.ERR_LISTENER_REFUSED_CONNECTION, error_code=12514), Fault.LOGIN),
        (driver_error(errors.ERR_LISTENER_REFUSED_CONNECTION, error_code=12519), Fault.TRANSIENT),
        (driver_error(errors.ERR_CONNECTION_CLOSED), Fault.TRANSIENT),
        (driver_error(errors.ERR_CALL_TIMEOUT_EXCEEDED, timeout=1000), Fault.TRANSIENT),
        (server_error("ORA-00060: deadlock detected while waiting for resource"), Fault.TRANSIENT),
        (server_error("ORA-01017: invalid username/password; logon denied"), Fault.LOGIN),
        (server_error("ORA-12899: value too large for column"), Fault.TEXT),
        (server_error("ORA-00942: table or view does not exist"), Fault.OTHER),
    ],
)
def test_errors_are_told_apart_by_their_codes(error: BaseException, fault: Fault) -> None:
    assert ADAPTER.classify(error) is fault


def test_a_duplicate_key_is_told_apart() -> None:
    # As the thin driver raises a server's ORA-00001: the error's code picks IntegrityError.
    # The end of an uncertain start and the single-instance lock both rely on it.
    error = errors._Error("ORA-00001: unique constraint (SCDF.TASK_EXECUTION_PK) violated", code=1)
    raised: BaseException = error.exc_type(error)
    assert isinstance(raised, oracledb.IntegrityError)
    assert ADAPTER.is_duplicate_key(raised)
    assert not ADAPTER.is_duplicate_key(server_error("ORA-00060: deadlock detected"))


def test_a_tcps_url_is_named_by_its_host_and_port_in_messages() -> None:
    # python-oracledb parses the Easy Connect string itself: the target has no host of its own.
    assert (
        address(convert("jdbc:oracle:thin:@tcps://db.example.com:2484/svc").target) == "db.example.com:2484"
    )
    assert address(convert("jdbc:oracle:thin:@tcps://[::1]:2484/svc").target) == "[::1]:2484"


def test_statements_use_numbered_parameters() -> None:
    assert ADAPTER.sql("UPDATE T SET A = ? WHERE B = ?") == "UPDATE T SET A = :1 WHERE B = :2"


def test_texts_are_cut_to_what_the_column_length_counts() -> None:
    # VARCHAR2(2500) counts bytes (NLS_LENGTH_SEMANTICS=BYTE).
    assert ADAPTER.text_unit is TextUnit.UTF8_BYTES
