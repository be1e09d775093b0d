"""What PostgreSQL's driver errors mean for a write: told apart by their codes, never their words."""

import pytest

from util.column_text import TextUnit
from util.db_adapter import ADAPTER
from util.db_api import Fault


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
    # libpq over TLS reports a reset session as "SSL error: unexpected eof while reading".
    lost = OperationalError("consuming input failed: SSL error: unexpected eof while reading")
    assert ADAPTER.classify(lost) is Fault.TLS
    assert ADAPTER.classify(lost, connected=True) is Fault.TRANSIENT


def test_the_psycopg_driver_s_own_errors_carry_the_codes() -> None:
    import psycopg.errors

    assert ADAPTER.classify(psycopg.errors.DeadlockDetected()) is Fault.TRANSIENT
    assert ADAPTER.is_conflict(psycopg.errors.SerializationFailure())
    assert ADAPTER.is_duplicate_key(psycopg.errors.UniqueViolation())


def test_texts_are_cut_to_what_the_column_length_counts() -> None:
    # VARCHAR(n) counts characters.
    assert ADAPTER.text_unit is TextUnit.CHARACTERS
