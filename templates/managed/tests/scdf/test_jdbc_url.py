"""JDBC URLs as SCDF users write them, and the SQLAlchemy URL each must become."""

import logging
import random

import pytest

from util.jdbc_url import JdbcUrlError, convert, to_sqlalchemy_url, to_sqlalchemy_urls

MYSQL, PG, MSSQL, ORACLE, DB2 = (
    "mysql+pymysql",
    "postgresql+psycopg",
    "mssql+pymssql",
    "oracle+oracledb",
    "db2+ibm_db",
)

# (JDBC URL, (drivername, host, port, database, username, password), query, dropped names)
CASES = [
    # --- MySQL (Connector/J) ---
    (
        "jdbc:mysql://mysql:3306/dataflow?permitMysqlScheme",
        (MYSQL, "mysql", 3306, "dataflow", None, None),
        {},
        ["permitMysqlScheme"],
    ),
    (
        "jdbc:mysql://localhost/dataflow?useSSL=false&serverTimezone=UTC&allowPublicKeyRetrieval=true",
        (MYSQL, "localhost", 3306, "dataflow", None, None),
        {"ssl_disabled": "true"},
        ["serverTimezone", "allowPublicKeyRetrieval"],
    ),
    (
        "jdbc:mysql://db.example.com:3307/scdf?sslMode=REQUIRED&connectTimeout=5000&socketTimeout=30500",
        (MYSQL, "db.example.com", 3307, "scdf", None, None),
        {"ssl_check_hostname": "false", "connect_timeout": "5", "read_timeout": "31", "write_timeout": "31"},
        [],
    ),
    (
        "jdbc:mysql://h1:3306,h2:3307/dataflow?sslMode=VERIFY_IDENTITY",
        (MYSQL, "h1", 3306, "dataflow", None, None),
        {"ssl_verify_cert": "true", "ssl_verify_identity": "true"},
        [],
    ),
    (
        "jdbc:mysql://[::1]:3306/dataflow?characterEncoding=UTF-8&useUnicode=true",
        (MYSQL, "::1", 3306, "dataflow", None, None),
        {},
        ["characterEncoding", "useUnicode"],
    ),
    (
        "jdbc:mysql://root:s%40cret%3A1@mysql:3306/dataflow",
        (MYSQL, "mysql", 3306, "dataflow", "root", "s@cret:1"),
        {},
        [],
    ),
    (
        "jdbc:mysql://address=(host=mysql)(port=3308)(type=master)/dataflow?user=scdf&password=pw",
        (MYSQL, "mysql", 3308, "dataflow", "scdf", "pw"),
        {},
        [],
    ),
    (
        "jdbc:mysql:loadbalance://m1,m2/dataflow?sessionVariables=sql_mode=ANSI&useSSL=true",
        (MYSQL, "m1", 3306, "dataflow", None, None),
        {"ssl_check_hostname": "false"},
        ["sessionVariables"],
    ),
    # --- MariaDB Connector/J ---
    (
        "jdbc:mariadb://mariadb:3306/dataflow",
        (MYSQL, "mariadb", 3306, "dataflow", None, None),
        {},
        [],
    ),
    (
        "jdbc:mariadb://mariadb/dataflow?useSsl=true&trustServerCertificate=true",
        (MYSQL, "mariadb", 3306, "dataflow", None, None),
        {"ssl_check_hostname": "false"},
        [],
    ),
    (
        "jdbc:mariadb://mariadb:3306/dataflow?sslMode=verify-full&serverSslCert=/etc/ssl/ca.pem",
        (MYSQL, "mariadb", 3306, "dataflow", None, None),
        {"ssl_ca": "/etc/ssl/ca.pem", "ssl_verify_cert": "true", "ssl_verify_identity": "true"},
        [],
    ),
    (
        "jdbc:mariadb:replication://primary:3306,replica:3306/dataflow?connectTimeout=0&autoReconnect=true",
        (MYSQL, "primary", 3306, "dataflow", None, None),
        {},
        ["autoReconnect"],
    ),
    # --- PostgreSQL (pgjdbc) ---
    (
        "jdbc:postgresql://postgresql:5432/dataflow",
        (PG, "postgresql", 5432, "dataflow", None, None),
        {},
        [],
    ),
    ("jdbc:postgresql:dataflow", (PG, "localhost", 5432, "dataflow", None, None), {}, []),
    (
        "jdbc:postgresql://pg/dataflow?currentSchema=scdf&sslmode=require&connectTimeout=10&ApplicationName=task",
        (PG, "pg", 5432, "dataflow", None, None),
        {
            "options": "-c search_path=scdf",
            "sslmode": "require",
            "connect_timeout": "10",
            "application_name": "task",
        },
        [],
    ),
    (
        "jdbc:postgresql://pg1:5432,pg2:5433/dataflow?targetServerType=primary&loginTimeout=5&prepareThreshold=0",
        (PG, None, None, "dataflow", None, None),
        {
            "host": "pg1,pg2",
            "port": "5432,5433",
            "target_session_attrs": "primary",
            "connect_timeout": "5",
        },
        ["prepareThreshold"],
    ),
    (
        "jdbc:postgresql://[2001:db8::5]:5432/dataflow?ssl=true",
        (PG, "2001:db8::5", 5432, "dataflow", None, None),
        {"sslmode": "verify-full", "sslrootcert": "system"},
        [],
    ),
    (
        "jdbc:postgresql://pg:5432/dataflow?user=scdf&password=p%40ss&ssl"
        "&sslfactory=org.postgresql.ssl.NonValidatingFactory",
        (PG, "pg", 5432, "dataflow", "scdf", "p@ss"),
        {"sslmode": "require"},
        [],
    ),
    (
        "jdbc:postgresql://localhost/?reWriteBatchedInserts=true&stringtype=unspecified",
        (PG, "localhost", 5432, None, None, None),
        {},
        ["reWriteBatchedInserts", "stringtype"],
    ),
    # --- SQL Server (mssql-jdbc) ---
    (
        "jdbc:sqlserver://mssql:1433;databaseName=dataflow;encrypt=false",
        (MSSQL, "mssql", 1433, "dataflow", None, None),
        {"encryption": "request"},
        [],
    ),
    (
        "jdbc:sqlserver://sql.example.com\\SQLEXPRESS;database=dataflow;user=sa;password={p;w}}d=};"
        "encrypt=true;trustServerCertificate=true;loginTimeout=30",
        (MSSQL, "sql.example.com\\SQLEXPRESS", None, "dataflow", "sa", "p;w}d="),
        {"encryption": "require", "login_timeout": "30"},
        ["trustServerCertificate"],
    ),
    (
        "jdbc:sqlserver://;serverName=mssql;portNumber=1434;DatabaseName=dataflow;"
        "applicationName=scdf-task;integratedSecurity=false",
        (MSSQL, "mssql", 1434, "dataflow", None, None),
        {"appname": "scdf-task"},
        ["integratedSecurity"],
    ),
    (
        "jdbc:sqlserver://mssql\\INST:1500;databaseName=dataflow",
        (MSSQL, "mssql", 1500, "dataflow", None, None),
        {},
        [],
    ),
    # --- Oracle (thin) ---
    (
        "jdbc:oracle:thin:@//oracle:1521/FREEPDB1",
        (ORACLE, "oracle", 1521, None, None, None),
        {"service_name": "FREEPDB1"},
        [],
    ),
    ("jdbc:oracle:thin:@oracle:1521:XE", (ORACLE, "oracle", 1521, "XE", None, None), {}, []),
    (
        "jdbc:oracle:thin:scott/tiger@db.example.com:1521/orcl.example.com",
        (ORACLE, "db.example.com", 1521, None, "scott", "tiger"),
        {"service_name": "orcl.example.com"},
        [],
    ),
    (
        "jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=oracle)(PORT=1521))"
        "(CONNECT_DATA=(SERVICE_NAME=FREEPDB1)))",
        (ORACLE, None, None, None, None, None),
        {
            "dsn": "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=oracle)(PORT=1521))"
            "(CONNECT_DATA=(SERVICE_NAME=FREEPDB1)))"
        },
        [],
    ),
    (
        "jdbc:oracle:thin:@tcps://adb.example.com:1522/svc_high?wallet_location=/wallet&connect_timeout=15"
        "&ssl_server_dn_match=true",
        (ORACLE, None, None, None, None, None),
        {
            "dsn": "tcps://adb.example.com:1522/svc_high",
            "wallet_location": "/wallet",
            "tcp_connect_timeout": "15",
        },
        ["ssl_server_dn_match"],
    ),
    (
        "jdbc:oracle:thin:@mydb_high?TNS_ADMIN=/opt/wallet",
        (ORACLE, None, None, None, None, None),
        {"dsn": "mydb_high", "config_dir": "/opt/wallet"},
        [],
    ),
    # --- Db2 (IBM JCC, type 4) ---
    ("jdbc:db2://db2:50000/dataflow", (DB2, "db2", 50000, "dataflow", None, None), {}, []),
    (
        "jdbc:db2://db2.example.com:50001/BLUDB:sslConnection=true;currentSchema=SCDF;"
        "retrieveMessagesFromServerOnGetMessage=true;",
        (DB2, "db2.example.com", 50001, "BLUDB", None, None),
        {"Security": "SSL", "CurrentSchema": "SCDF"},
        ["retrieveMessagesFromServerOnGetMessage"],
    ),
    (
        "jdbc:db2://[fd00::7]/dataflow:user=db2inst1;password=pa=ss;",
        (DB2, "fd00::7", 446, "dataflow", "db2inst1", "pa=ss"),
        {},
        [],
    ),
]


