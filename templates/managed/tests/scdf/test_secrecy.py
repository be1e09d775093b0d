"""The database password never appears in any output: logs, errors, the row, the params table."""

import json
import logging
import sqlite3
from typing import NoReturn

import pytest

from util.db_api import DbTarget, Timeouts
from util.db_sqlite import SqliteAdapter
from util.launch import Launch
from util.local_db import LocalScdfDatabase
from util.redaction import MASK, Redactor, is_secret_key
from util.task_args import LaunchSettings
from util.task_lifecycle import TaskContext, execute
from util.testing import LaunchTask

PASSWORD = "p@ss:w/rd%#;{}'"


# Every way the password could leak: raw, percent-encoded (with and without '/', and twice),
# JSON- and repr-escaped, and its start.
SPELLINGS = [
    PASSWORD,
    "p%40ss%3Aw%2Frd%25%23%3B%7B%7D%27",
    "p%40ss%3Aw/rd%25%23%3B%7B%7D%27",
    "p%40ss%3Aw%2Frd%25%23%3B%7B%7D%27".replace("%", "%25"),
    json.dumps(PASSWORD)[1:-1],
    repr(PASSWORD)[1:-1],
    "p@ss",
    "p%40ss",
]


def assert_nowhere(*texts: str) -> None:
    for text in texts:
        for spelling in SPELLINGS:
            assert spelling not in text


def everything_in(db: LocalScdfDatabase, execution_id: int) -> list[str]:
    row = db.execution(execution_id)
    return [repr(row), *db.params(execution_id)]


def exec_argv(db: LocalScdfDatabase, execution_id: int, *arguments: str) -> list[str]:
    return [
        f"--spring.datasource.url={db.jdbc_url}",
        "--spring.datasource.username=scdf",
        f"--spring.datasource.password={PASSWORD}",
        *arguments,
        f"--spring.cloud.task.executionid={execution_id}",
    ]


def test_success_path(
    scdf_db: LocalScdfDatabase, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    execution_id = scdf_db.create_execution()
    printed: list[str] = []

    def show_everything(context: TaskContext) -> None:
        url = context.settings.db_url()
        print(url, repr(url), context, context.settings, flush=True)
        printed.append(str(url))

    assert execute(show_everything, argv=exec_argv(scdf_db, execution_id), environ={}) == 0

    captured = capfd.readouterr()
    assert_nowhere(captured.out, captured.err, caplog.text, *printed, *everything_in(scdf_db, execution_id))
    assert f"--spring.datasource.password={MASK}" in scdf_db.params(execution_id)


def test_failure_that_quotes_the_password(
    scdf_db: LocalScdfDatabase, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    execution_id = scdf_db.create_execution()

    def leak(context: TaskContext) -> None:
        password = context.get("spring.datasource.password")
        raise ConnectionError(f"login refused for scdf:{password}@db and {json.dumps(password)}")

    assert execute(leak, argv=exec_argv(scdf_db, execution_id), environ={}) == 1

    captured = capfd.readouterr()
    stored = everything_in(scdf_db, execution_id)
    assert_nowhere(captured.out, captured.err, caplog.text, *stored)
    row = scdf_db.execution(execution_id)
    assert row is not None
    assert row.error_message is not None
    assert f"login refused for scdf:{MASK}@db" in row.error_message


def test_password_only_in_application_json_and_url(
    scdf_db: LocalScdfDatabase, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Local deployer: the datasource arrives only in SPRING_APPLICATION_JSON.
    execution_id = scdf_db.create_execution()
    environ = {
        "SPRING_APPLICATION_JSON": json.dumps(
            {
                "spring.datasource.url": f"{scdf_db.jdbc_url}?password={PASSWORD}",
                "spring.cloud.task.name": "t",
            }
        )
    }

    def fail(context: TaskContext) -> None:
        raise RuntimeError(context.get("SPRING_APPLICATION_JSON"))

    code = execute(fail, argv=[f"--spring.cloud.task.executionid={execution_id}"], environ=environ)

    assert code == 1
    captured = capfd.readouterr()
    assert_nowhere(captured.out, captured.err, caplog.text, *everything_in(scdf_db, execution_id))


def test_driver_error_that_quotes_the_connection_string(
    scdf_db: LocalScdfDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Some drivers put the DSN, password included, into their connection errors.
    def refuse(adapter: SqliteAdapter, target: DbTarget, timeouts: Timeouts) -> NoReturn:
        raise sqlite3.OperationalError(f"cannot connect: DSN=db;UID=scdf;PWD={PASSWORD};")

    monkeypatch.setattr(SqliteAdapter, "connect", refuse)
    argv = [*exec_argv(scdf_db, 1), "--task.db.connect-deadline=0.3"]

    assert execute(lambda context: None, argv=argv, environ={}) == 1

    captured = capfd.readouterr()
    assert_nowhere(captured.out, captured.err, caplog.text)
    assert f"PWD={MASK}" in caplog.text


def test_broken_application_json_holding_the_password(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    environ = {"SPRING_APPLICATION_JSON": '{"spring.datasource.password": "' + PASSWORD + '",'}
    assert execute(lambda context: None, argv=[], environ=environ) == 1
    captured = capfd.readouterr()
    assert_nowhere(captured.out, captured.err, caplog.text)
    assert "SPRING_APPLICATION_JSON is not valid JSON" in caplog.text


def test_settings_never_show_values() -> None:
    settings = LaunchSettings.parse(
        [f"--spring.datasource.password={PASSWORD}"],
        {"SPRING_APPLICATION_JSON": json.dumps({"spring.datasource.password": PASSWORD})},
    )
    assert_nowhere(repr(settings), str(settings), repr(dict(settings.settings)))


def test_the_launch_never_shows_values() -> None:
    launch = Launch.read(
        [
            "--spring.datasource.url=jdbc:sqlite:scdf.db",
            f"--spring.datasource.password={PASSWORD}",
            "--spring.cloud.task.executionid=7",
        ],
        {},
    )
    assert set(launch.secrets) == {PASSWORD}
    assert_nowhere(repr(launch), str(launch))


@pytest.mark.parametrize("style", ["local", "exec", "shell", "boot"])
def test_real_process_in_every_launch_style(launch_task: LaunchTask, style: str) -> None:
    run = launch_task(
        "--work.seconds=0",
        f"--spring.datasource.password={PASSWORD}",
        f"--error.message=wrong password {PASSWORD}",
        style=style,
    )

    assert run.returncode == 1
    assert run.stdout is not None
    assert run.stderr is not None
    assert_nowhere(run.stdout, run.stderr, repr(run.row), *run.params)
    assert run.row.error_message is not None
    assert run.row.error_message.rstrip().endswith(f"RuntimeError: wrong password {MASK}")


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("spring.datasource.password", True),
        ("SPRING_DATASOURCE_PASSWORD", True),
        ("api-token", True),
        ("aws.secretAccessKey", True),
        ("my.credentials.file", True),
        ("PWD", False),  # the shell's working directory
        ("spring.datasource.username", False),
        ("error.message", False),
    ],
)
def test_secret_keys(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_redactor_masks_every_spelling_and_nothing_else() -> None:
    redactor = Redactor([PASSWORD, None, ""])
    text = " | ".join([*SPELLINGS[:6], "exit code 1"])
    assert redactor.redact(text) == " | ".join([MASK] * 6 + ["exit code 1"])
    assert redactor.redact_argument(f"--db.password={PASSWORD}x") == f"--db.password={MASK}"
    assert redactor.redact_argument("--work.seconds=1") == "--work.seconds=1"
