#!/usr/bin/env bash
# The container engine of the image tests, as root on Debian: podman (with runc, and the
# podman-docker shim as `docker`), its settings in a file of the checkout (CONTAINERS_CONF, so
# nothing under /etc changes), and the base images the generated Dockerfile and the real-server
# suite build FROM.
#
# Docker Hub cannot be reached here, so `python:3.13-slim-trixie` is a STAND-IN made with
# debootstrap from Debian trixie (Debian's Python 3.13 under /usr/bin, linked into /usr/local/bin
# as the official image has it), tagged with the official name so that the generated Dockerfile
# builds unchanged. It is not the official image: other paths, Debian's Python build. A second
# stand-in adds Debian's headless JRE for SCDF's timestamp sample app. A third holds Debian
# sid's Python 3.14 (python3.14, with venv), the newest supported Python, which no Debian release
# and no pyenv build here has: the lock tests install the generated locks on it.
#
# Idempotent: a base already imported (recognised by its label) is kept. Prints the settings
# the tests read, as a sourceable file: .cache/containers.env.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

log() { printf 'setup-containers: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (it installs packages and runs podman as root)"
export DEBIAN_FRONTEND=noninteractive

CACHE=$ROOT/.cache/containers
mkdir -p "$CACHE"
PYTHON_BASE=docker.io/library/python:3.13-slim-trixie
JRE_BASE=localhost/scdf-task-test/jre:trixie
PYTHON314=localhost/scdf-task-test/python:3.14-sid
STANDIN_LABEL=scdf-task.stand-in
# The stand-in's recipe: a change here makes the bases again.
RECIPE_VERSION=1

installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }
missing=()
for p in podman runc podman-docker debootstrap; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 -print -quit 2>/dev/null) ]]; then
    apt-get update -qq
  fi
  log "installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# crun refuses this machine's cgroups ("hybrid mode not supported"); raising nproc is refused,
# so the default ulimits stay within what the machine allows.
export CONTAINERS_CONF=$CACHE/containers.conf
cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]
[engine]
runtime = "runc"
EOF

# pip inside `RUN` needs this machine's CA bundle; it is mounted at build time only, never part
# of the generated Dockerfile.
CA=/etc/ssl/certs/ca-certificates.crt
PIP_CONF=$CACHE/pip.conf
printf '[global]\ncert = %s\n' "$CA" >"$PIP_CONF"

# The Debian mirror this machine's apt uses (deb822 or one-line sources).
mirror() {
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1)
  [[ -n $uri ]] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -1)
  printf '%s' "${uri:-http://deb.debian.org/debian}"
}

has_base() {
  [[ $(podman image inspect --format "{{ index .Labels \"$STANDIN_LABEL\" }}" "$1" 2>/dev/null) == "$RECIPE_VERSION" ]]
}

if has_base "$PYTHON_BASE"; then
  log "stand-in $PYTHON_BASE already imported"
else
  rootfs=$CACHE/rootfs-trixie
  rm -rf "$rootfs"
  log "debootstrap trixie from $(mirror) (about 90 s)"
  debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates,passwd \
    trixie "$rootfs" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -30 "$CACHE/debootstrap.log" >&2; die "debootstrap failed"; }
  # The official image's Python is not Debian-managed: pip installs into it as root.
  rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python3"
  ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . |
    podman import \
      --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change "LABEL $STANDIN_LABEL=$RECIPE_VERSION" \
      --change 'CMD ["python3"]' \
      - "$PYTHON_BASE" >/dev/null
  rm -rf "$rootfs"
  log "imported $PYTHON_BASE (a stand-in for the official image)"
fi

if has_base "$PYTHON314"; then
  log "stand-in $PYTHON314 already imported"
else
  rootfs=$CACHE/rootfs-sid
  rm -rf "$rootfs"
  log "debootstrap sid with python3.14 from $(mirror) (about 2 minutes)"
  debootstrap --variant=minbase --include=python3.14,python3.14-venv,ca-certificates \
    sid "$rootfs" "$(mirror)" >"$CACHE/debootstrap-sid.log" 2>&1 ||
    { tail -30 "$CACHE/debootstrap-sid.log" >&2; die "debootstrap of sid failed"; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . |
    podman import \
      --change 'ENV LANG=C.UTF-8' \
      --change "LABEL $STANDIN_LABEL=$RECIPE_VERSION" \
      --change 'CMD ["python3.14"]' \
      - "$PYTHON314" >/dev/null
  rm -rf "$rootfs"
  log "imported $PYTHON314 (Debian sid's Python 3.14)"
fi

if has_base "$JRE_BASE"; then
  log "stand-in $JRE_BASE already built"
else
  log "building $JRE_BASE (Debian's default-jre-headless on the stand-in)"
  podman build --quiet --network=host -t "$JRE_BASE" --label "$STANDIN_LABEL=$RECIPE_VERSION" -f - "$CACHE" <<EOF >/dev/null
FROM $PYTHON_BASE
RUN export DEBIAN_FRONTEND=noninteractive && apt-get update -qq && apt-get install -y -qq --no-install-recommends default-jre-headless \
    && rm -rf /var/lib/apt/lists/*
EOF
fi

# The `docker` the tests and the SCDF server run: the podman-docker shim passes the container's
# exit code through (the Docker CLI at /usr/local/bin/docker, talking to podman's API service,
# returns 0 for a failed container run with --rm).
SHIM_DIR=$CACHE/bin
mkdir -p "$SHIM_DIR"
printf '#!/bin/sh\nexec podman "$@"\n' >"$SHIM_DIR/docker"
chmod +x "$SHIM_DIR/docker"

cat >"$ROOT/.cache/containers.env" <<EOF
# Written by scripts/setup-containers.sh
export CONTAINERS_CONF=$CONTAINERS_CONF
export SCDF_TEST_CONTAINER_ENGINE=podman
export SCDF_TEST_DOCKER_DIR=$SHIM_DIR
export SCDF_TEST_PYTHON_BASE=$PYTHON_BASE
export SCDF_TEST_JRE_BASE=$JRE_BASE
export SCDF_TEST_PYTHON_SID_IMAGE=$PYTHON314
export SCDF_TEST_BUILD_CA=$CA
export SCDF_TEST_BUILD_PIP_CONF=$PIP_CONF
EOF
log "wrote .cache/containers.env"