@pytest.mark.parametrize(("jdbc_url", "parts", "query", "dropped"), CASES, ids=[c[0] for c in CASES])
def test_jdbc_url_becomes_sqlalchemy_url(jdbc_url, parts, query, dropped):
    converted = convert(jdbc_url)
    url = converted.url

    assert (url.drivername, url.host, url.port, url.database, url.username, url.password) == parts
    assert dict(url.query) == query
    assert list(converted.dropped) == dropped


def test_table_covers_every_database_with_25_urls_or_more():
    drivers = {parts[0] for _, parts, _, _ in CASES}
    assert len(CASES) >= 25
    assert drivers == {MYSQL, PG, MSSQL, ORACLE, DB2}
    assert {url.split(":")[1] for url, *_ in CASES} == {
        "mysql",
        "mariadb",
        "postgresql",
        "sqlserver",
        "oracle",
        "db2",
    }


@pytest.mark.parametrize(
    ("jdbc_url", "message"),
    [
        ("jdbc:h2:tcp://localhost:19092/mem:dataflow", "embedded H2 database"),
        ("jdbc:hsqldb:mem:testdb", "embedded HSQLDB database"),
        ("jdbc:derby:memory:dataflow;create=true", "embedded Derby database"),
        ("mysql://localhost/dataflow", "not a JDBC URL"),
        ("", "not a JDBC URL"),
        ("jdbc:sybase:Tds:host:5000/dataflow", "jdbc:sybase: URLs are not supported"),
        ("jdbc:mysql:host/dataflow", "must continue with //host"),
        ("jdbc:mysql://host:port/dataflow", "not a number from 1 to 65535"),
        ("jdbc:postgresql://host:70000/dataflow", "not a number from 1 to 65535"),
        ("jdbc:postgresql://host/dataflow?sslmode=maybe", "sslmode has an unknown value"),
        ("jdbc:mysql://host/dataflow?connectTimeout=soon", "connectTimeout must be a number"),
        ("jdbc:sqlserver:mssql;databaseName=dataflow", "must continue with //"),
        ("jdbc:oracle:thin:oracle:1521:XE", "jdbc:oracle:thin:@<connect string>"),
        ("jdbc:db2:SAMPLE", "jdbc:db2://host:port/database"),
    ],
)
def test_unusable_url_fails_with_a_clear_message(jdbc_url, message):
    with pytest.raises(JdbcUrlError, match=message):
        convert(jdbc_url)


