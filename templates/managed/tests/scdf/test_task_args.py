"""Launch settings reach the task the same way from every channel SCDF uses."""

import json
from collections.abc import Callable

import pytest

from util.db_api import DbTarget
from util.jdbc_url import ConvertedUrl, JdbcUrlError, convert
from util.task_args import (
    APPLICATION_JSON,
    COMMAND_LINE,
    ENVIRONMENT,
    LOCAL_USAGE,
    LaunchSettings,
    TaskConfigError,
    exit_with_usage_when_asked,
)

PASSWORD = "p@ss:w/rd%#;{}'"
# This project's database: a URL of SCDF's, the parts it becomes, and one with a password inside.
JDBC_URL, URL_PARTS, URL_WITH_PASSWORD = {
    "mysql": (
        "jdbc:mysql://mysql:3306/dataflow?permitMysqlScheme",
        ("mysql+pymysql", "mysql", 3306, "dataflow"),
        "jdbc:mysql://u:inurl@h/db",
    ),
    "mariadb": (
        "jdbc:mariadb://mariadb:3306/dataflow",
        ("mysql+pymysql", "mariadb", 3306, "dataflow"),
        "jdbc:mariadb://u:inurl@h/db",
    ),
    "postgresql": (
        "jdbc:postgresql://postgresql:5432/dataflow",
        ("postgresql+psycopg", "postgresql", 5432, "dataflow"),
        "jdbc:postgresql://u:inurl@h/db",
    ),
    "sqlserver": (
        "jdbc:sqlserver://mssql:1433;databaseName=dataflow",
        ("mssql+pymssql", "mssql", 1433, "dataflow"),
        "jdbc:sqlserver://h;user=u;password=inurl",
    ),
    "oracle": (
        "jdbc:oracle:thin:@oracle:1521:dataflow",
        ("oracle+oracledb", "oracle", 1521, "dataflow"),
        "jdbc:oracle:thin:u/inurl@h:1521:db",
    ),
    "db2": (
        "jdbc:db2://db2:50000/dataflow",
        ("db2+ibm_db", "db2", 50000, "dataflow"),
        "jdbc:db2://h:50000/db:user=u;password=inurl;",
    ),
}[<%- JSON.stringify(database) %>]
# What the URL's TLS becomes for the driver: mssql-jdbc 10 and later encrypt when not told.
DRIVER_QUERY = {"sqlserver": {"encryption": "require"}}.get(<%- JSON.stringify(database) %>, {})
PROPERTIES = {
    "spring.cloud.task.name": "my-task",
    "spring.datasource.url": JDBC_URL,
    "spring.datasource.username": "root",
    "spring.datasource.password": PASSWORD,
    "spring.datasource.driverClassName": "org.mariadb.jdbc.Driver",
    "spring.cloud.task.tablePrefix": "BOOT3_TASK_",
    "spring.cloud.task.parent-execution-id": "3",
    "management.metrics.tags.service": "${spring.cloud.task.name:unknown}",
}
ARGUMENTS = ["--error.message=boom", "--spring.cloud.task.executionid=7"]


def env_name(key: str) -> str:
    # What SCDF's Kubernetes deployer does for the shell entry point style: hyphens are kept.
    return key.replace(".", "_").upper()


def exec_style() -> tuple[list[str], dict[str, str]]:
    return [f"--{k}={v}" for k, v in PROPERTIES.items()] + ARGUMENTS, {}


def shell_style() -> tuple[list[str], dict[str, str]]:
    pairs = {**PROPERTIES, "error.message": "boom", "spring.cloud.task.executionid": "7"}
    return [], {env_name(k): v for k, v in pairs.items()}


def shell_style_with_secret_env() -> tuple[list[str], dict[str, str]]:
    # With Kubernetes secrets for DB credentials they arrive as env vars with dotted names.
    argv, env = shell_style()
    del env["SPRING_DATASOURCE_USERNAME"], env["SPRING_DATASOURCE_PASSWORD"]
    return argv, {**env, "spring.datasource.username": "root", "spring.datasource.password": PASSWORD}


