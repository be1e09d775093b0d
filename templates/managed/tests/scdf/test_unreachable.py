"""The write deadline holds whatever the driver does: this project's real driver, unreachable servers.

Rendered by generator-scdf-task for <%- profile.label %>. No database server is needed: each
test launches a task, in a process of its own as SCDF would, at a loopback listener that
misbehaves (`tests/scdf/listeners.py`), with the driver the lock installs. Whatever the driver
does there (python-oracledb's thin mode waits forever on a silent listener; FreeTDS takes twice
its login timeout and more; Db2's CLI driver retries a refused port for seconds), the task must
exit 1 within `task.db.connect-deadline` and its start-up, with a plain error that names the
database and the host, and without the password anywhere in its output.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.scdf.listeners import FAULTS, listener

LABEL = <%- JSON.stringify(profile.label) %>
EXAMPLE_JDBC_URL = <%- JSON.stringify(profile.exampleJdbcUrl) %>
PROJECT = Path(__file__).resolve().parents[2]
DEADLINE = 2.0
PASSWORD = "Unreachable-Pa55word!"
#: What the task does once started: nothing (it never gets there).
BODY = "from util.task_lifecycle import run_task; run_task(lambda context: None)"
# Drivers that tell a reply in a foreign protocol from a lost connection fail at once for it (it
# cannot heal); the others see a connection that failed, and retry until the deadline.
GARBAGE_FAILS_AT_ONCE = LABEL in ("MySQL", "MariaDB", "PostgreSQL")
# Above the start-up of the interpreter and the driver (measured below), what the exit may take
# after the deadline: the last wait of the caller's clock and the logging of the failure.
EXIT_MARGIN = 1.0


def jdbc_url(host: str, port: int) -> str:
    """This database's example URL pointed at `host:port`."""
    where = f"[{host}]" if ":" in host else host
    return re.sub(r"//[^/:;]+:\d+", f"//{where}:{port}", EXAMPLE_JDBC_URL, count=1)


def run_task(url: str) -> tuple[subprocess.CompletedProcess[str], float]:
    argv = [
        sys.executable,
        "-c",
        BODY,
        f"--spring.datasource.url={url}",
        "--spring.datasource.username=scdf",
        f"--spring.datasource.password={PASSWORD}",
        f"--task.db.connect-deadline={DEADLINE:g}",
        "--task.db.connect-timeout=1",
        "--task.db.statement-timeout=1",
        "--spring.cloud.task.executionid=7",
    ]
    started = time.monotonic()
    # A generous outer bound: a task that hangs fails the test instead of hanging it.
    done = subprocess.run(
        argv, cwd=PROJECT, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}
    )
    return done, time.monotonic() - started


@pytest.fixture(scope="module")
def start_up() -> float:
    """What importing the task's modules and its driver takes here, before any database wait."""
    imports = "import util.task_lifecycle, util.task_status, util.db_adapter"
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", imports], cwd=PROJECT, check=True, timeout=60)
    return time.monotonic() - started


def assert_gave_up_in_time(
    done: subprocess.CompletedProcess[str], elapsed: float, start_up: float, host: str, port: int
) -> None:
    output = done.stdout + done.stderr
    # Shown whole on failure: what the task printed is the evidence.
    assert done.returncode == 1, output
    assert PASSWORD not in output
    where = f"[{host}]" if ":" in host else host
    assert "Task not started: Could not connect to record the start: gave up after" in done.stderr, output
    assert f"(task.db.connect-deadline); the {LABEL} database at {where}:{port}: " in done.stderr, output
    # Retried until the deadline, not beyond it.
    assert elapsed >= DEADLINE, output
    assert elapsed <= DEADLINE + 2 * start_up + EXIT_MARGIN, f"{elapsed:.2f}s\n{output}"
    assert "Traceback" not in output


def assert_failed_at_once(
    done: subprocess.CompletedProcess[str], elapsed: float, start_up: float, port: int
) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert PASSWORD not in output
    where = f"(the {LABEL} database at 127.0.0.1:{port}): "
    assert f"Task not started: Could not connect to record the start {where}" in done.stderr, output
    assert "(attempt" not in output
    assert elapsed <= 2 * start_up + EXIT_MARGIN, f"{elapsed:.2f}s\n{output}"


@pytest.mark.parametrize("fault", FAULTS)
def test_the_start_gives_up_within_the_deadline(fault: str, start_up: float) -> None:
    with listener(fault) as port:
        done, elapsed = run_task(jdbc_url("127.0.0.1", port))
    if fault == "garbage" and GARBAGE_FAILS_AT_ONCE:
        assert_failed_at_once(done, elapsed, start_up, port)
    else:
        assert_gave_up_in_time(done, elapsed, start_up, "127.0.0.1", port)


def test_an_ipv6_host_is_reached_and_named_in_brackets(start_up: float) -> None:
    try:
        probe = listener("silent", "::1")
        port = probe.__enter__()
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    try:
        done, elapsed = run_task(jdbc_url("::1", port))
    finally:
        probe.__exit__(None, None, None)
    assert_gave_up_in_time(done, elapsed, start_up, "::1", port)
