"""Db2 JDBC URLs as SCDF users write them, and the driver settings each must become."""

import pytest

from util.jdbc_url import JdbcUrlError, convert

DB2 = "db2+ibm_db"

# (JDBC URL, (drivername, host, port, database, username, password), query, dropped names)
CASES = [
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
def test_jdbc_url_becomes_the_driver_s_parts(
    jdbc_url: str, parts: tuple[object, ...], query: dict[str, str], dropped: list[str]
) -> None:
    converted = convert(jdbc_url)
    t = converted.target

    assert (t.drivername, t.host, t.port, t.database, t.username, t.password) == parts
    assert dict(t.query) == query
    assert list(converted.dropped) == dropped


def test_table_covers_every_form_of_the_url() -> None:
    assert {url.split(":")[1] for url, *_ in CASES} == {"db2"}
    assert len(CASES) >= 3


@pytest.mark.parametrize(
    ("jdbc_url", "message"),
    [
        ("jdbc:db2:SAMPLE", "jdbc:db2://host:port/database"),
    ],
)
def test_unusable_url_fails_with_a_clear_message(jdbc_url: str, message: str) -> None:
    with pytest.raises(JdbcUrlError, match=message):
        convert(jdbc_url)
