"""Turns the JDBC URL SCDF hands to a task into the parts a Python driver connects with.

SCDF passes `spring.datasource.url` exactly as its own server was configured, so the URL can be
in any form the Java drivers accept. Parameters only a Java driver knows must not reach the
Python driver (PyMySQL raises TypeError on `useSSL`, psycopg rejects `loginTimeout`): those with a
Python meaning are translated, the rest are dropped and reported by name only, because a value
may be a secret. The result is a `DbTarget` per host: the driver gets its parts as keyword
arguments, so no password is ever escaped into, or parsed back out of, a URL string.

Only this project's database has a parser here (`util.jdbc_vendor`), plus SQLite for local runs.
`sqlalchemy_url()` converts a target for code of your own that uses SQLAlchemy.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from util.db_api import DbTarget
from util.jdbc_syntax import JdbcUrlError, Params, UrlParts, split_pairs
from util.jdbc_vendor import PARSERS as PROJECT_PARSERS
from util.records import FrozenRecord

if TYPE_CHECKING:
    import random

    # Not a requirement: without SQLAlchemy installed, type checkers see `URL` as Any.
    from sqlalchemy.engine import URL as URL  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "SUPPORTED_DATABASES",
    "ConvertedUrl",
    "DbTarget",
    "JdbcUrlError",
    "convert",
    "in_order",
    "sqlalchemy_url",
    "targets",
]

SUPPORTED_DATABASES = ("mysql", "mariadb", "postgresql", "sqlserver", "oracle", "db2")

_EMBEDDED = {"h2": "H2", "hsqldb": "HSQLDB", "derby": "Derby"}

log = logging.getLogger(__name__)


def _sqlite(body: str, kind: str) -> UrlParts:
    """`jdbc:sqlite:<path>`: the local stand-in for SCDF's database."""
    path, _, query = body.partition("?")
    parts = UrlParts("sqlite", database=path or ":memory:")
    Params(split_pairs(query, "&", decode=True)).drop_the_rest(parts)
    return parts


PARSERS: dict[str, Callable[[str, str], UrlParts]] = {**PROJECT_PARSERS, "sqlite": _sqlite}


class ConvertedUrl(FrozenRecord):
    """Where to connect, plus what could not be carried over from the JDBC URL."""

    _fields = __slots__ = ("target", "dropped", "notes", "secrets", "alternates", "balanced")
    target: Final[DbTarget]
    #: JDBC parameter names left out because Python drivers have no equivalent.
    dropped: Final[tuple[str, ...]]
    #: Other things left out, in words (for example extra failover hosts).
    notes: Final[tuple[str, ...]]
    #: Secret values found in the JDBC URL itself, so that callers can redact them.
    secrets: Final[tuple[str, ...]]
    #: The same database on each further host of a multi-host URL, in the order to try them.
    alternates: Final[tuple[DbTarget, ...]]
    #: Whether the hosts are load-balanced (connections should start at a random host).
    balanced: Final[bool]

    def __init__(
        self,
        target: DbTarget,
        dropped: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
        secrets: tuple[str, ...] = (),
        alternates: tuple[DbTarget, ...] = (),
        balanced: bool = False,
    ) -> None:
        self.target = target
        self.dropped = dropped
        self.notes = notes
        self.secrets = secrets
        self.alternates = alternates
        self.balanced = balanced

    def targets_in_order(self, chooser: random.Random | None = None) -> list[DbTarget]:
        """Every host's target in the order to try: as written, or for `loadbalance` rotated to
        a random first host and the others in turn after it."""
        found = [self.target, *self.alternates]
        if self.balanced and len(found) > 1:
            if chooser is None:
                import random  # only load-balanced URLs need it: kept off every launch's start-up

                chooser = random.SystemRandom()
            first = chooser.randrange(len(found))
            found = found[first:] + found[:first]
        return found


def convert(jdbc_url: str, *, username: str | None = None, password: str | None = None) -> ConvertedUrl:
    """Converts `jdbc_url`; `username`/`password` (`spring.datasource.*`) win over the URL's own.

    Raises JdbcUrlError for URLs Python cannot use, with a message that never quotes the URL.
    """
    text = jdbc_url.strip()
    match = re.match(r"jdbc:([a-z0-9]+):", text, re.IGNORECASE)
    if not match:
        raise JdbcUrlError("spring.datasource.url is not a JDBC URL (expected jdbc:<database>:...)")
    kind = match.group(1).lower()
    if kind in _EMBEDDED:
        raise JdbcUrlError(
            f"spring.datasource.url points at an embedded {_EMBEDDED[kind]} database (jdbc:{kind}:), "
            "which is what SCDF uses when no database is configured. No Python driver can reach it: "
            "run the SCDF server on one of " + ", ".join(SUPPORTED_DATABASES) + "."
        )
    parser = PARSERS.get(kind)
    if parser is None and kind in SUPPORTED_DATABASES:
        raise JdbcUrlError(
            f"jdbc:{kind}: URLs need the {kind} driver, but this project was generated for "
            + ", ".join(PROJECT_PARSERS)
            + f": update it with `--database {kind}`."
        )
    if parser is None:
        raise JdbcUrlError(
            f"jdbc:{kind}: URLs are not supported; supported are " + ", ".join(SUPPORTED_DATABASES) + "."
        )
    parts = parser(text[match.end() :], kind)
    notes = list(parts.notes)
    final_password = password if password is not None else parts.password
    final_username = username if username is not None else parts.username
    if parts.drivername == "sqlite":
        final_username = final_password = None  # SQLite has no accounts
    target = DbTarget(
        parts.drivername,
        host=parts.host,
        port=parts.port,
        database=parts.database,
        username=final_username,
        password=final_password,
        query=dict(parts.query),
    )
    secrets = [*parts.secrets, *([parts.password] if parts.password else [])]
    alternates = tuple(target.with_host(host, port) for host, port in parts.more_hosts)
    return ConvertedUrl(
        target, tuple(parts.dropped), tuple(notes), tuple(secrets), alternates, parts.balanced
    )


def targets(jdbc_url: str, *, username: str | None = None, password: str | None = None) -> list[DbTarget]:
    """One target per host of `jdbc_url`, in the order to try them, logging what was left out."""
    return in_order(convert(jdbc_url, username=username, password=password))


def in_order(converted: ConvertedUrl) -> list[DbTarget]:
    """`targets()` of a URL already converted: logs what was left out, returns the hosts' targets."""
    if converted.dropped:
        log.info("JDBC parameters with no Python equivalent were ignored: %s", ", ".join(converted.dropped))
    for note in converted.notes:
        log.warning("From spring.datasource.url: %s", note)
    return converted.targets_in_order()


def sqlalchemy_url(target: DbTarget) -> URL:
    """`target` as a SQLAlchemy URL, for task code of your own that uses SQLAlchemy.

    The utilities themselves never import SQLAlchemy; add it to requirements.txt to use this.
    Build engines from the URL object: `str()` of it masks the password.
    """
    try:
        from sqlalchemy.engine import URL
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "sqlalchemy_url() needs SQLAlchemy, which this project does not install: add SQLAlchemy "
            "to requirements.txt",
            name=error.name,
        ) from None
    return URL.create(
        target.drivername,
        username=target.username,
        password=target.password,
        host=target.host,
        port=target.port,
        database=target.database,
        query=dict(target.query),
    )
