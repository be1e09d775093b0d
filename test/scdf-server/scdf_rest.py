"""The Data Flow REST API as the real-server suite drives it.

Three clients of a real SCDF 2.11.5 server that Maven Central does not have are played here
through the REST calls they make, read from their 2.11.5 sources:

- the Data Flow shell: ``ShellFile`` translates each line of a generated ``scdf/*.shell`` file into
  the request its command sends (shell ``TaskCommands`` / ``AppRegistryCommands`` through the REST
  client's ``TaskTemplate`` / ``AppRegistryTemplate``), and stops at the first one that fails, as
  the files' comments say the shell does;
- the Composed Task Runner: ``launch_step`` makes the one REST call its ``TaskLauncherTasklet``
  makes to start a step, nothing more (it does not run a graph: the tests launch each step);
- ``task execution stop --ids N``: ``stop``.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENDED = ("COMPLETE", "ERROR")


@dataclass(frozen=True)
class Answer:
    method: str
    path: str
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class HttpError(AssertionError):
    def __init__(self, answer: Answer) -> None:
        super().__init__(
            f"{answer.method} {answer.path}: HTTP {answer.status}: {answer.body[:2000]}"
        )
        self.answer = answer


class Scdf:
    """Form-encoded requests to one server, as the shell's RestTemplate sends them."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        *,
        check: bool = True,
    ) -> Answer:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Accept": "application/json"}
        )
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = Answer(method, path, response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            answer = Answer(method, path, error.code, error.read().decode())
        if check and answer.status >= 400:
            raise HttpError(answer)
        return answer

    def get(self, path: str) -> Any:
        return self.request("GET", path).json()

    def execution(self, execution_id: int, schema_target: str | None = None) -> dict[str, Any]:
        query = f"?schemaTarget={schema_target}" if schema_target else ""
        result: dict[str, Any] = self.get(f"/tasks/executions/{execution_id}{query}")
        return result

    def wait_for(
        self,
        execution_id: int,
        statuses: tuple[str, ...] = ENDED,
        schema_target: str | None = None,
        timeout: float = 120,
    ) -> dict[str, Any]:
        """Polls GET /tasks/executions/{id} until its status is one of `statuses`."""
        deadline = time.monotonic() + timeout
        while True:
            execution = self.execution(execution_id, schema_target)
            if execution["taskExecutionStatus"] in statuses:
                return execution
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"execution {execution_id} still {execution['taskExecutionStatus']} after "
                    f"{timeout}s, not {'/'.join(statuses)}: {execution}"
                )
            time.sleep(0.25)

    def launch(self, name: str, arguments: str = "", properties: str = "") -> tuple[int, str]:
        """`task launch` on a 2.11 server (TaskTemplate.launch): the execution id, schema target."""
        answer = self.request(
            "POST",
            "/tasks/executions/launch?" + urllib.parse.urlencode({"name": name}),
            {"properties": properties, "arguments": arguments},
        ).json()
        return int(answer["executionId"]), str(answer["schemaTarget"])

    def launch_step(self, step: str, parent_id: int, parent_target: str = "boot2") -> int:
        """Starts one step of a composed task the way the Composed Task Runner 2.11 does.

        TaskLauncherTasklet.execute launches the step's definition ``<composed>-<label>`` through
        TaskOperations.launch with the step's arguments plus
        ``--spring.cloud.task.parent-execution-id=<the composed execution>`` and
        ``--spring.cloud.task.parent-schema-target=<its schema target>``.
        """
        execution_id, _ = self.launch(
            step,
            arguments=f"--spring.cloud.task.parent-execution-id={parent_id} "
            f"--spring.cloud.task.parent-schema-target={parent_target}",
        )
        return execution_id

    def stop(self, execution_id: int) -> None:
        """`task execution stop --ids N` (TaskTemplate.stop)."""
        self.request("POST", f"/tasks/executions/{execution_id}", {})


# --- Data Flow shell command files ------------------------------------------------------------


