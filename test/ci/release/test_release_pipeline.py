"""The generated GitHub pipeline's release for real, run by act on this machine.

A project generated with ``--ci github --docker-prefix 127.0.0.1:<port>`` (the port of an OCI
registry started here: go-containerregistry's ``registry``, in memory, plain HTTP) is run by act
(``-P ubuntu-latest=-self-hosted``, actions never fetched) as GitHub runs it on a pushed tag: the
jobs test, lint and image, then release, which needs them. ``docker`` in the jobs is podman (a
shim first on PATH, as Debian's podman-docker is; a build also gets the host network and pip's
settings this machine needs to reach PyPI); podman reaches the registry over plain HTTP through a
registries.conf of this test. The release job runs the project's ``scripts/scdf-rest.sh release``
against a real SCDF 2.11.5 server on PostgreSQL, started as the real-server suite starts it (its
``servers`` module); that server launches tasks with its own ``docker run``, which is podman too.

Stand-ins: ``actions/setup-python`` and ``actions/upload-artifact`` (checking their inputs, as in
test/ci/github-act.test.ts); GitHub's protected environment ``scdf`` is not enforced by act.
Everything else is real: the build, the push, the digest, the registration, the launch, the pull
by digest from the registry and the TASK_EXECUTION row.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "test" / "scdf-server"))

from scdf_rest import Scdf  # noqa: E402
from servers import (  # noqa: E402
    PODMAN,
    DataFlowServer,
    ScratchDatabase,
    docker_run_image,
    podman,
    rows,
    server_jar,
)

BIN = ROOT / "lib" / "bin" / "create-scdf-task.js"
TASK = "orders-etl"
# The GitLab project's task, released into the same server beside it.
GITLAB_TASK = "billing-etl"
# The stand-in base image (Debian trixie) has Python 3.13: the project is made for it.
PYTHON_VERSION = "3.13"
VERSION = "1.2.3"
UNRELEASED = "1.2.4"
LAUNCHED = re.compile(r"launched \S+: execution (\d+)")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def required() -> bool:
    return (
        os.environ.get("SCDF_TEST_REQUIRE_DATABASES", "") == "1"
        or os.environ.get("CI", "").lower() == "true"
    )


def unavailable(reason: str) -> None:
    if required():
        pytest.fail(f"{reason}, but the release-pipeline tests are required here", pytrace=False)
    pytest.skip(reason)


def ci_tools() -> dict[str, str]:
    file = ROOT / ".cache" / "ci-tools.env"
    if not file.exists():
        pytest.fail(f"{file} is missing: run bash scripts/setup-ci-tools.sh", pytrace=False)
    values = dict(line.split("=", 1) for line in file.read_text().splitlines() if "=" in line)
    for key in ("ACT_BIN", "REGISTRY_BIN", "GITLAB_CI_LOCAL_BIN", "NODE22_PATH"):
        if not Path(values.get(key, "")).exists():
            pytest.fail(f"{file}: {key} names no file; run scripts/setup-ci-tools.sh")
    return values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def without_colours(text: str) -> str:
    return re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|\([A-Z0-9])", "", text)


# --- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Registry:
    host: str  # 127.0.0.1:<port>
    log: Path

    def digest(self, repository: str, reference: str) -> str | None:
        """The manifest digest the registry serves for a tag (None when it has no such tag)."""
        request = urllib.request.Request(
            f"http://{self.host}/v2/{repository}/manifests/{reference}",
            method="HEAD",
            headers={
                "Accept": ",".join(
                    [
                        "application/vnd.oci.image.manifest.v1+json",
                        "application/vnd.oci.image.index.v1+json",
                        "application/vnd.docker.distribution.manifest.v2+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json",
                    ]
                )
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return str(answer.headers["Docker-Content-Digest"])
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def tags(self, repository: str) -> list[str]:
        try:
            with urllib.request.urlopen(
                f"http://{self.host}/v2/{repository}/tags/list", timeout=10
            ) as answer:
                return sorted(json.load(answer).get("tags") or [])
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return []
            raise


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    missing = [tool for tool in ("java", "mvn", "podman", "git") if shutil.which(tool) is None]
    if missing:
        unavailable(f"{' and '.join(missing)} not installed")
    return ci_tools()


@pytest.fixture(scope="module")
def registry(tools: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    work = tmp_path_factory.mktemp("registry")
    port = free_port()
    host = f"127.0.0.1:{port}"
    log = work / "registry.log"
    # podman (the jobs' docker and SCDF's) talks plain HTTP to this registry only.
    conf = work / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{host}"\ninsecure = true\n')
    previous = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    os.environ["CONTAINERS_REGISTRIES_CONF"] = str(conf)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [tools["REGISTRY_BIN"], "-port", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://{host}/v2/", timeout=2) as answer,
            ):
                if answer.status == 200:
                    break
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"registry not up:\n{log.read_text()}"
            time.sleep(0.2)
        yield Registry(host, log)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if previous is None:
            os.environ.pop("CONTAINERS_REGISTRIES_CONF", None)
        else:
            os.environ["CONTAINERS_REGISTRIES_CONF"] = previous


# --- the project, the runner's tools, the server ----------------------------------------------


@dataclass(frozen=True)
class Project:
    directory: Path
    repository: str  # the image repository in the registry, e.g. orders-etl
    image: str  # 127.0.0.1:<port>/orders-etl


def remove_images(prefix: str) -> None:
    """Removes every local image named under `prefix` (a registry of this test)."""
    listed = podman("images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").splitlines()
    ids = {line.split()[0] for line in listed if line.split()[1].startswith(prefix)}
    if ids:
        podman("rmi", "--force", *sorted(ids))


def generate(registry: Registry, work: Path, task: str, ci: str, forge: str) -> Project:
    """A project for `ci`, its image under the registry, committed, its remote on the forge."""
    if not BIN.exists():
        pytest.fail(f"{BIN} missing: run the suite through test/ci/release/run.sh", pytrace=False)
    made = run(
        [
            *("node", str(BIN), task, "--defaults", "--ci", ci, "--database", "postgresql"),
            *("--python-version", PYTHON_VERSION, "--docker-prefix", registry.host),
        ],
        cwd=work,
    )
    assert made.returncode == 0, made.stdout
    directory = work / task
    for args in (
        ["init", "--quiet", "--initial-branch=main"],
        ["add", "--all"],
        ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "generated"],
        ["remote", "add", "origin", f"https://{forge}/acme/{task}.git"],
    ):
        result = run(["git", *args], cwd=directory)
        assert result.returncode == 0, result.stdout
    return Project(directory, task, f"{registry.host}/{task}")


@pytest.fixture(scope="module")
def project(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    yield generate(registry, tmp_path_factory.mktemp("project"), TASK, "github", "github.com")
    # The registry's port is new on every run: leave no image named after it.
    remove_images(f"{registry.host}/")


@pytest.fixture(scope="module")
def gitlab_project(
    registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Project]:
    work = tmp_path_factory.mktemp("gitlab-project")
    yield generate(registry, work, GITLAB_TASK, "gitlab", "gitlab.example.com")
    remove_images(f"{registry.host}/")


def action(directory: Path, name: str, inputs: list[str], script: str) -> None:
    """A composite action standing in for a GitHub action that cannot be fetched here."""
    directory.mkdir(parents=True)
    lines = [
        f"name: {name} (test stand-in)",
        "description: checks its inputs, then does the job with what is installed",
        "inputs:",
        *[f"  {i}:\n    description: {i}\n    required: false" for i in inputs],
        "runs:",
        "  using: composite",
        "  steps:",
        "    - shell: bash",
        "      env:",
        *[f"        INPUT_{i.replace('-', '_').upper()}: ${{{{ inputs.{i} }}}}" for i in inputs],
        "      run: |",
        *[f"        {line}" for line in script.splitlines()],
        "",
    ]
    (directory / "action.yml").write_text("\n".join(lines))


@dataclass(frozen=True)
class Runner:
    """What act needs beyond the project: stand-in actions, a PATH with docker, artifacts."""

    actions: Path
    bin: Path
    artifacts: Path
    python_bin: Path


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    work = tmp_path_factory.mktemp("runner")
    found = shutil.which(f"python{PYTHON_VERSION}")
    if found is None:
        unavailable(f"python{PYTHON_VERSION} is not installed")
    # The interpreter itself, not a version manager's shim.
    interpreter = run([str(found), "-c", "import sys; print(sys.executable)"], cwd=work)
    python_bin = work / "python-bin"
    python_bin.mkdir()
    for name in ("python", "python3", f"python{PYTHON_VERSION}"):
        (python_bin / name).symlink_to(interpreter.stdout.strip())
    artifacts = work / "artifacts"
    action(
        work / "actions" / "setup-python",
        "setup-python",
        ["python-version"],
        f"[[ $INPUT_PYTHON_VERSION == '{PYTHON_VERSION}' ]] || {{ echo \"setup-python stand-in: "
        f'python-version $INPUT_PYTHON_VERSION is not {PYTHON_VERSION}"; exit 1; }}\n'
        f"echo '{python_bin}' >>\"$GITHUB_PATH\"",
    )
    action(
        work / "actions" / "upload-artifact",
        "upload-artifact",
        ["name", "path", "if-no-files-found"],
        '[[ -f $INPUT_PATH ]] || { echo "upload-artifact stand-in: no $INPUT_PATH"; exit 1; }\n'
        f"mkdir -p '{artifacts}/'\"$INPUT_NAME\"\n"
        f'cp "$INPUT_PATH" \'{artifacts}/\'"$INPUT_NAME"/',
    )
    ca = os.environ.get("SCDF_TEST_BUILD_CA", "/etc/ssl/certs/ca-certificates.crt")
    pip_conf = os.environ.get("SCDF_TEST_BUILD_PIP_CONF", "")
    if not pip_conf:
        pytest.fail("SCDF_TEST_BUILD_PIP_CONF not set: run scripts/setup-containers.sh")
    bin_dir = work / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    # The runner's docker is podman. A build gets what this machine needs to reach PyPI (the host
    # network, the CA bundle and pip's settings, mounted, never baked in), as the real-server
    # suite builds the generated image.
    docker.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = build ]; then\n'
        "  shift\n"
        f"  exec podman build --network=host -v '{ca}:{ca}:ro' -v '{pip_conf}:/etc/pip.conf:ro'"
        ' "$@"\n'
        "fi\n"
        'exec podman "$@"\n'
    )
    docker.chmod(0o755)
    # The GitLab release job installs curl into its image first; here curl is installed and the
    # job runs on this machine: its apt-get says so and installs nothing.
    apt_get = bin_dir / "apt-get"
    apt_get.write_text('#!/bin/sh\necho "apt-get stand-in: $*: curl is installed"\n')
    apt_get.chmod(0o755)
    return Runner(work / "actions", bin_dir, artifacts, python_bin)


@pytest.fixture(scope="module")
def server(tools: dict[str, str], registry: Registry, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[DataFlowServer]:  # fmt: skip
    host = os.environ.get("SCDF_TEST_PG_HOST", "")
    if not host:
        unavailable("no PostgreSQL server configured (SCDF_TEST_PG_HOST unset)")
    if os.geteuid() != 0:
        unavailable("making a scratch database and login needs root")
    database = ScratchDatabase("postgresql", host, int(os.environ.get("SCDF_TEST_PG_PORT") or 5432))
    database.create()
    # Started after the registry: its docker (podman) reads CONTAINERS_REGISTRIES_CONF.
    scdf = DataFlowServer(server_jar(), database, free_port(), tmp_path_factory.mktemp("scdf"))
    try:
        scdf.start()
        yield scdf
    finally:
        scdf.stop()
        database.drop()


def act(
    project: Project, runner: Runner, ref: str, job: str, secrets: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """act runs `job` of ci.yml (and the jobs it needs) as a push of `ref` would."""
    event = project.directory.parent / "event.json"
    event.write_text(json.dumps({"ref": ref}))
    command = [
        ci_tools()["ACT_BIN"],
        *("push", "--eventpath", str(event), "--workflows", ".github/workflows/ci.yml"),
        *("--job", job, "-P", "ubuntu-latest=-self-hosted", "--action-offline-mode"),
        "--local-repository",
        f"actions/setup-python@v6={runner.actions / 'setup-python'}",
        "--local-repository",
        f"actions/upload-artifact@v4={runner.actions / 'upload-artifact'}",
        # The user's own tests only: the utilities' tests run in test/ci/github-act.test.ts.
        *("--env", "PYTEST_ADDOPTS=-k test_python_task"),
    ]
    for name, value in secrets.items():
        command += ["--secret", f"{name}={value}"]
    env = {**os.environ, "PATH": f"{runner.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    result = run(command, cwd=project.directory, env=env)
    output = without_colours(result.stdout)
    return subprocess.CompletedProcess(result.args, result.returncode, output)


def scdf_rest(
    project: Project, server: DataFlowServer, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(project.directory / "scripts" / "scdf-rest.sh"), *args],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SCDF_URL": server.url,
            "SCDF_POLL_INTERVAL": "0.5",
            "SCDF_TIMEOUT": "300",
        },
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )


def app_versions(scdf: Scdf, task: str = TASK) -> dict[str, tuple[str, bool]]:
    page = scdf.get(f"/apps?type=task&search={task}&size=100")
    apps = page.get("_embedded", {}).get("appRegistrationResourceList", [])
    return {a["version"]: (a["uri"], a["defaultVersion"]) for a in apps if a["name"] == task}


# --- scenarios --------------------------------------------------------------------------------


def test_a_tag_pushes_the_image_and_releases_it_by_digest_then_a_launch_pulls_and_runs_it(
    project: Project, runner: Runner, registry: Registry, server: DataFlowServer
) -> None:
    scdf = Scdf(server.url)
    result = act(project, runner, f"refs/tags/v{VERSION}", "release", {"SCDF_URL": server.url})
    log = result.stdout
    assert result.returncode == 0, log
    for job in ("test", "lint", "image", "release"):
        assert re.search(rf"\[ci/{job}\s*\] 🏁  Job succeeded", log), f"{job} failed:\n{log}"

    # The image job pushed the tag; the digest it reported is the one the registry serves.
    pushed = registry.digest(project.repository, VERSION)
    assert pushed is not None, registry.tags(project.repository)
    assert DIGEST.fullmatch(pushed), pushed
    assert f"pushed {project.image}:{VERSION} as {pushed}" in log
    assert registry.tags(project.repository) == [VERSION]

    # The release job registered that digest as the version, made it the default and created
    # the definition, through scripts/scdf-rest.sh; nothing launched.
    version = f"{VERSION}@{pushed}"
    registered = f"{project.image}:{VERSION}@{pushed}"
    assert f"scdf-rest: registered task app {TASK} {version} as docker:{registered} (Boot 2)" in log
    assert f"scdf-rest: made {version} the default version of {TASK}" in log
    assert f"scdf-rest: created task definition {TASK}" in log
    assert app_versions(scdf) == {version: (f"docker:{registered}", True)}
    assert scdf.get(f"/tasks/definitions/{TASK}")["dslText"] == TASK
    assert server.docker_runs() == []

    # No copy of the image is left here: the launch must pull it from the registry, by digest.
    remove_images(f"{project.image}:")
    launch = scdf_rest(project, server, "launch")
    assert launch.returncode == 0, f"{launch.stderr}\n{server.log_tail()}"
    match = LAUNCHED.search(launch.stderr)
    assert match, launch.stderr
    execution_id = int(match.group(1))
    assert f"execution {execution_id} COMPLETE" in launch.stderr
    wanted = f"--spring.cloud.task.executionid={execution_id}"
    runs = [argv for argv in server.docker_runs() if wanted in argv]
    assert len(runs) == 1, server.docker_runs()
    ran, args = docker_run_image(runs[0])
    assert ran == registered
    assert args[-1] == wanted
    assert f"GET /v2/{project.repository}/manifests/{pushed}" in registry.log.read_text()
    # What podman pulled and ran is the pushed manifest.
    held = podman("image", "inspect", "--format", "{{.Digest}}", f"{project.image}@{pushed}")
    assert held.strip() == pushed
    row = rows(
        server.database.engine(),
        "SELECT TASK_NAME, EXIT_CODE, END_TIME FROM TASK_EXECUTION WHERE TASK_EXECUTION_ID = :id",
        id=execution_id,
    )
    assert len(row) == 1, row
    assert (row[0]["TASK_NAME"], row[0]["EXIT_CODE"]) == (TASK, 0)
    assert row[0]["END_TIME"] is not None
    execution = scdf.execution(execution_id)
    assert (execution["taskExecutionStatus"], execution["exitCode"]) == ("COMPLETE", 0)


def test_without_the_scdf_secret_the_release_is_skipped_with_a_notice_and_the_run_is_green(
    project: Project, runner: Runner, registry: Registry, server: DataFlowServer
) -> None:
    scdf = Scdf(server.url)
    before = app_versions(scdf)
    result = act(project, runner, f"refs/tags/v{UNRELEASED}", "release", {})
    log = result.stdout
    assert result.returncode == 0, log
    assert re.search(r"\[ci/release\s*\] 🏁  Job succeeded", log), log
    pushed = registry.digest(project.repository, UNRELEASED)
    assert pushed is not None, registry.tags(project.repository)
    assert (
        "::notice title=SCDF release skipped::the secret SCDF_URL is not set in the environment "
        f"scdf; the image {project.image}@{pushed} was pushed but not registered"
    ) in log
    assert "scdf-rest:" not in log
    assert app_versions(scdf) == before


def test_a_branch_push_builds_the_image_and_pushes_nothing(
    project: Project, runner: Runner, registry: Registry
) -> None:
    before = registry.tags(project.repository)
    sha = run(["git", "rev-parse", "HEAD"], cwd=project.directory).stdout.strip()
    result = act(project, runner, "refs/heads/main", "image", {})
    log = result.stdout
    assert result.returncode == 0, log
    assert re.search(r"\[ci/image\s*\] 🏁  Job succeeded", log), log
    assert re.search(r"\[ci/image\s*\]   ✅  Success - Main Build", log), log
    assert "pushed " not in log
    assert registry.tags(project.repository) == before
    podman("image", "exists", f"{project.image}:ci-{sha}")


# --- GitLab -----------------------------------------------------------------------------------

DIND = "docker.io/library/docker:28-dind"


@pytest.fixture(scope="module")
def dind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """gitlab-ci-local starts the build job's service docker:28-dind even with its shell
    executor, and Docker Hub cannot be reached: a stand-in image under that name that only
    sleeps. The job's docker is this machine's (podman), as with act."""
    base = os.environ.get("SCDF_TEST_JRE_BASE", "")
    if not base:
        pytest.fail("SCDF_TEST_JRE_BASE not set: run bash scripts/setup-containers.sh")
    present = subprocess.run([PODMAN, "image", "exists", DIND], check=False).returncode == 0
    if not present:
        context = tmp_path_factory.mktemp("dind")
        (context / "Containerfile").write_text(f'FROM {base}\nENTRYPOINT ["sleep", "infinity"]\n')
        podman("build", "--pull=never", "--network=none", "-t", DIND, str(context))
    yield
    if not present:
        podman("rmi", "--force", DIND)


def gitlab_ci_local(
    project: Project, runner: Runner, job: str, variables: dict[str, str], needs: bool = True
) -> subprocess.CompletedProcess[str]:
    """gitlab-ci-local runs `job` of .gitlab-ci.yml (shell executor), with the jobs it needs."""
    tools = ci_tools()
    command = [
        tools["GITLAB_CI_LOCAL_BIN"],
        *("--force-shell-executor", "--pull-policy", "if-not-present"),
        *(["--needs"] if needs else []),
    ]
    for name, value in variables.items():
        command += ["--variable", f"{name}={value}"]
    command.append(job)
    path = [str(runner.bin), str(runner.python_bin), tools["NODE22_PATH"], os.environ["PATH"]]
    result = run(command, cwd=project.directory, env={**os.environ, "PATH": ":".join(path)})
    return subprocess.CompletedProcess(
        result.args, result.returncode, without_colours(result.stdout)
    )


def test_gitlab_a_tag_pushes_the_image_and_releases_it_by_digest_then_a_launch_runs_it(
    gitlab_project: Project,
    runner: Runner,
    registry: Registry,
    server: DataFlowServer,
    dind: None,
) -> None:
    project, task = gitlab_project, GITLAB_TASK
    scdf = Scdf(server.url)
    result = gitlab_ci_local(
        project,
        runner,
        "release",
        {
            "CI_COMMIT_TAG": f"v{VERSION}",
            "SCDF_URL": server.url,
            "PYTEST_ADDOPTS": "-k test_python_task",
        },
    )
    # The lint job's venv, made where its image would have it: on this machine, with the shell
    # executor.
    shutil.rmtree("/tmp/lint", ignore_errors=True)
    log = result.stdout
    assert result.returncode == 0, log
    for job in ("test", "lint", "build-image", "release"):
        assert re.search(rf"PASS +{job}\b", log), f"{job} did not pass:\n{log}"
    pushed = registry.digest(project.repository, VERSION)
    assert pushed is not None, registry.tags(project.repository)
    assert f"pushed {project.image}:{VERSION} as {pushed}" in log
    version = f"{VERSION}@{pushed}"
    registered = f"{project.image}:{VERSION}@{pushed}"
    assert f"scdf-rest: registered task app {task} {version} as docker:{registered} (Boot 2)" in log
    assert f"scdf-rest: made {version} the default version of {task}" in log
    assert f"scdf-rest: created task definition {task}" in log
    assert app_versions(scdf, task) == {version: (f"docker:{registered}", True)}

    remove_images(f"{project.image}:")
    launch = scdf_rest(project, server, "launch")
    assert launch.returncode == 0, f"{launch.stderr}\n{server.log_tail()}"
    match = LAUNCHED.search(launch.stderr)
    assert match, launch.stderr
    execution_id = int(match.group(1))
    assert f"execution {execution_id} COMPLETE" in launch.stderr
    wanted = f"--spring.cloud.task.executionid={execution_id}"
    runs = [argv for argv in server.docker_runs() if wanted in argv]
    assert len(runs) == 1, server.docker_runs()
    assert docker_run_image(runs[0])[0] == registered
    assert f"GET /v2/{project.repository}/manifests/{pushed}" in registry.log.read_text()


def test_gitlab_a_branch_pipeline_builds_the_image_and_pushes_nothing(
    gitlab_project: Project, runner: Runner, registry: Registry, dind: None
) -> None:
    project = gitlab_project
    before = registry.tags(project.repository)
    sha = run(["git", "rev-parse", "HEAD"], cwd=project.directory).stdout.strip()
    result = gitlab_ci_local(project, runner, "build-image", {}, needs=False)
    log = result.stdout
    assert result.returncode == 0, log
    assert re.search(r"PASS +build-image\b", log), log
    assert "not a v* tag: the image is built, not pushed" in log
    assert "pushed " not in log
    assert registry.tags(project.repository) == before
    podman("image", "exists", f"{project.image}:ci-{sha}")
