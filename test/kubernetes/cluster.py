"""A stand-in Kubernetes for the Kubernetes suite: a mock API server and a stand-in kubelet.

Neither is Kubernetes. They are the smallest pieces that let the real SCDF 2.11.5 server drive
its real Kubernetes deployer (fabric8 client 5.12.4) against the real generated image:

- ``MockApi`` runs ``mock-api/`` (fabric8's ``kubernetes-server-mock`` 5.12.4 in CRUD mode,
  built with Maven from Maven Central and cached under ``.cache/kubernetes/``). It stores what
  clients create and validates nothing; it adds pod logs and a journal of every write.
- ``Kubelet`` does what a kubelet and the job and CronJob controllers would do for the pods SCDF
  asks for, and no more: it runs each new pod's first container with podman, as Kubernetes would
  run it (``command`` as the entry point, ``args`` as its arguments, ``env`` with ``valueFrom``
  secrets and config maps read from the API, ``securityContext`` ``runAsUser``/``runAsGroup``,
  ``runAsNonRoot`` and ``readOnlyRootFilesystem``, memory and CPU limits, the pod name as the
  host name), and writes the phase and the container's exit code back to the pod's status. A pod
  deleted through the API (the mock removes it at once) gets SIGTERM, then SIGKILL after its
  ``terminationGracePeriodSeconds``. A Job gets a pod from its template; a CronJob fires only
  when a test calls ``fire`` (no clock). It lists pods and jobs every 0.2 s rather than
  watching them: simpler, and a deletion is seen just as well.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import secrets
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servers import maven_jar

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MOCK_MODULE = HERE / "mock-api"
CACHE = ROOT / ".cache" / "kubernetes"
# The User-Agent of fabric8 5.12.4's HTTP client (OkHttp): tells SCDF's writes from the
# kubelet's own (Python-urllib).
FABRIC8 = "okhttp/"


def mock_api_jar() -> Path:
    """The mock API's executable jar, built with Maven once and cached as the server's is."""
    return maven_jar(MOCK_MODULE, "kubernetes-mock-api")


class ApiError(AssertionError):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body[:1000]}")
        self.status = status


@dataclass
class MockApi:
    """The mock API server on 127.0.0.1:port, plain HTTP, in ``workdir``."""

    jar: Path
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.workdir / "pod-logs"

    @property
    def journal(self) -> Path:
        return self.workdir / "api-journal.jsonl"

    @property
    def output(self) -> Path:
        return self.workdir / "mock-api.log"

    def start(self, timeout: float = 60) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [
            *("java", "-Xmx256m", "-jar", str(self.jar)),
            *(str(self.port), str(self.log_dir), str(self.journal)),
        ]
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"mock Kubernetes API exited with {self.process.returncode}:\n"
                    f"{self.output.read_text(errors='replace')}"
                )
            with contextlib.suppress(OSError):
                self.request("GET", "/api/v1/namespaces/default/pods")
                return
            time.sleep(0.5)
        self.stop()
        raise AssertionError(f"mock Kubernetes API not up after {timeout}s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            raise ApiError(method, path, error.code, error.read().decode()) from None
        return json.loads(text) if text.strip() else None

    def items(self, path: str) -> list[dict[str, Any]]:
        answer = self.request("GET", path)
        return list(answer.get("items") or [])

    def writes(self, client: str | None = FABRIC8) -> list[dict[str, Any]]:
        """Every write the API received, in order; only ``client``'s unless None."""
        if not self.journal.exists():
            return []
        entries = [json.loads(line) for line in self.journal.read_text().splitlines()]
        return [e for e in entries if client is None or (e["client"] or "").startswith(client)]

    def create_secret(self, namespace: str, name: str, data: dict[str, str]) -> None:
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque",
            "data": encoded,
        }
        self.request("POST", f"/api/v1/namespaces/{namespace}/secrets", secret)


