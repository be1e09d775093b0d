"""The generated image as SCDF 2.11.5's Kubernetes platform really drives it.

Each scenario goes through the real server's REST API, lets its real deployer create the pod or
CronJob on the mock API, lets the stand-in kubelet run it with podman, and then checks SCDF's
view (REST), the raw TASK_EXECUTION row and what the container really got and did.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from cluster import PodRun
from conftest import DB_SECRET, NAMESPACE, PLATFORM, Cluster
from scdf_rest import shell_options, shell_words
from servers import rows

ROW = (
    "SELECT TASK_EXECUTION_ID, TASK_NAME, START_TIME, END_TIME, EXIT_CODE, EXIT_MESSAGE, "
    "ERROR_MESSAGE, EXTERNAL_EXECUTION_ID, PARENT_EXECUTION_ID "
    "FROM TASK_EXECUTION WHERE TASK_EXECUTION_ID = :id"
)
PARAMS = "SELECT TASK_PARAM FROM TASK_EXECUTION_PARAMS WHERE TASK_EXECUTION_ID = :id"


@dataclass(frozen=True)
class Launched:
    execution_id: int
    pod_name: str
    run: PodRun
    view: dict[str, Any]
    row: dict[str, Any]

    @property
    def container(self) -> dict[str, Any]:
        container: dict[str, Any] = self.run.pod["spec"]["containers"][0]
        return container

    @property
    def env(self) -> dict[str, Any]:
        return {
            e["name"]: e.get("value", e.get("valueFrom")) for e in self.container.get("env", [])
        }


def properties(c: Cluster, *given: str, **deployer: str) -> str:
    """A launch's properties: the Kubernetes platform, ``given`` as they are, and
    deployer.<app>.kubernetes.<key>=<value> for each of ``deployer``."""
    # SCDF launches with the previous launch's deployer properties unless told otherwise: a
    # shell-style launch would make every later one shell style too.
    deployer.setdefault("entryPointStyle", "exec")
    pairs = [f"spring.cloud.dataflow.task.platformName={PLATFORM}", *given]
    pairs += [f"deployer.{c.task}.kubernetes.{key}={value}" for key, value in deployer.items()]
    return ",".join(pairs)


def readme_command(c: Cluster, prefix: str) -> dict[str, str]:
    """The options of the one shell command in the generated project's Kubernetes guide
    (docs/kubernetes.md, linked from its README) that starts with ``prefix``: the scenarios use
    what the guide tells users, as it says it."""
    guide = (c.project.directory / "docs" / "kubernetes.md").read_text()
    lines = [line for line in guide.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"not one line starting {prefix!r} in docs/kubernetes.md"
    options = shell_options(shell_words(lines[0]))
    return {k: v for k, v in options.items() if isinstance(v, str)}


def readme_properties(c: Cluster, start: str) -> str:
    """The --properties of the guide's `task launch` line whose properties begin with ``start``."""
    return readme_command(c, f'task launch {c.task} --properties "{start}')["properties"]


def launch(c: Cluster, arguments: str = "", *given: str, **deployer: str) -> Launched:
    execution_id, _ = c.scdf.launch(c.task, arguments, properties(c, *given, **deployer))
    pod_name = c.scdf.execution(execution_id)["externalExecutionId"]
    run = c.kubelet.wait(pod_name)
    assert not run.reason, f"pod {pod_name} not run: {run.reason}"
    view = c.scdf.wait_for(execution_id, timeout=30)
    return Launched(execution_id, pod_name, run, view, one_row(c, execution_id))


def one_row(c: Cluster, execution_id: int) -> dict[str, Any]:
    found = rows(c.engine, ROW, id=execution_id)
    assert len(found) == 1, found
    return found[0]


def params(c: Cluster, execution_id: int) -> list[str]:
    return [r["TASK_PARAM"] for r in rows(c.engine, PARAMS, id=execution_id)]


