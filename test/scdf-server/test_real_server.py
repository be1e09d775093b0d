"""A generated project against a real SCDF 2.11.5 server, on MariaDB and on PostgreSQL.

The server is SCDF's own server code (``server/``), run with the local deployer: it launches the
task with its own ``docker run`` command line, which podman runs (``docker/docker`` logs it as
evidence) with the project's image, built from its generated Dockerfile. Each scenario checks
what SCDF itself shows (``GET /tasks/executions/{id}``) and the raw ``<prefix>EXECUTION`` row.

The generated files are what is tested: ``scripts/scdf-rest.sh`` runs as it is, and each line of
the ``scdf/*.shell`` files becomes the REST call the Data Flow shell 2.11 sends for it
(``scdf_rest.ShellFile``), because the shell is not on Maven Central. Neither is the Composed
Task Runner (nor its image): podman refuses its launch, and each step is then launched the way
its TaskLauncherTasklet does (``Scdf.launch_step``). The timestamp steps run a timestamp app
written here (``timestamp/``), in an image on Debian's JRE.

The scenarios run in order against one server per database, as a user works through the files:
the REST script, the launch files, stop, Boot 3, then cleanup.shell, register.shell, the
composed files right after it, and cleanup.shell again.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from datetime import datetime
from typing import Any

import pytest

from conftest import Deployment
from scdf_rest import ENDED, ShellCommandFailed, ShellFile, shell_options, shell_words
from servers import (
    CTR_IMAGE,
    SHARED_MOUNT,
    TIMESTAMP_IMAGE,
    docker_run_env,
    docker_run_image,
    podman,
    rows,
)

LAUNCHED = re.compile(r"launched \S+: execution (\d+)(?: \(schema target (\w+)\))?")


# --- helpers ----------------------------------------------------------------------------------


def rest_script(d: Deployment, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The generated scripts/scdf-rest.sh, run with bash as CI would."""
    return subprocess.run(
        ["bash", str(d.project.file("scripts/scdf-rest.sh")), *args],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SCDF_URL": d.scdf.url,
            "SCDF_POLL_INTERVAL": "0.5",
            "SCDF_TIMEOUT": "120",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def launched(result: subprocess.CompletedProcess[str]) -> tuple[int, str | None]:
    match = LAUNCHED.search(result.stderr)
    assert match, f"no execution id in the output of scdf-rest.sh:\n{result.stderr}"
    return int(match.group(1)), match.group(2)


def row(d: Deployment, execution_id: int, prefix: str = "TASK_") -> dict[str, Any]:
    found = rows(
        d.engine, f"SELECT * FROM {prefix}EXECUTION WHERE TASK_EXECUTION_ID = :id", id=execution_id
    )
    assert len(found) == 1, f"{prefix}EXECUTION has {len(found)} rows for id {execution_id}"
    return found[0]


def shown(value: datetime | None) -> str | None:
    """A row's naive UTC time as SCDF's REST API shows it (the server runs with TZ=UTC)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def assert_ended(
    execution: dict[str, Any], raw: dict[str, Any], status: str, exit_code: int
) -> None:
    """SCDF's view and the raw row agree on an execution that ended with `exit_code`."""
    assert {
        "status": execution["taskExecutionStatus"],
        "exitCode": execution["exitCode"],
        "exitMessage": execution["exitMessage"],
    } == {"status": status, "exitCode": exit_code, "exitMessage": None}
    assert raw["START_TIME"] is not None, raw
    assert raw["END_TIME"] is not None, raw
    assert raw["START_TIME"] <= raw["END_TIME"], raw
    assert execution["startTime"] == shown(raw["START_TIME"])
    assert execution["endTime"] == shown(raw["END_TIME"])
    assert (raw["EXIT_CODE"], raw["EXIT_MESSAGE"]) == (exit_code, None)
    assert raw["ERROR_MESSAGE"] == execution["errorMessage"]
    assert raw["TASK_NAME"] == execution["taskName"]


def docker_run_of(d: Deployment, execution_id: int, timeout: float = 20) -> list[str]:
    """argv of the `docker run` SCDF made for one execution (its id is among the arguments)."""
    wanted = f"--spring.cloud.task.executionid={execution_id}"
    deadline = time.monotonic() + timeout
    while True:
        runs = [argv for argv in d.server.docker_runs() if wanted in argv]
        if runs:
            assert len(runs) == 1, runs
            return runs[0]
        assert time.monotonic() < deadline, f"no docker run with {wanted}"
        time.sleep(0.2)


def exception_line(error_message: str) -> str:
    return [line for line in error_message.splitlines() if line.strip()][-1]


def definitions(d: Deployment) -> set[str]:
    page = d.scdf.get("/tasks/definitions?size=1000")
    return {t["name"] for t in page.get("_embedded", {}).get("taskDefinitionResourceList", [])}


def task_apps(d: Deployment) -> set[str]:
    page = d.scdf.get("/apps?type=task&size=1000")
    return {a["name"] for a in page.get("_embedded", {}).get("appRegistrationResourceList", [])}


def assert_password_nowhere(d: Deployment) -> int:
    """The password in no task output and no row the task writes; returns the outputs read."""
    password = d.database.password
    outputs = d.server.task_outputs()
    leaked = [str(path) for path, text in outputs.items() if password in text]
    assert leaked == [], f"password in task output: {leaked}"
    for prefix in ("TASK_", "BOOT3_TASK_"):
        params = rows(d.engine, f"SELECT TASK_PARAM FROM {prefix}EXECUTION_PARAMS")
        assert [p for p in params if password in (p["TASK_PARAM"] or "")] == []
        texts = rows(d.engine, f"SELECT EXIT_MESSAGE, ERROR_MESSAGE FROM {prefix}EXECUTION")
        assert [t for t in texts if password in f"{t['EXIT_MESSAGE']}{t['ERROR_MESSAGE']}"] == []
    return len(outputs)


# --- scenarios --------------------------------------------------------------------------------


def test_rest_script_registers_creates_and_launches_to_complete(deployment: Deployment) -> None:
    d = deployment
    result = rest_script(d)
    assert result.returncode == 0, result.stderr
    execution_id, _ = launched(result)
    assert f"execution {execution_id} COMPLETE" in result.stderr
    execution = d.scdf.execution(execution_id)
    raw = row(d, execution_id)
    assert_ended(execution, raw, "COMPLETE", 0)
    assert (execution["errorMessage"], execution["taskName"]) == (None, d.project.task_name)
    assert raw["EXTERNAL_EXECUTION_ID"].startswith(f"{d.project.task_name}-")
    image, args = docker_run_image(docker_run_of(d, execution_id))
    assert image == d.project.image
    assert args[-1] == f"--spring.cloud.task.executionid={execution_id}"
    settings = json.loads(docker_run_env(docker_run_of(d, execution_id))["SPRING_APPLICATION_JSON"])
    assert settings["spring.datasource.url"] == d.database.jdbc_url
    assert settings["spring.datasource.password"] == d.database.password


def release_image(d: Deployment, version: str) -> tuple[str, str]:
    """The project's image built again as another release (a label makes it another image, with
    its own digest, as a new commit would): its repository and its digest."""
    repository = d.project.image.rsplit(":", 1)[0]
    context = d.project.directory.parent / f"release-{version}"
    context.mkdir(exist_ok=True)
    (context / "Containerfile").write_text(
        f"FROM {d.project.image}\nLABEL org.opencontainers.image.version={version}\n"
    )
    podman("build", "--pull=never", "--network=none", "-t", f"{repository}:{version}", str(context))
    digest = podman("image", "inspect", "--format", "{{.Digest}}", f"{repository}:{version}")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest.strip()), digest
    return repository, digest.strip()


