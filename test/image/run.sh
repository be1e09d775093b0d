#!/usr/bin/env bash
# Run the image suite: the generated image, built with podman, run the ways SCDF and Kubernetes
# run it, against real PostgreSQL and MariaDB.
#
#   bash test/image/run.sh [pytest args...]
#
# 1. reads the engine settings (.cache/containers.env, from scripts/setup-containers.sh: podman
#    with runc and the stand-in Python base made with debootstrap) and the database servers
#    (.cache/databases.env, from .ci/provision-databases.sh)
# 2. makes (or reuses) the contract suite's venv: the harness and the suite share their tools
# 3. builds the generator when lib/ is missing or older than its sources; the tests generate one
#    project per database and build its image with the generated Dockerfile, unchanged
# 4. lints the suite with ruff and runs pytest
#
# The engine and both servers are required: a missing one fails the run (nothing to skip to).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/test/image
VENV=$ROOT/.tools/contract-venv
ENV_FILE=${SCDF_TEST_DATABASES_ENV_FILE:-$ROOT/.cache/databases.env}
ENGINE_FILE=$ROOT/.cache/containers.env

log() { printf 'image: %s\n' "$*" >&2; }
# shellcheck source=test/support/suite.sh
source "$ROOT/test/support/suite.sh"

[[ -f $ENGINE_FILE ]] || die "no $ENGINE_FILE: run bash scripts/setup-containers.sh as root"
# shellcheck disable=SC1090
source "$ENGINE_FILE"
[[ -f $ENV_FILE ]] || die "no $ENV_FILE: run bash .ci/provision-databases.sh as root"
# shellcheck disable=SC1090
source "$ENV_FILE"

ensure_venv "$VENV" "$ROOT/test/contract/requirements.txt"
ensure_built
run_suite "$HERE" "$VENV" "$@"
