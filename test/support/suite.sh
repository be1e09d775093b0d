# shellcheck shell=bash
# Shared by the pytest suites' runners (test/contract, test/faults, test/scdf-server); sourced,
# not run. Expects ROOT (the checkout) and a log function; PYTHON defaults to python3.
PYTHON=${PYTHON:-python3}
BIN=$ROOT/lib/bin/create-scdf-task.js

die() { log "ERROR: $*"; exit 1; }

# Make a venv at $1 from requirement file $2 unless one with the same stamp is there; files after
# it are installed first, each in a pip run of its own: a lock (with hashes) is installed with
# --require-hashes, wheels only and from PyPI alone, as the generated Dockerfile does. Serialised
# with flock: several people (or runs) share the checkout.
ensure_venv() {
  local dir=$1 requirements=$2 stamp first
  shift 2
  stamp="$("$PYTHON" -c 'import sys; print(sys.version)' | head -1) $(cat "$requirements" "$@" | sha256sum | cut -d' ' -f1)"
  mkdir -p "$(dirname "$dir")"
  (
    flock 9
    if [[ -f $dir/.stamp && $(<"$dir/.stamp") == "$stamp" ]]; then
      exit 0
    fi
    log "creating venv $dir"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    for first in "$@"; do
      if grep -q -- '--hash=' "$first"; then
        PIP_FIND_LINKS='' "$dir/bin/pip" install --quiet --disable-pip-version-check \
          --require-hashes --only-binary=:all: -r "$first"
      else
        "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$first"
      fi
    done
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    printf '%s' "$stamp" >"$dir/.stamp"
  ) 9>"$dir.lock"
}

# Build the generator when lib/ is missing or older than its sources.
ensure_built() {
  if [[ ! -f $BIN ]] || [[ -n $(find "$ROOT/core" "$ROOT/generators" "$ROOT/bin" -newer "$BIN" -name '*.ts' -print -quit) ]]; then
    log "building the generator (npm run build)"
    (cd "$ROOT" && npm run --silent build)
  fi
  [[ -f $BIN ]] || die "npm run build did not produce $BIN"
}

# generate_projects WORK NAME_PREFIX VENV_CACHE DB...: one project per database with the
# package's bin, as $WORK/projects/<db>, each with a .venv made from the project's own
# requirements (from PyPI; cached in VENV_CACHE by their hash).
generate_projects() {
  local work=$1 prefix=$2 cache=$3 db name project key version
  shift 3
  # The project's lock is for its Python version: the one that runs the venvs.
  version=$("$PYTHON" -c 'import sys; print(*sys.version_info[:2], sep=".")')
  mkdir -p "$work/projects"
  for db in "$@"; do
    name=$prefix-$db
    (cd "$work" && node "$BIN" "$name" --database "$db" --python-version "$version" --defaults >"$work/generate-$db.log" 2>&1) ||
      { cat "$work/generate-$db.log" >&2; die "generating the $db project failed"; }
    project=$work/$name
    [[ -f $project/python_task.py && -f $project/requirements.txt ]] ||
      die "generated $db project lacks python_task.py or requirements.txt: $(ls -A "$project")"
    # The venv is keyed by the project's requirement files; -r includes resolve relative to it.
    # The lock first, in a run of its own, then the project's requirements.txt, as in the image.
    key=$(cat "$project"/requirements*.txt | sha256sum | cut -c1-16)
    mkdir -p "$cache/$key-src"
    cp "$project"/requirements*.txt "$cache/$key-src/"
    ensure_venv "$cache/$key" "$cache/$key-src/requirements.txt" \
      "$cache/$key-src/requirements-scdf.txt"
    ln -s "$cache/$key" "$project/.venv"
    ln -s "$project" "$work/projects/$db"
  done
}

# run_suite DIR VENV [pytest args...]: ruff over the suite, then pytest in it. Returns pytest's
# exit code; "no tests ran" (5) is a failure.
run_suite() {
  local dir=$1 venv=$2 rc
  shift 2
  "$venv/bin/ruff" check --quiet --config "$dir/pyproject.toml" "$dir"
  "$venv/bin/ruff" format --check --quiet --config "$dir/pyproject.toml" "$dir"
  set +e
  (cd "$dir" && "$venv/bin/python" -m pytest -c "$dir/pyproject.toml" --rootdir "$dir" "$@")
  rc=$?
  set -e
  [[ $rc -ne 5 ]] || die "pytest collected no tests"
  return "$rc"
}