def assert_complete(c: Cluster, launched: Launched) -> None:
    row = launched.row
    log = c.kubelet.log(launched.pod_name)
    assert launched.run.exit_code == 0, log
    assert row["TASK_NAME"] == c.task, row
    assert row["EXIT_CODE"] == 0, (row, log)
    assert row["START_TIME"] is not None, row
    assert row["END_TIME"] is not None, row
    assert row["END_TIME"] >= row["START_TIME"], row
    assert row["EXIT_MESSAGE"] is None, row
    assert row["ERROR_MESSAGE"] is None, row
    assert row["EXTERNAL_EXECUTION_ID"] == launched.pod_name, row
    assert launched.view["taskExecutionStatus"] == "COMPLETE", launched.view
    assert launched.view["exitCode"] == 0, launched.view
    assert launched.view["externalExecutionId"] == launched.pod_name, launched.view


def no_password_anywhere(c: Cluster) -> None:
    """The database password is in nothing SCDF sent to Kubernetes (only in the secret)."""
    for write in c.api.writes():
        assert c.database.password not in json.dumps(write), write["path"]


# --- entry point styles ---------------------------------------------------------------------


def test_exec_launch_completes(cluster: Cluster) -> None:
    """The deployer's default style: every setting an argument, the execution id last."""
    launched = launch(cluster, imagePullPolicy="IfNotPresent")
    assert_complete(cluster, launched)
    container = launched.container
    assert "command" not in container, container  # the image's ENTRYPOINT runs
    args = container["args"]
    assert args[-1] == f"--spring.cloud.task.executionid={launched.execution_id}", args
    assert f"--spring.cloud.task.name={cluster.task}" in args, args
    assert f"--spring.datasource.url={cluster.database.jdbc_url}" in args, args
    assert not [a for a in args if a.startswith("--spring.datasource.username")], args
    assert not [a for a in args if a.startswith("--spring.datasource.password")], args
    assert container["imagePullPolicy"] == "IfNotPresent", container
    assert launched.env["SPRING_DATASOURCE_PASSWORD"] == {
        "secretKeyRef": {"key": "password", "name": DB_SECRET}
    }, launched.env
    assert launched.run.pod["metadata"]["namespace"] == NAMESPACE
    assert launched.run.pod["metadata"]["labels"]["spring-app-id"] == launched.pod_name
    # SCDF's log view reads the pod's log through the API (`task execution log`).
    log = cluster.scdf.request(
        "GET", f"/tasks/logs/{launched.pod_name}?platformName={PLATFORM}"
    ).body
    assert f"Python task {cluster.task} started: execution {launched.execution_id}" in log, log
    no_password_anywhere(cluster)


def test_boot_launch_completes(cluster: Cluster) -> None:
    """boot: the settings in SPRING_APPLICATION_JSON (flat keys), only arguments on argv."""
    launched = launch(cluster, entryPointStyle="boot")
    assert_complete(cluster, launched)
    settings = json.loads(launched.env["SPRING_APPLICATION_JSON"])
    assert settings["spring.datasource.url"] == cluster.database.jdbc_url, settings
    assert settings["spring.cloud.task.name"] == cluster.task, settings
    assert "spring.datasource.password" not in settings, settings
    args = launched.container["args"]
    assert args[-1] == f"--spring.cloud.task.executionid={launched.execution_id}", args
    assert not [a for a in args if a.startswith("--spring.datasource.")], args


def test_shell_launch_completes(cluster: Cluster) -> None:
    """shell: no arguments at all, every setting and argument an upper-cased variable."""
    launched = launch(cluster, "--work.seconds=0.5", entryPointStyle="shell")
    assert_complete(cluster, launched)
    assert launched.container.get("args", []) == [], launched.container
    env = launched.env
    assert env["SPRING_CLOUD_TASK_EXECUTIONID"] == str(launched.execution_id), env
    assert env["SPRING_DATASOURCE_URL"] == cluster.database.jdbc_url, env
    assert env["WORK_SECONDS"] == "0.5", env
    assert "SPRING_DATASOURCE_PASSWORD" in env, env  # from the secret, see the exec scenario