def test_release_by_tag_then_by_digest_switches_the_default_and_the_next_launch_runs_it(
    deployment: Deployment,
) -> None:
    """scripts/scdf-rest.sh release, as the generated release pipeline runs it: each version is
    registered under its own path, made the default, the definition made once; no launch."""
    d = deployment
    name = f"{d.project.task_name}-release"
    repository, digest1 = release_image(d, "1.0.0")
    _, digest2 = release_image(d, "2.0.0")
    _, digest3 = release_image(d, "3.0.0")
    assert len({digest1, digest2, digest3}) == 3
    releases = [
        # (SCDF_IMAGE, SCDF_APP_VERSION, the version and the image registered). SCDF 2.11.5 lets
        # the versions of one app differ only in the version string ("can only differ by a
        # version"), and answers HTTP 500 to a URI without it: a digest alone gets the version as
        # its tag, and the digest is part of the registered version.
        (f"{repository}:1.0.0", "", "1.0.0", f"{repository}:1.0.0"),
        (
            f"{repository}@{digest2}",
            "2.0.0",
            f"2.0.0@{digest2}",
            f"{repository}:2.0.0@{digest2}",
        ),
        (
            f"{repository}:3.0.0@{digest3}",
            "",
            f"3.0.0@{digest3}",
            f"{repository}:3.0.0@{digest3}",
        ),
    ]
    runs_before = len(d.server.docker_runs())
    try:
        for index, (image, given, version, registered) in enumerate(releases):
            env = {"SCDF_TASK_NAME": name, "SCDF_IMAGE": image}
            if given:
                env["SCDF_APP_VERSION"] = given
            result = rest_script(d, "release", **env)
            assert result.returncode == 0, result.stderr
            definition = (
                f"created task definition {name}"
                if index == 0
                else f"task definition {name} exists already"
            )
            assert result.stderr.splitlines() == [
                f"scdf-rest: registered task app {name} {version} as docker:{registered} (Boot 2)",
                f"scdf-rest: made {version} the default version of {name}",
                f"scdf-rest: {definition}",
            ]
            # SCDF keeps the reference as registered, digest included, and the new version is
            # the only default one.
            app = d.scdf.get(f"/apps/task/{name}/{version}")
            assert (app["uri"], app["version"], app["defaultVersion"]) == (
                f"docker:{registered}",
                version,
                True,
            )
            for _, _, other, _ in releases[:index]:
                assert d.scdf.get(f"/apps/task/{name}/{other}")["defaultVersion"] is False
            assert sorted(t for t in definitions(d) if t == name) == [name]
            # Released, never launched.
            assert len(d.server.docker_runs()) == runs_before

            if index == 0:
                continue
            # The next launch of the definition runs exactly the released image.
            launch = rest_script(d, "launch", SCDF_TASK_NAME=name)
            assert launch.returncode == 0, launch.stderr
            execution_id, _ = launched(launch)
            ran, _ = docker_run_image(docker_run_of(d, execution_id))
            assert ran == registered
            execution = d.scdf.execution(execution_id)
            assert_ended(execution, row(d, execution_id), "COMPLETE", 0)
            runs_before = len(d.server.docker_runs())
    finally:
        d.scdf.request("DELETE", f"/tasks/definitions/{name}?cleanup=true", check=False)
        for _, _, version, _ in releases:
            d.scdf.request("DELETE", f"/apps/task/{name}/{version}", check=False)


