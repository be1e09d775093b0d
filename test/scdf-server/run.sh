#!/usr/bin/env bash
# Run the real-server suite: a generated project against a real SCDF 2.11.5 server, once on
# MariaDB and once on PostgreSQL (see docs/testing.md "Real SCDF server tests").
#
#   bash test/scdf-server/run.sh [pytest args...]
#
# Makes (or reuses) the suite's venv .tools/scdf-server-venv, builds the generator when lib/ is
# missing, reads the database servers from .cache/databases.env (.ci/provision-databases.sh
# writes it), lints the suite and runs it. The tests build the server jar with Maven (cached in
# .cache/scdf-server/), generate the projects, and start and stop the servers themselves.
# Needs root (scratch logins and podman), Java 17 and Maven; the tests build the generated image
# and the timestamp app's image with podman. SCDF_TEST_REQUIRE_DATABASES=1 or CI=true turns
# every skip into a failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/test/scdf-server
VENV=$ROOT/.tools/scdf-server-venv
ENV_FILE=${SCDF_TEST_DATABASES_ENV_FILE:-$ROOT/.cache/databases.env}

log() { printf 'scdf-server: %s\n' "$*" >&2; }

# shellcheck source=test/support/suite.sh
source "$ROOT/test/support/suite.sh"
ensure_venv "$VENV" "$HERE/requirements.txt"

ensure_built

# podman and the stand-in base images (scripts/setup-containers.sh writes this file)
ENGINE_FILE=$ROOT/.cache/containers.env
if [[ -f $ENGINE_FILE ]]; then
  # shellcheck disable=SC1090
  source "$ENGINE_FILE"
else
  log "no $ENGINE_FILE: run bash scripts/setup-containers.sh as root"
fi

if [[ -f $ENV_FILE ]]; then
  # shellcheck disable=SC1090
  source "$ENV_FILE"
else
  log "no $ENV_FILE: database servers only from SCDF_TEST_PG_* / SCDF_TEST_MARIADB_*"
fi

run_suite "$HERE" "$VENV" "$@"
