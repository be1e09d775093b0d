"""The generated image as SCDF 2.11.5's Kubernetes platform drives it on a real cluster.

Each scenario goes through the real server's REST API. Its real deployer creates the pod or the
CronJob through the real API server (validated, defaulted, admitted), the scheduler binds the
pod, the kubelet runs it with containerd and runc, and the CronJob and Job controllers fire
schedules on their own clock. Each scenario then checks SCDF's view (REST), the raw
TASK_EXECUTION row, the pod as the cluster holds it and, where it matters, the task's process as
the host's kernel sees it.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from conftest import CLOCK_GRACE, EVERY_MINUTE, LAUNCH_SECRET, PLATFORM, ROOT, Cluster, schedule
from kube import PodRun, task_process
from scdf_rest import shell_options, shell_words
from servers import rows

ROW = (
    "SELECT TASK_EXECUTION_ID, TASK_NAME, START_TIME, END_TIME, EXIT_CODE, EXIT_MESSAGE, "
    "ERROR_MESSAGE, EXTERNAL_EXECUTION_ID, PARENT_EXECUTION_ID "
    "FROM TASK_EXECUTION WHERE TASK_EXECUTION_ID = :id"
)
PARAMS = "SELECT TASK_PARAM FROM TASK_EXECUTION_PARAMS WHERE TASK_EXECUTION_ID = :id"
# kubectl create job --from=cronjob/... marks the Job it makes so.
MANUAL = "cronjob.kubernetes.io/instantiate"


@dataclass(frozen=True)
class Launched:
    execution_id: int
    pod_name: str
    run: PodRun
    view: dict[str, Any]
    row: dict[str, Any]

    @property
    def container(self) -> dict[str, Any]:
        return self.run.container

    @property
    def env(self) -> dict[str, Any]:
        return {
            e["name"]: e.get("value", e.get("valueFrom")) for e in self.container.get("env", [])
        }


def properties(c: Cluster, *given: str, task: str = "", **deployer: str) -> str:
    """A launch's properties: the Kubernetes platform, ``given`` as they are, and
    deployer.<task>.kubernetes.<key>=<value> for each of ``deployer``."""
    # SCDF launches with the previous launch's deployer properties, key by key, unless told
    # otherwise: a shell-style launch would make every later one shell style too, and one with
    # imagePullPolicy=Always every later one fail to pull.
    deployer.setdefault("entryPointStyle", "exec")
    deployer.setdefault("imagePullPolicy", "IfNotPresent")
    pairs = [f"spring.cloud.dataflow.task.platformName={PLATFORM}", *given]
    pairs += [f"deployer.{task or c.task}.kubernetes.{k}={v}" for k, v in deployer.items()]
    return ",".join(pairs)


def guide_lines(c: Cluster, prefix: str) -> list[str]:
    guide = (c.project.directory / "docs" / "kubernetes.md").read_text()
    return [line for line in guide.splitlines() if line.startswith(prefix)]


def readme_command(c: Cluster, prefix: str) -> dict[str, str]:
    """The options of the one shell command in the generated project's Kubernetes guide
    (docs/kubernetes.md, linked from its README) that starts with ``prefix``: the scenarios use
    what the guide tells users, as it says it."""
    lines = guide_lines(c, prefix)
    assert len(lines) == 1, f"not one line starting {prefix!r} in docs/kubernetes.md"
    options = shell_options(shell_words(lines[0]))
    return {k: v for k, v in options.items() if isinstance(v, str)}


def readme_properties(c: Cluster, start: str) -> str:
    """The --properties of the guide's `task launch` line whose properties begin with ``start``."""
    return readme_command(c, f'task launch {c.task} --properties "{start}')["properties"]


def readme_kubectl(c: Cluster, prefix: str) -> list[str]:
    """The guide's one `kubectl` line starting with ``prefix``, its namespace filled in."""
    lines = guide_lines(c, prefix)
    assert len(lines) == 1, f"not one line starting {prefix!r} in docs/kubernetes.md"
    words = shlex.split(lines[0].replace("<namespace>", c.kube.namespace))
    assert words[0] == "kubectl", lines
    return words[1:]


def start(c: Cluster, arguments: str = "", *given: str, task: str = "", **deployer: str) -> int:
    execution_id, _ = c.scdf.launch(
        task or c.task, arguments, properties(c, *given, task=task, **deployer)
    )
    return execution_id


