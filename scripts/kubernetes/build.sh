#!/usr/bin/env bash
# Builds the single-node cluster's binaries from the Go module proxy, once, into cache folders
# keyed by version outside the checkout (a fresh clone's CI on the same machine reuses them):
#   <cache>/kubernetes-<v>/bin: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
#                               kubectl (k8s.io/kubernetes through a wrapper module, since its
#                               go.mod points its ~30 staging modules at folders of its own tree);
#   <cache>/etcd-<v>/bin/etcd:  go.etcd.io/etcd/server/v3's etcdmain behind a one-line main.
# Each is built in a temporary folder and moved in place, so an interrupted build never passes for
# a finished one. Prints the two bin folders, one per line.
set -euo pipefail

KUBERNETES=${KUBERNETES_VERSION:-1.34.3}
ETCD=${ETCD_VERSION:-3.6.16}
CACHE=${SCDF_TASK_TOOL_CACHE:-/var/cache/generator-scdf-task}
GO=$(command -v go || echo /usr/local/go/bin/go)
[[ -x $GO ]] || {
  echo "kubernetes/build: go is missing; scripts/setup-system.sh installs it" >&2
  exit 1
}
# k8s.io/kubernetes v1.34 needs Go 1.24; GOTOOLCHAIN=local below, so an older go says so here.
go_minor=$("$GO" env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if ((${go_minor:-0} < 24)); then
  echo "kubernetes/build: $("$GO" env GOVERSION) is too old; Go 1.24 or newer builds Kubernetes" >&2
  exit 1
fi
mkdir -p "$CACHE"
# An interrupted build leaves no temporary folder behind.
tmp=
trap 'if [[ -n $tmp ]]; then rm -rf "$tmp"; fi' EXIT
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

K8S_DIR="$CACHE/kubernetes-$KUBERNETES"
COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
kubernetes_built() {
  local c
  for c in "${COMMANDS[@]}"; do [[ -x $K8S_DIR/bin/$c ]] || return 1; done
}

if ! kubernetes_built; then
  started=$SECONDS
  echo "kubernetes/build: building Kubernetes v$KUBERNETES (once; about 20 minutes on 2 cores;" \
    "cached in $K8S_DIR)" >&2
  tmp=$(mktemp -d "$CACHE/.kubernetes-XXXXXX")
  mkdir -p "$tmp/src" "$tmp/bin"
  minor=${KUBERNETES#*.}
  minor=${minor%%.*}
  staging=0.${KUBERNETES#*.}
  # The staging modules k8s.io/kubernetes replaces with folders of its own tree, from its go.mod.
  "$GO" mod download -json "k8s.io/kubernetes@v$KUBERNETES" >"$tmp/download.json"
  gomod=$(sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p' "$tmp/download.json")
  {
    printf 'module local/kubernetes-build\n\ngo 1.24\n\nrequire k8s.io/kubernetes v%s\n\n' "$KUBERNETES"
    sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#replace \1 => \1 v'"$staging"'#p' "$gomod"
  } >"$tmp/src/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for c in "${COMMANDS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
    printf ')\n'
  } >"$tmp/src/tools.go"
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=v$KUBERNETES -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=v$KUBERNETES"
  (
    cd "$tmp/src"
    "$GO" mod tidy >&2
    targets=()
    for c in "${COMMANDS[@]}"; do targets+=("k8s.io/kubernetes/cmd/$c"); done
    "$GO" build -trimpath -ldflags "$ldflags" -o "$tmp/bin/" "${targets[@]}" >&2
  )
  rm -rf "$tmp/src" "$tmp/download.json"
  rm -rf "$K8S_DIR"
  mv "$tmp" "$K8S_DIR"
  tmp=
  echo "kubernetes/build: Kubernetes built in $((SECONDS - started)) s" >&2
fi

ETCD_DIR="$CACHE/etcd-$ETCD"
if [[ ! -x $ETCD_DIR/bin/etcd ]]; then
  started=$SECONDS
  echo "kubernetes/build: building etcd v$ETCD (once; cached in $ETCD_DIR)" >&2
  tmp=$(mktemp -d "$CACHE/.etcd-XXXXXX")
  mkdir -p "$tmp/src" "$tmp/bin"
  printf 'module local/etcd-build\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD" \
    >"$tmp/src/go.mod"
  cat >"$tmp/src/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (
    cd "$tmp/src"
    "$GO" mod tidy >&2
    "$GO" build -trimpath -ldflags "-s -w" -o "$tmp/bin/etcd" . >&2
  )
  rm -rf "$tmp/src"
  rm -rf "$ETCD_DIR"
  mv "$tmp" "$ETCD_DIR"
  tmp=
  echo "kubernetes/build: etcd built in $((SECONDS - started)) s" >&2
fi

printf '%s\n' "$K8S_DIR/bin" "$ETCD_DIR/bin"
