"""Oracle JDBC URLs as SCDF users write them, and the driver settings each must become."""

import pytest

from util.jdbc_url import JdbcUrlError, convert

ORACLE = "oracle+oracledb"

# (JDBC URL, (drivername, host, port, database, username, password), query, dropped names)
CASES = [
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
    assert {url.split(":")[1] for url, *_ in CASES} == {"oracle"}
    assert len(CASES) >= 3


@pytest.mark.parametrize(
    ("jdbc_url", "message"),
    [
        ("jdbc:oracle:thin:oracle:1521:XE", "jdbc:oracle:thin:@<connect string>"),
    ],
)
def test_unusable_url_fails_with_a_clear_message(jdbc_url: str, message: str) -> None:
    with pytest.raises(JdbcUrlError, match=message):
        convert(jdbc_url)