def finish(c: Cluster, execution_id: int) -> Launched:
    pod_name = c.scdf.execution(execution_id)["externalExecutionId"]
    run = c.pods.wait(pod_name)
    view = c.scdf.wait_for(execution_id, timeout=60)
    return Launched(execution_id, pod_name, run, view, one_row(c, execution_id))


def launch(c: Cluster, arguments: str = "", *given: str, **deployer: str) -> Launched:
    return finish(c, start(c, arguments, *given, **deployer))


def one_row(c: Cluster, execution_id: int) -> dict[str, Any]:
    found = rows(c.engine, ROW, id=execution_id)
    assert len(found) == 1, found
    return found[0]


def params(c: Cluster, execution_id: int) -> list[str]:
    return [r["TASK_PARAM"] for r in rows(c.engine, PARAMS, id=execution_id)]


def assert_complete(c: Cluster, launched: Launched) -> None:
    row = launched.row
    log = launched.run.log
    assert launched.run.exit_code == 0, log
    assert launched.run.phase == "Succeeded", launched.run.pod.get("status")
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


def scdf_log(c: Cluster, external_id: str) -> str:
    """`task execution log`: SCDF answers with the log as one JSON string."""
    log: str = c.scdf.get(f"/tasks/logs/{external_id}?platformName={PLATFORM}")
    return log


def no_password_anywhere(c: Cluster) -> None:
    """The database password is in no pod, Job or CronJob of the namespace (only in secrets)."""
    for path in (c.kube.core("pods"), c.kube.batch("jobs"), c.kube.batch("cronjobs")):
        for item in c.kube.items(path):
            assert c.database.password not in json.dumps(item), item["metadata"]["name"]


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
    assert container["image"] == cluster.project.image, container
    assert container["imagePullPolicy"] == "IfNotPresent", container
    assert launched.env["SPRING_DATASOURCE_PASSWORD"] == {
        "secretKeyRef": {"key": "password", "name": cluster.server.db_secret}
    }, launched.env
    pod = launched.run.pod
    assert pod["metadata"]["namespace"] == cluster.kube.namespace
    assert pod["metadata"]["labels"]["spring-app-id"] == launched.pod_name
    assert (pod["spec"]["restartPolicy"], pod["spec"]["hostNetwork"]) == ("Never", True)
    # Bound by the scheduler to the one node, run there by the kubelet.
    assert pod["spec"]["nodeName"] == os.environ["SCDF_TEST_K8S_NODE"], pod["spec"]
    # SCDF's log view reads the pod's log through the API server and the kubelet.
    log = scdf_log(cluster, launched.pod_name)
    assert f"Python task {cluster.task} started: execution {launched.execution_id}" in log, log
    assert log == launched.run.log
    no_password_anywhere(cluster)


