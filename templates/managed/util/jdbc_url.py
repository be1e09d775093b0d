"""Turns the JDBC URL SCDF hands to a task into a SQLAlchemy URL for a Python driver.

SCDF passes `spring.datasource.url` exactly as its own server was configured, so the URL can be
in any form the Java drivers accept. Parameters only a Java driver knows must not reach the
Python driver (PyMySQL raises TypeError on `useSSL`, psycopg rejects `loginTimeout`): those with a
Python meaning are translated, the rest are dropped and reported by name only, because a value
may be a secret. The URL is built with `URL.create`, which keeps the raw password; `str(url)`
masks it, so an engine must always be built from the URL object, never from its text.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass

from sqlalchemy.engine import URL

from util.jdbc_syntax import JdbcUrlError
from util.jdbc_vendors import PARSERS

__all__ = [
    "SUPPORTED_DATABASES",
    "ConvertedUrl",
    "JdbcUrlError",
    "convert",
    "to_sqlalchemy_url",
    "to_sqlalchemy_urls",
]

SUPPORTED_DATABASES = ("mysql", "mariadb", "postgresql", "sqlserver", "oracle", "db2")

_EMBEDDED = {"h2": "H2", "hsqldb": "HSQLDB", "derby": "Derby"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConvertedUrl:
    """A SQLAlchemy URL plus what could not be carried over from the JDBC URL."""

    url: URL
    #: JDBC parameter names left out because Python drivers have no equivalent.
    dropped: tuple[str, ...] = ()
    #: Other things left out, in words (for example extra failover hosts).
    notes: tuple[str, ...] = ()
    #: Secret values found in the JDBC URL itself, so that callers can redact them.
    secrets: tuple[str, ...] = ()
    #: The same database on each further host of a multi-host URL, in the order to try them.
    alternates: tuple[URL, ...] = ()
    #: Whether the hosts are load-balanced (connections should start at a random host).
    balanced: bool = False

    def urls_in_order(self, chooser: random.Random | None = None) -> list[URL]:
        """Every host's URL in the order to try: as written, or for `loadbalance` rotated to a
        random first host and the others in turn after it."""
        urls = [self.url, *self.alternates]
        if self.balanced and len(urls) > 1:
            first = (chooser or random).randrange(len(urls))
            urls = urls[first:] + urls[:first]
        return urls


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
    if parser is None:
        raise JdbcUrlError(
            f"jdbc:{kind}: URLs are not supported; supported are " + ", ".join(SUPPORTED_DATABASES) + "."
        )
    parts = parser(text[match.end() :], kind)
    notes = list(parts.notes)
    final_password = password if password is not None else parts.password
    if parts.drivername.startswith("db2") and final_password and ";" in final_password:
        # IBM's CLI driver documents ';' as unsupported in passwords; ibm_db_sa cuts them there.
        notes.append("Db2's CLI driver does not support ';' in passwords: the login will fail")
    if parts.drivername == "sqlite":
        # SQLite has no accounts, and SQLAlchemy refuses a SQLite URL that names one.
        username = final_password = None
    url = URL.create(
        parts.drivername,
        username=username if username is not None else parts.username,
        password=final_password,
        host=parts.host,
        port=parts.port,
        database=parts.database,
        query=parts.query,
    )
    secrets = [*parts.secrets, *([parts.password] if parts.password else [])]
    alternates = tuple(url.set(host=host, port=port) for host, port in parts.more_hosts)
    return ConvertedUrl(url, tuple(parts.dropped), tuple(notes), tuple(secrets), alternates, parts.balanced)


def to_sqlalchemy_url(jdbc_url: str, *, username: str | None = None, password: str | None = None) -> URL:
    """`convert(...).url` (the first host), logging (by name only) what was left out."""
    return to_sqlalchemy_urls(jdbc_url, username=username, password=password)[0]


def to_sqlalchemy_urls(
    jdbc_url: str, *, username: str | None = None, password: str | None = None
) -> list[URL]:
    """One URL per host of `jdbc_url`, in the order to try them, logging what was left out."""
    converted = convert(jdbc_url, username=username, password=password)
    if converted.dropped:
        log.info("JDBC parameters with no Python equivalent were ignored: %s", ", ".join(converted.dropped))
    for note in converted.notes:
        log.warning("From spring.datasource.url: %s", note)
    return converted.urls_in_order()
