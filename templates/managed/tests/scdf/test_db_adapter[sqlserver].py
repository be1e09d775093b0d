"""What SQL Server's driver errors mean for a write: the real pymssql's errors, told apart by their codes.

Connect failures are made by the real driver against loopback listeners (`listeners.py`); a
server's own errors (a deadlock, a refused login), which no listener here can provoke, are built
with pymssql's own exception class in the shape pymssql raises them: `args == ((number,
message_bytes),)`, the message holding every message of the call with its number.
"""

import pymssql
import pytest

from tests.scdf.listeners import handshake_listener, listener
from util.column_text import TextUnit
from util.db_adapter import ADAPTER
from util.db_api import DbTarget, Fault, Timeouts


def failed_connect(fault: str, host: str = "127.0.0.1") -> BaseException:
    with listener(fault, host) as port:
        target = DbTarget("mssql+pymssql", host, port, "dataflow", "scdf", "pw")
        with pytest.raises(pymssql.OperationalError) as raised:
            ADAPTER.connect(target, Timeouts(connect=1, statement=1))
    return raised.value


# 20009 unreachable; 20002 connection failed; 20017 unexpected EOF (after bytes that are no TDS).
@pytest.mark.parametrize(("fault", "number"), [("closed", 20009), ("closes", 20002), ("garbage", 20017)])
def test_a_failed_connect_is_read_from_the_real_driver_s_error(fault: str, number: int) -> None:
    error = failed_connect(fault)
    args = error.args
    assert isinstance(args[0], tuple)  # pymssql's shape: the number and the messages as bytes
    assert isinstance(args[0][1], bytes)
    assert ADAPTER.code(error) == number
    assert ADAPTER.classify(error) is Fault.TRANSIENT
    described = ADAPTER.describe(error)
    assert described.startswith("OperationalError ")
    assert "(127.0.0.1)" in described
    assert "\\n" not in described
    assert "DB-Lib error message" not in described


def test_an_ipv6_host_is_given_to_freetds_in_brackets() -> None:
    # FreeTDS names the address it tried; without brackets it would take the port for part of it.
    assert "(::1)" in ADAPTER.describe(failed_connect("closes", "::1"))


@pytest.mark.parametrize("end", ["closes", "resets"])
def test_a_connection_dropped_in_the_tls_handshake_is_a_lost_connection(end: str) -> None:
    # The pre-login answer turns encryption on; the connection ends in the TLS handshake that
    # FreeTDS then sends inside pre-login packets.
    with handshake_listener("sqlserver", end) as seen:
        target = DbTarget(
            "mssql+pymssql", "127.0.0.1", seen.port, "dataflow", "scdf", "pw", {"encryption": "require"}
        )
        with pytest.raises(pymssql.OperationalError) as raised:
            ADAPTER.connect(target, Timeouts(connect=2, statement=2))
    assert seen.hellos == 1
    # 20017 unexpected EOF (a close), 20002 connection failed (both): FreeTDS's own numbers.
    assert ADAPTER.codes(raised.value)[0] == (20017 if end == "closes" else 20002)
    assert ADAPTER.classify(raised.value) is Fault.TRANSIENT


def server_error(
    number: int, text: str, cls: type[pymssql.Error] = pymssql.OperationalError
) -> BaseException:
    # As pymssql passes a server's message on: the server's message first, then FreeTDS's 20018.
    message = (
        f"SQL Server message {number}, severity 14, state 1, line 1:\n{text}\n"
        "DB-Lib error message 20018, severity 14:\n"
        "General SQL Server error: Check messages from the SQL Server\n"
    )
    return cls((number, message.encode()))


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (server_error(1205, "Transaction was deadlocked on lock resources"), Fault.TRANSIENT),
        (server_error(1222, "Lock request time out period exceeded."), Fault.TRANSIENT),
        (server_error(18456, "Login failed for user 'scdf'."), Fault.LOGIN),
        (server_error(4060, 'Cannot open database "dataflow" requested by the login.'), Fault.LOGIN),
        (server_error(8152, "String or binary data would be truncated."), Fault.TEXT),
        (server_error(208, "Invalid object name 'TASK_EXECUTION'."), Fault.OTHER),
    ],
)
def test_a_server_s_error_is_told_apart_by_its_number(error: BaseException, fault: Fault) -> None:
    assert ADAPTER.classify(error) is fault


def test_a_login_refused_at_connect_is_not_taken_for_freetds_s_connect_failure() -> None:
    # The server's refusal comes first, FreeTDS's 20002 after it: the refusal decides.
    message = (
        b"SQL Server message 18456, severity 14, state 1, line 1:\nLogin failed for user 'scdf'.\n"
        b"DB-Lib error message 20002, severity 9:\nAdaptive Server connection failed (db)\n"
    )
    error = pymssql.OperationalError((20002, message))
    assert ADAPTER.codes(error) == [18456, 20002]
    assert ADAPTER.classify(error) is Fault.LOGIN


def test_a_deadlock_is_a_conflict_and_a_duplicate_key_is_recognised() -> None:
    assert ADAPTER.is_conflict(server_error(1205, "deadlocked"))
    duplicate = server_error(2627, "Violation of PRIMARY KEY constraint", pymssql.IntegrityError)
    assert ADAPTER.is_duplicate_key(duplicate)


def test_texts_are_cut_to_what_the_column_length_counts() -> None:
    # VARCHAR(n) counts bytes of its code page (UTF-8 bytes bound them).
    assert ADAPTER.text_unit is TextUnit.UTF8_BYTES
