#!/usr/bin/env bash
# Run the Kubernetes suite: a generated image launched, stopped and scheduled by a real SCDF
# 2.11.5 server through its Kubernetes platform, on the real single-node cluster of
# scripts/setup-kubernetes.sh; once on MariaDB and once on PostgreSQL (see docs/testing.md
# "Kubernetes tests").
#
#   bash test/kubernetes/run.sh [pytest args...]
#
# Makes (or reuses) the suite's venv .tools/kubernetes-venv, builds the generator when lib/ is
# missing, reads the database servers from .cache/databases.env and podman's settings from
# .cache/containers.env (scripts/setup-containers.sh), starts the cluster unless it runs (and
# then stops it again at the end), reads its settings from .cache/kubernetes/env, lints the
# suite and runs it. The tests build the server jar with Maven (cached in .cache/), generate the
# projects, build their images, import them into the cluster, and start and stop everything
# else themselves. Needs root, Java 17, Maven and podman.
# SCDF_TEST_REQUIRE_DATABASES=1 or CI=true turns every skip into a failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/test/kubernetes
VENV=$ROOT/.tools/kubernetes-venv
ENV_FILE=${SCDF_TEST_DATABASES_ENV_FILE:-$ROOT/.cache/databases.env}
CONTAINERS_ENV=$ROOT/.cache/containers.env

log() { printf 'kubernetes: %s\n' "$*" >&2; }

# shellcheck source=test/support/suite.sh
source "$ROOT/test/support/suite.sh"
ensure_venv "$VENV" "$HERE/requirements.txt"

ensure_built

if [[ -f $ENV_FILE ]]; then
  # shellcheck disable=SC1090
  source "$ENV_FILE"
else
  log "no $ENV_FILE: database servers only from SCDF_TEST_PG_* / SCDF_TEST_MARIADB_*"
fi
if [[ ! -f $CONTAINERS_ENV && $(id -u) -eq 0 ]]; then
  bash "$ROOT/scripts/setup-containers.sh"
fi
if [[ -f $CONTAINERS_ENV ]]; then
  # shellcheck disable=SC1090
  source "$CONTAINERS_ENV"
else
  log "no $CONTAINERS_ENV: run scripts/setup-containers.sh as root"
fi

K8S_ENV=$ROOT/.cache/kubernetes/env
if [[ $(id -u) -eq 0 ]]; then
  if ! bash "$ROOT/scripts/setup-kubernetes.sh" status >/dev/null 2>&1; then
    # Stopped again only when this run started it: a cluster someone else runs stays up.
    trap 'bash "$ROOT/scripts/setup-kubernetes.sh" stop' EXIT
    bash "$ROOT/scripts/setup-kubernetes.sh" start
  fi
  # shellcheck disable=SC1090
  source "$K8S_ENV"
else
  log "not root: no cluster (scripts/setup-kubernetes.sh needs root)"
fi

run_suite "$HERE" "$VENV" "$@"
