"""The JDBC URL parser of this project's database: PostgreSQL (pgjdbc's forms, for psycopg).

It gets the text after `jdbc:<kind>:` and returns `UrlParts`. A JDBC parameter is translated
when the Python driver has the same meaning (TLS, timeouts, schema); everything else is
reported as dropped, by name.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_plus

from util.jdbc_syntax import (
    JdbcUrlError,
    Params,
    UrlParts,
    authority,
    host_port,
    is_true,
    split_pairs,
    split_top_level,
    whole_seconds,
)

_PG_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_PG_TARGETS = {
    "any": "any",
    "master": "primary",
    "primary": "primary",
    "secondary": "standby",
    "preferslave": "prefer-standby",
    "prefersecondary": "prefer-standby",
    "preferprimary": "any",
}


def postgresql(body: str, kind: str) -> UrlParts:
    rest, _, query = body.partition("?")
    parts = UrlParts("postgresql+psycopg")
    hosts: list[tuple[str, int | None]] = []
    if rest.startswith("//"):
        hosts_text, _, database = rest[2:].partition("/")
        hosts_text, parts.username, parts.password = authority(hosts_text)
        hosts = [host_port(h, 5432) for h in split_top_level(hosts_text, ",")]
    else:
        database = rest.lstrip("/")
    # pgjdbc's default is localhost:5432 over TCP; an empty host would make libpq use a socket.
    hosts = hosts or [("localhost", 5432)]
    parts.database = unquote_plus(database) or None
    if len(hosts) == 1:
        parts.host, parts.port = hosts[0]
    else:
        # libpq's own comma lists; SQLAlchemy hands them to psycopg unchanged.
        parts.query["host"] = ",".join(h for h, _ in hosts)
        parts.query["port"] = ",".join(str(p) for _, p in hosts)
    params = Params(split_pairs(query, "&", decode=True))
    parts.username = params.take("user") or parts.username
    parts.password = params.take("password") or parts.password
    parts.query.update(_postgresql_params(params))
    params.drop_the_rest(parts)
    return parts


def _postgresql_params(params: Params) -> dict[str, str]:
    query = {}
    sslmode, ssl = params.take("sslmode"), params.take("ssl")
    factory = params.take("sslfactory") or ""
    if sslmode is not None:
        if sslmode.lower() not in _PG_SSLMODES:
            raise JdbcUrlError("JDBC parameter sslmode has an unknown value")
        query["sslmode"] = sslmode.lower()
    elif factory.endswith("NonValidatingFactory"):
        query["sslmode"] = "require"
    elif ssl is not None:
        # pgjdbc's ssl=true means verify-full against the JVM's trust store; libpq's nearest
        # equivalent is verify-full against the system's trust store.
        query["sslmode"] = "verify-full" if is_true(ssl) else "disable"
    for name in ("sslrootcert", "sslcert", "sslkey"):
        value = params.take(name)
        if value:
            query[name] = value
    if query.get("sslmode") == "verify-full" and ssl is not None and "sslrootcert" not in query:
        query["sslrootcert"] = "system"
    connect, login = params.take("connectTimeout"), params.take("loginTimeout")
    timeout = whole_seconds(connect or login, 1, "connectTimeout")
    if timeout:
        query["connect_timeout"] = timeout
    options = [params.take("options") or ""]
    schema = params.take("currentSchema")
    if schema:
        # libpq splits `options` on spaces; a backslash keeps one inside a value.
        escaped = schema.replace("\\", "\\\\").replace(" ", "\\ ")
        options.append(f"-c search_path={escaped}")
    if any(options):
        query["options"] = " ".join(o for o in options if o)
    app_name = params.take("ApplicationName")
    if app_name:
        query["application_name"] = app_name
    target = params.take("targetServerType")
    if target:
        if target.lower() not in _PG_TARGETS:
            raise JdbcUrlError("JDBC parameter targetServerType has an unknown value")
        query["target_session_attrs"] = _PG_TARGETS[target.lower()]
    keepalive = params.take("tcpKeepAlive")
    if keepalive is not None:
        query["keepalives"] = "1" if is_true(keepalive) else "0"
    return query


PARSERS: dict[str, Callable[[str, str], UrlParts]] = {"postgresql": postgresql}
