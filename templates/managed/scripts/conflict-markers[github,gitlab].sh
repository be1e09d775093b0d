#!/usr/bin/env bash
# Fails when a file of this project holds a conflict marker at the start of a line, as git's
# merges and the generator's --update leave them: a template update that conflicted (a draft
# request labelled template-conflict) stays red until every conflict is resolved.
# Managed by generator-scdf-task, which keeps it up to date and merges your edits on update.
#
# Usage: scripts/conflict-markers.sh    exit 0: none; 1: markers found (listed); 2: grep failed
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Only the markers that open and close a conflict (and diff3's base marker): a line of seven "="
# alone is also a Markdown or reST underline.
pattern='^(<{7}|\|{7}|>{7})( |$)'
set +e
found=$(grep -rInE \
  --exclude-dir=.git --exclude-dir=.venv --exclude-dir=node_modules \
  --exclude-dir=.mypy_cache --exclude-dir=.ruff_cache --exclude-dir=.pytest_cache \
  --exclude-dir=.gitlab-ci-local \
  -- "$pattern" .)
status=$?
set -e
case $status in
  1)
    echo "conflict-markers: no conflict markers"
    ;;
  0)
    # One write, so that a runner reading the log as the step ends gets the advice too.
    printf 'conflict-markers: %s:\n%s\nconflict-markers: %s, then commit\n' \
      "conflict markers left by a merge or a template update" "$found" \
      "resolve each conflict (keep the lines you want, delete the markers)" >&2
    exit 1
    ;;
  *)
    echo "conflict-markers: grep failed (exit $status)" >&2
    exit 2
    ;;
esac