def test_h2_message_names_the_databases_to_use_instead():
    with pytest.raises(JdbcUrlError) as raised:
        convert("jdbc:h2:tcp://localhost:19092/mem:dataflow")
    assert "No Python driver can reach it" in str(raised.value)
    assert "mysql, mariadb, postgresql, sqlserver, oracle, db2" in str(raised.value)


def test_error_message_never_quotes_the_url():
    with pytest.raises(JdbcUrlError) as raised:
        convert("jdbc:mysql://root:hunter2@mysql:bad/dataflow")
    assert "hunter2" not in str(raised.value)


def test_datasource_credentials_win_over_the_urls():
    converted = convert(
        "jdbc:mysql://urluser:urlpass@mysql/dataflow?password=querypass",
        username="scdf",
        password="p@ss:w/rd%#;{}'",
    )

    assert (converted.url.username, converted.url.password) == ("scdf", "p@ss:w/rd%#;{}'")
    # Passwords found in the URL are still known, so that they can be masked in any output.
    assert "querypass" in converted.secrets


def test_empty_datasource_password_still_wins():
    assert convert("jdbc:postgresql://u:secret@pg/db", password="").url.password == ""


def test_secret_looking_dropped_parameter_is_kept_for_redaction():
    converted = convert("jdbc:postgresql://pg/db?sslpassword=keypass&sslkey=/k.pk8")
    assert converted.dropped == ("sslpassword",)
    assert "keypass" in converted.secrets
    assert "keypass" not in str(converted.url) + repr(converted.url)


