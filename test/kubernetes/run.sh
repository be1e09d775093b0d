#!/usr/bin/env bash
# Run the Kubernetes suite: a generated image launched, stopped and scheduled by a real SCDF
# 2.11.5 server through its Kubernetes platform, on a mock Kubernetes API with a stand-in
# kubelet that runs the pods with podman; once on MariaDB and once on PostgreSQL (see docs/testing.md
# "Kubernetes tests").
#
#   bash test/kubernetes/run.sh [pytest args...]
#
# Makes (or reuses) the suite's venv .tools/kubernetes-venv, builds the generator when lib/ is
# missing, reads the database servers from .cache/databases.env and podman's settings from
# .cache/containers.env (scripts/setup-containers.sh), lints the suite and runs it. The tests
# build the server and mock API jars with Maven (cached in .cache/), generate the projects, build
# their images, and start and stop everything themselves. Needs root, Java 17, Maven and podman.
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

run_suite "$HERE" "$VENV" "$@"
