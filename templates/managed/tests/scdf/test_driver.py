"""The project's database driver installs, imports, and gets SCDF's URL as its own keyword arguments.

Rendered by generator-scdf-task for <%- profile.label %>. No database is contacted.
"""

import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import util.db_adapter
from util.db_api import Timeouts
from util.jdbc_url import convert

SQLALCHEMY_DRIVER = <%- JSON.stringify(profile.sqlalchemyDriver) %>
DRIVER_MODULE = <%- JSON.stringify(profile.driverModule) %>
EXAMPLE_JDBC_URL = <%- JSON.stringify(profile.exampleJdbcUrl) %>
# Without ';': Db2's CLI driver does not support it in passwords (util.jdbc_url warns about it).
PASSWORD = "p@ss:w/rd%#{}'"
# The module whose connect() the adapter calls (ibm_db's PEP 249 interface is ibm_db_dbi).
CONNECT_MODULE = "ibm_db_dbi" if DRIVER_MODULE == "ibm_db" else DRIVER_MODULE
PROJECT = Path(__file__).resolve().parents[2]
# Loaded where they are used (a batch job, a single-instance lock, local runs, a row the task
# creates), not by every launch: each would add its import time to every SCDF execution.
ONLY_WHEN_USED = {
    "pathlib",
    "uuid",
    "hashlib",
    "sqlite3",
    "util.batch_job",
    "util.batch_parameters",
    "util.execution_creation",
    "util.execution_ids",
    "util.local_db",
    "util.local_run",
    "util.single_instance",
    "util.testing",
}


# Never loaded by a launch's start: `dataclasses` (and `inspect`, `ast`, `dis` behind it) cost a
# MariaDB launch about a tenth of its CPU time, so the start's value classes are util.records';
# `cryptography` only PyMySQL's RSA login (MySQL 8) needs, and PyMySQL imports it itself.
NEVER_AT_START = {"dataclasses", "inspect", "ast", "dis", "cryptography"}


def test_driver_module_imports() -> None:
    module = importlib.import_module(DRIVER_MODULE)
    assert module.__name__ == DRIVER_MODULE


def test_a_launch_loads_no_module_only_some_launches_use() -> None:
    # What the utilities load beyond the driver's own modules (those every launch pays anyway).
    code = (
        f"import sys, {DRIVER_MODULE}; before = set(sys.modules); "
        "import util.task_lifecycle, util.db_adapter; "
        "print(*sorted(set(sys.modules) - before))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=PROJECT
    )
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) & ONLY_WHEN_USED == set()


def test_a_launch_loads_none_of_the_costly_modules_it_does_not_need() -> None:
    # Beyond what the driver (Db2's DB-API module too: it loads `inspect` itself) and the
    # standard modules every launch uses (the log, the type hints) load themselves: from Python
    # 3.14 on, `logging` loads `dataclasses` and `inspect`
    # (through `traceback`), so there only the classes' building is saved.
    code = (
        f"import sys, logging, typing, {DRIVER_MODULE}, {CONNECT_MODULE}; "
        "before = set(sys.modules); "
        "import util.task_lifecycle, util.db_adapter, util.task_args; "
        "print(*sorted(set(sys.modules) - before))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=PROJECT
    )
    assert done.returncode == 0, done.stderr
    assert "util.task_lifecycle" in done.stdout.split()
    assert set(done.stdout.split()) & NEVER_AT_START == set()


def test_a_launch_leaves_what_its_start_loaded_out_of_the_collector_s_walks() -> None:
    # run_task() freezes the objects the imports made (gc.freeze()): neither the collections
    # during the run nor the full ones at exit walk them again. Counted at exit, after the run.
    code = (
        "import atexit, gc; atexit.register(lambda: print(gc.get_freeze_count())); "
        "from util.task_lifecycle import run_task; run_task(lambda context: None)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT,
        env={"PATH": os.environ.get("PATH", "")},  # no SCDF setting: the launch stops at once
    )
    assert done.returncode == 1, done.stderr
    assert "spring.datasource.url is not set" in done.stderr
    assert int(done.stdout) > 1000, done.stdout


class Opened:
    """What a driver's connect() returns, as far as the adapter touches it before the first write."""

    call_timeout = 0

    def cursor(self) -> "Opened":
        return self

    def execute(self, *args: object) -> None:
        pass

    def close(self) -> None:
        pass

    def set_autocommit(self, value: bool) -> None:
        pass


def test_the_adapter_passes_the_raw_password_and_no_jdbc_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[object, ...], dict[str, Any]]] = []

    def connect(*args: object, **kwargs: Any) -> Opened:
        calls.append((args, kwargs))
        return Opened()

    monkeypatch.setattr(importlib.import_module(CONNECT_MODULE), "connect", connect)
    converted = convert(EXAMPLE_JDBC_URL, username="scdf", password=PASSWORD)

    util.db_adapter.ADAPTER.connect(converted.target, Timeouts(connect=3, statement=5))

    [(args, kwargs)] = calls
    passed = " ".join(map(str, [*args, *kwargs.keys()]))
    for name in converted.dropped:
        assert name not in passed
    # The raw password reaches the driver: no escaping, no masking on the way.
    assert any(PASSWORD in str(value) for value in [*args, *kwargs.values()])


def test_the_target_names_sqlalchemy_s_dialect_and_driver_for_sqlalchemy_url() -> None:
    # What sqlalchemy_url() builds its URL from; the contract suite connects with it.
    assert convert(EXAMPLE_JDBC_URL).target.drivername == SQLALCHEMY_DRIVER
