"""The database a launch writes to: its adapter, and the bounded write engine over its hosts.

The execution row, the single-instance lock and the batch records of one execution all write
through the one engine opened here, so they share its deadline, its stop signal handling and its
count of abandoned attempts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from util.bounded_write import WriteEngine, WriteError
from util.db_api import Adapter, DbTarget, Timeouts
from util.jdbc_url import JdbcUrlError, targets
from util.redaction import Redactor

#: This project's driver: the module its adapter imports first, and the requirement that installs it.
_DRIVER_MODULE = <%- JSON.stringify(profile.driverModule) %>
_DRIVER_PACKAGE = <%- JSON.stringify(profile.requirements[0].split('==')[0]) %>


def open_engine(
    db: DbTarget | str | Sequence[DbTarget],
    *,
    deadline: float,
    timeouts: Timeouts,
    redactor: Redactor | None = None,
    guard: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
) -> WriteEngine:
    """The write engine for `db`: a JDBC URL, or parsed targets (several for the hosts of a
    failover or load-balanced URL, which each attempt tries in the order given).

    The targets' passwords join the redactor's secrets. Raises WriteError for a URL that
    cannot be used or a driver that is not installed.
    """
    try:
        given = targets(db) if isinstance(db, str) else [db] if isinstance(db, DbTarget) else list(db)
    except JdbcUrlError as error:
        raise WriteError(f"The database URL is not usable: {error}") from None
    if not given:
        raise WriteError("No database URL given")
    return WriteEngine(
        given,
        _load_adapter(given[0]),
        deadline=deadline,
        timeouts=timeouts,
        redactor=(redactor or Redactor()).with_secrets([t.password for t in given]),
        guard=guard,
    )


def adapter_for(target: DbTarget) -> Adapter:
    """The adapter for `target`: SQLite's for the local stand-in, else the project's database's.

    Imported here, when needed, so that a task never imports a driver it does not use.
    """
    if target.drivername == "sqlite":
        from util.db_sqlite import ADAPTER as SQLITE

        return SQLITE
    from util.db_adapter import ADAPTER

    return ADAPTER


def _load_adapter(target: DbTarget) -> Adapter:
    try:
        return adapter_for(target)
    except ModuleNotFoundError as error:
        module = (error.name or "").partition(".")[0]
        package = _DRIVER_PACKAGE if module == _DRIVER_MODULE else module
        raise WriteError(
            f"The database driver is not installed ({module}): install {package} "
            "with `pip install --require-hashes -r requirements-scdf.txt`"
        ) from None