def test_error_message_ends_error_with_exit_code_1_and_the_whole_message(
    deployment: Deployment,
) -> None:
    d = deployment
    message = "Input-file-missing:/data/in.csv;retry=3&notify=ops"
    result = rest_script(d, "launch", SCDF_ARGUMENTS=f"--error.message={message}")
    assert result.returncode == 1, result.stderr
    execution_id, _ = launched(result)
    # scdf-rest.sh names what failed: the exception line, not "Traceback (most recent call last):".
    assert f"ended with ERROR (exit code 1): RuntimeError: {message}\n" in result.stderr
    execution = d.scdf.execution(execution_id)
    raw = row(d, execution_id)
    assert_ended(execution, raw, "ERROR", 1)
    assert execution["errorMessage"].startswith("Traceback (most recent call last):\n")
    assert exception_line(execution["errorMessage"]) == f"RuntimeError: {message}"


def test_launch_shell_files_complete_and_fail_with_the_whole_message(
    deployment: Deployment,
) -> None:
    d = deployment
    [(_, answer)] = ShellFile(d.project.file("scdf/launch.shell")).run(d.scdf)
    execution_id = answer.json()["executionId"]
    assert_ended(d.scdf.wait_for(execution_id), row(d, execution_id), "COMPLETE", 0)

    failing = ShellFile(d.project.file("scdf/launch-failing.shell"))
    [line] = failing.commands
    given = shell_options(shell_words(line))["arguments"]
    assert isinstance(given, str)
    assert given.startswith("--error.message=")
    [(_, answer)] = failing.run(d.scdf)
    execution_id = answer.json()["executionId"]
    execution = d.scdf.wait_for(execution_id)
    assert_ended(execution, row(d, execution_id), "ERROR", 1)
    # The argument arrives whole, nothing split off (DeploymentPropertiesUtils.parseArgumentList).
    assert execution["arguments"][0] == given
    assert not execution["arguments"][1].startswith("--error")
    message = given.removeprefix("--error.message=")
    assert exception_line(execution["errorMessage"]) == f"RuntimeError: {message}"

    waited = rest_script(d, "wait", str(execution_id))
    assert waited.returncode == 1
    assert f"ended with ERROR (exit code 1): RuntimeError: {message}\n" in waited.stderr


