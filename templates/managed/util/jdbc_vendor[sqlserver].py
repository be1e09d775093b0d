"""The JDBC URL parser of this project's database: SQL Server (mssql-jdbc's forms, for pymssql).

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
    port,
    whole_seconds,
)

# name=value; a value in braces may hold `;` and `=`, and `}}` inside braces stands for `}`.
_MSSQL_PROPERTY = re.compile(r"\s*([^=;]+?)\s*(?:=\s*(\{(?:[^}]|\}\})*\}|[^;]*))?\s*(?:;|\Z)")


def _mssql_properties(text: str) -> list[tuple[str, str]]:
    pairs = []
    for match in _MSSQL_PROPERTY.finditer(text):
        raw = match.group(2) or ""
        if raw.startswith("{") and raw.endswith("}"):
            pairs.append((match.group(1), raw[1:-1].replace("}}", "}")))
        else:
            pairs.append((match.group(1), raw.strip()))
    return pairs


def sqlserver(body: str, kind: str) -> UrlParts:
    if not body.startswith("//"):
        raise JdbcUrlError("jdbc:sqlserver: URLs must continue with //")
    server, _, properties = body[2:].partition(";")
    params = Params(_mssql_properties(properties))
    server = params.take("serverName") or server
    host_text, _, instance = server.partition("\\")
    if ":" in instance:  # host\instance:port
        instance, _, port_text = instance.partition(":")
        host_text = f"{host_text}:{port_text}"
    host, port_number = host_port(host_text, None) if host_text else ("localhost", None)
    port_setting = params.take("portNumber", "port")
    port_number = port(port_setting) if port_setting else port_number
    instance = params.take("instanceName") or instance
    parts = UrlParts("mssql+pymssql", host=host, port=port_number)
    if instance and port_number is None:
        parts.host = f"{host}\\{instance}"  # FreeTDS asks the server's browser for the port
    else:
        if instance:
            parts.notes.append("instance name ignored: a port is given, and the port wins in JDBC too")
        parts.port = port_number or 1433
    parts.database = params.take("databaseName", "database") or None
    parts.username = params.take("user", "userName") or None
    parts.password = params.take("password")
    _tls(params, parts)
    timeout = whole_seconds(params.take("loginTimeout"), 1, "loginTimeout")
    if timeout:
        parts.query["login_timeout"] = timeout
    name = params.take("applicationName")
    if name:
        parts.query["appname"] = name
    params.drop_the_rest(parts)
    return parts


def _tls(params: Params, parts: UrlParts) -> None:
    """TLS as mssql-jdbc reads the URL, in what FreeTDS can do.

    mssql-jdbc 10 and later encrypt unless told `encrypt=false`, and then check the server's
    certificate unless `trustServerCertificate=true`, against `hostNameInCertificate` or the
    host. FreeTDS (inside pymssql) is given no certificate store by pymssql, so it encrypts
    without checking: that is said once in the log rather than left unsaid.
    """
    encrypt = (params.take("encrypt") or "true").strip().lower()
    trust = params.take("trustServerCertificate")
    host_name = params.take("hostNameInCertificate")
    if encrypt in ("false", "no", "optional"):
        # FreeTDS's `request` still protects the login, like the JDBC driver's encrypt=false.
        parts.query["encryption"] = "request"
        return
    if encrypt not in ("true", "yes", "mandatory", "strict"):
        raise JdbcUrlError("JDBC parameter encrypt has an unknown value")
    parts.query["encryption"] = "require"
    if encrypt == "strict":
        # TDS 8's TLS-first login: pymssql takes only off, request and require.
        parts.notes.append("encrypt=strict (TDS 8) is not supported by pymssql: it encrypts as encrypt=true")
    # strict always checks the certificate; true does unless trustServerCertificate=true.
    if encrypt == "strict" or not is_true(trust):
        checked = f"against {host_name!r}" if host_name else "against the host name"
        parts.notes.append(
            f"mssql-jdbc would check the server's certificate {checked}; pymssql encrypts without checking it"
        )


PARSERS: dict[str, Callable[[str, str], UrlParts]] = {"sqlserver": sqlserver}