def test_url_text_masks_the_password():
    url = convert("jdbc:mysql://mysql/dataflow", username="u", password="p@ss:w/rd%#;{}'").url
    assert "p@ss" not in str(url)
    assert "p@ss" not in repr(url)
    assert url.password == "p@ss:w/rd%#;{}'"


def test_db2_password_with_semicolon_gets_a_warning():
    converted = convert("jdbc:db2://db2:50000/dataflow", password="a;b")
    assert any("does not support ';' in passwords" in note for note in converted.notes)


def test_dropped_names_are_logged_by_name_only(caplog):
    caplog.set_level(logging.INFO, logger="util.jdbc_url")

    to_sqlalchemy_url("jdbc:mysql://h1,h2,h3/dataflow?useSSL=true&sessionVariables=secretvalue")

    text = caplog.text
    assert "sessionVariables" in text
    assert "secretvalue" not in text


def hosts(urls):
    return [(u.host, u.port) for u in urls]


@pytest.mark.parametrize(
    "jdbc_url",
    [
        "jdbc:mysql://h1:3307,h2,[::1]:3309/dataflow?connectTimeout=2000",
        "jdbc:mariadb:failover://h1:3307,h2,[::1]:3309/dataflow?connectTimeout=2000",
        "jdbc:mysql:sequential://address=(host=h1)(port=3307),address=(host=h2),(host=::1,port=3309)/dataflow"
        "?connectTimeout=2000",
    ],
)
def test_failover_hosts_are_tried_in_the_order_written(jdbc_url):
    urls = to_sqlalchemy_urls(jdbc_url, username="u", password="pw")

    assert hosts(urls) == [("h1", 3307), ("h2", 3306), ("::1", 3309)]
    # Everything but the host is the same database, login and settings on each.
    assert {(u.database, u.username, u.password, u.query["connect_timeout"]) for u in urls} == {
        ("dataflow", "u", "pw", "2")
    }


def test_load_balanced_hosts_start_at_a_random_host_and_go_on_in_turn():
    converted = convert("jdbc:mariadb:loadbalance://h1,h2,h3/dataflow")

    orders = {tuple(u.host for u in converted.urls_in_order(random.Random(seed))) for seed in range(40)}

    assert orders == {("h1", "h2", "h3"), ("h2", "h3", "h1"), ("h3", "h1", "h2")}


def test_sqlite_url_is_the_local_stand_in(tmp_path):
    url = convert(f"jdbc:sqlite:{tmp_path}/scdf.db").url
    assert (url.drivername, url.database) == ("sqlite", f"{tmp_path}/scdf.db")