def test_error_message_fails_the_run_with_exit_code_1(cluster: Cluster) -> None:
    # No space: SCDF 2.11.5 answers HTTP 500 (StringIndexOutOfBoundsException) when its argument
    # splitter leaves a piece without '=' (DeploymentPropertiesUtils.parseArgumentList).
    launched = launch(cluster, "--error.message=boom-on-kubernetes")
    row = launched.row
    assert launched.run.exit_code == 1, cluster.kubelet.log(launched.pod_name)
    assert (row["EXIT_CODE"], row["EXIT_MESSAGE"]) == (1, None), row
    assert "RuntimeError: boom-on-kubernetes" in row["ERROR_MESSAGE"], row
    assert row["END_TIME"] is not None, row
    assert (launched.view["taskExecutionStatus"], launched.view["exitCode"]) == ("ERROR", 1)
    phase = cluster.api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods/{launched.pod_name}")[
        "status"
    ]
    assert phase["phase"] == "Failed", phase
    assert phase["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1, phase


def test_arguments_with_spaces_equals_and_quotes_arrive_intact(cluster: Cluster) -> None:
    # What SCDF's argument splitter (DeploymentPropertiesUtils.parseArgumentList) keeps whole:
    # a quoted value with spaces (quotes kept, as Spring Boot would get them), '=' in a value,
    # a lone apostrophe.
    wanted = ['--greeting="hello big world"', "--filter=a=b=c", "--quote=it's"]
    launched = launch(cluster, " ".join(wanted))
    assert_complete(cluster, launched)
    args = launched.container["args"]
    assert [a for a in args if a in wanted] == wanted, args
    recorded = params(cluster, launched.execution_id)
    assert [p for p in recorded if p in wanted] == wanted, recorded
    assert recorded == args, (recorded, args)  # every argument, in order, as the pod had it


def test_per_launch_secret_for_the_datasource(cluster: Cluster) -> None:
    """The login from a secret named at launch (deployer secretKeyRefs), over the account's."""
    secret = "task-db-login"
    cluster.api.create_secret(
        NAMESPACE, secret, {"user": cluster.database.user, "pass": cluster.database.password}
    )
    given = readme_properties(cluster, f"deployer.{cluster.task}.kubernetes.secretKeyRefs=")
    assert f"secretName: '{secret}'" in given, given
    launched = launch(cluster, "", given)
    assert_complete(cluster, launched)
    env = launched.container["env"]
    sources = [(e["name"], e.get("valueFrom")) for e in env if "DATASOURCE" in e["name"]]
    assert sources == [
        ("SPRING_DATASOURCE_USERNAME", {"secretKeyRef": {"key": "user", "name": secret}}),
        ("SPRING_DATASOURCE_PASSWORD", {"secretKeyRef": {"key": "pass", "name": secret}}),
    ], env
    assert cluster.database.password not in cluster.kubelet.log(launched.pod_name)
    no_password_anywhere(cluster)


def test_non_root_read_only_limited_pod(cluster: Cluster) -> None:
    """The pod settings a Python task wants: uid 10001, read-only root, limits, pull policy."""
    given = readme_properties(cluster, f"deployer.{cluster.task}.kubernetes.imagePullPolicy=")
    launched = launch(cluster, "", given)
    assert_complete(cluster, launched)
    spec = launched.run.pod["spec"]
    assert spec["terminationGracePeriodSeconds"] == 20, spec
    assert launched.container["imagePullPolicy"] == "IfNotPresent", launched.container
    assert spec["securityContext"] == {
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "runAsNonRoot": True,
    }, spec
    container = launched.container
    assert container["securityContext"] == {
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
    }, container
    assert container["resources"] == {
        "limits": {"memory": "256Mi", "cpu": "500m"},
        "requests": {"memory": "128Mi"},
    }, container
    argv = launched.run.argv
    assert argv[argv.index("--user") + 1] == "10001:10001", argv
    assert "--read-only" in argv, argv
    assert "--read-only-tmpfs=false" in argv, argv


def test_stop_deletes_the_pod_and_the_task_records_143_within_the_grace(
    cluster: Cluster,
) -> None:
    grace = 20
    execution_id, _ = cluster.scdf.launch(
        cluster.task,
        "--work.seconds=300",
        properties(cluster, terminationGracePeriodSeconds=str(grace)),
    )
    pod_name = cluster.scdf.execution(execution_id)["externalExecutionId"]
    cluster.scdf.wait_for(execution_id, ("RUNNING",), timeout=60)
    cluster.scdf.stop(execution_id)
    run = cluster.kubelet.wait(pod_name, timeout=grace + 30)
    assert run.pod["spec"]["terminationGracePeriodSeconds"] == grace, run.pod["spec"]
    assert run.deleted is not None, "the kubelet never saw the pod deleted"
    assert run.ended is not None
    assert run.exit_code == 143, cluster.kubelet.log(pod_name)
    assert run.ended - run.deleted < grace, (run.deleted, run.ended)
    row = one_row(cluster, execution_id)
    assert (row["EXIT_CODE"], row["EXIT_MESSAGE"]) == (143, None), row
    assert row["END_TIME"] is not None, row
    # Ended by the stop, not after its 300 s of work: the whole run fits the test's own wait.
    assert (row["END_TIME"] - row["START_TIME"]).total_seconds() < 120, row
    view = cluster.scdf.wait_for(execution_id, timeout=10)
    assert (view["taskExecutionStatus"], view["exitCode"]) == ("ERROR", 143), view


def test_batch_job_launched_on_kubernetes_is_listed(cluster: Cluster) -> None:
    launched = launch(cluster, "--orders.date=2024-06-01")
    assert_complete(cluster, launched)
    jobs = cluster.scdf.get("/jobs/executions?size=1000")["_embedded"]["jobExecutionResourceList"]
    mine = [j for j in jobs if j["taskExecutionId"] == launched.execution_id]
    assert [(j["name"], j["jobExecution"]["status"]) for j in mine] == [
        ("import-orders", "COMPLETED")
    ], jobs
    raw = rows(
        cluster.engine,
        "SELECT E.STATUS, E.EXIT_CODE FROM BATCH_JOB_EXECUTION E JOIN TASK_TASK_BATCH L "
        "ON L.JOB_EXECUTION_ID = E.JOB_EXECUTION_ID WHERE L.TASK_EXECUTION_ID = :id",
        id=launched.execution_id,
    )
    assert raw == [{"STATUS": "COMPLETED", "EXIT_CODE": "COMPLETED"}], raw
    assert mine[0]["executionId"] is not None


# --- schedules ------------------------------------------------------------------------------


def schedule(
    c: Cluster, name: str, arguments: str, *given: str, expression: str = "0 2 * * *", **props: str
) -> dict[str, Any]:
    """`task schedule create` (SchedulerTemplate.schedule: --expression becomes the property
    scheduler.cron.expression); the CronJob it made."""
    pairs = [f"scheduler.cron.expression={expression}", *given]
    pairs += [f"{k}={v}" for k, v in props.items()]
    form = {
        "scheduleName": name,
        "taskDefinitionName": c.task,
        "properties": ",".join(pairs),
        "arguments": arguments,
        "platform": PLATFORM,
    }
    c.scdf.request("POST", "/tasks/schedules", form)
    cronjob: dict[str, Any] = c.api.request(
        "GET", f"/apis/batch/v1/namespaces/{NAMESPACE}/cronjobs/{name}"
    )
    return cronjob


def unschedule(c: Cluster, name: str) -> None:
    c.scdf.request("DELETE", f"/tasks/schedules/{name}?platform={PLATFORM}")
    assert not [
        j
        for j in c.api.items(f"/apis/batch/v1/namespaces/{NAMESPACE}/cronjobs")
        if j["metadata"]["name"] == name
    ]


def last_id(c: Cluster) -> int:
    found = rows(c.engine, "SELECT MAX(TASK_EXECUTION_ID) AS M FROM TASK_EXECUTION")
    return int(found[0]["M"] or 0)


def rows_after(c: Cluster, after: int) -> list[dict[str, Any]]:
    return rows(c.engine, ROW.replace("= :id", "> :id") + " ORDER BY TASK_EXECUTION_ID", id=after)


def test_schedule_makes_a_cronjob_whose_run_records_itself(cluster: Cluster) -> None:
    c = cluster
    name = f"{c.task}-plain"
    cronjob = schedule(c, name, "--work.seconds=0.2")
    try:
        spec = cronjob["spec"]
        assert (spec["schedule"], spec["concurrencyPolicy"]) == ("0 2 * * *", "Allow"), spec
        template = spec["jobTemplate"]["spec"]["template"]
        assert template["spec"]["restartPolicy"] == "Never", template
        assert "spring-app-id" not in template["metadata"]["labels"], template
        args = template["spec"]["containers"][0]["args"]
        assert f"--spring.cloud.task.name={c.task}" in args, args
        assert "--work.seconds=0.2" in args, args
        # No execution id: the run makes its own row.
        assert not [a for a in args if a.startswith("--spring.cloud.task.executionid")], args
        before = last_id(c)
        pod = c.kubelet.pod_of_job(c.kubelet.fire(name))
        run = c.kubelet.wait(pod)
        assert run.exit_code == 0, c.kubelet.log(pod)
        made = rows_after(c, before)
        assert len(made) == 1, made
        row = made[0]
        assert (row["TASK_NAME"], row["EXIT_CODE"], row["EXTERNAL_EXECUTION_ID"]) == (
            c.task,
            0,
            None,
        ), row
        assert row["START_TIME"] is not None, row
        assert row["END_TIME"] is not None, row
        view = c.scdf.execution(row["TASK_EXECUTION_ID"])
        assert (view["taskExecutionStatus"], view["exitCode"]) == ("COMPLETE", 0), view
        assert "--work.seconds=0.2" in params(c, row["TASK_EXECUTION_ID"])
    finally:
        unschedule(c, name)


def test_overlapping_scheduled_runs_with_single_instance_one_is_refused(
    cluster: Cluster,
) -> None:
    c = cluster
    name = f"{c.task}-single"
    schedule(
        c,
        name,
        "--work.seconds=20",
        **{f"app.{c.task}.spring.cloud.task.single-instance-enabled": "true"},
    )
    try:
        before = last_id(c)
        first = c.kubelet.pod_of_job(c.kubelet.fire(name))
        # The second run starts once the first holds the lock (its row has a start time).
        deadline = time.monotonic() + 60
        while not [r for r in rows_after(c, before) if r["START_TIME"] is not None]:
            assert time.monotonic() < deadline, c.kubelet.log(first)
            time.sleep(0.2)
        second = c.kubelet.pod_of_job(c.kubelet.fire(name))
        refused = c.kubelet.wait(second)
        kept = c.kubelet.wait(first)
        assert (kept.exit_code, refused.exit_code) == (0, 1), c.kubelet.log(second)
        made = rows_after(c, before)
        assert [r["EXIT_CODE"] for r in made] == [0, 1], made
        assert f'Task with name "{c.task}" is already running.' in made[1]["ERROR_MESSAGE"]
        views = [c.scdf.execution(r["TASK_EXECUTION_ID"]) for r in made]
        assert [v["taskExecutionStatus"] for v in views] == ["COMPLETE", "ERROR"], views
        # The refused run ended while the first still worked.
        assert refused.ended is not None
        assert kept.ended is not None
        assert refused.ended < kept.ended
    finally:
        unschedule(c, name)


def set_external_id(c: Cluster, execution_id: int, value: str) -> None:
    with c.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE TASK_EXECUTION SET EXTERNAL_EXECUTION_ID = :v WHERE TASK_EXECUTION_ID = :id"
            ),
            {"v": value, "id": execution_id},
        )