def test_image_pull_policies_never_and_always(cluster: Cluster) -> None:
    """The guide's other two pull policies: Never runs the node's copy; Always asks the
    registry, which cannot be reached here, so the container never starts and the row stays
    without a start (UNKNOWN in SCDF); SCDF's stop removes the pod."""
    c = cluster
    assert_complete(c, launch(c, imagePullPolicy="Never"))
    execution_id = start(c, imagePullPolicy="Always")
    pod = c.scdf.execution(execution_id)["externalExecutionId"]
    pulling = ("ErrImagePull", "ImagePullBackOff")
    c.pods.until(
        f"pod {pod} failing to pull",
        lambda: (r := c.pods.runs.get(pod)) is not None and r.waiting in pulling,
        60,
    )
    c.scdf.stop(execution_id)
    run = c.pods.wait_gone(pod, timeout=60)
    # Never started: on deletion the kubelet reports it as it reports any container it cannot
    # find, 137.
    assert run.running is None, c.pods.summary()
    assert (run.exit_code, run.reason) == (137, "ContainerStatusUnknown"), run.pod.get("status")
    row = one_row(c, execution_id)
    assert (row["START_TIME"], row["END_TIME"], row["EXIT_CODE"]) == (None, None, None), row
    assert c.scdf.execution(execution_id)["taskExecutionStatus"] == "UNKNOWN"


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
    assert launched.run.exit_code == 1, launched.run.log
    assert (row["EXIT_CODE"], row["EXIT_MESSAGE"]) == (1, None), row
    assert "RuntimeError: boom-on-kubernetes" in row["ERROR_MESSAGE"], row
    assert row["END_TIME"] is not None, row
    assert (launched.view["taskExecutionStatus"], launched.view["exitCode"]) == ("ERROR", 1)
    pod = cluster.kube.request("GET", cluster.kube.core(f"pods/{launched.pod_name}"))
    assert pod["status"]["phase"] == "Failed", pod["status"]
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (1, "Error"), terminated


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
    secret = LAUNCH_SECRET
    cluster.kube.put_secret(
        secret, {"user": cluster.database.user, "pass": cluster.database.password}
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
    assert cluster.database.password not in launched.run.log
    no_password_anywhere(cluster)


# --- the pod's security context, enforced ---------------------------------------------------


def test_non_root_read_only_limited_pod(cluster: Cluster) -> None:
    """The guide's pod settings, enforced by the kubelet and runc: uid and gid 10001, no new
    privileges, a read-only root file system; and the pod as the API server stored it."""
    c = cluster
    given = readme_properties(c, f"deployer.{c.task}.kubernetes.imagePullPolicy=")
    execution_id = start(c, "--work.seconds=3", given)
    process = task_process(f"--spring.cloud.task.executionid={execution_id}")
    launched = finish(c, execution_id)
    assert_complete(c, launched)
    assert (process.uid, process.gid) == (10001, 10001), process
    assert process.no_new_privs, process
    assert process.read_only_root, process
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
    # The API server fills in a CPU request equal to the limit: only memory's was given.
    assert container["resources"] == {
        "limits": {"memory": "256Mi", "cpu": "500m"},
        "requests": {"memory": "128Mi", "cpu": "500m"},
    }, container


def test_an_arbitrary_uid_in_the_root_group_runs_the_task(cluster: Cluster) -> None:
    """A uid the image does not know, group 0 (as OpenShift assigns them): the task needs no
    home, no passwd entry and nothing writable."""
    c = cluster
    given = readme_properties(c, f"deployer.{c.task}.kubernetes.podSecurityContext=")
    assert "runAsUser: 1000650000" in given, given
    execution_id = start(c, "--work.seconds=3", given)
    process = task_process(f"--spring.cloud.task.executionid={execution_id}")
    launched = finish(c, execution_id)
    assert_complete(c, launched)
    assert (process.uid, process.gid) == (1000650000, 0), process
    assert process.read_only_root, process


# --- stops ----------------------------------------------------------------------------------


def test_stop_deletes_the_pod_and_the_task_records_143_within_the_grace(
    cluster: Cluster,
) -> None:
    c = cluster
    grace = 20
    execution_id = start(c, "--work.seconds=300", terminationGracePeriodSeconds=str(grace))
    pod_name = c.scdf.execution(execution_id)["externalExecutionId"]
    c.scdf.wait_for(execution_id, ("RUNNING",), timeout=60)
    stopped = time.monotonic()
    c.scdf.stop(execution_id)
    run = c.pods.wait_gone(pod_name, timeout=grace + 30)
    assert run.pod["spec"]["terminationGracePeriodSeconds"] == grace, run.pod["spec"]
    assert run.deleted is not None, "the watch never saw the pod marked for deletion"
    assert run.gone is not None
    # SIGTERM, not the SIGKILL at the grace: the task ended itself, and recorded it.
    assert run.exit_code == 143, (run.exit_code, run.log, c.pods.summary())
    assert run.gone - stopped < grace, (stopped, run.deleted, run.ended, run.gone)
    row = one_row(c, execution_id)
    assert (row["EXIT_CODE"], row["EXIT_MESSAGE"]) == (143, None), row
    assert row["END_TIME"] is not None, row
    assert (row["END_TIME"] - row["START_TIME"]).total_seconds() < 120, row
    view = c.scdf.wait_for(execution_id, timeout=10)
    assert (view["taskExecutionStatus"], view["exitCode"]) == ("ERROR", 143), view


def test_a_task_that_never_sees_sigterm_is_killed_at_the_grace(cluster: Cluster) -> None:
    """The image behind a shell-form entry point (conftest.shell_form_image): the kubelet's
    SIGTERM goes to the shell, which ignores it; SIGKILL follows at the grace, and the row is
    left RUNNING. The generated Dockerfile's exec form is what keeps this from happening."""
    c = cluster
    grace = 5
    task = c.project.shell_form_task
    execution_id = start(
        c, "--work.seconds=300", task=task, terminationGracePeriodSeconds=str(grace)
    )
    pod_name = c.scdf.execution(execution_id)["externalExecutionId"]
    c.scdf.wait_for(execution_id, ("RUNNING",), timeout=60)
    c.scdf.stop(execution_id)
    run = c.pods.wait_gone(pod_name, timeout=grace + 60)
    assert run.pod["spec"]["containers"][0]["image"] == c.project.shell_form_image
    assert run.deleted is not None
    assert run.ended is not None, c.pods.summary()
    killed_after = run.ended - run.deleted
    assert grace - 0.5 <= killed_after < grace + 10, (run.deleted, run.ended)
    assert run.exit_code == 137, (run.exit_code, run.log)
    row = one_row(c, execution_id)
    assert (row["END_TIME"], row["EXIT_CODE"]) == (None, None), row
    assert c.scdf.execution(execution_id)["taskExecutionStatus"] == "RUNNING"


# --- batch jobs -----------------------------------------------------------------------------


def job_of(c: Cluster, execution_id: int) -> dict[str, Any]:
    raw = rows(
        c.engine,
        "SELECT E.JOB_EXECUTION_ID, E.STATUS, E.EXIT_CODE FROM BATCH_JOB_EXECUTION E "
        "JOIN TASK_TASK_BATCH L ON L.JOB_EXECUTION_ID = E.JOB_EXECUTION_ID "
        "WHERE L.TASK_EXECUTION_ID = :id",
        id=execution_id,
    )
    assert len(raw) == 1, raw
    return raw[0]


def listed_jobs(c: Cluster, execution_id: int) -> list[dict[str, Any]]:
    jobs = c.scdf.get("/jobs/executions?size=1000")["_embedded"]["jobExecutionResourceList"]
    return [j for j in jobs if j["taskExecutionId"] == execution_id]


def test_batch_job_launched_on_kubernetes_is_listed(cluster: Cluster) -> None:
    launched = launch(cluster, "--orders.date=2024-06-01")
    assert_complete(cluster, launched)
    mine = listed_jobs(cluster, launched.execution_id)
    assert [(j["name"], j["jobExecution"]["status"]) for j in mine] == [
        ("import-orders", "COMPLETED")
    ], mine
    job = job_of(cluster, launched.execution_id)
    assert (job["STATUS"], job["EXIT_CODE"]) == ("COMPLETED", "COMPLETED"), job
    assert mine[0]["executionId"] == job["JOB_EXECUTION_ID"]


def test_a_failed_step_is_restarted_by_scdf_in_a_new_pod(cluster: Cluster) -> None:
    """The load step writes into a folder of a hostPath volume that is not there: it fails.
    SCDF's restart launches a new pod with the same volume; the folder now exists, only load
    runs again."""
    c = cluster
    host = Path(tempfile.mkdtemp(prefix=f"orders-{c.kind}-"))
    host.chmod(0o755)
    try:
        restart_after_failed_step(c, host)
    finally:
        shutil.rmtree(host)


def restart_after_failed_step(c: Cluster, host: Path) -> None:
    date = "2024-07-01"
    volumes = (
        f"deployer.{c.task}.kubernetes.volumes=[{{name: orders, hostPath: {{path: '{host}'}}}}]"
    )
    mounts = f"deployer.{c.task}.kubernetes.volumeMounts=[{{name: orders, mountPath: '/orders'}}]"
    failed = launch(c, f"--orders.date={date} --orders.output=/orders/out", volumes, mounts)
    assert failed.run.exit_code == 1, failed.run.log
    assert failed.row["EXIT_CODE"] == 1, failed.row
    job = job_of(c, failed.execution_id)
    assert job["STATUS"] == "FAILED", job
    [shown] = listed_jobs(c, failed.execution_id)
    assert (shown["jobExecution"]["status"], shown["restartable"]) == ("FAILED", True), shown

    (host / "out").mkdir()
    (host / "out").chmod(0o777)  # the task's user, 10001, writes into it
    before = last_id(c)
    job_id = job["JOB_EXECUTION_ID"]
    c.scdf.request("PUT", f"/jobs/executions/{job_id}?restart=true&schemaTarget=boot2")
    deadline = time.monotonic() + 60
    while (restarted_id := last_id(c)) == before:
        assert time.monotonic() < deadline, "the restart launched no task"
        time.sleep(0.25)
    restarted = finish(c, restarted_id)
    assert_complete(c, restarted)
    assert restarted.pod_name != failed.pod_name
    mounted = [m["mountPath"] for m in restarted.container.get("volumeMounts", [])]
    assert "/orders" in mounted, restarted.container
    again = job_of(c, restarted_id)
    assert again["STATUS"] == "COMPLETED", again
    steps = rows(
        c.engine,
        "SELECT STEP_NAME, STATUS, WRITE_COUNT FROM BATCH_STEP_EXECUTION "
        "WHERE JOB_EXECUTION_ID = :id ORDER BY STEP_EXECUTION_ID",
        id=again["JOB_EXECUTION_ID"],
    )
    assert [(s["STEP_NAME"], s["STATUS"], s["WRITE_COUNT"]) for s in steps] == [
        ("load", "COMPLETED", 3)
    ], steps
    assert (host / "out" / f"orders-{date}.csv").read_text() == "0\n1\n2\n"


# --- schedules ------------------------------------------------------------------------------


def unschedule(c: Cluster, name: str) -> None:
    c.scdf.request("DELETE", f"/tasks/schedules/{name}?platform={PLATFORM}")
    assert c.kube.get(c.kube.batch(f"cronjobs/{name}")) is None


def last_id(c: Cluster) -> int:
    found = rows(c.engine, "SELECT MAX(TASK_EXECUTION_ID) AS M FROM TASK_EXECUTION")
    return int(found[0]["M"] or 0)


def rows_after(c: Cluster, after: int) -> list[dict[str, Any]]:
    return rows(c.engine, ROW.replace("= :id", "> :id") + " ORDER BY TASK_EXECUTION_ID", id=after)


def rows_of(c: Cluster, external_id: str) -> list[dict[str, Any]]:
    query = ROW.replace("TASK_EXECUTION_ID = :id", "EXTERNAL_EXECUTION_ID = :x")
    return rows(c.engine, query + " ORDER BY TASK_EXECUTION_ID", x=external_id)


def until(what: str, found: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := found()):
        assert time.monotonic() < deadline, f"{what}: not after {timeout:.0f} s"
        time.sleep(0.25)
    return result


def set_external_id(c: Cluster, execution_id: int, value: str) -> None:
    with c.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE TASK_EXECUTION SET EXTERNAL_EXECUTION_ID = :v WHERE TASK_EXECUTION_ID = :id"
            ),
            {"v": value, "id": execution_id},
        )