def test_task_execution_stop_ends_a_long_run_as_error_143(deployment: Deployment) -> None:
    d = deployment
    execution_id, _ = d.scdf.launch(d.project.task_name, arguments="--work.seconds=600")
    d.scdf.wait_for(execution_id, ("RUNNING",), timeout=60)
    asked = time.monotonic()
    d.scdf.stop(execution_id)  # what `task execution stop --ids N` sends
    execution = d.scdf.wait_for(execution_id, ENDED, timeout=30)
    assert time.monotonic() - asked < 30
    raw = row(d, execution_id)
    assert_ended(execution, raw, "ERROR", 143)


def test_password_in_no_task_output_and_no_params_row(deployment: Deployment) -> None:
    d = deployment
    password = d.database.password
    # Kubernetes' exec style hands the datasource over as arguments: send the password that way too.
    execution_id, _ = d.scdf.launch(
        d.project.task_name, arguments=f"--spring.datasource.password={password}"
    )
    execution = d.scdf.wait_for(execution_id)
    assert_ended(execution, row(d, execution_id), "COMPLETE", 0)
    assert f"--spring.datasource.password={password}" in docker_run_of(d, execution_id)
    params = [
        p["TASK_PARAM"]
        for p in rows(
            d.engine,
            "SELECT TASK_PARAM FROM TASK_EXECUTION_PARAMS WHERE TASK_EXECUTION_ID = :id",
            id=execution_id,
        )
    ]
    assert [p for p in params if p.startswith("--spring.datasource.password=")] != []
    outputs = assert_password_nowhere(d)
    # Not vacuous: every launch so far left its stdout.log and stderr.log, with the task's words.
    assert outputs >= 2 * 6
    task_said = f"Python task {d.project.task_name} started"
    assert any(task_said in text for text in d.server.task_outputs().values())