def boot_style() -> tuple[list[str], dict[str, str]]:
    return list(ARGUMENTS), {"SPRING_APPLICATION_JSON": json.dumps(PROPERTIES)}


def local_deployer_style() -> tuple[list[str], dict[str, str]]:
    # docker run -e SPRING_APPLICATION_JSON=... image <args>; SCDF 2.11 adds --app.<name>.* args.
    argv = ["--app.my-task.spring.cloud.task.tablePrefix=BOOT3_TASK_", *ARGUMENTS]
    return argv, {"SPRING_APPLICATION_JSON": json.dumps(PROPERTIES), "deployerId": "my-task-123"}


Style = Callable[[], tuple[list[str], dict[str, str]]]
STYLES: list[Style] = [exec_style, shell_style, shell_style_with_secret_env, boot_style, local_deployer_style]


@pytest.mark.parametrize("style", STYLES, ids=[s.__name__ for s in STYLES])
def test_every_launch_channel_yields_the_same_settings(style: Style) -> None:
    argv, environ = style()
    settings = LaunchSettings.parse(argv, environ)

    assert settings.task_id() == 7
    assert settings.task_name() == "my-task"
    assert settings.table_prefix() == "BOOT3_TASK_"
    assert settings.parent_execution_id() == 3
    assert settings.get("error.message") == "boom"
    assert settings.get("spring.datasource.driver-class-name") == "org.mariadb.jdbc.Driver"
    url = settings.db_url()
    assert isinstance(url, DbTarget)
    assert (url.drivername, url.host, url.port, url.database) == URL_PARTS
    assert (url.username, url.password) == ("root", PASSWORD)
    assert dict(url.query) == DRIVER_QUERY
    assert settings.arguments == tuple(argv)


@pytest.mark.parametrize(
    ("key", "value", "getter", "expected"),
    [
        ("--spring.cloud.task.tablePrefix", "BOOT3_TASK_", "table_prefix", "BOOT3_TASK_"),
        ("--spring.cloud.task.table-prefix", "BOOT3_TASK_", "table_prefix", "BOOT3_TASK_"),
        ("--spring.cloud.task.table_prefix", "boot3_task_", "table_prefix", "BOOT3_TASK_"),
        ("SPRING_CLOUD_TASK_TABLEPREFIX", "BOOT3_TASK_", "table_prefix", "BOOT3_TASK_"),
        ("SPRING_CLOUD_TASK_TABLE_PREFIX", "BOOT3_TASK_", "table_prefix", "BOOT3_TASK_"),
        ("--spring.cloud.task.parent-execution-id", "12", "parent_execution_id", 12),
        ("--spring.cloud.task.parentExecutionId", "12", "parent_execution_id", 12),
        ("SPRING_CLOUD_TASK_PARENT-EXECUTION-ID", "12", "parent_execution_id", 12),
        ("SPRING_CLOUD_TASK_PARENTEXECUTIONID", "12", "parent_execution_id", 12),
        ("spring.cloud.task.executionId", "5", "task_id", 5),
        ("--spring.cloud.task.execution-id", "5", "task_id", 5),
        ("SPRING_CLOUD_TASK_NAME", "nightly", "task_name", "nightly"),
    ],
)
def test_relaxed_key_forms(key: str, value: str, getter: str, expected: object) -> None:
    if key.startswith("--"):
        settings = LaunchSettings.parse([f"{key}={value}"], {})
    else:
        settings = LaunchSettings.parse([], {key: value})
    assert getattr(settings, getter)() == expected


@pytest.mark.parametrize("key", ["driverClassName", "driver-class-name", "driver_class_name"])
def test_driver_class_name_forms(key: str) -> None:
    settings = LaunchSettings.parse([f"--spring.datasource.{key}=org.postgresql.Driver"], {})
    assert settings.get("spring.datasource.driverClassName") == "org.postgresql.Driver"


