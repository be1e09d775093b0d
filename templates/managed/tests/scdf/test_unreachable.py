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

from tests.scdf.listeners import FAULTS, handshake_listener, listener

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
# Each database's URL with TLS on (at `{port}` of the loopback) and the protocol its handshake
# listener plays: first with the certificate unchecked, then with it checked (where a task run
# can show the check failing).
TLS_URLS = {
    "PostgreSQL": (
        "postgresql",
        "jdbc:postgresql://127.0.0.1:{port}/dataflow?sslmode=require",
        "jdbc:postgresql://127.0.0.1:{port}/dataflow?ssl=true",
    ),
    "MySQL": (
        "mysql",
        "jdbc:mysql://127.0.0.1:{port}/dataflow?permitMysqlScheme&sslMode=REQUIRED",
        "jdbc:mysql://127.0.0.1:{port}/dataflow?permitMysqlScheme&sslMode=VERIFY_CA",
    ),
    "MariaDB": (
        "mysql",
        "jdbc:mariadb://127.0.0.1:{port}/dataflow?sslMode=trust",
        "jdbc:mariadb://127.0.0.1:{port}/dataflow?sslMode=verify-full",
    ),
    "SQL Server": (
        "sqlserver",
        "jdbc:sqlserver://127.0.0.1:{port};databaseName=dataflow;encrypt=true;trustServerCertificate=true",
        "",  # pymssql (FreeTDS) checks no certificate
    ),
    "Oracle": (
        "oracle",
        "jdbc:oracle:thin:@tcps://127.0.0.1:{port}/FREEPDB1",
        "jdbc:oracle:thin:@tcps://127.0.0.1:{port}/FREEPDB1",
    ),
    "Db2": (
        "db2",
        "jdbc:db2://127.0.0.1:{port}/dataflow:sslConnection=true;",
        # Its CLI driver tries a TLS connect three times itself, longer than an attempt may last:
        # its TLS failures are classified in test_db_adapter.py, on the driver's own error.
        "",
    ),
}
PROTOCOL, TLS_URL, VERIFIED_TLS_URL = TLS_URLS[LABEL]
# How the driver reports a connection the listener closed (FIN) or reset (RST) after its
# ClientHello: the reason of the first attempt's warning, at the start of its line.
DROPPED_REASONS = {
    ("postgresql", "closes"): 'OperationalError: connection failed: connection to server at "127.0.0.1", '
    r"port {port} failed: SSL error: unexpected eof while reading$",
    ("postgresql", "resets"): 'OperationalError: connection failed: connection to server at "127.0.0.1", '
    r"port {port} failed: server closed the connection unexpectedly$(?:\n\t.*)*\nSSL SYSCALL error: ",
    ("mysql", "closes"): r"OperationalError: \(2003, \"Can't connect to MySQL server on '127\.0\.0\.1' \("
    r".*EOF occurred in violation of protocol",
    ("mysql", "resets"): r"OperationalError: \(2003, \"Can't connect to MySQL server on '127\.0\.0\.1' \("
    r"\[Errno 104\] Connection reset by peer\)\"\)$",
    ("sqlserver", "closes"): r"OperationalError 20017: Unexpected EOF from the server \(127\.0\.0\.1\); "
    r"TDS server connection failed \(127\.0\.0\.1\)$",
    ("sqlserver", "resets"): r"OperationalError 20002: TDS server connection failed \(127\.0\.0\.1\)$",
    ("oracle", "closes"): r"OperationalError: DPY-6005: cannot connect to database \(CONNECTION_ID=\S+\)\.\n"
    r".*EOF occurred in violation of protocol",
    ("oracle", "resets"): r"OperationalError: DPY-6005: cannot connect to database \(CONNECTION_ID=\S+\)\.\n"
    r"\[Errno 104\] Connection reset by peer$",
    # Db2's CLI driver tries a TLS connect three times itself, longer than an attempt may last.
    ("db2", "closes"): r"no answer within \d+\.\ds \(the attempt was abandoned\)$",
    ("db2", "resets"): r"no answer within \d+\.\ds \(the attempt was abandoned\)$",
}
# Long enough for a second attempt when one lasts its whole limit (Db2's, see above).
TLS_DEADLINE = 6.0 if PROTOCOL == "db2" else DEADLINE


