"""The JDBC URL parser of this project's database: Db2 (IBM JCC's forms, for ibm_db).

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
    host_port,
    is_true,
    split_pairs,
)


def db2(body: str, kind: str) -> UrlParts:
    match = re.match(r"//([^/]+)/([^:;/]+)(?::(.*))?\Z", body, re.DOTALL)
    if not match:
        raise JdbcUrlError("jdbc:db2: URLs must look like jdbc:db2://host:port/database")
    parts = UrlParts("db2+ibm_db")
    parts.host, parts.port = host_port(match.group(1), 446)  # 446: the IBM JDBC driver's default
    parts.database = match.group(2)
    params = Params(split_pairs(match.group(3) or "", ";", decode=False))
    parts.username = params.take("user") or None
    parts.password = params.take("password")
    if is_true(params.take("sslConnection")):
        parts.query["Security"] = "SSL"
    for name, key in (("currentSchema", "CurrentSchema"), ("sslCertLocation", "SSLServerCertificate")):
        value = params.take(name)
        if value:
            parts.query[key] = value
    params.drop_the_rest(parts)
    return parts


PARSERS: dict[str, Callable[[str, str], UrlParts]] = {"db2": db2}
