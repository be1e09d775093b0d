"""One parser per database: the JDBC URL forms its Java driver accepts, mapped to a Python driver.

Each parser gets the text after `jdbc:<kind>:` and returns `UrlParts`. A JDBC parameter is
translated when the Python driver has the same meaning (TLS, timeouts, schema); everything else
is reported as dropped, by name.
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

# --- MySQL and MariaDB (PyMySQL serves both servers) ---------------------------------------

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


# --- PostgreSQL ----------------------------------------------------------------------------

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


# --- SQL Server ----------------------------------------------------------------------------

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
    encrypt = params.take("encrypt")
    if encrypt is not None:
        required = encrypt.strip().lower() in ("true", "yes", "mandatory", "strict")
        # FreeTDS's `request` still protects the login, like the JDBC driver's encrypt=false.
        parts.query["encryption"] = "require" if required else "request"
    timeout = whole_seconds(params.take("loginTimeout"), 1, "loginTimeout")
    if timeout:
        parts.query["login_timeout"] = timeout
    name = params.take("applicationName")
    if name:
        parts.query["appname"] = name
    params.drop_the_rest(parts)
    return parts


# --- Oracle --------------------------------------------------------------------------------

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


# --- Db2 -----------------------------------------------------------------------------------


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


# --- SQLite: the local stand-in for SCDF's database ----------------------------------------


def sqlite(body: str, kind: str) -> UrlParts:
    path, _, query = body.partition("?")
    parts = UrlParts("sqlite", database=path or ":memory:")
    Params(split_pairs(query, "&", decode=True)).drop_the_rest(parts)
    return parts


PARSERS: dict[str, Callable[[str, str], UrlParts]] = {
    "mysql": mysql,
    "mariadb": mysql,
    "postgresql": postgresql,
    "sqlserver": sqlserver,
    "oracle": oracle,
    "db2": db2,
    "sqlite": sqlite,
}
