"""What SQL Server's driver errors mean for a write: told apart by their codes, never their words."""

import pytest

from util.db_adapter import ADAPTER
from util.db_api import Fault


class CodedError(Exception):
    """An error shaped like pymssql's: the number first in args."""


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (CodedError(1205, "deadlock victim"), Fault.TRANSIENT),
        (CodedError(18456, "Login failed"), Fault.LOGIN),
        (CodedError(20009, "Unable to connect"), Fault.TRANSIENT),
        (CodedError(8152, "String or binary data would be truncated"), Fault.TEXT),
        (CodedError(208, "Invalid object name"), Fault.OTHER),
    ],
)
def test_errors_are_told_apart_by_their_codes(error: BaseException, fault: Fault) -> None:
    assert ADAPTER.classify(error) is fault
