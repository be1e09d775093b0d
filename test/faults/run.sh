#!/usr/bin/env bash
# Run the fault suite: generated tasks against real PostgreSQL and MariaDB through Toxiproxy.
#
#   bash test/faults/run.sh [pytest args...]
#
# 1. installs Toxiproxy (server and cli, pinned) into .tools/toxiproxy with `go install`, once
# 2. makes (or reuses) the suite's venv .tools/faults-venv from test/faults/requirements.txt
# 3. builds the generator when lib/ is missing or older than its sources, generates one project
#    per database with the package's bin and gives each a venv made from the project's own
#    requirements, from PyPI (cached in .cache/faults/venvs by their hash)
# 4. starts a Toxiproxy server of its own on 127.0.0.1:$FAULTS_TOXIPROXY_PORT (default 18474;
#    the next free port up to 18499 when taken) and stops it at the end
# 5. sources .cache/databases.env, lints the suite with ruff, runs pytest
#
# Real servers are required: a missing server setting fails the run (there is nothing to skip to).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/test/faults
TOXIPROXY_VERSION=v2.5.0
TOOLS=$ROOT/.tools/toxiproxy
VENV=$ROOT/.tools/faults-venv
VENV_CACHE=$ROOT/.cache/faults/venvs
ENV_FILE=${SCDF_TEST_DATABASES_ENV_FILE:-$ROOT/.cache/databases.env}
DATABASES=(postgresql mariadb)

log() { printf 'faults: %s\n' "$*" >&2; }
# shellcheck source=test/support/suite.sh
source "$ROOT/test/support/suite.sh"

# --- 1. Toxiproxy ------------------------------------------------------------------------------
if [[ ! -x $TOOLS/server || ! -x $TOOLS/cli || $(cat "$TOOLS/.version" 2>/dev/null) != "$TOXIPROXY_VERSION" ]]; then
  # Go's own installer puts it in /usr/local/go, not always on PATH.
  command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
  command -v go >/dev/null || die "Go is needed to install Toxiproxy (go install); install it first"
  log "installing Toxiproxy $TOXIPROXY_VERSION into ${TOOLS#"$ROOT"/}"
  mkdir -p "$TOOLS"
  GOBIN=$TOOLS go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
  GOBIN=$TOOLS go install "github.com/Shopify/toxiproxy/v2/cmd/cli@$TOXIPROXY_VERSION"
  printf '%s' "$TOXIPROXY_VERSION" >"$TOOLS/.version"
fi

# --- 2. the suite's venv -----------------------------------------------------------------------
ensure_venv "$VENV" "$HERE/requirements.txt"

# --- 3. generated projects ---------------------------------------------------------------------
ensure_built
WORK=$(mktemp -d "${TMPDIR:-/tmp}/scdf-faults.XXXXXX")
SERVER_PID=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
generate_projects "$WORK" faults "$VENV_CACHE" "${DATABASES[@]}"
export SCDF_FAULTS_PROJECTS=$WORK/projects

# --- 4. Toxiproxy server -----------------------------------------------------------------------
port=${FAULTS_TOXIPROXY_PORT:-18474}
while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
  port=$((port + 1))
  ((port <= 18499)) || die "no free port for the Toxiproxy API in 18474-18499"
done
"$TOOLS/server" -host 127.0.0.1 -port "$port" >"$WORK/toxiproxy.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/toxiproxy.log" >&2; die "Toxiproxy did not start"; }
  sleep 0.1
done
export SCDF_FAULTS_TOXIPROXY=http://127.0.0.1:$port
log "Toxiproxy $TOXIPROXY_VERSION on $SCDF_FAULTS_TOXIPROXY"

# --- 5. lint and run ---------------------------------------------------------------------------
if [[ -f $ENV_FILE ]]; then
  # shellcheck disable=SC1090
  source "$ENV_FILE"
fi
run_suite "$HERE" "$VENV" "$@"
