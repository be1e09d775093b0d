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
PYTHON=${PYTHON:-python3}
VENV=$ROOT/.tools/contract-venv
VENV_CACHE=$ROOT/.cache/contract/venvs
ENV_FILE=${SCDF_TEST_DATABASES_ENV_FILE:-$ROOT/.cache/databases.env}
DATABASES=(postgresql mariadb)

log() { printf 'contract: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Make a venv at $1 from requirement file $2 unless one with the same stamp is there. Serialised
# with flock: several people (or runs) share the checkout.
ensure_venv() {
  local dir=$1 requirements=$2 stamp
  stamp="$("$PYTHON" -c 'import sys; print(sys.version)' | head -1) $(sha256sum "$requirements" | cut -d' ' -f1)"
  mkdir -p "$(dirname "$dir")"
  (
    flock 9
    if [[ -f $dir/.stamp && $(<"$dir/.stamp") == "$stamp" ]]; then
      exit 0
    fi
    log "creating venv $dir"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    printf '%s' "$stamp" >"$dir/.stamp"
  ) 9>"$dir.lock"
}

# --- 1. harness venv ---------------------------------------------------------------------------
ensure_venv "$VENV" "$HERE/requirements.txt"

# --- 2. generator build ------------------------------------------------------------------------
BIN=$ROOT/lib/bin/create-scdf-task.js
if [[ ! -f $BIN ]] || [[ -n $(find "$ROOT/generators" "$ROOT/bin" -newer "$BIN" -name '*.ts' -print -quit) ]]; then
  log "building the generator (npm run build)"
  (cd "$ROOT" && npm run --silent build)
fi
[[ -f $BIN ]] || die "npm run build did not produce $BIN"

# --- 3. generated projects ---------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/scdf-contract.XXXXXX")
if [[ ${SCDF_CONTRACT_KEEP:-} == 1 ]]; then
  log "keeping generated projects in $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK/projects"
for db in "${DATABASES[@]}"; do
  name=contract-$db
  (cd "$WORK" && node "$BIN" "$name" --database "$db" --defaults >"$WORK/generate-$db.log" 2>&1) ||
    { cat "$WORK/generate-$db.log" >&2; die "generating the $db project failed"; }
  project=$WORK/$name
  [[ -f $project/python_task.py && -f $project/requirements.txt ]] ||
    die "generated $db project lacks python_task.py or requirements.txt: $(ls -A "$project")"
  # The venv is keyed by the project's requirement files; -r includes resolve relative to it.
  key=$(cat "$project"/requirements*.txt | sha256sum | cut -c1-16)
  mkdir -p "$VENV_CACHE/$key-src"
  cp "$project"/requirements*.txt "$VENV_CACHE/$key-src/"
  ensure_venv "$VENV_CACHE/$key" "$VENV_CACHE/$key-src/requirements.txt"
  ln -s "$VENV_CACHE/$key" "$project/.venv"
  ln -s "$project" "$WORK/projects/$db"
done
export SCDF_CONTRACT_PROJECTS=$WORK/projects

# --- 4. database settings ----------------------------------------------------------------------
if [[ -f $ENV_FILE ]]; then
  log "using database settings from ${ENV_FILE#"$ROOT"/}"
  # shellcheck disable=SC1090
  source "$ENV_FILE"
else
  log "no $ENV_FILE: real servers only if SCDF_TEST_PG_* / SCDF_TEST_MARIADB_* are set"
fi

# --- 5. lint and run ---------------------------------------------------------------------------
"$VENV/bin/ruff" check --quiet --config "$HERE/pyproject.toml" "$HERE"
"$VENV/bin/ruff" format --check --quiet --config "$HERE/pyproject.toml" "$HERE"

cd "$HERE"
set +e
"$VENV/bin/python" -m pytest -c "$HERE/pyproject.toml" --rootdir "$HERE" "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  die "pytest collected no tests"
fi
exit "$rc"
