"""SQL Server JDBC URLs as SCDF users write them, and the driver settings each must become."""

import pytest

from util.jdbc_url import JdbcUrlError, convert

MSSQL = "mssql+pymssql"

# (JDBC URL, (drivername, host, port, database, username, password), query, dropped names)
CASES = [
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
        [],
    ),
    (
        "jdbc:sqlserver://;serverName=mssql;portNumber=1434;DatabaseName=dataflow;"
        "applicationName=scdf-task;integratedSecurity=false",
        (MSSQL, "mssql", 1434, "dataflow", None, None),
        # No encrypt: mssql-jdbc 10 and later encrypt by default.
        {"appname": "scdf-task", "encryption": "require"},
        ["integratedSecurity"],
    ),
    (
        "jdbc:sqlserver://mssql\\INST:1500;databaseName=dataflow",
        (MSSQL, "mssql", 1500, "dataflow", None, None),
        {"encryption": "require"},
        [],
    ),
    (
        "jdbc:sqlserver://[::1]:1433;databaseName=dataflow;encrypt=strict;hostNameInCertificate=db.example.com",
        (MSSQL, "::1", 1433, "dataflow", None, None),
        {"encryption": "require"},
        [],
    ),
    (
        "jdbc:sqlserver://mssql;databaseName=dataflow;encrypt=optional",
        (MSSQL, "mssql", 1433, "dataflow", None, None),
        {"encryption": "request"},
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
    assert {url.split(":")[1] for url, *_ in CASES} == {"sqlserver"}
    assert len(CASES) >= 3


@pytest.mark.parametrize(
    ("jdbc_url", "note"),
    [
        (
            "jdbc:sqlserver://mssql:1433;databaseName=dataflow",
            "mssql-jdbc would check the server's certificate against the host name; "
            "pymssql encrypts without checking it",
        ),
        (
            "jdbc:sqlserver://mssql:1433;encrypt=true;hostNameInCertificate=*.example.com",
            "certificate against '*.example.com'",
        ),
    ],
)
def test_a_certificate_check_pymssql_cannot_make_is_said(jdbc_url: str, note: str) -> None:
    [said] = convert(jdbc_url).notes
    assert note in said


def test_strict_encryption_is_said_to_be_weaker_even_with_a_trusted_certificate() -> None:
    # mssql-jdbc's strict always checks the certificate: trustServerCertificate does not apply.
    notes = convert("jdbc:sqlserver://mssql;encrypt=strict;trustServerCertificate=true").notes
    assert notes == (
        "encrypt=strict (TDS 8) is not supported by pymssql: it encrypts as encrypt=true",
        "mssql-jdbc would check the server's certificate against the host name; "
        "pymssql encrypts without checking it",
    )


def test_a_trusted_certificate_or_no_encryption_needs_no_note() -> None:
    assert convert("jdbc:sqlserver://mssql;encrypt=true;trustServerCertificate=true").notes == ()
    assert convert("jdbc:sqlserver://mssql;encrypt=false").notes == ()


@pytest.mark.parametrize(
    ("jdbc_url", "message"),
    [
        ("jdbc:sqlserver://mssql;encrypt=sometimes", "encrypt has an unknown value"),
        ("jdbc:sqlserver:mssql;databaseName=dataflow", "must continue with //"),
    ],
)
def test_unusable_url_fails_with_a_clear_message(jdbc_url: str, message: str) -> None:
    with pytest.raises(JdbcUrlError, match=message):
        convert(jdbc_url)