def test_command_line_beats_application_json_beats_environment() -> None:
    environ = {
        "SPRING_APPLICATION_JSON": json.dumps({"a.b": "json", "c.d": "json"}),
        "A_B": "env",
        "C_D": "env",
        "E_F": "env",
    }
    settings = LaunchSettings.parse(["--a.b=cli"], environ)

    assert [settings.get(k) for k in ("a.b", "c.d", "e.f")] == ["cli", "json", "env"]
    assert [settings.channel_of(k) for k in ("a.b", "c.d", "e.f")] == [
        COMMAND_LINE,
        APPLICATION_JSON,
        ENVIRONMENT,
    ]


def test_application_json_may_come_as_an_argument_and_may_be_nested() -> None:
    document = json.dumps({"spring": {"cloud": {"task": {"executionid": 4, "closecontextEnabled": True}}}})
    settings = LaunchSettings.parse([f"--spring.application.json={document}"], {})
    assert settings.task_id() == 4
    assert settings.get("spring.cloud.task.closecontext-enabled") == "true"


def test_arguments_split_on_the_first_equals_only_and_odd_ones_are_ignored() -> None:
    url = "jdbc:sqlserver://h:1433;databaseName=x;password={a=b}"
    settings = LaunchSettings.parse(
        ["positional", "--flag", "-x=1", "--=nothing", f"--spring.datasource.url={url}", "--empty="], {}
    )
    assert settings.get("spring.datasource.url") == url
    assert settings.get("empty") == ""
    assert settings.get("flag") is None
    assert settings.get("x") is None
    assert settings.arguments[0] == "positional"


def test_last_of_a_repeated_argument_wins() -> None:
    settings = LaunchSettings.parse(["--work.seconds=1", "--work.seconds=2"], {})
    assert settings.get("work.seconds") == "2"


def test_defaults() -> None:
    settings = LaunchSettings.parse(["--spring.cloud.task.executionid=1"], {})
    assert settings.table_prefix() == "TASK_"
    assert settings.parent_execution_id() is None
    assert settings.task_name() is None
    assert settings.connect_deadline() == 30.0


@pytest.mark.parametrize(
    ("argument", "getter", "message"),
    [
        ("--other=1", "task_id", "spring.cloud.task.executionid is not set"),
        ("--spring.cloud.task.executionid=seven", "task_id", "must be a whole number, got 'seven'"),
        ("--spring.cloud.task.parent-execution-id=x", "parent_execution_id", "must be a whole number"),
        ("--spring.cloud.task.tablePrefix=TASK_; DROP TABLE X", "table_prefix", "letters, digits and '_'"),
        ("--spring.cloud.task.tablePrefix=scdf.TASK_", "table_prefix", "letters, digits and '_'"),
        ("--task.db.connect-deadline=soon", "connect_deadline", "must be a number of seconds"),
        ("--task.db.connect-deadline=-1", "connect_deadline", "must be a number of seconds"),
        ("--spring.cloud.task.executionid=1", "db_url", "spring.datasource.url is not set"),
    ],
)
def test_bad_settings_fail_with_a_clear_message(argument: str, getter: str, message: str) -> None:
    read = getattr(LaunchSettings.parse([argument], {}), getter)
    with pytest.raises(TaskConfigError, match=message):
        read()


def test_connect_deadline_from_any_channel() -> None:
    assert LaunchSettings.parse(["--task.db.connect-deadline=2.5"], {}).connect_deadline() == 2.5
    assert LaunchSettings.parse([], {"TASK_DB_CONNECT-DEADLINE": "0"}).connect_deadline() == 0.0
    assert LaunchSettings.parse([], {"TASK_DB_CONNECT_DEADLINE": "9"}).connect_deadline() == 9.0


