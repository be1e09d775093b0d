#!/usr/bin/env bash
# System set-up of the test suite, as root on Debian: the packages the tests run (shellcheck;
# python3-venv for the entry-point test; Java 17 and Maven for the real SCDF server; Go for
# Toxiproxy) and the two database servers, started on loopback (.ci/provision-databases.sh).
# Idempotent and quick when everything is there: it installs only what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup-system: %s\n' "$*" >&2; }
[[ $(id -u) -eq 0 ]] || { log "ERROR: run as root (it installs packages and starts servers)"; exit 1; }
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }
missing=()
command -v shellcheck >/dev/null || missing+=(shellcheck)
installed python3-venv || missing+=(python3-venv)
command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
if ! command -v go >/dev/null && [[ ! -x /usr/local/go/bin/go ]]; then
  missing+=(golang-go)
fi
if ((${#missing[@]})); then
  # Refresh the package lists once: skipped when they are less than an hour old.
  if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 -print -quit 2>/dev/null) ]]; then
    apt-get update -qq
  fi
  log "installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash .ci/provision-databases.sh
