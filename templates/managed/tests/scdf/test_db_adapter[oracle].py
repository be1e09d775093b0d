"""What Oracle's driver errors mean for a write: told apart by their codes, never their words."""

import pytest

from util.db_adapter import ADAPTER
from util.db_api import Fault


class CodedError(Exception):
    """An error shaped like python-oracledb's: an error object with `full_code` first in args."""


class OracleDetail:
    def __init__(self, full_code: str) -> None:
        self.full_code = full_code


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (CodedError(OracleDetail("ORA-00060")), Fault.TRANSIENT),
        (CodedError(OracleDetail("DPY-4024")), Fault.TRANSIENT),
        (CodedError(OracleDetail("ORA-01017")), Fault.LOGIN),
        (CodedError(OracleDetail("ORA-12899")), Fault.TEXT),
        (CodedError(OracleDetail("ORA-00942")), Fault.OTHER),
    ],
)
def test_errors_are_told_apart_by_their_codes(error: BaseException, fault: Fault) -> None:
    assert ADAPTER.classify(error) is fault


def test_statements_use_numbered_parameters() -> None:
    assert ADAPTER.sql("UPDATE T SET A = ? WHERE B = ?") == "UPDATE T SET A = :1 WHERE B = :2"
