"""Pieces of JDBC URL syntax that several databases share: hosts, ports, parameter lists.

No error message here quotes the URL or a parameter value: either may carry a password.
"""

from __future__ import annotations

import math
import re
from urllib.parse import unquote_plus

from util.records import Record
from util.redaction import is_secret_key


class JdbcUrlError(ValueError):
    """The URL cannot be used from Python; the message says why and never quotes the URL."""


class UrlParts(Record):
    """What a database-specific parser found, before it becomes a SQLAlchemy URL."""

    _fields = __slots__ = (
        "drivername",
        "host",
        "port",
        "database",
        "username",
        "password",
        "query",
        "more_hosts",
        "balanced",
        "dropped",
        "notes",
        "secrets",
    )
    drivername: str
    host: str | None
    port: int | None
    database: str | None
    username: str | None
    password: str | None
    query: dict[str, str]
    #: Further hosts to try when `host` fails (failover lists, load balancing), in order.
    more_hosts: list[tuple[str, int | None]]
    #: Whether the driver would spread connections over the hosts (`loadbalance`).
    balanced: bool
    #: JDBC parameter names left out because Python drivers have no equivalent.
    dropped: list[str]
    #: Other things left out, in words.
    notes: list[str]
    #: Secret values seen in the URL, for redaction.
    secrets: list[str]

    def __init__(
        self,
        drivername: str,
        host: str | None = None,
        port: int | None = None,
        database: str | None = None,
        username: str | None = None,
        password: str | None = None,
        query: dict[str, str] | None = None,
        more_hosts: list[tuple[str, int | None]] | None = None,
        balanced: bool = False,
        dropped: list[str] | None = None,
        notes: list[str] | None = None,
        secrets: list[str] | None = None,
    ) -> None:
        self.drivername = drivername
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
        self.query = {} if query is None else query
        self.more_hosts = [] if more_hosts is None else more_hosts
        self.balanced = balanced
        self.dropped = [] if dropped is None else dropped
        self.notes = [] if notes is None else notes
        self.secrets = [] if secrets is None else secrets


class Params:
    """JDBC parameters, looked up case-insensitively; whatever is never taken counts as dropped."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._taken: set[str] = set()

    def take(self, *names: str) -> str | None:
        """The value of the last of `names` present (as in the Java drivers), or None."""
        wanted = {n.lower() for n in names}
        value = None
        for name, item in self._pairs:
            if name.lower() in wanted:
                self._taken.add(name.lower())
                value = item
        return value

    def drop_the_rest(self, parts: UrlParts) -> None:
        """Records every parameter nobody took as dropped, keeping secret values for redaction."""
        for name, value in self._pairs:
            if name.lower() not in self._taken:
                self._taken.add(name.lower())
                parts.dropped.append(name)
                if is_secret_key(name) and value:
                    parts.secrets.append(value)


def split_pairs(text: str, separator: str, decode: bool) -> list[tuple[str, str]]:
    """`a=1&flag&b=x=y` → [(a, 1), (flag, ''), (b, x=y)]: split on the first `=` only."""
    pairs = []
    for item in text.split(separator):
        name, _, value = item.partition("=")
        if name.strip():
            pairs.append((name.strip(), unquote_plus(value) if decode else value))
    return pairs


def split_top_level(text: str, separator: str) -> list[str]:
    """Splits on `separator` outside brackets and parentheses (IPv6, MySQL `address=(...)`)."""
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += (char in "[(") - (char in "])")
        if char == separator and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item for item in items if item.strip()]


def port(text: str) -> int:
    """A TCP port, or a clear error."""
    text = text.strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise JdbcUrlError("a port in spring.datasource.url is not a number from 1 to 65535")
    return int(text)


def host_port(text: str, default_port: int | None) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address has no port."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, port(rest[1:]) if rest.startswith(":") else default_port
    if text.count(":") == 1:
        host, _, port_text = text.partition(":")
        return host, port(port_text)
    return text, default_port


def authority(text: str) -> tuple[str, str | None, str | None]:
    """Splits `user:password@hosts`; user and password are percent-decoded as the drivers do."""
    userinfo, at, hosts = text.rpartition("@")
    if not at:
        return text, None, None
    user, colon, password = userinfo.partition(":")
    return hosts, unquote_plus(user) or None, unquote_plus(password) if colon else None


def is_true(value: str | None) -> bool:
    """A JDBC boolean; a flag given without a value (`?ssl`) counts as set."""
    return value is not None and value.strip().lower() in ("", "true", "yes", "1", "on")


def whole_seconds(value: str | None, units_per_second: int, name: str) -> str | None:
    """A timeout in whole seconds for a Python driver; None when unset or 0 (JDBC's 'no limit')."""
    if value is None or not value.strip():
        return None
    try:
        amount = float(value)
    except ValueError:
        raise JdbcUrlError(f"JDBC parameter {name} must be a number") from None
    return str(math.ceil(amount / units_per_second)) if amount > 0 else None


def strip_prefix(pattern: str, text: str) -> str | None:
    """`text` after a leading match of `pattern`, or None when it does not match."""
    match = re.match(pattern, text, re.DOTALL | re.IGNORECASE)
    return text[match.end() :] if match else None
