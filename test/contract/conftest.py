"""Backends, projects and the per-server summary of the contract suite.

The scenarios in test_contract.py and test_launches.py are written once; the session-scoped
``database`` parameter runs them against SQLite, PostgreSQL and MariaDB in turn (the shape of
aiosql's tests/run_tests.py), each on a scratch database made from the schema source the test
asks for (``schema``: Spring Cloud Task's DDL unless a test parametrizes it).

Real servers come from SCDF_TEST_PG_* / SCDF_TEST_MARIADB_* (HOST, PORT, DATABASE, USER,
PASSWORD; .ci/provision-databases.sh writes them). Without settings a server's scenarios skip,
unless databases are required (SCDF_TEST_REQUIRE_DATABASES=1 or CI=true): then they fail, and
so does the session if anything at all skipped. With settings, an unreachable server fails.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import (
    GENERATIONS,
    SCHEMA_SOURCES,
    SCHEMAS,
    SHAPES,
    Backend,
    MariadbBackend,
    PostgresBackend,
    Project,
    ServerSettings,
    SqliteBackend,
)

BACKENDS: tuple[str, ...] = ("sqlite", "postgresql", "mariadb")

# Servers the user names (test_named_servers.py): collected only when one is, so that a run
# without one has nothing there to skip.
if not any(
    os.environ.get(f"SCDF_TEST_{db}_URL")
    for db in ("SQLSERVER", "ORACLE", "DB2", "POSTGRESQL", "MARIADB", "MYSQL")
):
    collect_ignore = ["test_named_servers.py"]
SERVER_ENV = {"postgresql": ("SCDF_TEST_PG", 5432), "mariadb": ("SCDF_TEST_MARIADB", 3306)}


def databases_required() -> bool:
    return (
        os.environ.get("SCDF_TEST_REQUIRE_DATABASES", "") == "1"
        or os.environ.get("CI", "").lower() == "true"
    )


def server_settings(backend: str) -> ServerSettings | None:
    """Settings of one server, None when none are given; half-given settings are an error."""
    prefix, default_port = SERVER_ENV[backend]
    host = os.environ.get(f"{prefix}_HOST", "")
    if not host:
        return None
    missing = [k for k in ("DATABASE", "USER") if not os.environ.get(f"{prefix}_{k}")]
    if missing:
        raise pytest.UsageError(
            f"{prefix}_HOST is set but not {', '.join(prefix + '_' + k for k in missing)}"
        )
    return ServerSettings(
        host=host,
        port=int(os.environ.get(f"{prefix}_PORT") or default_port),
        database=os.environ[f"{prefix}_DATABASE"],
        user=os.environ[f"{prefix}_USER"],
        password=os.environ.get(f"{prefix}_PASSWORD", ""),
    )


# --- fixtures ---------------------------------------------------------------------------------


class BackendPool:
    """The scratch databases of one session, opened on first use per (server, schema source)
    and dropped at the end. A configured server that cannot be used fails every test that
    needs it, never skips."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._open: dict[tuple[str, str], Backend] = {}
        self._broken: dict[tuple[str, str], str] = {}

    def get(self, name: str, schema: str) -> Backend:
        key = (name, schema)
        if key in self._open:
            return self._open[key]
        if key in self._broken:
            pytest.fail(self._broken[key], pytrace=False)
        instance: Backend
        if name == "sqlite":
            instance = SqliteBackend(self._tmp.mktemp(f"sqlite-{schema}"), schema)
        else:
            settings = server_settings(name)
            if settings is None:
                prefix = SERVER_ENV[name][0]
                message = f"{name}: no server configured ({prefix}_HOST etc. unset)"
                if databases_required():
                    pytest.fail(f"{message}, but real databases are required here", pytrace=False)
                pytest.skip(message)
            backend_class = PostgresBackend if name == "postgresql" else MariadbBackend
            instance = backend_class(settings, schema)
        try:
            instance.open()
        except Exception as error:  # a configured server that is down must fail, never skip
            problem = f"{type(error).__name__}: {error}"
            self._broken[key] = f"{name}: configured server unusable: {problem}"
            pytest.fail(self._broken[key], pytrace=False)
        self._open[key] = instance
        return instance

    def close(self) -> None:
        for instance in self._open.values():
            instance.close()
        self._open.clear()


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def backend_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendPool]:
    pool = BackendPool(tmp_path_factory)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def schema() -> str:
    """Spring Cloud Task's own DDL, unless a test parametrizes ``schema``."""
    return SCHEMA_SOURCES[0]


