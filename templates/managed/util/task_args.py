"""The task's launch settings, read from every channel SCDF uses to pass them.

How settings arrive depends on the platform and the entry point style:

- Kubernetes `exec` (the default): each setting as a `--key=value` argument.
- Kubernetes `shell`: no arguments; each setting and argument as an environment variable named
  `key.replace('.', '_').upper()`, hyphens kept (`SPRING_CLOUD_TASK_PARENT-EXECUTION-ID`).
- Kubernetes `boot`: settings in `SPRING_APPLICATION_JSON`, only launch arguments on the command line.
- Local deployer with a docker: app: datasource and task name only in `SPRING_APPLICATION_JSON`,
  the execution id on the command line.

Keys are matched the way Spring's relaxed binding does (`tablePrefix`, `table-prefix`,
`TABLE_PREFIX` are one key), and the channels rank as in Spring Boot: command line, then
SPRING_APPLICATION_JSON, then the environment.

Values are converted as Spring converts them: `get_int`, `get_float` and `get_bool` take an empty
value for an absent one, and `get_bool` knows true/false, yes/no, on/off and 1/0.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final, overload

from util.jdbc_url import ConvertedUrl, DbTarget, JdbcUrlError, convert, in_order
from util.records import FrozenRecord
from util.redaction import is_secret_key

EXECUTION_ID = "spring.cloud.task.executionid"
TASK_NAME = "spring.cloud.task.name"
TABLE_PREFIX = "spring.cloud.task.tablePrefix"
PARENT_EXECUTION_ID = "spring.cloud.task.parent-execution-id"
EXTERNAL_EXECUTION_ID = "spring.cloud.task.external-execution-id"
APPLICATION_NAME = "spring.application.name"
DATASOURCE_URL = "spring.datasource.url"
DATASOURCE_USERNAME = "spring.datasource.username"
DATASOURCE_PASSWORD = "spring.datasource.password"  # noqa: S105 - the name, not a value
DATASOURCE_DRIVER = "spring.datasource.driverClassName"
#: Seconds one start or end write may take, retries included (this package's own setting).
CONNECT_DEADLINE = "task.db.connect-deadline"
#: Seconds one attempt may take to connect, and each statement to answer (this package's own).
CONNECT_TIMEOUT = "task.db.connect-timeout"
STATEMENT_TIMEOUT = "task.db.statement-timeout"
#: Seconds the end write still gets after SIGTERM/SIGINT before the process exits anyway.
STOP_GRACE = "task.db.stop-grace"

DEFAULT_TABLE_PREFIX = "TASK_"
#: The name Spring Boot gives an application that sets neither name (its context id).
DEFAULT_TASK_NAME = "application"
DEFAULT_CONNECT_DEADLINE = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_STATEMENT_TIMEOUT = 10.0
#: Well inside Kubernetes' default 30 s between SIGTERM and SIGKILL.
DEFAULT_STOP_GRACE = 10.0

COMMAND_LINE = "command line"
APPLICATION_JSON = "SPRING_APPLICATION_JSON"
ENVIRONMENT = "environment"


#: Spring's StringToBooleanConverter: the words it takes for true and for false, any case.
TRUE_WORDS = frozenset({"true", "on", "yes", "1"})
FALSE_WORDS = frozenset({"false", "off", "no", "0"})


class TaskConfigError(ValueError):
    """A launch setting is missing or unusable; the message names it but never shows a secret."""


def canonical_key(key: str) -> str:
    """The form relaxed binding compares: no case, no `.`, `-` or `_`."""
    return re.sub(r"[._-]", "", key.lower())


class Setting(FrozenRecord):
    _fields = __slots__ = ("key", "value", "channel")
    _hidden = frozenset({"value"})  # may be a password, or a URL or JSON holding one
    key: Final[str]  # as it was written
    value: Final[str]
    channel: Final[str]

    def __init__(self, key: str, value: str, channel: str = COMMAND_LINE) -> None:
        self.key = key
        self.value = value
        self.channel = channel


class TypedSettings:
    """`get_str`, `get_int`, `get_float`, `get_bool`: launch settings converted as Spring converts them.

    An unusable value raises TaskConfigError naming the setting, and its value unless that is a
    secret.
    """

    __slots__ = ()

    def _launch_settings(self) -> LaunchSettings:
        """The settings read: the object itself, or the one it carries."""
        raise NotImplementedError

    @overload
    def get_str(self, name: str, default: None = None) -> str | None: ...
    @overload
    def get_str(self, name: str, default: str) -> str: ...
    def get_str(self, name: str, default: str | None = None) -> str | None:
        """The value of `name` as given (an empty value stays empty), or `default`."""
        return self._launch_settings().get(name, default)

    @overload
    def get_int(self, name: str, default: None = None) -> int | None: ...
    @overload
    def get_int(self, name: str, default: int) -> int: ...
    def get_int(self, name: str, default: int | None = None) -> int | None:
        """`name` as a whole number (`-3`, `42`), or `default` when absent or empty."""
        value = self._given(name)
        if value is None:
            return default
        if not re.fullmatch(r"[+-]?[0-9]+", value.strip()):
            raise self._unusable(name, value, "a whole number")
        return int(value)

    @overload
    def get_float(self, name: str, default: None = None) -> float | None: ...
    @overload
    def get_float(self, name: str, default: float) -> float: ...
    def get_float(self, name: str, default: float | None = None) -> float | None:
        """`name` as a finite number (`1`, `0.5`, `2e3`), or `default` when absent or empty."""
        value = self._given(name)
        if value is None:
            return default
        number = _finite_number(value)
        if number is None:
            raise self._unusable(name, value, "a number")
        return number

    @overload
    def get_bool(self, name: str, default: None = None) -> bool | None: ...
    @overload
    def get_bool(self, name: str, default: bool) -> bool: ...
    def get_bool(self, name: str, default: bool | None = None) -> bool | None:
        """`name` as true or false, or `default` when absent or empty."""
        value = self._given(name)
        if value is None:
            return default
        word = value.strip().lower()
        if word not in TRUE_WORDS and word not in FALSE_WORDS:
            raise self._unusable(name, value, "true or false (also yes/no, on/off, 1/0)")
        return word in TRUE_WORDS

    def _given(self, name: str) -> str | None:
        """The value, None when absent or blank: Spring converts an empty string to null."""
        value = self._launch_settings().get(name)
        return value if value is not None and value.strip() else None

    def _unusable(self, name: str, value: str, kind: str) -> TaskConfigError:
        settings = self._launch_settings()
        setting = settings.settings[canonical_key(name)]
        if is_secret_key(setting.key) or value in settings.secrets():
            shown = "its value is not shown, being a secret"
        else:
            shown = f"got {value!r}"
        return TaskConfigError(f"{setting.key} must be {kind}, {shown} ({setting.channel})")


class LaunchSettings(TypedSettings, FrozenRecord):
    """Every setting the task was launched with, merged from all channels; immutable.

    The JDBC URL is converted once, on first use, for both its hosts and its secrets.
    """

    _fields = ("arguments", "settings")
    #: `_datasource`, once read: set once, like the fields, and not one of them.
    __slots__ = (*_fields, "_converted")
    #: The command-line arguments exactly as given (recorded as the execution's parameters).
    arguments: Final[tuple[str, ...]]
    #: Read-only: by canonical key (`canonical_key()`).
    settings: Final[Mapping[str, Setting]]
    _converted: ConvertedUrl | JdbcUrlError | None

    def __init__(
        self, arguments: tuple[str, ...] = (), settings: Mapping[str, Setting] | None = None
    ) -> None:
        self.arguments = arguments
        # A read-only copy of a caller's dict; a read-only view is kept as it is.
        self.settings = (
            settings if isinstance(settings, MappingProxyType) else MappingProxyType(dict(settings or {}))
        )

    @classmethod
    def from_process(cls) -> LaunchSettings:
        """The settings of this process."""
        return cls.parse(sys.argv[1:], os.environ)

    @classmethod
    def parse(cls, argv: Sequence[str], environ: Mapping[str, str]) -> LaunchSettings:
        """Merges argv, SPRING_APPLICATION_JSON and the environment; argv wins, env loses."""
        merged: dict[str, Setting] = {}
        for name, value in environ.items():
            merged[canonical_key(name)] = Setting(name, value, ENVIRONMENT)
        command_line = _parse_arguments(argv)
        json_text = command_line.get(canonical_key("spring.application.json")) or merged.get(
            canonical_key("SPRING_APPLICATION_JSON")
        )
        if json_text is not None:
            for key, value in _parse_application_json(json_text.value).items():
                merged[canonical_key(key)] = Setting(key, value, APPLICATION_JSON)
        merged.update(command_line)
        return cls(tuple(argv), MappingProxyType(merged))

    def __repr__(self) -> str:
        # Values stay out: printing the settings must not print the password.
        return f"LaunchSettings({len(self.arguments)} arguments, {len(self.settings)} settings)"

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of `name` in any of its relaxed forms, or `default`."""
        setting = self.settings.get(canonical_key(name))
        return setting.value if setting is not None else default

    def _launch_settings(self) -> LaunchSettings:
        return self

    def channel_of(self, name: str) -> str | None:
        """Where `name` came from: COMMAND_LINE, APPLICATION_JSON or ENVIRONMENT."""
        setting = self.settings.get(canonical_key(name))
        return setting.channel if setting is not None else None

    def secrets(self) -> list[str]:
        """The database password (also one inside the JDBC URL) and other secret-named values.

        Values of other secret-named settings shorter than 4 characters are left out: masking
        every "1" or "on" would garble the logs while hiding nothing worth hiding.
        """
        found = [password] if (password := self.get(DATASOURCE_PASSWORD)) else []
        found += [
            s.value
            for s in self.settings.values()
            if is_secret_key(s.key) and len(s.value) >= 4 and s.value.lower() not in ("true", "false", "null")
        ]
        # A URL that cannot be parsed is reported where it is used; it yields no secret here.
        if isinstance(converted := self._datasource, ConvertedUrl):
            found.extend(converted.secrets)
        return found

    @property
    def _datasource(self) -> ConvertedUrl | JdbcUrlError | None:
        """`spring.datasource.*` converted, or why it cannot be; None when no URL is set."""
        try:
            return self._converted
        except AttributeError:
            pass
        url = self.get(DATASOURCE_URL)
        converted: ConvertedUrl | JdbcUrlError | None = None
        if url:
            try:
                converted = convert(
                    url, username=self.get(DATASOURCE_USERNAME), password=self.get(DATASOURCE_PASSWORD)
                )
            except JdbcUrlError as error:
                converted = error
        self._converted = converted
        return converted

    def task_id(self) -> int:
        """The execution id SCDF created the row for; required."""
        task_id = self.execution_id()
        if task_id is None:
            raise TaskConfigError(
                f"{EXECUTION_ID} is not set: the task must be launched by SCDF "
                "(or locally with `python -m util.local_run`)"
            )
        return task_id

    def execution_id(self) -> int | None:
        """The execution id SCDF created the row for; None for a scheduled launch, which has none."""
        value = self.get(EXECUTION_ID)
        if value is None:
            return None
        if not value.strip():
            # Given but empty is a broken launch command, not a schedule: refuse to guess.
            raise TaskConfigError(
                f"{EXECUTION_ID} is empty: pass the id of the row SCDF created, or leave the setting "
                "out to have the task create its own row, as a scheduled launch does"
            )
        return _integer(EXECUTION_ID, value)

    def task_name(self) -> str | None:
        return self.get(TASK_NAME)

    def resolved_task_name(self) -> str:
        """The name a row created by the task carries, as Spring Cloud Task resolves it."""
        return self.task_name() or self.get(APPLICATION_NAME) or DEFAULT_TASK_NAME

    def external_execution_id(self) -> str | None:
        """An id of the launcher's own (a pod or job name), recorded in EXTERNAL_EXECUTION_ID."""
        return self.get(EXTERNAL_EXECUTION_ID) or None

    def parent_execution_id(self) -> int | None:
        """Set for a step of a composed task: the composed task's own execution id."""
        value = self.get(PARENT_EXECUTION_ID)
        return _integer(PARENT_EXECUTION_ID, value) if value and value.strip() else None

    def table_prefix(self) -> str:
        """`TASK_` unless SCDF says otherwise (`BOOT3_TASK_` for Boot 3 apps on SCDF 2.11)."""
        return validate_table_prefix(self.get(TABLE_PREFIX) or DEFAULT_TABLE_PREFIX)

    def connect_deadline(self) -> float:
        return self._seconds(CONNECT_DEADLINE, DEFAULT_CONNECT_DEADLINE, minimum=0)

    def connect_timeout(self) -> float:
        return self._seconds(CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT)

    def statement_timeout(self) -> float:
        return self._seconds(STATEMENT_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT)

    def stop_grace(self) -> float:
        return self._seconds(STOP_GRACE, DEFAULT_STOP_GRACE, minimum=0)

    def _seconds(self, name: str, default: float, minimum: float | None = None) -> float:
        """A duration setting; `minimum` None means it must be more than 0."""
        value = self._given(name)
        if value is None:
            return default
        seconds = _finite_number(value)
        if seconds is None or not (seconds >= minimum if minimum is not None else seconds > 0):
            rule = f"{minimum:g} or more" if minimum is not None else "more than 0"
            raise TaskConfigError(f"{name} must be a number of seconds, {rule}")
        return seconds

    def db_url(self) -> DbTarget:
        """Where `spring.datasource.*` points; username and password win over the URL's."""
        return self.db_urls()[0]

    def db_urls(self) -> list[DbTarget]:
        """`db_url()` for each host of a multi-host JDBC URL, in the order to try them."""
        converted = self._datasource
        if converted is None:
            raise TaskConfigError(
                f"{DATASOURCE_URL} is not set: SCDF passes it at every launch "
                "(to run the task locally: `python -m util.local_run`)"
            )
        if isinstance(converted, JdbcUrlError):
            raise converted.with_traceback(None)
        return in_order(converted)


