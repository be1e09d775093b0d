"""What Db2's driver errors mean for a write: told apart by their codes, never their words."""

import pytest

from util.db_adapter import ADAPTER
from util.db_api import Fault


class CodedError(Exception):
    """An error shaped like ibm_db's: the codes in the text, SQLnnnnN and SQLSTATE=."""


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (CodedError("[IBM][CLI Driver] SQL30081N  A communication error SQLSTATE=08001"), Fault.TRANSIENT),
        (CodedError("[IBM][CLI Driver] SQL30082N  Security processing failed SQLSTATE=08001"), Fault.LOGIN),
        (
            CodedError("[IBM][CLI Driver] SQL0911N  The current transaction has been rolled back"),
            Fault.TRANSIENT,
        ),
        (CodedError("[IBM][CLI Driver] SQL0204N  undefined name SQLSTATE=42704"), Fault.OTHER),
    ],
)
def test_errors_are_told_apart_by_their_codes(error: BaseException, fault: Fault) -> None:
    assert ADAPTER.classify(error) is fault
