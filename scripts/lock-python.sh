#!/usr/bin/env bash
# Release tooling: writes the lock files that generated projects get as requirements-scdf.txt,
# one per database (templates/locks/<database>.txt), from the top-level pins in
# core/databases.ts. Every dependency, transitive ones included, is
# pinned with the hashes of all its files on PyPI, so that the image installs them with
# `pip install --require-hashes` and two builds of one commit get the same bytes.
#
#   npm run lock                 re-lock after a change to core/databases.ts; pins that still
#                                fit are kept (uv prefers the versions already in the lock)
#   npm run lock -- --upgrade    also move every transitive dependency to its newest version
#   npm run lock -- --check      regenerate into a scratch folder and fail if that differs
#
# The locker is uv, at the version in package.json "config.uv", installed from PyPI into
# .tools/uv. Each lock is universal (uv's --universal): one set of pins for every supported
# Python version (the oldest is given, newer ones are covered) and platform, with environment
# markers on what only some need (`typing-extensions ; python_full_version < '3.13'`), wheels
# only, as the Dockerfile installs. So the image's Python and a laptop's python3 install the same
# file with --require-hashes. The local python3 only runs uv's resolver: with downloads off uv
# does not go looking for an interpreter of each version (slow, and not needed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode='write'
upgrade=()
for arg in "$@"; do
  case $arg in
    --check) mode=check ;;
    --upgrade) upgrade=(--upgrade) ;;
    *)
      echo "lock-python: unknown option $arg (use --check or --upgrade)" >&2
      exit 2
      ;;
  esac
done

LOCKS=templates/locks
UV_VERSION=$(node -p 'require("./package.json").config.uv')
UV=.tools/uv/bin/uv

if [[ ! -x $UV || $("$UV" --version) != "uv $UV_VERSION"* ]]; then
  rm -rf .tools/uv
  python3 -m venv .tools/uv
  .tools/uv/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

# The pins and the version lists come from the compiled core, the one place that defines them.
if [[ ! -f lib/core/databases.js || core/databases.ts -nt lib/core/databases.js || core/validators.ts -nt lib/core/validators.js ]]; then
  npm run --silent build
fi
# Lines of "<database> <oldest supported python version> <requirement>...".
mapfile -t jobs < <(node --input-type=module -e '
  import { DATABASE_PROFILES } from "./lib/core/databases.js";
  import { DATABASES, PYTHON_VERSIONS } from "./lib/core/validators.js";
  for (const database of DATABASES)
    console.log([database, PYTHON_VERSIONS[0], ...DATABASE_PROFILES[database].requirements].join(" "));
')

out=$LOCKS
if [[ $mode == check ]]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  # Seeded with the shipped locks: uv keeps their pins where they still fit, as `npm run lock`
  # does, so only a change of core/databases.ts (or a hand edit) shows up as a difference.
  cp "$LOCKS"/*.txt "$out"/ 2>/dev/null || true
fi
mkdir -p "$out"

expected=()
for job in "${jobs[@]}"; do
  read -r database version requirements <<<"$job"
  file=$database.txt
  expected+=("$file")
  options=(--universal --generate-hashes --only-binary :all: --python-version "$version")
  tr ' ' '\n' <<<"$requirements" |
    UV_PYTHON_DOWNLOADS=never "$UV" pip compile --quiet --no-header --python python3 "${upgrade[@]}" \
      "${options[@]}" -o "$out/$file" -
  # uv's own header would name the temporary input; this one says how to remake the file.
  {
    echo "# uv $UV_VERSION pip compile ${options[*]}"
    echo "#   (npm run lock in generator-scdf-task) from: $requirements"
    cat "$out/$file"
  } >"$out/$file.new"
  mv "$out/$file.new" "$out/$file"
done

# Nothing else in the folder: a lock for a dropped database goes.
for file in "$out"/*.txt; do
  name=$(basename "$file")
  [[ " ${expected[*]} " == *" $name "* ]] || rm -f "$file"
done

if [[ $mode == check ]]; then
  if ! diff -ru "$LOCKS" "$out"; then
    echo "lock-python: $LOCKS is out of date with core/databases.ts: run npm run lock" >&2
    exit 1
  fi
  echo "lock-python: ${#expected[@]} locks are current (uv $UV_VERSION)"
fi
