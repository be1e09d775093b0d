"""MySQL and MariaDB JDBC URLs as SCDF users write them, and the driver settings each must become."""

import logging
import random
from collections.abc import Iterable

import pytest

from util.db_api import DbTarget
from util.jdbc_url import JdbcUrlError, convert, targets

MYSQL = "mysql+pymysql"

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
]


@pytest.mark.parametrize(("jdbc_url", "parts", "query", "dropped"), CASES, ids=[c[0] for c in CASES])
def test_jdbc_url_becomes_the_driver_s_parts(
    jdbc_url: str, parts: tuple[object, ...], query: dict[str, str], dropped: list[str]
) -> None:
    converted = convert(jdbc_url)
    t = converted.target

    assert (t.drivername, t.host, t.port, t.database, t.username, t.password) == parts
    assert dict(t.query) == query
    assert list(converted.dropped) == dropped


def test_table_covers_every_form_of_the_url() -> None:
    assert {url.split(":")[1] for url, *_ in CASES} == {"mysql", "mariadb"}
    assert len(CASES) >= 3


@pytest.mark.parametrize(
    ("jdbc_url", "message"),
    [
        ("jdbc:mysql:host/dataflow", "must continue with //host"),
        ("jdbc:mysql://host:port/dataflow", "not a number from 1 to 65535"),
        ("jdbc:mysql://host/dataflow?connectTimeout=soon", "connectTimeout must be a number"),
    ],
)
def test_unusable_url_fails_with_a_clear_message(jdbc_url: str, message: str) -> None:
    with pytest.raises(JdbcUrlError, match=message):
        convert(jdbc_url)


def test_error_message_never_quotes_the_url() -> None:
    with pytest.raises(JdbcUrlError) as raised:
        convert("jdbc:mysql://root:hunter2@mysql:bad/dataflow")
    assert "hunter2" not in str(raised.value)


def test_datasource_credentials_win_over_the_urls() -> None:
    converted = convert(
        "jdbc:mysql://urluser:urlpass@mysql/dataflow?password=querypass",
        username="scdf",
        password="p@ss:w/rd%#;{}'",
    )

    assert (converted.target.username, converted.target.password) == ("scdf", "p@ss:w/rd%#;{}'")
    # Passwords found in the URL are still known, so that they can be masked in any output.
    assert "querypass" in converted.secrets


def test_dropped_names_are_logged_by_name_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="util.jdbc_url")

    targets("jdbc:mysql://h1,h2,h3/dataflow?useSSL=true&sessionVariables=secretvalue")

    text = caplog.text
    assert "sessionVariables" in text
    assert "secretvalue" not in text


def hosts(found: Iterable[DbTarget]) -> list[tuple[str | None, int | None]]:
    return [(t.host, t.port) for t in found]


@pytest.mark.parametrize(
    "jdbc_url",
    [
        "jdbc:mysql://h1:3307,h2,[::1]:3309/dataflow?connectTimeout=2000",
        "jdbc:mariadb:failover://h1:3307,h2,[::1]:3309/dataflow?connectTimeout=2000",
        "jdbc:mysql:sequential://address=(host=h1)(port=3307),address=(host=h2),(host=::1,port=3309)/dataflow"
        "?connectTimeout=2000",
    ],
)
def test_failover_hosts_are_tried_in_the_order_written(jdbc_url: str) -> None:
    found = targets(jdbc_url, username="u", password="pw")

    assert hosts(found) == [("h1", 3307), ("h2", 3306), ("::1", 3309)]
    # Everything but the host is the same database, login and settings on each.
    assert {(t.database, t.username, t.password, t.query["connect_timeout"]) for t in found} == {
        ("dataflow", "u", "pw", "2")
    }


def test_load_balanced_hosts_start_at_a_random_host_and_go_on_in_turn() -> None:
    converted = convert("jdbc:mariadb:loadbalance://h1,h2,h3/dataflow")

    orders = {tuple(t.host for t in converted.targets_in_order(random.Random(seed))) for seed in range(40)}

    assert orders == {("h1", "h2", "h3"), ("h2", "h3", "h1"), ("h3", "h1", "h2")}
