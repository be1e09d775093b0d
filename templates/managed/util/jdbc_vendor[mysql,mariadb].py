"""The JDBC URL parser of this project's database: MySQL and MariaDB (Connector/J's and
MariaDB Connector/J's forms; PyMySQL serves both servers).

It gets the text after `jdbc:<kind>:` and returns `UrlParts`. A JDBC parameter is translated
when the Python driver has the same meaning (TLS, timeouts, schema); everything else is
reported as dropped, by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote_plus

from util.jdbc_syntax import (
    JdbcUrlError,
    Params,
    UrlParts,
    authority,
    host_port,
    is_true,
    port,
    split_pairs,
    split_top_level,
    strip_prefix,
    whole_seconds,
)

_MYSQL_TLS = {
    "disabled": "off",
    "disable": "off",
    "preferred": None,  # PyMySQL's own default: TLS when the server offers it
    "required": "required",
    "trust": "required",
    "verify_ca": "verify_ca",
    "verify_identity": "verify_identity",
    "verify_full": "verify_identity",
}


def mysql(body: str, kind: str) -> UrlParts:
    # Connector/J and MariaDB also accept loadbalance:, replication:, sequential:, failover:, ...
    mode = re.match(r"([a-z]+:)?//", body, re.IGNORECASE)
    rest = strip_prefix(r"([a-z]+:)?//", body)
    if rest is None or mode is None:
        raise JdbcUrlError(f"jdbc:{kind}: URLs must continue with //host")
    rest, _, query = rest.partition("?")
    hosts_text, _, database = rest.partition("/")
    hosts_text, user, password = authority(hosts_text)
    parts = UrlParts("mysql+pymysql", username=user, password=password)
    parts.database = unquote_plus(database) or None
    hosts = [_mysql_host(h) for h in split_top_level(hosts_text, ",")]
    parts.host, parts.port = hosts[0] if hosts else ("localhost", 3306)
    # Every attempt tries the hosts in turn, as the Java drivers fail over; a load-balanced
    # list starts at a random host.
    parts.more_hosts = hosts[1:]
    parts.balanced = (mode.group(1) or "").lower() == "loadbalance:"
    params = Params(split_pairs(query, "&", decode=True))
    parts.username = params.take("user") or parts.username
    parts.password = params.take("password") or parts.password
    parts.query.update(_mysql_tls(params, mariadb=kind == "mariadb"))
    timeout = whole_seconds(params.take("connectTimeout"), 1000, "connectTimeout")
    if timeout:
        parts.query["connect_timeout"] = timeout
    timeout = whole_seconds(params.take("socketTimeout"), 1000, "socketTimeout")
    if timeout:
        parts.query["read_timeout"] = parts.query["write_timeout"] = timeout
    params.drop_the_rest(parts)
    return parts


def _mysql_host(text: str) -> tuple[str, int | None]:
    if "(" not in text:
        return host_port(text, 3306)
    # address=(host=h)(port=p)(k=v) and (host=h,port=p,k=v)
    found = {k.lower(): v.strip() for k, v in re.findall(r"(\w+)\s*=\s*([^,()]*)", text)}
    if not found.get("host"):
        raise JdbcUrlError("a host in spring.datasource.url has no host=")
    return found["host"].strip("[]"), port(found["port"]) if "port" in found else 3306


def _mysql_tls(params: Params, mariadb: bool) -> dict[str, str]:
    mode_text = params.take("sslMode")
    use_ssl, require = params.take("useSSL", "useSsl"), params.take("requireSSL")
    verify, trust = params.take("verifyServerCertificate"), params.take("trustServerCertificate")
    ca_file = params.take("serverSslCert")
    if mode_text is not None:
        key = mode_text.strip().lower().replace("-", "_")
        if key not in _MYSQL_TLS:
            raise JdbcUrlError("JDBC parameter sslMode has an unknown value")
        mode = _MYSQL_TLS[key]
    elif use_ssl is not None and not is_true(use_ssl):
        mode = "off"
    elif is_true(use_ssl) or is_true(require):
        # Connector/J checks the certificate only when asked; MariaDB's driver unless told not to.
        checks = not is_true(trust) if mariadb else is_true(verify)
        mode = ("verify_identity" if mariadb else "verify_ca") if checks else "required"
    else:
        mode = None
    query = {}
    if ca_file and not ca_file.lstrip().startswith("-----"):  # a path, not inline PEM
        query["ssl_ca"] = ca_file
    if mode == "off":
        query["ssl_disabled"] = "true"
    elif mode == "required":
        # Any ssl option makes PyMySQL insist on TLS; with no CA it does not check the certificate.
        query["ssl_check_hostname"] = "false"
    elif mode in ("verify_ca", "verify_identity"):
        query["ssl_verify_cert"] = "true"
        if mode == "verify_identity":
            query["ssl_verify_identity"] = "true"
    return query


PARSERS: dict[str, Callable[[str, str], UrlParts]] = {"mysql": mysql, "mariadb": mysql}
