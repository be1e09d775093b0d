#!/usr/bin/env bash
# Run the real-server suite: a generated project against a real SCDF 2.11.5 server, once on
# MariaDB and once on PostgreSQL (see README "Real SCDF server tests").
#
#   bash test/scdf-server/run.sh [pytest args...]
#
# Makes (or reuses) the suite's venv .tools/scdf-server-venv, builds the generator when lib/ is
# missing, reads the database servers from .cache/databases.env (.ci/provision-databases.sh
# writes it), lints the suite and runs it. The tests build the server jar with Maven (cached in
# .cache/scdf-server/), generate the projects, and start and stop the servers themselves.
# Needs root (scratch logins), Java 17 and Maven. SCDF_TEST_REQUIRE_DATABASES=1 or CI=true turns
# every skip into a failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/test/scdf-server
VENV=$ROOT/.tools/scdf-server-venv
ENV_FILE=${SCDF_TEST_DATABASES_ENV_FILE:-$ROOT/.cache/databases.env}

log() { printf 'scdf-server: %s\n' "$*" >&2; }

stamp="$(python3 --version) $(sha256sum "$HERE/requirements.txt" | cut -c1-64)"
mkdir -p "$ROOT/.tools"
(
  flock 9
  if [[ ! -f $VENV/.stamp || $(<"$VENV/.stamp") != "$stamp" ]]; then
    log "creating $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
    printf '%s' "$stamp" >"$VENV/.stamp"
  fi
) 9>"$VENV.lock"

if [[ ! -f $ROOT/lib/bin/create-scdf-task.js ]]; then
  log "building the generator (npm run build)"
  (cd "$ROOT" && npm run --silent build)
fi

if [[ -f $ENV_FILE ]]; then
  # shellcheck disable=SC1090
  source "$ENV_FILE"
else
  log "no $ENV_FILE: database servers only from SCDF_TEST_PG_* / SCDF_TEST_MARIADB_*"
fi

"$VENV/bin/ruff" check --quiet --config "$HERE/pyproject.toml" "$HERE"
"$VENV/bin/ruff" format --check --quiet --config "$HERE/pyproject.toml" "$HERE"

cd "$HERE"
set +e
"$VENV/bin/python" -m pytest -c "$HERE/pyproject.toml" --rootdir "$HERE" "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  log "ERROR: pytest collected no tests"
  exit 1
fi
exit "$rc"