def test_executions_shell_lists_the_definitions_and_every_execution(
    deployment: Deployment,
) -> None:
    d = deployment
    task = d.project.task_name
    (_, listed), (_, executions) = ShellFile(d.project.file("scdf/executions.shell")).run(d.scdf)
    names = {t["name"] for t in listed.json()["_embedded"]["taskDefinitionResourceList"]}
    assert task in names
    found = executions.json()["_embedded"]["taskExecutionResourceList"]
    in_rows = rows(
        d.engine, "SELECT TASK_EXECUTION_ID FROM TASK_EXECUTION WHERE TASK_NAME = :n", n=task
    )
    assert sorted(e["executionId"] for e in found) == sorted(
        r["TASK_EXECUTION_ID"] for r in in_rows
    )
    assert {e["taskName"] for e in found} == {task}
    assert len(found) >= 5


def test_app_registered_again_as_boot3_ends_its_boot3_row_only(deployment: Deployment) -> None:
    d = deployment
    before = rows(d.engine, "SELECT * FROM TASK_EXECUTION ORDER BY TASK_EXECUTION_ID")
    result = rest_script(d, SCDF_BOOT_VERSION="3")
    assert result.returncode == 0, result.stderr
    execution_id, target = launched(result)
    assert target == "boot3"
    registration = d.scdf.get(
        f"/apps/task/{d.project.task_name}/{d.project.image.rsplit(':', 1)[1]}"
    )
    assert registration["bootVersion"] == "3"
    execution = d.scdf.execution(execution_id, "boot3")
    assert_ended(execution, row(d, execution_id, "BOOT3_TASK_"), "COMPLETE", 0)
    assert execution["schemaTarget"] == "boot3"
    after = rows(d.engine, "SELECT * FROM TASK_EXECUTION ORDER BY TASK_EXECUTION_ID")
    assert after == before


BATCH = {"2": ("boot2", "TASK_", "BATCH_"), "3": ("boot3", "BOOT3_TASK_", "BOOT3_BATCH_")}
STEP_COUNTS = ("readCount", "writeCount", "commitCount", "rollbackCount", "filterCount")