class ShellCommandFailed(AssertionError):
    def __init__(self, line: str, answer: Answer) -> None:
        super().__init__(f"`{line}` failed: HTTP {answer.status}: {answer.body[:2000]}")
        self.line = line
        self.answer = answer


def shell_words(line: str) -> list[tuple[str, bool]]:
    """Words of a command line, with whether each was double-quoted (quotes removed)."""
    words: list[tuple[str, bool]] = []
    for match in re.finditer(r'"([^"]*)"|(\S+)', line):
        quoted = match.group(1) is not None
        words.append((match.group(1) if quoted else match.group(2), quoted))
    return words


def shell_options(words: list[tuple[str, bool]]) -> dict[str, str | bool]:
    """`--option value` pairs; an option followed by another option (or nothing) is a flag."""
    options: dict[str, str | bool] = {}
    for i, (word, quoted) in enumerate(words):
        if quoted or not word.startswith("--"):
            continue
        following = words[i + 1] if i + 1 < len(words) else None
        takes_value = following is not None and (following[1] or not following[0].startswith("--"))
        options[word[2:]] = following[0] if following and takes_value else True
    return options


def _text(options: dict[str, str | bool], name: str, default: str = "") -> str:
    value = options.get(name, default)
    if not isinstance(value, str):
        raise ValueError(f"--{name} needs a value")
    return value


def command_request(line: str) -> tuple[str, str, dict[str, str] | None]:
    """The request (method, path, form) that the 2.11 shell sends for one command line."""
    words = shell_words(line)
    command = " ".join(itertools.takewhile(lambda w: not w.startswith("--"), (w for w, _ in words)))
    options = shell_options(words)
    quote = urllib.parse.quote
    if command.startswith("app register"):
        form = {"uri": _text(options, "uri")}
        if "bootVersion" in options:
            form["bootVersion"] = _text(options, "bootVersion")
        form["force"] = "true" if options.get("force") is True else "false"
        return "POST", f"/apps/{_text(options, 'type')}/{quote(_text(options, 'name'))}", form
    if command.startswith("app default"):
        app_type, _, name = _text(options, "id").partition(":")
        return "PUT", f"/apps/{app_type}/{quote(name)}/{quote(_text(options, 'version'))}", None
    if command.startswith("app unregister"):
        path = f"/apps/{_text(options, 'type')}/{quote(_text(options, 'name'))}"
        if "version" in options:
            path += f"/{quote(_text(options, 'version'))}"
        return "DELETE", path, None
    if command.startswith("task create"):
        form = {
            "name": _text(options, "name"),
            "definition": _text(options, "definition"),
            "description": _text(options, "description"),
        }
        return "POST", "/tasks/definitions", form
    if command.startswith("task launch"):
        query = urllib.parse.urlencode({"name": _text(options, "name")})
        form = {
            "properties": _text(options, "properties"),
            "arguments": _text(options, "arguments"),
        }
        return "POST", f"/tasks/executions/launch?{query}", form
    if command.startswith("task destroy"):
        cleanup = "?cleanup=true" if options.get("cleanup") is True else ""
        return "DELETE", f"/tasks/definitions/{quote(_text(options, 'name'))}{cleanup}", None
    if command.startswith("task execution list"):
        name = options.get("name")
        query = "?" + urllib.parse.urlencode({"name": name}) if isinstance(name, str) else ""
        return "GET", f"/tasks/executions{query}", None
    if command.startswith("task list"):
        return "GET", "/tasks/definitions", None
    raise ValueError(f"no translation for shell command: {line}")


@dataclass(frozen=True)
class ShellFile:
    path: Path

    @property
    def commands(self) -> list[str]:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [line for line in lines if line.strip() and not line.startswith("//")]

    def run(self, scdf: Scdf) -> list[tuple[str, Answer]]:
        """Runs every command in order; raises ShellCommandFailed at the first that fails."""
        done: list[tuple[str, Answer]] = []
        for line in self.commands:
            method, path, form = command_request(line)
            answer = scdf.request(method, path, form, check=False)
            if answer.status >= 400:
                raise ShellCommandFailed(line, answer)
            done.append((line, answer))
        return done
