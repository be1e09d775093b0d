#!/usr/bin/env bash
# Run the SCDF contract suite: generated tasks against SQLite, PostgreSQL and MariaDB.
#
#   bash test/contract/run.sh [pytest args...]
#
# 1. makes (or reuses) the harness venv .tools/contract-venv from test/contract/requirements.txt
# 2. builds the generator when lib/ is missing or older than its sources
# 3. generates one project per database with the package's bin, into a temp dir, and gives each
#    a venv with the project's own requirements (cached in .cache/contract/venvs by their hash)
# 4. sources .cache/databases.env (written by .ci/provision-databases.sh) when it exists
# 5. lints the harness with ruff, runs pytest; "no tests ran" (exit 5) is a failure
#
# Environment: SCDF_TEST_REQUIRE_DATABASES=1 (or CI=true) makes skipped servers fail the run;
# SCDF_TEST_DATABASES_ENV_FILE overrides the settings file; SCDF_CONTRACT_KEEP=1 keeps the temp
# dir with the generated projects.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/test/contract
VENV=$ROOT/.tools/contract-venv
VENV_CACHE=$ROOT/.cache/contract/venvs
ENV_FILE=${SCDF_TEST_DATABASES_ENV_FILE:-$ROOT/.cache/databases.env}
DATABASES=(postgresql mariadb)

log() { printf 'contract: %s\n' "$*" >&2; }
# shellcheck source=test/support/suite.sh
source "$ROOT/test/support/suite.sh"

# --- 1. harness venv ---------------------------------------------------------------------------
ensure_venv "$VENV" "$HERE/requirements.txt"

# --- 2. generator build ------------------------------------------------------------------------
ensure_built

# --- 3. generated projects ---------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/scdf-contract.XXXXXX")
if [[ ${SCDF_CONTRACT_KEEP:-} == 1 ]]; then
  log "keeping generated projects in $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi
generate_projects "$WORK" contract "$VENV_CACHE" "${DATABASES[@]}"
export SCDF_CONTRACT_PROJECTS=$WORK/projects

# --- 4. database settings ----------------------------------------------------------------------
if [[ -f $ENV_FILE ]]; then
  log "using database settings from ${ENV_FILE#"$ROOT"/}"
  # shellcheck disable=SC1090
  source "$ENV_FILE"
else
  log "no $ENV_FILE: real servers only if SCDF_TEST_PG_* / SCDF_TEST_MARIADB_* are set"
fi

# --- 4b. servers the user names (test_named_servers.py): a project, with its driver, for each ------
NAMED=()
for db in sqlserver oracle db2 postgresql mariadb mysql; do
  url_var=SCDF_TEST_${db^^}_URL
  if [[ -n ${!url_var:-} ]]; then NAMED+=("$db"); fi
done
if ((${#NAMED[@]})); then
  log "servers named by SCDF_TEST_<DB>_URL: ${NAMED[*]}"
  mkdir -p "$WORK/named"
  generate_projects "$WORK/named" named "$VENV_CACHE" "${NAMED[@]}"
  export SCDF_NAMED_PROJECTS=$WORK/named/projects
fi

# --- 5. lint and run ---------------------------------------------------------------------------
run_suite "$HERE" "$VENV" "$@"
