"""The real single-node cluster of scripts/setup-kubernetes.sh, as the Kubernetes suite sees it.

The API server, the controllers, the scheduler, the kubelet, containerd and runc are the real
ones; this module only looks at them and does what a cluster admin would do by hand:

- ``Kube``: the API server over HTTPS as the cluster's admin (the client certificate of the
  kubeconfig that ``.cache/kubernetes/env`` names): secrets, reading pods, jobs, CronJobs and
  events, pod logs, and kubectl for what the generated guide tells users to run. SCDF never uses
  it: SCDF has its own service account, with the rules of scripts/kubernetes/scdf-rbac.yaml.
- ``PodWatch``: one watch on the namespace's pods of one task: when each pod was seen, ran, was
  marked for deletion, ended (its container's exit code, its log) and went away.
- ``task_process``: the task's process as the host's kernel sees it (uid, gid, no_new_privs,
  whether its root file system is read-only): what runc really applied.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / ".cache" / "kubernetes"


class ApiError(AssertionError):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body[:1000]}")
        self.status = status


@dataclass
class Kube:
    """The API server at ``api_url`` as the admin of ``kubeconfig``, in ``namespace``."""

    api_url: str
    ca_file: str
    kubectl_path: str
    kubeconfig: str
    namespace: str
    _context: ssl.SSLContext | None = None

    @classmethod
    def from_env(cls) -> Kube:
        return cls(
            api_url=os.environ["SCDF_TEST_K8S_API_URL"],
            ca_file=os.environ["SCDF_TEST_K8S_CA_FILE"],
            kubectl_path=os.environ["SCDF_TEST_KUBECTL"],
            kubeconfig=os.environ["KUBECONFIG"],
            namespace=os.environ["SCDF_TEST_K8S_NAMESPACE"],
        )

    def context(self) -> ssl.SSLContext:
        if self._context is None:
            view = json.loads(self.kubectl("config", "view", "--raw", "-o", "json").stdout)
            user = view["users"][0]["user"]
            context = ssl.create_default_context(cafile=self.ca_file)
            context.load_cert_chain(user["client-certificate"], user["client-key"])
            self._context = context
        return self._context

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.kubectl_path, "--kubeconfig", self.kubeconfig, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def open(
        self, method: str, path: str, body: Any = None, *, timeout: float = 30, **query: str
    ) -> Any:
        """The open response to one request (a watch reads it as a stream)."""
        url = self.api_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            return urllib.request.urlopen(request, timeout=timeout, context=self.context())
        except urllib.error.HTTPError as error:
            raise ApiError(method, path, error.code, error.read().decode()) from None

    def request(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        with self.open(method, path, body, **query) as response:
            text = response.read().decode()
        return json.loads(text) if text.strip() else None

    def text(self, path: str, **query: str) -> str:
        with self.open("GET", path, **query) as response:
            return str(response.read().decode(errors="replace"))

    def get(self, path: str) -> Any:
        """The object at ``path``, or None when there is none."""
        try:
            return self.request("GET", path)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def items(self, path: str, **query: str) -> list[dict[str, Any]]:
        return list(self.request("GET", path, **query).get("items") or [])

    def core(self, rest: str) -> str:
        return f"/api/v1/namespaces/{self.namespace}/{rest}"

    def batch(self, rest: str) -> str:
        return f"/apis/batch/v1/namespaces/{self.namespace}/{rest}"

    def delete(self, path: str, **query: str) -> None:
        with contextlib.suppress(ApiError):
            self.request("DELETE", path, **query)

    def put_secret(self, name: str, data: dict[str, str]) -> None:
        """An Opaque secret ``name`` holding exactly ``data`` (replaced if there is one)."""
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": self.namespace},
            "type": "Opaque",
            "stringData": data,
        }
        if self.get(self.core(f"secrets/{name}")) is not None:
            self.request("PUT", self.core(f"secrets/{name}"), secret)
        else:
            self.request("POST", self.core("secrets"), secret)

    def log(self, pod: str) -> str:
        """The pod's log, through the API server and the kubelet ('' once the pod is gone)."""
        try:
            return self.text(self.core(f"pods/{pod}/log"))
        except (ApiError, OSError):
            return ""

    def events(self, name: str) -> list[dict[str, Any]]:
        """The events recorded about the namespace's object ``name``."""
        return self.items(self.core("events"), fieldSelector=f"involvedObject.name={name}")


# --- pods, as the cluster runs them -------------------------------------------------------------


@dataclass
class PodRun:
    """What became of one pod; times are time.monotonic() when the watch saw each change."""

    name: str
    pod: dict[str, Any]
    seen: float
    running: float | None = None
    deleted: float | None = None
    ended: float | None = None
    gone: float | None = None
    exit_code: int | None = None
    # Why the container is not running (CreateContainerConfigError, ErrImageNeverPull...).
    waiting: str = ""
    # Why it ended (Completed, Error, ContainerStatusUnknown...).
    reason: str = ""
    log: str = ""
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def container(self) -> dict[str, Any]:
        container: dict[str, Any] = self.pod["spec"]["containers"][0]
        return container

    @property
    def phase(self) -> str:
        return str((self.pod.get("status") or {}).get("phase", ""))


# Waiting reasons the kubelet does not get past by itself.
NEVER_STARTS = frozenset(
    {"CreateContainerConfigError", "ErrImageNeverPull", "ErrImagePull", "InvalidImageName"}
)