def test_a_scheduled_run_is_shown_and_stopped_by_scdf_through_a_schedule_label(
    cluster: Cluster,
) -> None:
    """SCDF stops and shows the log of the pods labelled spring-app-id=<its external id>.

    A launch gets that label from the deployer; a schedule's pods only get it from the
    schedule's own deploymentLabels, and the task records the same value as its external
    execution id. SCDF keeps no deployment record of a scheduled run, so the stop must name
    the platform."""
    c = cluster
    readme = readme_command(c, "task schedule create ")
    name = readme["name"]
    assert readme["definitionName"] == c.task, readme
    assert readme["platform"] == "<account>", readme
    grace = 20
    schedule(
        c,
        name,
        "--work.seconds=300",
        readme["properties"],
        expression=readme["expression"],
        **{f"deployer.{c.task}.kubernetes.terminationGracePeriodSeconds": str(grace)},
    )
    try:
        before = last_id(c)
        pod = c.kubelet.pod_of_job(c.kubelet.fire(name))
        deadline = time.monotonic() + 60
        while not (made := [r for r in rows_after(c, before) if r["START_TIME"]]):
            assert time.monotonic() < deadline, c.kubelet.log(pod)
            time.sleep(0.2)
        execution_id = made[0]["TASK_EXECUTION_ID"]
        assert made[0]["EXTERNAL_EXECUTION_ID"] == name, made
        view = c.scdf.execution(execution_id)
        assert (view["taskExecutionStatus"], view["externalExecutionId"]) == ("RUNNING", name)
        # Without the platform SCDF looks for the deployment record a launch leaves: none.
        refused = c.scdf.request("POST", f"/tasks/executions/{execution_id}", {}, check=False)
        assert refused.status >= 400, refused
        assert f"No platform could be found for task execution id {execution_id}" in (
            refused.body
        ), refused
        log = c.scdf.request("GET", f"/tasks/logs/{name}?platformName={PLATFORM}").body
        assert f"Python task {c.task} started: execution {execution_id}" in log, log
        # The pod name (HOSTNAME) as the external id instead: SCDF accepts the stop and deletes
        # no pod, since it selects pods by the spring-app-id label, which carries no pod name.
        set_external_id(c, execution_id, pod)
        c.scdf.request("POST", f"/tasks/executions/{execution_id}?platform={PLATFORM}", {})
        time.sleep(2)
        assert c.kubelet.runs[pod].deleted is None, "a stop by pod name deleted the pod"
        assert c.scdf.execution(execution_id)["taskExecutionStatus"] == "RUNNING"
        set_external_id(c, execution_id, name)
        c.scdf.request("POST", f"/tasks/executions/{execution_id}?platform={PLATFORM}", {})
        run = c.kubelet.wait(pod, timeout=grace + 30)
        assert run.deleted is not None
        assert run.ended is not None
        assert run.exit_code == 143, c.kubelet.log(pod)
        assert run.ended - run.deleted < grace, (run.deleted, run.ended)
        row = one_row(c, execution_id)
        assert (row["EXIT_CODE"], row["EXTERNAL_EXECUTION_ID"]) == (143, name), row
        view = c.scdf.execution(execution_id)
        assert (view["taskExecutionStatus"], view["exitCode"]) == ("ERROR", 143), view
    finally:
        unschedule(c, name)
