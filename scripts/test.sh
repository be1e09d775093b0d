#!/usr/bin/env bash
# The whole test suite, with its own set-up: lint, types, build, the Python tools the tests use,
# the generator and generated-project tests (Jest), the real-database contract suite, the
# real-server suite (a generated project against SCDF 2.11.5 on MariaDB and PostgreSQL), then the
# fault suite (Toxiproxy between the generated task and the real servers).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

npm run --silent lint
npm run --silent typecheck
npm run --silent build
bash scripts/setup-tools.sh
node --experimental-vm-modules node_modules/jest/bin/jest.js
bash test/contract/run.sh
bash test/scdf-server/run.sh
bash test/faults/run.sh