def container_state(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    state: dict[str, Any] = statuses[0].get("state") or {}
    return state


@dataclass
class PodWatch:
    """A watch on the pods whose names start with ``prefix`` (one task's: its launches and its
    schedules' runs), kept in ``runs`` by pod name."""

    kube: Kube
    prefix: str
    runs: dict[str, PodRun] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"watch-{self.prefix}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _loop(self) -> None:
        version = ""
        while not self._stop.is_set():
            try:
                if not version:
                    listed = self.kube.request("GET", self.kube.core("pods"))
                    for pod in listed.get("items") or []:
                        self._see(pod, gone=False)
                    version = listed["metadata"]["resourceVersion"]
                version = self._watch(version)
            except (OSError, ValueError, ApiError) as error:
                # A quiet watch times out (see _watch) and is made again from its version.
                if not isinstance(error, TimeoutError):
                    self.errors.append(repr(error))
                    version = ""
                    self._stop.wait(0.5)

    def _watch(self, version: str) -> str:
        """Reads watch events from ``version`` on; returns the last version seen. A read that
        waits over 5 s ends the request (it is made again), so that stop() is heard."""
        response = self.kube.open(
            "GET",
            self.kube.core("pods"),
            timeout=5,
            watch="1",
            resourceVersion=version,
            allowWatchBookmarks="true",
            timeoutSeconds="300",
        )
        with response:
            for line in response:
                if self._stop.is_set():
                    break
                event = json.loads(line)
                pod = event["object"]
                if event["type"] == "ERROR":
                    # 410 Gone: the version is too old; list again.
                    return ""
                version = pod["metadata"]["resourceVersion"]
                if event["type"] != "BOOKMARK":
                    self._see(pod, gone=event["type"] == "DELETED")
        return version

    def _see(self, pod: dict[str, Any], *, gone: bool) -> None:
        name = pod["metadata"]["name"]
        if not name.startswith(self.prefix):
            return
        now = time.monotonic()
        with self._changed:
            run = self.runs.get(name)
            if run is None:
                run = self.runs[name] = PodRun(name, pod, now)
            run.pod = pod
            state = container_state(pod)
            if "running" in state and run.running is None:
                run.running = now
            run.waiting = str(state["waiting"].get("reason", "")) if "waiting" in state else ""
            if pod["metadata"].get("deletionTimestamp") and run.deleted is None:
                run.deleted = now
            if "terminated" in state and run.ended is None:
                run.ended = now
                run.exit_code = int(state["terminated"]["exitCode"])
                run.reason = str(state["terminated"].get("reason", ""))
                if not gone:
                    run.log = self.kube.log(name)
            if gone and run.gone is None:
                run.gone = now
            # The kubelet reports the container's end a moment before the pod's phase.
            if run.gone is not None or run.phase in ("Succeeded", "Failed"):
                run.done.set()
            self._changed.notify_all()

    def until(self, what: str, found: Any, timeout: float) -> Any:
        """The first truthy ``found()``, checked at every change the watch sees."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (result := found()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{what} not after {timeout} s; pods {self.summary()}; "
                        f"watch errors {self.errors}"
                    )
                self._changed.wait(min(left, 1.0))
        return result

    def wait(self, name: str, timeout: float = 120) -> PodRun:
        """The run of pod ``name`` once the pod has ended (phase Succeeded or Failed) or is
        gone; fails at once when the kubelet cannot start the container at all."""

        def ended() -> PodRun | None:
            run = self.runs.get(name)
            if run is not None and run.waiting in NEVER_STARTS:
                status = run.pod.get("status") or {}
                raise AssertionError(f"pod {name} cannot start: {run.waiting}: {status}")
            return run if run is not None and run.done.is_set() else None

        run: PodRun = self.until(f"pod {name} ended", ended, timeout)
        return run

    def wait_gone(self, name: str, timeout: float) -> PodRun:
        run: PodRun = self.until(
            f"pod {name} gone",
            lambda: (r := self.runs.get(name)) is not None and r.gone is not None and r,
            timeout,
        )
        return run

    def pod_of_job(self, job: str, timeout: float = 60) -> str:
        """The name of the pod the job controller made for ``job``."""
        name: str = self.until(
            f"a pod of job {job}",
            lambda: next(
                (
                    r.name
                    for r in self.runs.values()
                    if (r.pod["metadata"].get("labels") or {}).get("job-name") == job
                ),
                "",
            ),
            timeout,
        )
        return name

    def summary(self) -> dict[str, str]:
        return {
            name: f"{r.phase or '?'}/{r.waiting or r.exit_code}{' gone' if r.gone else ''}"
            for name, r in self.runs.items()
        }


# --- the task's process, as the host's kernel sees it ------------------------------------------


@dataclass(frozen=True)
class HostProcess:
    pid: int
    uid: int
    gid: int
    no_new_privs: bool
    read_only_root: bool


def task_process(marker: str, timeout: float = 30) -> HostProcess:
    """The host's view of the one process whose argv holds ``marker`` (the execution id SCDF
    appended): its user and group, no_new_privs, and whether its ``/`` is mounted read-only. No
    hostPID needed: the host sees every container's processes."""
    wanted = marker.encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                if wanted not in argv or not any(b"python" in a for a in argv[:1]):
                    continue
                status = dict(
                    line.split(":", 1)
                    for line in (entry / "status").read_text().splitlines()
                    if ":" in line
                )
                mounts = (entry / "mountinfo").read_text().splitlines()
            except OSError:
                continue  # ended or not ours to read
            root = [m.split() for m in mounts if m.split()[4] == "/"]
            return HostProcess(
                pid=int(entry.name),
                uid=int(status["Uid"].split()[1]),  # effective
                gid=int(status["Gid"].split()[1]),
                no_new_privs=status.get("NoNewPrivs", "0").strip() == "1",
                # The last mount on / is the one the process sees.
                read_only_root=bool(root) and "ro" in root[-1][5].split(","),
            )
        time.sleep(0.05)
    raise AssertionError(f"no process with {marker} in its argv after {timeout} s")
