#!/usr/bin/env bash
# The generated release pipeline for real: act runs the GitHub workflow ci.yml of a generated
# project on a v* tag (test, lint, image, release) against a real SCDF 2.11.5 server on
# PostgreSQL (the real-server suite's), with podman as docker and an OCI registry on loopback;
# then SCDF launches the released image, pulled by digest (see docs/testing.md "CI pipeline
# tests").
#
#   bash test/ci/release/run.sh [pytest args...]
#
# Needs root (a scratch database and login), Java 17, Maven, podman (scripts/setup-containers.sh),
# the CI tools (scripts/setup-ci-tools.sh) and the PostgreSQL server of .cache/databases.env.
# CI=true or SCDF_TEST_REQUIRE_DATABASES=1 turns every skip into a failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
HERE=$ROOT/test/ci/release
# The real-server suite's venv: the same requirements, made once for both.
VENV=$ROOT/.tools/scdf-server-venv

log() { printf 'release-pipeline: %s\n' "$*" >&2; }

# shellcheck source=test/support/suite.sh
source "$ROOT/test/support/suite.sh"
ensure_venv "$VENV" "$ROOT/test/scdf-server/requirements.txt"
ensure_built

for file in containers.env databases.env; do
  if [[ -f $ROOT/.cache/$file ]]; then
    # shellcheck disable=SC1090
    source "$ROOT/.cache/$file"
  else
    log "no $ROOT/.cache/$file (scripts/setup-containers.sh, .ci/provision-databases.sh write it)"
  fi
done

run_suite "$HERE" "$VENV" "$@"