def test_the_guides_schedule_run_by_hand_is_shown_and_stopped_by_scdf(cluster: Cluster) -> None:
    """The guide's `task schedule create` as written, and its `kubectl create job --from` to
    run it now: SCDF shows the run's log and stops it by its label, naming the platform.

    A launch's pod gets spring-app-id from the deployer; a schedule's pods only from the
    schedule's own deploymentLabels, and the task records the same value as its external
    execution id. SCDF keeps no deployment record of a scheduled run, so the stop must name
    the platform."""
    c = cluster
    readme = readme_command(c, "task schedule create ")
    name = readme["name"]
    assert readme["definitionName"] == c.task, readme
    assert readme["platform"] == "<account>", readme
    grace = 20
    cronjob = schedule(
        c,
        name,
        "--work.seconds=300",
        readme["properties"],
        expression=readme["expression"],
        **{f"deployer.{c.task}.kubernetes.terminationGracePeriodSeconds": str(grace)},
    )
    try:
        spec = cronjob["spec"]
        assert (spec["schedule"], spec["concurrencyPolicy"]) == ("0 2 * * *", "Forbid"), spec
        template = spec["jobTemplate"]["spec"]["template"]
        assert template["spec"]["restartPolicy"] == "Never", template
        assert template["metadata"]["labels"]["spring-app-id"] == name, template
        args = template["spec"]["containers"][0]["args"]
        assert f"--spring.cloud.task.name={c.task}" in args, args
        # No execution id: each run makes its own row.
        assert not [a for a in args if a.startswith("--spring.cloud.task.executionid")], args
        command = readme_kubectl(c, "kubectl create job --from=cronjob/")
        c.kube.kubectl(*command)
        job = command[3]
        assert job == f"{name}-now", command
        pod = c.pods.pod_of_job(job)
        made = until("the run's row", lambda: [r for r in rows_of(c, name) if r["START_TIME"]], 90)
        execution_id = made[0]["TASK_EXECUTION_ID"]
        view = c.scdf.execution(execution_id)
        assert (view["taskExecutionStatus"], view["externalExecutionId"]) == ("RUNNING", name)
        # Without the platform SCDF looks for the deployment record a launch leaves: none.
        refused = c.scdf.request("POST", f"/tasks/executions/{execution_id}", {}, check=False)
        assert refused.status >= 400, refused
        assert f"No platform could be found for task execution id {execution_id}" in (
            refused.body
        ), refused
        started = f"Python task {c.task} started: execution {execution_id}"
        until(f"{started!r} in SCDF's log view", lambda: started in scdf_log(c, name), 15)
        # The pod name (HOSTNAME) as the external id instead: SCDF accepts the stop and deletes
        # no pod, since it selects pods by the spring-app-id label, which carries no pod name.
        set_external_id(c, execution_id, pod)
        c.scdf.request("POST", f"/tasks/executions/{execution_id}?platform={PLATFORM}", {})
        time.sleep(2)
        assert c.pods.runs[pod].deleted is None, "a stop by pod name deleted the pod"
        assert c.scdf.execution(execution_id)["taskExecutionStatus"] == "RUNNING"
        set_external_id(c, execution_id, name)
        stopped = time.monotonic()
        c.scdf.request("POST", f"/tasks/executions/{execution_id}?platform={PLATFORM}", {})
        run = c.pods.wait_gone(pod, timeout=grace + 30)
        assert run.exit_code == 143, (run.exit_code, run.log)
        assert run.gone is not None
        assert run.gone - stopped < grace, (stopped, run.gone)
        row = one_row(c, execution_id)
        assert (row["EXIT_CODE"], row["EXTERNAL_EXECUTION_ID"]) == (143, name), row
        view = c.scdf.execution(execution_id)
        assert (view["taskExecutionStatus"], view["exitCode"]) == ("ERROR", 143), view
    finally:
        unschedule(c, name)


