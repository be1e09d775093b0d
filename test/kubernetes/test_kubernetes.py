"""The generated image as SCDF 2.11.5's Kubernetes platform really drives it.

Each scenario goes through the real server's REST API, lets its real deployer create the pod or
CronJob on the mock API, lets the stand-in kubelet run it with podman, and then checks SCDF's
view (REST), the raw TASK_EXECUTION row and what the container really got and did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cluster import PodRun
from conftest import DB_SECRET, NAMESPACE, PLATFORM, Cluster
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


def properties(c: Cluster, **deployer: str) -> str:
    """A launch's properties: the Kubernetes platform, plus deployer.<app>.kubernetes.<key>."""
    pairs = [f"spring.cloud.dataflow.task.platformName={PLATFORM}"]
    pairs += [f"deployer.{c.task}.kubernetes.{key}={value}" for key, value in deployer.items()]
    return ",".join(pairs)


def launch(c: Cluster, arguments: str = "", **deployer: str) -> Launched:
    execution_id, _ = c.scdf.launch(c.task, arguments, properties(c, **deployer))
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
    no_password_anywhere(cluster)
