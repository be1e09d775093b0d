#!/usr/bin/env bash
# The tools test/ci/ runs the generated pipelines with, pinned, each built or installed once into
# a cache folder keyed by its version outside the checkout, so that a fresh clone's CI reuses them:
#   actionlint (Go module proxy), act (Go module proxy), check-jsonschema (PyPI),
#   gitlab-ci-local (npm) with the Node 22 it needs (npm's `node` package), and an OCI registry
#   (go-containerregistry's cmd/registry, Go module proxy) the release pipeline pushes to.
# Prints nothing when everything is cached; writes the paths to .cache/ci-tools.env
# (gitlab-ci-local runs with NODE22_PATH first on PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ACTIONLINT=1.7.12
ACT=0.2.89
CHECK_JSONSCHEMA=0.39.0
GITLAB_CI_LOCAL=4.75.1
# An OCI distribution registry in one binary (in memory, plain HTTP on loopback): the registry
# the generated image job pushes to and SCDF's launch pulls from in the release tests.
REGISTRY=0.22.1
NODE=22

CACHE=${SCDF_TASK_TOOL_CACHE:-/var/cache/generator-scdf-task}
mkdir -p "$CACHE" .cache

# A Go tool built with `go install` into <cache>/<name>-<version>/bin; built in a temporary folder
# and moved in place, so an interrupted build never passes for a finished one.
go_tool() {
  local name=$1 version=$2 module=$3
  local dir="$CACHE/$name-$version"
  if [[ ! -x $dir/bin/$name ]]; then
    local go
    go=$(command -v go || echo /usr/local/go/bin/go)
    [[ -x $go ]] || {
      echo "setup-ci-tools: go is missing; scripts/setup-system.sh installs it" >&2
      exit 1
    }
    echo "setup-ci-tools: building $name $version (once; cached in $dir)" >&2
    local tmp
    tmp=$(mktemp -d "$CACHE/.$name-XXXXXX")
    # GOTOOLCHAIN=auto: a go older than the module needs (1.21 or newer) fetches the toolchain it
    # names from the Go module proxy.
    GOBIN="$tmp/bin" GOFLAGS=-mod=mod GOTOOLCHAIN=auto "$go" install "$module@v$version" >&2
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  printf '%s\n' "$dir/bin/$name"
}

ACTIONLINT_BIN=$(go_tool actionlint "$ACTIONLINT" github.com/rhysd/actionlint/cmd/actionlint)
ACT_BIN=$(go_tool act "$ACT" github.com/nektos/act)
REGISTRY_BIN=$(go_tool registry "$REGISTRY" github.com/google/go-containerregistry/cmd/registry)

JSONSCHEMA_DIR="$CACHE/check-jsonschema-$CHECK_JSONSCHEMA"
if [[ ! -x $JSONSCHEMA_DIR/bin/check-jsonschema ]]; then
  echo "setup-ci-tools: installing check-jsonschema $CHECK_JSONSCHEMA into $JSONSCHEMA_DIR" >&2
  rm -rf "$JSONSCHEMA_DIR"
  python3 -m venv "$JSONSCHEMA_DIR"
  "$JSONSCHEMA_DIR/bin/pip" install --quiet --disable-pip-version-check \
    "check-jsonschema==$CHECK_JSONSCHEMA" >&2
fi

# gitlab-ci-local needs Node 22 while the project's own tests run on whatever Node is installed:
# both come from npm into one prefix (npm serves Node itself as the `node` package).
GCL_DIR="$CACHE/gitlab-ci-local-$GITLAB_CI_LOCAL-node$NODE"
if [[ ! -x $GCL_DIR/node_modules/.bin/gitlab-ci-local || ! -x $GCL_DIR/node_modules/.bin/node ]]; then
  echo "setup-ci-tools: installing gitlab-ci-local $GITLAB_CI_LOCAL and Node $NODE into $GCL_DIR" >&2
  rm -rf "$GCL_DIR"
  mkdir -p "$GCL_DIR"
  npm install --silent --no-audit --no-fund --prefix "$GCL_DIR" \
    "gitlab-ci-local@$GITLAB_CI_LOCAL" "node@$NODE" >&2
fi

cat >.cache/ci-tools.env <<EOF
ACTIONLINT_BIN=$ACTIONLINT_BIN
ACT_BIN=$ACT_BIN
REGISTRY_BIN=$REGISTRY_BIN
CHECK_JSONSCHEMA_BIN=$JSONSCHEMA_DIR/bin/check-jsonschema
GITLAB_CI_LOCAL_BIN=$GCL_DIR/node_modules/.bin/gitlab-ci-local
NODE22_PATH=$GCL_DIR/node_modules/.bin
EOF
