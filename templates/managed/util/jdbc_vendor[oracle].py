"""The JDBC URL parser of this project's database: Oracle (the thin driver's forms, for python-oracledb).

It gets the text after `jdbc:<kind>:` and returns `UrlParts`. A JDBC parameter is translated
when the Python driver has the same meaning (TLS, timeouts, schema); everything else is
reported as dropped, by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from util.jdbc_syntax import (
    JdbcUrlError,
    Params,
    UrlParts,
    port,
    split_pairs,
    strip_prefix,
)

_HOST = r"(\[[0-9a-fA-F:.]+\]|[\w.-]+)"
_ORACLE_SERVICE = re.compile(_HOST + r"(?::(\d+))?/([\w.$#-]+)\Z")
_ORACLE_SID = re.compile(_HOST + r":(\d+):([\w$#]+)\Z")


def oracle(body: str, kind: str) -> UrlParts:
    rest = strip_prefix(r"(thin|oci8?):", body)
    if rest is None or "@" not in rest:
        raise JdbcUrlError("jdbc:oracle: URLs must look like jdbc:oracle:thin:@<connect string>")
    userinfo, _, target = rest.rpartition("@")
    parts = UrlParts("oracle+oracledb")
    if userinfo:
        user, slash, password = userinfo.partition("/")
        parts.username, parts.password = user or None, password if slash else None
    query = ""
    if not target.lstrip().startswith("("):  # descriptors carry no EZConnect parameters
        target, _, query = target.partition("?")
    target = target.strip()
    params = Params(split_pairs(query, "&", decode=False))
    address = strip_prefix(r"(tcp:)?//", target) or target
    found = _ORACLE_SERVICE.match(address) or _ORACLE_SID.match(address)
    if found:
        parts.host = found.group(1).strip("[]")
        parts.port = port(found.group(2)) if found.group(2) else 1521
        if "/" in address:
            parts.query["service_name"] = found.group(3)
        else:
            parts.database = found.group(3)  # SQLAlchemy reads the database part as the SID
    else:
        # Descriptors, tcps://, TNS aliases: python-oracledb parses these itself.
        parts.query["dsn"] = target
    timeout = params.take("connect_timeout", "transport_connect_timeout")
    if timeout:
        parts.query["tcp_connect_timeout"] = _oracle_seconds(timeout)
    for name, key in (("TNS_ADMIN", "config_dir"), ("wallet_location", "wallet_location")):
        value = params.take(name)
        if value:
            parts.query[key] = value
    params.drop_the_rest(parts)
    return parts


def _oracle_seconds(text: str) -> str:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|sec|min)?\s*", text.lower())
    if not match:
        raise JdbcUrlError("JDBC parameter connect_timeout must be a number")
    factor = {"ms": 0.001, "min": 60.0}.get(match.group(2) or "", 1.0)
    return f"{float(match.group(1)) * factor:g}"


PARSERS: dict[str, Callable[[str, str], UrlParts]] = {"oracle": oracle}