LOCAL_USAGE = """\
usage: python -m util.local_run [task arguments]

Runs this task as SCDF would, against a SQLite file standing in for SCDF's database
(`python -m util.local_run --help` lists its options). SCDF itself starts `python python_task.py`
with spring.datasource.url and the execution id; without them the task does not start."""


def exit_with_usage_when_asked(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> None:
    """Prints LOCAL_USAGE and exits 0 on `--help` or `-h` outside SCDF; returns otherwise.

    Outside SCDF means no spring.datasource.url in any channel: SCDF passes it at every launch,
    and there `--help` stays an argument of the task, whose row must still be started and ended.
    """
    arguments = sys.argv[1:] if argv is None else argv
    if "--help" not in arguments and "-h" not in arguments:
        return
    try:
        settings = LaunchSettings.parse(arguments, os.environ if environ is None else environ)
    except TaskConfigError:
        return  # the launch reports it (a broken SPRING_APPLICATION_JSON, say)
    if settings.get(DATASOURCE_URL):
        return
    print(LOCAL_USAGE)
    sys.exit(0)


def validate_table_prefix(prefix: str) -> str:
    """The prefix in upper case; only letters, digits and `_`, since it is written into SQL."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", prefix):
        raise TaskConfigError(
            f"{TABLE_PREFIX} may only contain letters, digits and '_' (it becomes part of table "
            f"names), got {prefix!r}"
        )
    return prefix.upper()


def _integer(name: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise TaskConfigError(f"{name} must be a whole number, got {value!r}") from None


def _finite_number(value: str) -> float | None:
    """The number `value` spells, None unless finite: "nan" or "1e999" is a mistake, not a time."""
    text = value.strip()
    if "_" in text:  # Python's float() takes `1_000`; Java's, and so Spring's, does not
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _parse_arguments(argv: Sequence[str]) -> dict[str, Setting]:
    found = {}
    for argument in argv:
        # Only `--key=value` is a setting; anything else is left to the task.
        if not argument.startswith("--") or "=" not in argument:
            continue
        key, _, value = argument[2:].partition("=")  # values such as JDBC URLs contain `=`
        if key:
            found[canonical_key(key)] = Setting(key, value, COMMAND_LINE)
    return found


def _parse_application_json(text: str) -> dict[str, str]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        # The document holds the password: say where it broke, never what it says.
        raise TaskConfigError(
            f"SPRING_APPLICATION_JSON is not valid JSON (line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(document, dict):
        raise TaskConfigError("SPRING_APPLICATION_JSON must be a JSON object")
    flat: dict[str, str] = {}
    _flatten("", document, flat)
    return flat


def _flatten(prefix: str, value: object, into: dict[str, str]) -> None:
    # SCDF sends flat dotted keys, but Spring also accepts nested objects: accept both.
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, into)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, into)
    elif isinstance(value, bool):
        into[prefix] = "true" if value else "false"
    elif value is not None:
        into[prefix] = str(value)