def test_broken_application_json_is_reported_without_its_content() -> None:
    with pytest.raises(TaskConfigError) as raised:
        LaunchSettings.parse([], {"SPRING_APPLICATION_JSON": '{"spring.datasource.password": "hunter2"'})
    assert "not valid JSON" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_secrets_are_the_passwords_and_long_secret_named_values() -> None:
    settings = LaunchSettings.parse(
        [f"--spring.datasource.url={URL_WITH_PASSWORD}", "--api.token=abcdef", "--my.secret=on"],
        {"SPRING_DATASOURCE_PASSWORD": "x", "PWD": "/home/task"},
    )
    assert sorted(settings.secrets()) == ["abcdef", "inurl", "x"]


def test_settings_are_read_only_and_the_url_is_converted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counted(url: str, **parts: str | None) -> ConvertedUrl:
        calls.append(url)
        return convert(url, **parts)

    monkeypatch.setattr("util.task_args.convert", counted)
    settings = LaunchSettings.parse([f"--spring.datasource.url={URL_WITH_PASSWORD}"], {})
    assert settings.secrets() == settings.secrets() == ["inurl"]
    assert [t.password for t in settings.db_urls()] == ["inurl"]
    assert calls == [URL_WITH_PASSWORD]
    with pytest.raises(TypeError):
        settings.settings["x"] = settings.settings["springdatasourceurl"]  # type: ignore[index]
    # Built from a caller's dict, the settings are a read-only copy of it.
    given = dict(settings.settings)
    copied = LaunchSettings(settings.arguments, given)
    given.clear()
    assert copied.get("spring.datasource.url") == URL_WITH_PASSWORD


def test_a_url_that_cannot_be_converted_is_reported_each_time_it_is_used() -> None:
    settings = LaunchSettings.parse(["--spring.datasource.url=jdbc:h2:mem:x"], {})
    assert settings.secrets() == []
    for _ in range(2):
        with pytest.raises(JdbcUrlError, match="embedded H2"):
            settings.db_urls()


# --- typed getters --------------------------------------------------------------------------

TYPED = LaunchSettings.parse(
    ["--work.seconds=2.5", "--batch.size=-40", "--dry-run=Yes", "--empty=", "--label=  padded "],
    {"RETRY_COUNT": "3", "FEATURE_ON": "off", "SPRING_APPLICATION_JSON": json.dumps({"ratio": 1e-3})},
)


def test_typed_getters_convert_from_every_channel_and_relaxed_key() -> None:
    assert TYPED.get_float("work.seconds", 1.0) == 2.5
    assert TYPED.get_float("ratio") == 0.001
    assert TYPED.get_int("batch.size", 10) == -40
    assert TYPED.get_int("retry.count") == 3
    assert TYPED.get_bool("dryRun", False) is True
    assert TYPED.get_bool("feature-on", True) is False
    assert TYPED.get_str("label") == "  padded "


def test_typed_getters_return_the_default_when_absent_or_empty() -> None:
    # As Spring converts an empty string to null: `--work.seconds=` is no setting, not an error.
    assert TYPED.get_float("empty", 1.0) == 1.0
    assert TYPED.get_int("empty", 7) == 7
    assert TYPED.get_bool("empty", True) is True
    assert TYPED.get_str("empty", "x") == ""
    assert TYPED.get_float("absent", 0.5) == 0.5
    assert TYPED.get_int("absent") is None
    assert TYPED.get_bool("absent") is None
    assert TYPED.get_str("absent") is None


@pytest.mark.parametrize("word", ["true", "TRUE", "on", "yes", "1", " True "])
def test_get_bool_takes_springs_true_words(word: str) -> None:
    assert LaunchSettings.parse([f"--flag={word}"], {}).get_bool("flag") is True


@pytest.mark.parametrize("word", ["false", "Off", "no", "0"])
def test_get_bool_takes_springs_false_words(word: str) -> None:
    assert LaunchSettings.parse([f"--flag={word}"], {}).get_bool("flag", True) is False