def job_rows(
    d: Deployment, prefix: str, job_id: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    [job] = rows(
        d.engine,
        f"SELECT E.*, I.JOB_NAME, I.JOB_KEY FROM {prefix}JOB_EXECUTION E "
        f"JOIN {prefix}JOB_INSTANCE I ON I.JOB_INSTANCE_ID = E.JOB_INSTANCE_ID "
        "WHERE E.JOB_EXECUTION_ID = :id",
        id=job_id,
    )
    steps = rows(
        d.engine,
        f"SELECT * FROM {prefix}STEP_EXECUTION WHERE JOB_EXECUTION_ID = :id "
        "ORDER BY STEP_EXECUTION_ID",
        id=job_id,
    )
    return job, steps


def linked_job(d: Deployment, task_prefix: str, task_id: int) -> int:
    [link] = rows(
        d.engine,
        f"SELECT JOB_EXECUTION_ID FROM {task_prefix}TASK_BATCH WHERE TASK_EXECUTION_ID = :id",
        id=task_id,
    )
    return int(link["JOB_EXECUTION_ID"])


def assert_job_shown(
    d: Deployment, target: str, prefix: str, task_id: int, job_id: int
) -> dict[str, Any]:
    """GET /jobs/executions/{id}, its steps, and the list show the job exactly as recorded."""
    raw, raw_steps = job_rows(d, prefix, job_id)
    shown_job = d.scdf.get(f"/jobs/executions/{job_id}?schemaTarget={target}")
    execution = shown_job["jobExecution"]
    assert {
        "name": shown_job["name"],
        "executionId": shown_job["executionId"],
        "jobId": shown_job["jobId"],
        "taskExecutionId": shown_job["taskExecutionId"],
        "schemaTarget": shown_job["schemaTarget"],
        "stepExecutionCount": shown_job["stepExecutionCount"],
        "status": execution["status"],
        "exitCode": execution["exitStatus"]["exitCode"],
        "exitDescription": execution["exitStatus"]["exitDescription"],
    } == {
        "name": "import-orders",
        "executionId": job_id,
        "jobId": raw["JOB_INSTANCE_ID"],
        "taskExecutionId": task_id,
        "schemaTarget": target,
        "stepExecutionCount": len(raw_steps),
        "status": raw["STATUS"],
        "exitCode": raw["EXIT_CODE"],
        "exitDescription": raw["EXIT_MESSAGE"],
    }
    steps = d.scdf.get(f"/jobs/executions/{job_id}/steps?schemaTarget={target}")
    listed = steps["_embedded"]["stepExecutionResourceList"]
    assert [
        {"name": s["stepExecution"]["stepName"], "status": s["stepExecution"]["status"]}
        | {c: s["stepExecution"][c] for c in STEP_COUNTS}
        for s in listed
    ] == [
        {"name": r["STEP_NAME"], "status": r["STATUS"]}
        | {c: r[re.sub(r"([A-Z])", r"_\1", c).upper()] for c in STEP_COUNTS}
        for r in raw_steps
    ]
    everything = d.scdf.get("/jobs/executions?size=1000")["_embedded"]["jobExecutionResourceList"]
    assert [
        (e["executionId"], e["taskExecutionId"])
        for e in everything
        if e["executionId"] == job_id and e["schemaTarget"] == target
    ] == [(job_id, task_id)]
    return shown_job


@pytest.mark.parametrize("boot", ["2", "3"])
def test_batch_job_is_shown_by_scdf_and_its_restart_skips_the_completed_step(
    deployment: Deployment, boot: str
) -> None:
    d = deployment
    target, task_prefix, prefix = BATCH[boot]
    date = f"2024-05-0{boot}"
    # The task runs in a container: its output folder is on the volume the server mounts.
    folder = d.server.shared / f"orders-out-{target}"
    # The load step writes into a folder that is not there yet: it fails, extract completes.
    result = rest_script(
        d,
        SCDF_BOOT_VERSION=boot,
        SCDF_ARGUMENTS=f"--orders.date={date} --orders.output={SHARED_MOUNT}/{folder.name}",
        # Per launch: deployer 2.9.5 drops the platform account's docker.volume-mounts (its
        # LocalDeployerProperties copy keeps only network, port range and delete-on-exit).
        SCDF_PROPERTIES=(
            f"deployer.{d.project.task_name}.local.docker.volume-mounts="
            f"{d.server.shared}:{SHARED_MOUNT}"
        ),
    )
    assert result.returncode == 1, result.stderr
    task_id, launched_target = launched(result)
    assert (launched_target or "boot2") == target
    job_id = linked_job(d, task_prefix, task_id)
    failed = assert_job_shown(d, target, prefix, task_id, job_id)
    assert (failed["jobExecution"]["status"], failed["restartable"]) == ("FAILED", True)
    assert failed["jobParameters"] == {"date": date}
    _, steps = job_rows(d, prefix, job_id)
    assert [(s["STEP_NAME"], s["STATUS"], s["READ_COUNT"], s["WRITE_COUNT"]) for s in steps] == [
        ("extract", "COMPLETED", 3, 3),
        ("load", "FAILED", 0, 0),
    ]
    assert "FileNotFoundError" in failed["jobExecution"]["exitStatus"]["exitDescription"]
    # SCDF 2.11.5 groups this list by JOB_INSTANCE_ID alone (JobInstanceExecutionsExtractor):
    # instance 1 of boot2 and instance 1 of boot3 show as one, their executions side by side.
    instances = d.scdf.get("/jobs/instances?name=import-orders&size=1000")
    listed = instances["_embedded"]["jobInstanceResourceList"]
    assert [
        [e["executionId"] for e in i["jobExecutions"] if e["schemaTarget"] == target]
        for i in listed
        if i["jobInstanceId"] == failed["jobId"]
    ] == [[job_id]], listed

    folder.mkdir()
    folder.chmod(0o777)  # the task's user, 10001, writes into it
    [last] = rows(d.engine, f"SELECT MAX(TASK_EXECUTION_ID) AS ID FROM {task_prefix}EXECUTION")
    d.scdf.request("PUT", f"/jobs/executions/{job_id}?restart=true&schemaTarget={target}")
    deadline = time.monotonic() + 60
    while True:
        [newest] = rows(
            d.engine, f"SELECT MAX(TASK_EXECUTION_ID) AS ID FROM {task_prefix}EXECUTION"
        )
        if newest["ID"] != last["ID"]:
            break
        assert time.monotonic() < deadline, "the restart launched no task"
        time.sleep(0.25)
    restart_id = int(newest["ID"])
    assert_ended(
        d.scdf.wait_for(restart_id, schema_target=target),
        row(d, restart_id, task_prefix),
        "COMPLETE",
        0,
    )
    # What SCDF relaunched the task with: the original arguments plus the job parameter.
    # The two generations' execution ids overlap: the run is the one of this schema target.
    [run] = [
        argv
        for argv in d.server.docker_runs()
        if f"--spring.cloud.task.executionid={restart_id}" in argv
        and any(a.endswith(f"spring.cloud.task.schemaTarget={target}") for a in argv)
    ]
    _, arguments = docker_run_image(run)
    expected = f"date={date},java.lang.String" if boot == "3" else f"date(string)={date}"
    assert expected in arguments
    restarted_job = linked_job(d, task_prefix, restart_id)
    restarted = assert_job_shown(d, target, prefix, restart_id, restarted_job)
    assert restarted["jobId"] == failed["jobId"]
    assert (restarted["jobExecution"]["status"], restarted["restartable"]) == ("COMPLETED", False)
    _, steps = job_rows(d, prefix, restarted_job)
    assert [(s["STEP_NAME"], s["STATUS"], s["READ_COUNT"], s["WRITE_COUNT"]) for s in steps] == [
        ("load", "COMPLETED", 3, 3)
    ]
    assert (folder / f"orders-{date}.csv").read_text() == "0\n1\n2\n"
    refused = d.scdf.request(
        "PUT", f"/jobs/executions/{restarted_job}?restart=true&schemaTarget={target}", check=False
    )
    assert refused.status >= 400
    assert (
        f"JobExecution with Id '{restarted_job}' and state 'COMPLETED' is not restartable"
        in refused.body
    )


def test_cleanup_after_register_alone_then_register_shell(deployment: Deployment) -> None:
    d = deployment
    task = d.project.task_name
    # Nothing composed exists yet: the shell stops at the first composed definition, with what
    # register.shell (and the REST script, which makes the same) made already removed.
    stopped_at: tuple[str, int] | None = None
    try:
        ShellFile(d.project.file("scdf/cleanup.shell")).run(d.scdf)
    except ShellCommandFailed as failed:
        stopped_at = (failed.line, failed.answer.status)
    left = (task in definitions(d), task in task_apps(d))
    # The server is now as a user finds it before register.shell; the next scenarios go on from
    # what register.shell makes, whatever cleanup.shell did.
    done = ShellFile(d.project.file("scdf/register.shell")).run(d.scdf)
    assert stopped_at == (f"task destroy --name {task}-parallel --cleanup", 404)
    assert left == (False, False)
    assert len(done) == 3
    registration = d.scdf.get(f"/apps/task/{task}")
    assert (registration["uri"], registration["bootVersion"]) == (
        f"docker:{d.project.image}",
        "2",
    )
    assert d.scdf.get(f"/tasks/definitions/{task}")["dslText"] == task


def composed_run(d: Deployment, file: str) -> tuple[int, list[str], dict[str, Any]]:
    """Runs a composed shell file: its composed execution, step definitions and CTR settings."""
    done = ShellFile(d.project.file(file)).run(d.scdf)
    launch_line, answer = done[-1]
    assert launch_line.startswith("task launch ")
    composed_id = int(answer.json()["executionId"])
    argv = docker_run_of(d, composed_id)
    image, _ = docker_run_image(argv)
    assert image == CTR_IMAGE
    settings = json.loads(docker_run_env(argv)["SPRING_APPLICATION_JSON"])
    steps = [s.strip() for s in re.split(r"&&|\|\||[<>]", settings["graph"]) if s.strip()]
    return composed_id, steps, settings


def ctr_properties(settings: dict[str, Any]) -> dict[str, str]:
    """The launch properties SCDF hands the Composed Task Runner for its steps (base64 keys)."""
    marker = "composed-task-app-properties.base64_"
    return {
        base64.b64decode(key[len(marker) :] + "==").decode(): value
        for key, value in settings.items()
        if key.startswith(marker)
    }


def launch_and_check_step(d: Deployment, step: str, composed_id: int) -> None:
    execution_id = d.scdf.launch_step(step, composed_id)
    execution = d.scdf.wait_for(execution_id)
    raw = row(d, execution_id)
    assert_ended(execution, raw, "COMPLETE", 0)
    assert (execution["taskName"], execution["parentExecutionId"]) == (step, composed_id)
    assert raw["PARENT_EXECUTION_ID"] == composed_id
    image, args = docker_run_image(docker_run_of(d, execution_id))
    assert image == d.project.image
    assert f"--spring.cloud.task.parent-execution-id={composed_id}" in args


def test_composed_parallel_right_after_register_shell(deployment: Deployment) -> None:
    d = deployment
    task = d.project.task_name
    composed_id, steps, settings = composed_run(d, "scdf/composed-parallel.shell")
    assert steps == [f"{task}-parallel-a", f"{task}-parallel-b"]
    assert ctr_properties(settings) == {"deployer.b.kubernetes.entryPointStyle": "boot"}
    for step in steps:
        launch_and_check_step(d, step, composed_id)


def test_composed_sequence_right_after_register_shell(deployment: Deployment) -> None:
    d = deployment
    task = d.project.task_name
    composed_id, steps, settings = composed_run(d, "scdf/composed-sequence.shell")
    assert steps == [f"{task}-sequence-t1", f"{task}-sequence-{task}", f"{task}-sequence-t2"]
    assert ctr_properties(settings) == {
        "app.t1.timestamp.format": "yyyy-MM-dd",
        "app.t2.timestamp.format": "HH:mm:ss",
        f"deployer.{task}.kubernetes.entryPointStyle": "exec",
    }
    launch_and_check_step(d, f"{task}-sequence-{task}", composed_id)
    # The timestamp steps run the Java timestamp task in its own image: Spring Cloud Task ends
    # their rows, as the Composed Task Runner would see them end.
    for step, label in ((steps[0], "t1"), (steps[2], "t2")):
        fmt = ctr_properties(settings)[f"app.{label}.timestamp.format"]
        execution_id, _ = d.scdf.launch(
            step,
            arguments=f"--spring.cloud.task.parent-execution-id={composed_id} "
            f"--timestamp.format={fmt}",
        )
        execution = d.scdf.wait_for(execution_id)
        raw = row(d, execution_id)
        assert_ended(execution, raw, "COMPLETE", 0)
        assert raw["PARENT_EXECUTION_ID"] == composed_id
        image, args = docker_run_image(docker_run_of(d, execution_id))
        assert image == TIMESTAMP_IMAGE
        assert f"--timestamp.format={fmt}" in args


def test_cleanup_shell_removes_everything_the_shell_files_made(deployment: Deployment) -> None:
    d = deployment
    task = d.project.task_name
    done = ShellFile(d.project.file("scdf/cleanup.shell")).run(d.scdf)
    assert len(done) == 6
    assert {n for n in definitions(d) if n.startswith(task)} == set()
    assert task_apps(d) & {task, f"{task}-step", "timestamp"} == set()
    assert_password_nowhere(d)
