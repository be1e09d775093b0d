"""JDBC URLs every project understands or refuses: the SQLite stand-in, embedded and foreign ones."""

import subprocess
import sys
from pathlib import Path

import pytest

from util.db_api import DbTarget
from util.jdbc_url import SUPPORTED_DATABASES, JdbcUrlError, convert, sqlalchemy_url
from util.jdbc_vendor import PARSERS

# A database of SCDF's that this project was not generated for.
OTHER = next(kind for kind in SUPPORTED_DATABASES if kind not in PARSERS)
PASSWORD = "p@ss:w/rd%#;{}'"
PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("jdbc_url", "message"),
    [
        ("jdbc:h2:tcp://localhost:19092/mem:dataflow", "embedded H2 database"),
        ("jdbc:hsqldb:mem:testdb", "embedded HSQLDB database"),
        ("jdbc:derby:memory:dataflow;create=true", "embedded Derby database"),
        ("mysql://localhost/dataflow", "not a JDBC URL"),
        ("", "not a JDBC URL"),
        ("jdbc:sybase:Tds:host:5000/dataflow", "jdbc:sybase: URLs are not supported"),
        (f"jdbc:{OTHER}://host/dataflow", f"this project was generated for .*--database {OTHER}"),
    ],
)
def test_unusable_url_fails_with_a_clear_message(jdbc_url: str, message: str) -> None:
    with pytest.raises(JdbcUrlError, match=message):
        convert(jdbc_url)


def test_h2_message_names_the_databases_to_use_instead() -> None:
    with pytest.raises(JdbcUrlError) as raised:
        convert("jdbc:h2:tcp://localhost:19092/mem:dataflow")
    assert "No Python driver can reach it" in str(raised.value)
    assert "mysql, mariadb, postgresql, sqlserver, oracle, db2" in str(raised.value)


def test_error_message_for_another_database_never_quotes_the_url() -> None:
    with pytest.raises(JdbcUrlError) as raised:
        convert(f"jdbc:{OTHER}://root:hunter2@host/dataflow")
    assert "hunter2" not in str(raised.value)


def test_sqlite_url_is_the_local_stand_in(tmp_path: Path) -> None:
    target = convert(f"jdbc:sqlite:{tmp_path}/scdf.db", username="u", password="pw").target
    assert (target.drivername, target.database, target.username, target.password) == (
        "sqlite",
        f"{tmp_path}/scdf.db",
        None,
        None,
    )


def test_the_target_s_text_never_shows_the_password() -> None:
    target = DbTarget("postgresql+psycopg", "pg", 5432, "db", "u", PASSWORD)
    assert "p@ss" not in repr(target) + str(target)


# With SQLAlchemy installed, the generator's contract suite checks the URL against real servers.
def test_sqlalchemy_url_says_sqlalchemy_must_be_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules: what an import of a package that is not installed meets.
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    monkeypatch.setitem(sys.modules, "sqlalchemy.engine", None)
    with pytest.raises(ModuleNotFoundError, match=r"sqlalchemy_url\(\) needs SQLAlchemy.*requirements\.txt"):
        sqlalchemy_url(DbTarget("sqlite", database="x.db"))


def test_the_utilities_never_import_sqlalchemy() -> None:
    code = (
        "import sys, util.task_lifecycle, util.local_run, util.jdbc_url; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=PROJECT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
