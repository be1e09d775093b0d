#!/usr/bin/env bash
# The whole test suite, with its own set-up: as root, the system packages and the database servers
# (scripts/setup-system.sh), podman and the stand-in base images (scripts/setup-containers.sh);
# lint, types, build, the Python tools the tests use; the generator and generated-project tests
# (Jest, the image built for every database among them; the generated CI pipelines linted and
# run with act and gitlab-ci-local); the real-database contract suite, again under a time zone
# far from UTC; the image suite (the built image run as SCDF and Kubernetes run it); the
# real-server suite (a generated project against SCDF 2.11.5 on MariaDB and PostgreSQL) and the
# generated release pipeline into that server; the Kubernetes suite (the same server's Kubernetes
# platform on a real single-node cluster, scripts/setup-kubernetes.sh); the fault suite
# (Toxiproxy between the generated task and the real servers).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

k8s_build=
stop_k8s_build() {
  if [[ -n $k8s_build ]]; then kill -- "-$k8s_build" 2>/dev/null || true; fi
}
trap stop_k8s_build EXIT

if [[ $(id -u) -eq 0 ]]; then
  bash scripts/setup-system.sh
  # podman and the stand-in base images the image tests build on
  bash scripts/setup-containers.sh
  # The cluster's binaries take about 20 minutes to build on an empty cache (nothing when cached).
  # They build at the lowest priority, in a process group of their own, while the suites before
  # the Kubernetes one run: those mostly wait on servers, so a first run pays little of the build.
  mkdir -p .cache/kubernetes
  setsid nice -n 19 bash scripts/kubernetes/build.sh >.cache/kubernetes/build.log 2>&1 &
  k8s_build=$!
else
  echo "test: not root, so no system set-up: the real-server suites use what is configured" >&2
fi
npm run --silent lint
npm run --silent typecheck
npm run --silent build
bash scripts/setup-tools.sh
# actionlint, act, check-jsonschema, gitlab-ci-local: built once into a cache outside the checkout
bash scripts/setup-ci-tools.sh
node --experimental-vm-modules node_modules/jest/bin/jest.js
bash test/contract/run.sh
# Spring Cloud Task writes the JVM's local wall clock, and the lock clock differs per generation:
# the scenarios that check times run again in a zone hours away from the servers' UTC, where a
# task writing UTC (or the server's clock) fails.
TZ=Asia/Tokyo bash test/contract/run.sh -q \
  -k "test_success or test_scheduled_launch or test_second_run_is_refused or test_python_and_java_runs"
bash test/image/run.sh
bash test/scdf-server/run.sh
# the generated release pipeline (act, gitlab-ci-local) into the same real server, through an OCI
# registry on loopback; a launch then runs the pushed image by digest
bash test/ci/release/run.sh
if [[ -n $k8s_build ]]; then
  wait "$k8s_build" || {
    cat .cache/kubernetes/build.log >&2
    exit 1
  }
  k8s_build=
  # the cluster itself, end to end: a pod, a signal, a CronJob, and nothing left after its stop
  bash scripts/kubernetes/check.sh
fi
bash test/kubernetes/run.sh
bash test/faults/run.sh
