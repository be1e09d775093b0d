"""PostgreSQL JDBC URLs as SCDF users write them, and the driver settings each must become."""

import pytest

from util.jdbc_url import JdbcUrlError, convert

PG = "postgresql+psycopg"

# (JDBC URL, (drivername, host, port, database, username, password), query, dropped names)
CASES = [
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
    assert {url.split(":")[1] for url, *_ in CASES} == {"postgresql"}
    assert len(CASES) >= 3


@pytest.mark.parametrize(
    ("jdbc_url", "message"),
    [
        ("jdbc:postgresql://host:70000/dataflow", "not a number from 1 to 65535"),
        ("jdbc:postgresql://host/dataflow?sslmode=maybe", "sslmode has an unknown value"),
    ],
)
def test_unusable_url_fails_with_a_clear_message(jdbc_url: str, message: str) -> None:
    with pytest.raises(JdbcUrlError, match=message):
        convert(jdbc_url)


def test_empty_datasource_password_still_wins() -> None:
    assert convert("jdbc:postgresql://u:secret@pg/db", password="").target.password == ""


def test_secret_looking_dropped_parameter_is_kept_for_redaction() -> None:
    converted = convert("jdbc:postgresql://pg/db?sslpassword=keypass&sslkey=/k.pk8")
    assert converted.dropped == ("sslpassword",)
    assert "keypass" in converted.secrets
    assert "keypass" not in repr(converted.target)