def controller_jobs(c: Cluster, cronjob: str) -> list[str]:
    """The Jobs the CronJob controller started for ``cronjob`` (not those made by hand)."""
    return sorted(
        j["metadata"]["name"]
        for j in c.kube.items(c.kube.batch("jobs"))
        if any(o["name"] == cronjob for o in j["metadata"].get("ownerReferences") or [])
        and MANUAL not in (j["metadata"].get("annotations") or {})
    )


def scheduled_time(job: dict[str, Any]) -> float:
    """The wall-clock minute the controller fired ``job`` for (its own annotation)."""
    stamp = job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_the_cronjob_controller_fires_the_schedule_on_its_own_clock(cluster: Cluster) -> None:
    """The schedule made at set-up (conftest.bring_up), `* * * * *`: the CronJob controller
    starts its first run at the first full minute; with concurrencyPolicy Forbid it starts
    none at the next minute while that run works; a run made by hand meanwhile is refused by the
    task itself (single instance); SCDF shows and stops the first run."""
    c = cluster
    name = c.clock.name
    try:
        cronjob = c.kube.request("GET", c.kube.batch(f"cronjobs/{name}"))
        spec = cronjob["spec"]
        assert (spec["schedule"], spec["concurrencyPolicy"]) == (EVERY_MINUTE, "Forbid"), spec
        pod_spec = spec["jobTemplate"]["spec"]["template"]["spec"]
        assert pod_spec["terminationGracePeriodSeconds"] == CLOCK_GRACE, pod_spec
        # Fired within a minute of being made, plus the controller's and the machine's delays.
        left = c.clock.made + 60 + 45 - time.monotonic()
        [job] = until("the controller's first job", lambda: controller_jobs(c, name), left)
        first = c.pods.pod_of_job(job)
        made = until(
            "the first run's row", lambda: [r for r in rows_of(c, name) if r["START_TIME"]], 90
        )
        execution_id = made[0]["TASK_EXECUTION_ID"]
        view = c.scdf.execution(execution_id)
        assert (view["taskExecutionStatus"], view["externalExecutionId"]) == ("RUNNING", name)
        started = f"Python task {c.task} started: execution {execution_id}"
        until(f"{started!r} in SCDF's log view", lambda: started in scdf_log(c, name), 15)

        # The next minute: the controller skips it, and says why.
        fired = scheduled_time(c.kube.request("GET", c.kube.batch(f"jobs/{job}")))
        wait = fired + 60 + 45 - time.time()
        skipped = until(
            "the controller's JobAlreadyActive event",
            lambda: [e for e in c.kube.events(name) if e.get("reason") == "JobAlreadyActive"],
            max(wait, 5),
        )
        assert "concurrency policy is Forbid" in skipped[0]["message"], skipped
        assert controller_jobs(c, name) == [job]

        # A run made by hand is held back by no concurrencyPolicy: the task refuses it.
        c.kube.kubectl(
            "-n", c.kube.namespace, "create", "job", f"--from=cronjob/{name}", f"{name}-overlap"
        )
        second = c.pods.pod_of_job(f"{name}-overlap")
        refused = c.pods.wait(second)
        assert refused.exit_code == 1, refused.log
        assert c.pods.runs[first].ended is None, "the first run ended before the second"
        both = rows_of(c, name)
        assert [r["EXIT_CODE"] for r in both] == [None, 1], both
        assert f'Task with name "{c.task}" is already running.' in both[1]["ERROR_MESSAGE"], both

        stopped = time.monotonic()
        c.scdf.request("POST", f"/tasks/executions/{execution_id}?platform={PLATFORM}", {})
        run = c.pods.wait_gone(first, timeout=CLOCK_GRACE + 30)
        assert run.exit_code == 143, (run.exit_code, run.log)
        assert run.gone is not None
        assert run.gone - stopped < CLOCK_GRACE, (stopped, run.gone)
        row = one_row(c, execution_id)
        assert (row["EXIT_CODE"], row["EXTERNAL_EXECUTION_ID"]) == (143, name), row
    finally:
        unschedule(c, name)