@pytest.mark.parametrize(
    ("getter", "value", "message"),
    [
        ("get_float", "soon", "work.seconds must be a number, got 'soon' (command line)"),
        ("get_float", "nan", "work.seconds must be a number, got 'nan' (command line)"),
        ("get_float", "1e999", "work.seconds must be a number, got '1e999' (command line)"),
        ("get_float", "1_000", "work.seconds must be a number, got '1_000' (command line)"),
        ("get_int", "2.5", "work.seconds must be a whole number, got '2.5' (command line)"),
        ("get_int", "ten", "work.seconds must be a whole number, got 'ten' (command line)"),
        (
            "get_bool",
            "maybe",
            "work.seconds must be true or false (also yes/no, on/off, 1/0), got 'maybe' (command line)",
        ),
    ],
)
def test_an_unusable_value_names_the_setting_and_the_value(getter: str, value: str, message: str) -> None:
    settings = LaunchSettings.parse([f"--work.seconds={value}"], {})

    with pytest.raises(TaskConfigError) as raised:
        getattr(settings, getter)("work.seconds", 1)
    assert str(raised.value) == message


def test_an_unusable_value_names_the_key_as_written_and_its_channel() -> None:
    settings = LaunchSettings.parse([], {"WORK_SECONDS": "soon"})

    with pytest.raises(TaskConfigError, match=r"^WORK_SECONDS must be a number, got 'soon' \(environment\)$"):
        settings.get_float("work.seconds", 1.0)


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["--api.token=sekrit-value"], "api.token"),
        (["--spring.datasource.password=hunter2"], "spring.datasource.password"),
        # Not secret-named, but the database password itself: still never shown.
        (["--spring.datasource.password=hunter2", "--retries=hunter2"], "retries"),
    ],
)
def test_an_unusable_secret_is_never_shown(argv: list[str], name: str) -> None:
    settings = LaunchSettings.parse(argv, {})

    with pytest.raises(TaskConfigError) as raised:
        settings.get_int(name, 3)
    assert (
        str(raised.value)
        == f"{name} must be a whole number, its value is not shown, being a secret (command line)"
    )


# `python python_task.py` outside SCDF points to `python -m util.local_run`; SCDF launches never do.
SQLITE_URL = "jdbc:sqlite:/tmp/scdf.db"


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--work.seconds=0", "--help"]])
def test_help_outside_scdf_prints_the_usage_and_exits_0(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        exit_with_usage_when_asked(argv, {})

    assert exited.value.code == 0
    assert capsys.readouterr() == (LOCAL_USAGE + "\n", "")
    assert LOCAL_USAGE.startswith("usage: python -m util.local_run [task arguments]\n")


@pytest.mark.parametrize(
    ("argv", "environ"),
    [
        # exec style: the URL on the command line.
        (["--help", f"--spring.datasource.url={SQLITE_URL}"], {}),
        # shell style: in the environment.
        (["--help"], {"SPRING_DATASOURCE_URL": SQLITE_URL}),
        # boot style and the local deployer: in SPRING_APPLICATION_JSON.
        (["--help"], {"SPRING_APPLICATION_JSON": json.dumps({"spring.datasource.url": SQLITE_URL})}),
        # The launch itself reports a broken document; no usage hides that.
        (["--help"], {"SPRING_APPLICATION_JSON": "{"}),
        # No help asked.
        ([], {}),
        (["--helpful=yes", "-hx"], {}),
    ],
)
def test_an_scdf_launch_or_no_help_asked_goes_on_to_the_task(
    argv: list[str], environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    exit_with_usage_when_asked(argv, environ)

    assert capsys.readouterr() == ("", "")


def test_a_launch_without_the_url_names_the_local_run() -> None:
    with pytest.raises(TaskConfigError) as raised:
        LaunchSettings.parse(["--spring.cloud.task.executionid=1"], {}).db_url()

    assert str(raised.value) == (
        "spring.datasource.url is not set: SCDF passes it at every launch "
        "(to run the task locally: `python -m util.local_run`)"
    )