@pytest.fixture
def backend(database: str, schema: str, backend_pool: BackendPool) -> Backend:
    return backend_pool.get(database, schema)


def has_schema(database: str, schema: str) -> bool:
    """SCDF's migrations create no SQLite schema; Spring Cloud Task's DDL stands in for it."""
    return (SCHEMAS / schema / f"{database}-{GENERATIONS[0]}.sql").exists()


@pytest.fixture(scope="session")
def projects() -> Path:
    value = os.environ.get("SCDF_CONTRACT_PROJECTS", "")
    if not value:
        pytest.fail(
            "SCDF_CONTRACT_PROJECTS is unset: run the suite through test/contract/run.sh",
            pytrace=False,
        )
    return Path(value)


@pytest.fixture
def project(backend: Backend, projects: Path) -> Project:
    directory = projects / backend.project
    python = directory / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"no generated project with a venv at {directory}", pytrace=False)
    return Project(directory, python)


# --- per-server summary -----------------------------------------------------------------------

# nodeid -> (database, schema source, generation, shape); shape "mixed" when a scenario runs
# several launch shapes at once.
_where: dict[str, tuple[str, str, str, str]] = {}
_outcome: dict[str, str] = {}  # nodeid -> passed | failed | skipped


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the combinations that have no schema (SQLite under SCDF's migrations)."""
    kept, dropped = [], []
    for item in items:
        p = getattr(item, "callspec", None)
        params = p.params if p is not None else {}
        database, schema = params.get("database"), params.get("schema", SCHEMA_SOURCES[0])
        if database and not has_schema(database, schema):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_collection_finish(session: pytest.Session) -> None:
    for item in session.items:  # after -k / -m deselection
        params = getattr(item, "callspec", None)
        if params is None:
            continue
        p = params.params
        if {"database", "generation"} <= p.keys():
            _where[item.nodeid] = (
                p["database"],
                p.get("schema", SCHEMA_SOURCES[0]),
                p["generation"],
                p.get("shape", "mixed"),
            )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid not in _where:
        return
    previous = _outcome.get(report.nodeid)
    if report.failed:
        _outcome[report.nodeid] = "failed"
    elif report.skipped and previous != "failed":
        _outcome[report.nodeid] = "skipped"
    elif report.when == "call" and report.passed and previous is None:
        _outcome[report.nodeid] = "passed"


def _tallies() -> dict[str, Counter[str]]:
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    for nodeid, (name, _, _, _) in _where.items():
        tallies[name]["collected"] += 1
        tallies[name][_outcome.get(nodeid, "not run")] += 1
    return tallies


def _problems() -> list[str]:
    """Why a run that requires real databases is not good enough, even if nothing failed."""
    if not databases_required() or not _where:
        return []
    tallies = _tallies()
    problems = [f"{name}: not collected" for name in BACKENDS if name not in tallies]
    for name, t in tallies.items():
        if t["skipped"] or t["not run"]:
            problems.append(f"{name}: {t['skipped']} skipped, {t['not run']} not run")
    return problems


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _problems() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _where:
        return
    tallies = _tallies()
    terminalreporter.section("SCDF contract: per server")
    for name in BACKENDS:
        t = tallies.get(name)
        if t is None:
            continue
        mine = [w for w in _where.values() if w[0] == name]
        schemas = sorted({w[1] for w in mine}, key=SCHEMA_SOURCES.index)
        gens = sorted({w[2] for w in mine}, key=GENERATIONS.index)
        # A "mixed" scenario launches in every shape at once.
        found = {w[3] for w in mine}
        shapes = SHAPES if "mixed" in found else sorted(found, key=SHAPES.index)
        run = t["passed"] + t["failed"]
        terminalreporter.write_line(
            f"contract {name}: {run} run, {t['passed']} passed, {t['failed']} failed, "
            f"{t['skipped']} skipped (schemas: {', '.join(schemas)}; generations: "
            f"{', '.join(gens)}; shapes: {', '.join(shapes)})"
        )
    for problem in _problems():
        terminalreporter.write_line(
            f"contract FAILED: real databases required, but {problem}", red=True
        )