# --- what the guide gives for the cluster itself ---------------------------------------------


def parsed(c: Cluster, yaml: str) -> list[dict[str, Any]]:
    """Kubernetes objects of a YAML text, as kubectl reads them (no server involved)."""
    out = c.kube.kubectl("create", "--dry-run=client", "-o", "json", "-f", "-", stdin=yaml).stdout
    # One JSON document per object, one after the other.
    decoder, items, at = json.JSONDecoder(), [], 0
    while out[at:].strip():
        item, at = decoder.raw_decode(out, len(out) - len(out[at:].lstrip()))
        items.append(item)
    return items


def test_the_guides_rbac_is_what_scdf_ran_with_here(cluster: Cluster) -> None:
    """The guide's service account, token and Role are scripts/kubernetes/scdf-rbac.yaml, the
    rules this cluster gives SCDF; and SCDF acted as that account and was never refused."""
    c = cluster
    guide = (c.project.directory / "docs" / "kubernetes.md").read_text()
    blocks = guide.split("```yaml\n")[1:]
    assert len(blocks) == 1, "not one yaml block in docs/kubernetes.md"
    shown = blocks[0].split("```", 1)[0]
    used = (ROOT / "scripts" / "kubernetes" / "scdf-rbac.yaml").read_text()
    assert len(parsed(c, used)) == 4
    assert parsed(c, shown) == parsed(c, used)

    user = f"system:serviceaccount:{c.kube.namespace}:{os.environ['SCDF_TEST_K8S_SERVICE_ACCOUNT']}"
    since = datetime.fromtimestamp(c.since).astimezone()
    entries = []
    for line in Path(os.environ["SCDF_TEST_K8S_AUDIT_LOG"]).read_text().splitlines():
        entry = json.loads(line)
        stamp = datetime.fromisoformat(entry["requestReceivedTimestamp"].replace("Z", "+00:00"))
        if entry["user"]["username"] == user and stamp >= since:
            entries.append(entry)
    assert entries, f"no request of {user} since the set-up: SCDF used other credentials"
    refused = [e for e in entries if (e.get("responseStatus") or {}).get("code") == 403]
    assert not refused, refused[:3]
