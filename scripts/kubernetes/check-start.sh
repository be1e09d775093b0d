#!/usr/bin/env bash
# Proves that scripts/setup-kubernetes.sh starts and stops reliably on this machine, as root:
#   - CYCLES (default 3) rounds of start and stop: each start reaches a Ready node, each stop
#     leaves no process, mount, PID file or listening port of the cluster behind;
#   - etcd killed alone with SIGKILL (a crash): the next start notices, clears what was left and
#     starts an empty cluster whose node is Ready, with exactly one process per component.
#
#   CYCLES=8 bash scripts/kubernetes/check-start.sh
#
# The cluster must be stopped when it begins; it is stopped when it ends, whatever happens.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SETUP=$ROOT/scripts/setup-kubernetes.sh
DIR=$ROOT/.cache/kubernetes
CYCLES=${CYCLES:-3}
COMPONENTS=(etcd kube-apiserver containerd kube-controller-manager kube-scheduler kubelet)
PORTS=(12379 12380 16443 10250 10248)

log() { printf 'kubernetes-check-start: %s\n' "$*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}
[[ $(id -u) -eq 0 ]] || fail "run as root"
[[ $CYCLES =~ ^[1-9][0-9]*$ ]] || fail "CYCLES must be a positive whole number, not '$CYCLES'"
if bash "$SETUP" status >/dev/null 2>&1; then
  fail "the cluster already runs: stop it first (bash scripts/setup-kubernetes.sh stop)"
fi
trap 'bash "$SETUP" stop >/dev/null 2>&1 || true' EXIT

# PIDs of processes whose command line names a path under the cluster's folder (every process of
# the cluster does, containerd's shims through its socket).
cluster_pids() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    [[ $cmd != *"$DIR/"* ]] || echo "${p#/proc/}"
  done
}
argv0() { tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline" | head -n 1 || true; }

assert_clean() {
  local what=$1 left port
  left=$(cluster_pids)
  [[ -z $left ]] || fail "after $what, processes remain: $(for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-100; echo; done)"
  left=$(findmnt -rn -o TARGET | grep -F "$DIR" || true)
  [[ -z $left ]] || fail "after $what, mounts remain: $left"
  left=$(find "$DIR/run" -name '*.pid' 2>/dev/null || true)
  [[ -z $left ]] || fail "after $what, PID files remain: $left"
  for port in "${PORTS[@]}"; do
    [[ -z $(ss -ltnH "sport = :$port") ]] || fail "after $what, port $port is still listened on"
  done
}

# Exactly one live process per component, the one its PID file names.
assert_running() {
  local what=$1 c pid n p
  bash "$SETUP" status >/dev/null || fail "after $what, status is not all running and Ready: $(bash "$SETUP" status 2>&1)"
  for c in "${COMPONENTS[@]}"; do
    pid=$(cat "$DIR/run/$c.pid")
    n=0
    for p in $(cluster_pids); do
      case $(argv0 "$p") in "$c" | */"$c") n=$((n + 1)) ;; esac
    done
    ((n == 1)) || fail "after $what, $n processes of $c run (PID file: $pid)"
  done
}

assert_clean "nothing (before the first start)"
for ((i = 1; i <= CYCLES; i++)); do
  t0=$SECONDS
  bash "$SETUP" start || fail "start $i of $CYCLES failed (exit $?)"
  assert_running "start $i"
  t1=$SECONDS
  bash "$SETUP" stop || fail "stop $i of $CYCLES failed (exit $?)"
  assert_clean "stop $i"
  log "cycle $i of $CYCLES: start $((t1 - t0)) s, stop $((SECONDS - t1)) s"
done

# A crash of etcd alone: the API server and the rest still run, etcd's data stays on disk.
bash "$SETUP" start || fail "start before the etcd crash failed"
etcd_pid=$(cat "$DIR/run/etcd.pid")
kill -KILL "$etcd_pid"
while kill -0 "$etcd_pid" 2>/dev/null; do sleep 0.1; done
bash "$SETUP" status >/dev/null 2>&1 && fail "status reports the cluster running with etcd killed"
t0=$SECONDS
bash "$SETUP" start || fail "start after etcd's SIGKILL failed (exit $?)"
assert_running "start after etcd's SIGKILL"
[[ $(cat "$DIR/run/etcd.pid") != "$etcd_pid" ]] || fail "etcd's PID file still names the killed etcd"
log "start after etcd's SIGKILL: recovered in $((SECONDS - t0)) s"
bash "$SETUP" stop
assert_clean "the stop after the etcd crash"
trap - EXIT
log "OK: $CYCLES start/stop cycles and a start after etcd's SIGKILL, nothing left behind"