def jdbc_url(host: str, port: int) -> str:
    """This database's example URL pointed at `host:port`."""
    where = f"[{host}]" if ":" in host else host
    return re.sub(r"//[^/:;]+:\d+", f"//{where}:{port}", EXAMPLE_JDBC_URL, count=1)


def run_task(url: str, deadline: float = DEADLINE) -> tuple[subprocess.CompletedProcess[str], float]:
    argv = [
        sys.executable,
        "-c",
        BODY,
        f"--spring.datasource.url={url}",
        "--spring.datasource.username=scdf",
        f"--spring.datasource.password={PASSWORD}",
        f"--task.db.connect-deadline={deadline:g}",
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
    done: subprocess.CompletedProcess[str],
    elapsed: float,
    start_up: float,
    host: str,
    port: int,
    deadline: float = DEADLINE,
) -> None:
    output = done.stdout + done.stderr
    # Shown whole on failure: what the task printed is the evidence.
    assert done.returncode == 1, output
    assert PASSWORD not in output
    where = f"[{host}]" if ":" in host else host
    assert "Task not started: Could not connect to record the start: gave up after" in done.stderr, output
    assert f"(task.db.connect-deadline); the {LABEL} database at {where}:{port}: " in done.stderr, output
    # Retried until the deadline, not beyond it.
    assert elapsed >= deadline, output
    assert elapsed <= deadline + 2 * start_up + EXIT_MARGIN, f"{elapsed:.2f}s\n{output}"
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


@pytest.mark.parametrize("end", ["closes", "resets"])
def test_a_connection_dropped_in_the_tls_handshake_is_retried_until_the_deadline(
    end: str, start_up: float
) -> None:
    # A server restarting, or a proxy failing over, between the protocol's TLS offer and the
    # end of the handshake: a connection lost, not a TLS setting that cannot work.
    with handshake_listener(PROTOCOL, end) as seen:
        done, elapsed = run_task(TLS_URL.format(port=seen.port), TLS_DEADLINE)
    assert_gave_up_in_time(done, elapsed, start_up, "127.0.0.1", seen.port, TLS_DEADLINE)
    output = done.stdout + done.stderr
    assert "TLS could not be set up" not in output
    reason = DROPPED_REASONS[PROTOCOL, end].format(port=seen.port)
    assert re.search(r"\(attempt 1\), will retry: " + reason, done.stderr, re.M), output
    attempts = int(re.findall(r"gave up after (\d+) attempts", done.stderr)[0])
    assert attempts >= 2, output
    # Attempts got as far as sending their ClientHello (a last one cut short by the deadline
    # may not): the drop was in the handshake, and that was retried.
    assert seen.hellos >= 2, f"{seen}\n{output}"
<% if (!['sqlserver', 'db2'].includes(database)) { -%>


def test_a_certificate_nobody_trusts_is_reported_as_tls_and_not_retried(start_up: float) -> None:
    with handshake_listener(PROTOCOL, "untrusted") as seen:
        done, elapsed = run_task(VERIFIED_TLS_URL.format(port=seen.port))
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert PASSWORD not in output
    assert (
        "Task not started: Could not connect to record the start: TLS could not be set up with "
        f"the {LABEL} database at 127.0.0.1:{seen.port}; check the TLS settings of spring.datasource.url"
    ) in done.stderr, output
    assert "(not retried): " in done.stderr, output
    assert "will retry" not in output
    assert seen.connections == 1, output
    assert elapsed <= 2 * start_up + EXIT_MARGIN, f"{elapsed:.2f}s\n{output}"
<% } -%>