@dataclass
class PodRun:
    """What the kubelet did with one pod: the spec it ran and how the container ended."""

    name: str
    pod: dict[str, Any]
    argv: list[str]
    started: float
    deleted: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    reason: str = ""
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class Kubelet:
    """The stand-in kubelet and job/CronJob controllers for one namespace (see the module)."""

    api: MockApi
    namespace: str
    engine: str = "podman"
    poll_seconds: float = 0.2
    runs: dict[str, PodRun] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _jobs_seen: set[str] = field(default_factory=set)
    _fired: Iterator[int] = field(default_factory=itertools.count)
    errors: list[str] = field(default_factory=list)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="kubelet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for run in list(self.runs.values()):
            if run.ended is None:
                self._engine("rm", "-f", "-t", "0", container_name(run.name))

    # --- the loop ----------------------------------------------------------------------------

    def _loop(self) -> None:
        ns = self.namespace
        while not self._stop.is_set():
            try:
                for job in self.api.items(f"/apis/batch/v1/namespaces/{ns}/jobs"):
                    self._control_job(job)
                pods = self.api.items(f"/api/v1/namespaces/{ns}/pods")
                names = {p["metadata"]["name"] for p in pods}
                for pod in pods:
                    if pod["metadata"]["name"] not in self.runs:
                        self._run_pod(pod)
                for run in list(self.runs.values()):
                    if run.name not in names and run.deleted is None and run.ended is None:
                        self._delete_pod(run)
            except Exception as error:
                self.errors.append(repr(error))
            self._stop.wait(self.poll_seconds)

    def _control_job(self, job: dict[str, Any]) -> None:
        """The job controller's part: one pod from the job's template, named as Kubernetes does."""
        name = job["metadata"]["name"]
        if name in self._jobs_seen:
            return
        self._jobs_seen.add(name)
        template = job["spec"]["template"]
        uid = job["metadata"].get("uid", "")
        labels = {**(template.get("metadata", {}).get("labels") or {})}
        labels.update({"job-name": name, "controller-uid": uid})
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{name}-{secrets.token_hex(3)[:5]}",
                "namespace": self.namespace,
                "labels": labels,
                "annotations": template.get("metadata", {}).get("annotations") or {},
                "ownerReferences": [
                    {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid}
                ],
            },
            "spec": template["spec"],
        }
        self.api.request("POST", f"/api/v1/namespaces/{self.namespace}/pods", pod)

    def fire(self, cronjob: str) -> str:
        """Starts a Job from the CronJob's template now, as the CronJob controller would at its
        schedule; returns the job's name. The job's pod follows from the loop."""
        ns = self.namespace
        cron = self.api.request("GET", f"/apis/batch/v1/namespaces/{ns}/cronjobs/{cronjob}")
        template = cron["spec"]["jobTemplate"]
        # The controller names a job after the CronJob and its scheduled minute; a test may fire
        # twice in a minute, hence a count after it.
        name = f"{cronjob}-{int(time.time() // 60)}{next(self._fired)}"
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": template.get("metadata", {}).get("labels") or {},
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "CronJob",
                        "name": cronjob,
                        "uid": cron["metadata"].get("uid", ""),
                    }
                ],
            },
            "spec": template["spec"],
        }
        self.api.request("POST", f"/apis/batch/v1/namespaces/{ns}/jobs", job)
        return name

    # --- one pod -----------------------------------------------------------------------------

    def _run_pod(self, pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        try:
            argv, env = self._container_command(pod)
        except PodConfigError as error:
            run = PodRun(name, pod, [], time.monotonic(), reason=str(error))
            self.runs[name] = run
            self._set_status(name, "Failed", waiting_reason=error.reason, message=str(error))
            run.ended = time.monotonic()
            run.done.set()
            return
        self.api.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.api.log_dir / f"{name}.log").open("wb")
        run = PodRun(name, pod, argv, time.monotonic())
        self.runs[name] = run
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self._set_status(name, "Running")
        threading.Thread(
            target=self._wait, args=(run, process), name=f"pod-{name}", daemon=True
        ).start()

    def _wait(self, run: PodRun, process: subprocess.Popen[bytes]) -> None:
        code = process.wait()
        with self._lock:
            run.ended = time.monotonic()
            run.exit_code = code
            deleted = run.deleted is not None
        # A deleted pod is gone from the API: writing its status would bring it back.
        if not deleted:
            self._set_status(run.name, "Succeeded" if code == 0 else "Failed", exit_code=code)
        run.done.set()

    def _delete_pod(self, run: PodRun) -> None:
        with self._lock:
            run.deleted = time.monotonic()
        grace = run.pod["spec"].get("terminationGracePeriodSeconds")
        grace = 30 if grace is None else int(grace)
        threading.Thread(target=self._stop_container, args=(run, grace), daemon=True).start()

    def _stop_container(self, run: PodRun, grace: int) -> None:
        # podman stop: SIGTERM to the container's PID 1, SIGKILL after the grace, as the kubelet.
        result = self._engine("stop", "-t", str(grace), container_name(run.name))
        if result.returncode != 0 and run.ended is None:
            self.errors.append(
                f"podman stop of pod {run.name} failed ({result.returncode}): "
                f"{result.stdout}{result.stderr}"
            )

    def _container_command(self, pod: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
        """The podman run argv for one container, and the environment its -e NAME read from.

        Values travel in the engine's environment, never on its command line: they may be
        secrets."""
        name = pod["metadata"]["name"]
        spec = pod["spec"]
        container = spec["containers"][0]
        policy = container.get("imagePullPolicy", "IfNotPresent")
        if policy == "Always":
            # There is no registry here; a real kubelet would fail the pull the same way.
            raise PodConfigError("ErrImagePull", "imagePullPolicy Always: no registry here")
        security = {**(spec.get("securityContext") or {})}
        security.update(container.get("securityContext") or {})
        argv = [
            *(self.engine, "run", "--rm", "--pull=never", "--network=host"),
            *("--name", container_name(name), "--hostname", name),
        ]
        user = security.get("runAsUser")
        if security.get("runAsNonRoot") and (user is None or int(user) == 0):
            # The kubelet checks the image's numeric USER when runAsUser is unset.
            image_user = self._image_user(container["image"])
            if user == 0 or not image_user.split(":")[0].isdigit() or image_user.startswith("0"):
                raise PodConfigError(
                    "CreateContainerConfigError",
                    f"container has runAsNonRoot and image has non-numeric or root user "
                    f"({image_user!r})",
                )
        if user is not None:
            group = security.get("runAsGroup")
            argv += ["--user", f"{user}:{group}" if group is not None else str(user)]
        if security.get("readOnlyRootFilesystem"):
            # Kubernetes mounts no tmpfs of its own; podman would, unless told not to.
            argv += ["--read-only", "--read-only-tmpfs=false"]
        limits = (container.get("resources") or {}).get("limits") or {}
        if "memory" in limits:
            argv += ["--memory", memory_bytes(str(limits["memory"]))]
        if "cpu" in limits:
            argv += ["--cpus", cpu_count(str(limits["cpu"]))]
        env: dict[str, str] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for key in ("CONTAINERS_CONF", "HOME"):
            if key in os.environ:
                env[key] = os.environ[key]
        for source in container.get("envFrom") or []:
            for key, value in self._env_from(source).items():
                env[key] = value
                argv += ["-e", key]
        for variable in container.get("env") or []:
            env[variable["name"]] = self._env_value(pod, variable)
            argv += ["-e", variable["name"]]
        if container.get("command"):
            argv += ["--entrypoint", json.dumps(container["command"])]
        argv.append(container["image"])
        argv += [str(a) for a in container.get("args") or []]
        return argv, env

    def _env_from(self, source: dict[str, Any]) -> dict[str, str]:
        """Every key of a secret or config map (envFrom), with the source's prefix."""
        for kind, path in (("secretRef", "secrets"), ("configMapRef", "configmaps")):
            ref = source.get(kind)
            if ref is None:
                continue
            try:
                found = self.api.request(
                    "GET", f"/api/v1/namespaces/{self.namespace}/{path}/{ref['name']}"
                )
            except ApiError as error:
                raise PodConfigError(
                    "CreateContainerConfigError", f"{path[:-1]} {ref['name']!r} not found"
                ) from error
            data = found.get("data") or {}
            prefix = source.get("prefix", "")
            if kind == "secretRef":
                return {prefix + k: base64.b64decode(v).decode() for k, v in data.items()}
            return {prefix + k: str(v) for k, v in data.items()}
        raise PodConfigError("CreateContainerConfigError", f"unsupported envFrom {source}")

    def _env_value(self, pod: dict[str, Any], variable: dict[str, Any]) -> str:
        if "value" in variable:
            return str(variable["value"])
        source = variable.get("valueFrom") or {}
        ns = self.namespace
        for kind, path in (("secretKeyRef", "secrets"), ("configMapKeyRef", "configmaps")):
            ref = source.get(kind)
            if ref is None:
                continue
            try:
                found = self.api.request("GET", f"/api/v1/namespaces/{ns}/{path}/{ref['name']}")
            except ApiError as error:
                raise PodConfigError(
                    "CreateContainerConfigError", f"{path[:-1]} {ref['name']!r} not found"
                ) from error
            data = found.get("data") or {}
            if ref["key"] not in data:
                raise PodConfigError(
                    "CreateContainerConfigError",
                    f"couldn't find key {ref['key']} in {path[:-1]} {ref['name']}",
                )
            value = data[ref["key"]]
            return base64.b64decode(value).decode() if kind == "secretKeyRef" else str(value)
        field_ref = source.get("fieldRef")
        if field_ref is not None:
            # The downward API: metadata.name, metadata.uid, ... of the pod as stored.
            value: Any = pod
            for part in field_ref["fieldPath"].split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                return str(value)
        raise PodConfigError("CreateContainerConfigError", f"unsupported env source {source}")

    def _image_user(self, image: str) -> str:
        result = self._engine("image", "inspect", "--format", "{{.Config.User}}", image)
        return result.stdout.strip()

    def _set_status(
        self,
        name: str,
        phase: str,
        *,
        exit_code: int | None = None,
        waiting_reason: str | None = None,
        message: str = "",
    ) -> None:
        if exit_code is not None:
            state: dict[str, Any] = {
                "terminated": {
                    "exitCode": exit_code,
                    "reason": "Completed" if exit_code == 0 else "Error",
                }
            }
        elif waiting_reason is not None:
            state = {"waiting": {"reason": waiting_reason, "message": message}}
        else:
            state = {"running": {"startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}
        container = self.runs[name].pod["spec"]["containers"][0]["name"]
        status = {
            "phase": phase,
            "containerStatuses": [{"name": container, "ready": phase == "Running", "state": state}],
        }
        path = f"/api/v1/namespaces/{self.namespace}/pods/{name}/status"
        # A JSON patch replaces the whole status; the mock's merge patch would merge the old
        # container state into the new one. A deleted pod answers 404 and stays deleted.
        with contextlib.suppress(ApiError):
            patch = [{"op": "add", "path": "/status", "value": status}]
            self.api.request("PATCH", path, patch, "application/json-patch+json")

    def _engine(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.engine, *args], capture_output=True, text=True, timeout=120, check=False
        )

    def wait(self, name: str, timeout: float = 120) -> PodRun:
        """The run of pod ``name`` once its container has ended."""
        deadline = time.monotonic() + timeout
        while name not in self.runs:
            if time.monotonic() > deadline:
                raise AssertionError(f"pod {name} never ran; kubelet errors: {self.errors}")
            time.sleep(0.1)
        run = self.runs[name]
        if not run.done.wait(max(0.0, deadline - time.monotonic())):
            raise AssertionError(f"pod {name} still running after {timeout}s")
        assert not self.errors, f"the stand-in kubelet failed: {self.errors}"
        return run

    def pod_of_job(self, job: str, timeout: float = 60) -> str:
        """The name of the pod the job controller made for ``job``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for run in list(self.runs.values()):
                if run.pod["metadata"].get("labels", {}).get("job-name") == job:
                    return run.name
            time.sleep(0.1)
        raise AssertionError(f"no pod for job {job} after {timeout}s; errors: {self.errors}")

    def log(self, name: str) -> str:
        path = self.api.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


class PodConfigError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def container_name(pod: str) -> str:
    return f"k8s-standin-{pod}"


def memory_bytes(quantity: str) -> str:
    """A Kubernetes memory quantity (``512Mi``, ``1G``, ``1000000``) as a byte count."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return str(int(float(quantity[: -len(suffix)]) * factor))
    return str(int(float(quantity)))


def cpu_count(quantity: str) -> str:
    """A Kubernetes CPU quantity (``500m``, ``1``) as podman's --cpus."""
    if quantity.endswith("m"):
        return str(int(quantity[:-1]) / 1000)
    return str(float(quantity))
