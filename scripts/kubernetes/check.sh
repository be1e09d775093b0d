#!/usr/bin/env bash
# Proves scripts/setup-kubernetes.sh on this machine, end to end, as root:
#   - start (timed) from stopped, the node Ready, the memory the cluster takes;
#   - an image built with podman on the stand-in base (scripts/setup-containers.sh), imported;
#   - a pod with hostNetwork, imagePullPolicy Never, runAsNonRoot with an arbitrary uid and a
#     read-only root file system, reading MariaDB's greeting on 127.0.0.1: phase Succeeded, its
#     log read through kubectl, the uid and the read-only root seen from inside;
#   - a sleeping pod deleted: the kubelet's SIGTERM reaches it within its grace;
#   - a CronJob `*/1 * * * *`: the controller makes a Job on its own clock, its pod succeeds;
#   - SCDF's service account may do what scripts/kubernetes/scdf-rbac.yaml grants and no more;
#   - stop: no process, no mount, no cgroup of the cluster left; the sysctls as before.
#
#   bash scripts/kubernetes/check.sh
#
# The cluster must be stopped when it begins (it measures the start and the clean stop). Needs
# .cache/databases.env (MariaDB) and .cache/containers.env (podman); with CI=true a missing one
# is an error, elsewhere too: this check has nothing to skip.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SETUP=$ROOT/scripts/setup-kubernetes.sh
DIR=$ROOT/.cache/kubernetes
WORK=$ROOT/.cache/k8s-check
IMAGE=localhost/scdf-task-test/kubernetes-check:1
GRACE=10

log() { printf 'kubernetes-check: %s\n' "$*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}
[[ $(id -u) -eq 0 ]] || fail "run as root"
for f in "$ROOT/.cache/databases.env" "$ROOT/.cache/containers.env"; do
  [[ -f $f ]] || fail "$f is missing (scripts/setup-system.sh, scripts/setup-containers.sh)"
  # shellcheck disable=SC1090
  source "$f"
done
if bash "$SETUP" status >/dev/null 2>&1; then
  fail "the cluster already runs: stop it first (bash scripts/setup-kubernetes.sh stop)"
fi
began=$SECONDS

sysctls_before=$(sysctl vm.overcommit_memory kernel.panic kernel.panic_on_oops)
fixed_paths=(/var/lib/kubelet /var/log/containers /run/containerd)
absent_before=()
for f in "${fixed_paths[@]}"; do [[ -e $f ]] || absent_before+=("$f"); done
stopped=
cleanup() {
  [[ -n $stopped ]] || bash "$SETUP" stop || true
}
trap cleanup EXIT

# --- start ------------------------------------------------------------------------------------
t0=$SECONDS
bash "$SETUP" start
startup=$((SECONDS - t0))
# shellcheck disable=SC1091
source "$DIR/env"
k() { "$SCDF_TEST_KUBECTL" --request-timeout=20s "$@"; }
ns=$SCDF_TEST_K8S_NAMESPACE
pids=()
for c in etcd kube-apiserver containerd kube-controller-manager kube-scheduler kubelet; do
  pids+=("$(cat "$DIR/run/$c.pid")")
done
rss_kb=0
for p in "${pids[@]}"; do rss_kb=$((rss_kb + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status"))); done
log "started in ${startup} s; the six processes hold $((rss_kb / 1024)) MB (RSS) at Ready"

# --- the CronJob first, so that its minute passes while the pods run ----------------------------
rm -rf "$WORK"
mkdir -p "$WORK/out"
chmod 0777 "$WORK/out"
cat >"$WORK/probe.py" <<'EOF'
"""Runs inside the pod: who am I, is / read-only, what does MariaDB on 127.0.0.1 say."""
import os
import socket
import sys

print(f"uid={os.getuid()} gid={os.getgid()}")
try:
    with open("/probe-write", "w"):
        pass
    print("root file system: WRITABLE")
except OSError as e:
    print(f"root file system: read-only ({e.strerror})")
port = int(sys.argv[1])
with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
    greeting = s.recv(256)
# A MariaDB handshake: 3-byte length, sequence 0, protocol version 10, NUL-terminated version.
version = greeting[5 : greeting.index(b"\0", 5)].decode()
print(f"protocol={greeting[4]} server={version}")
EOF
cat >"$WORK/sleeper.py" <<'EOF'
"""Runs inside the pod: waits; on SIGTERM notes the time in the host folder and exits 143."""
import signal
import sys
import time


def stop(signum, frame):
    with open("/out/sigterm", "w") as f:
        f.write(f"{time.time()}\n")
    sys.exit(143)


signal.signal(signal.SIGTERM, stop)
print("sleeping", flush=True)
while True:
    time.sleep(1)
EOF
cat >"$WORK/Containerfile" <<EOF
FROM $SCDF_TEST_PYTHON_BASE
COPY probe.py sleeper.py /check/
EOF
podman build --quiet -t "$IMAGE" -f "$WORK/Containerfile" "$WORK" >/dev/null
bash "$SETUP" import-image "$IMAGE"

security='{"runAsNonRoot": true, "runAsUser": 54321, "runAsGroup": 54321,
  "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
  "capabilities": {"drop": ["ALL"]}}'
cronjob_created=$(date +%s)
k -n "$ns" apply -f - >/dev/null <<EOF
{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "check-cron"},
 "spec": {"schedule": "*/1 * * * *", "concurrencyPolicy": "Forbid",
  "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"spec": {
   "restartPolicy": "Never", "hostNetwork": true,
   "containers": [{"name": "run", "image": "$IMAGE", "imagePullPolicy": "Never",
    "command": ["python3", "-c", "print('cron run')"], "securityContext": $security}]}}}}}}
EOF

# --- a pod reaching MariaDB as an arbitrary non-root uid on a read-only root --------------------
k -n "$ns" apply -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check-probe"},
 "spec": {"restartPolicy": "Never", "hostNetwork": true,
  "containers": [{"name": "probe", "image": "$IMAGE", "imagePullPolicy": "Never",
   "command": ["python3", "/check/probe.py", "$SCDF_TEST_MARIADB_PORT"],
   "securityContext": $security}]}}
EOF
phase=
for _ in $(seq 1 240); do
  phase=$(k -n "$ns" get pod check-probe -o 'jsonpath={.status.phase}')
  [[ $phase == Succeeded || $phase == Failed ]] && break
  sleep 0.5
done
probe_log=$(k -n "$ns" logs check-probe)
printf '%s\n' "$probe_log" | sed 's/^/  probe: /' >&2
[[ $phase == Succeeded ]] || {
  k -n "$ns" describe pod check-probe >&2
  fail "probe pod phase '$phase', expected Succeeded"
}
grep -qx 'uid=54321 gid=54321' <<<"$probe_log" || fail "probe did not run as uid 54321"
grep -qx 'root file system: read-only (Read-only file system)' <<<"$probe_log" ||
  fail "the root file system was not read-only"
grep -qE '^protocol=10 server=.*[0-9]+\.[0-9]+\.[0-9]+-MariaDB' <<<"$probe_log" ||
  fail "no MariaDB greeting from 127.0.0.1:$SCDF_TEST_MARIADB_PORT"
exit_code=$(k -n "$ns" get pod check-probe -o 'jsonpath={.status.containerStatuses[0].state.terminated.exitCode}')
[[ $exit_code == 0 ]] || fail "probe exit code $exit_code"
log "probe pod: Succeeded, exit 0, uid 54321, read-only root, MariaDB reached on hostNetwork"

# --- deleting a pod: the kubelet's SIGTERM within the grace --------------------------------------
k -n "$ns" apply -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check-sleeper"},
 "spec": {"restartPolicy": "Never", "hostNetwork": true, "terminationGracePeriodSeconds": $GRACE,
  "volumes": [{"name": "out", "hostPath": {"path": "$WORK/out", "type": "Directory"}}],
  "containers": [{"name": "sleeper", "image": "$IMAGE", "imagePullPolicy": "Never",
   "command": ["python3", "/check/sleeper.py"], "securityContext": $security,
   "volumeMounts": [{"name": "out", "mountPath": "/out"}]}]}}
EOF
k -n "$ns" wait --for=condition=Ready pod/check-sleeper --timeout=120s >/dev/null
for _ in $(seq 1 40); do
  [[ $(k -n "$ns" logs check-sleeper) == sleeping ]] && break
  sleep 0.25
done
deleted=$(date +%s.%N)
k -n "$ns" delete pod check-sleeper --wait=false >/dev/null
for _ in $(seq 1 $((GRACE * 4 + 40))); do
  [[ -s $WORK/out/sigterm ]] && break
  sleep 0.25
done
[[ -s $WORK/out/sigterm ]] || fail "the sleeper got no SIGTERM after its deletion"
delay=$(awk -v a="$deleted" -v b="$(cat "$WORK/out/sigterm")" 'BEGIN {printf "%.2f", b - a}')
awk -v d="$delay" -v g="$GRACE" 'BEGIN {exit !(d >= 0 && d < g)}' ||
  fail "SIGTERM reached the sleeper ${delay} s after the deletion (grace ${GRACE} s)"
k -n "$ns" wait --for=delete pod/check-sleeper --timeout=60s >/dev/null
log "sleeper pod: SIGTERM ${delay} s after the deletion (grace ${GRACE} s), pod gone"

# --- the CronJob's Job, made by the controller ------------------------------------------------------
job=
for _ in $(seq 1 300); do
  job=$(k -n "$ns" get jobs -o 'jsonpath={range .items[?(@.metadata.ownerReferences[0].name=="check-cron")]}{.metadata.name}{"\n"}{end}' | awk 'NR == 1')
  [[ -n $job ]] && break
  sleep 0.5
done
[[ -n $job ]] || fail "no Job from CronJob check-cron $(($(date +%s) - cronjob_created)) s after it was made"
kind=$(k -n "$ns" get job "$job" -o 'jsonpath={.metadata.ownerReferences[0].kind}')
[[ $kind == CronJob ]] || fail "Job $job is owned by a $kind"
k -n "$ns" wait --for=condition=Complete "job/$job" --timeout=120s >/dev/null ||
  fail "Job $job did not complete"
cron_log=$(k -n "$ns" logs "job/$job")
[[ $cron_log == "cron run" ]] || fail "the CronJob's pod printed '$cron_log'"
scheduled=$(k -n "$ns" get cronjob check-cron -o 'jsonpath={.status.lastScheduleTime}')
log "CronJob: Job $job made by the controller for $scheduled, completed, log read"

# --- SCDF's service account: what the Role grants, and no more ------------------------------------
as_scdf() { k --kubeconfig "$SCDF_TEST_K8S_SCDF_KUBECONFIG" "$@"; }
[[ $(as_scdf auth can-i create pods) == yes ]] || fail "scdf may not create pods"
[[ $(as_scdf auth can-i get pods --subresource=log) == yes ]] || fail "scdf may not read logs"
[[ $(as_scdf auth can-i create cronjobs.batch) == yes ]] || fail "scdf may not create CronJobs"
[[ $(as_scdf auth can-i get secrets || true) == no ]] || fail "scdf may read secrets"
[[ $(as_scdf auth can-i create pods -n default || true) == no ]] || fail "scdf may create pods in default"
as_scdf get pods >/dev/null || fail "scdf's token is refused"
as_scdf get secrets >/dev/null 2>&1 && fail "scdf could list secrets"
# The audit log records the account's requests: the pod list answered, the secret list refused.
audited() {
  python3 - "$SCDF_TEST_K8S_AUDIT_LOG" "system:serviceaccount:$ns:scdf" "$@" <<'EOF'
import json
import sys

path, user, verb, resource, code = sys.argv[1:]
with open(path) as f:
    events = [json.loads(line) for line in f if line.strip()]
sys.exit(not any(
    e["user"]["username"] == user and e["verb"] == verb
    and e.get("objectRef", {}).get("resource") == resource
    and e.get("responseStatus", {}).get("code") == int(code)
    for e in events
))
EOF
}
for _ in $(seq 1 20); do
  audited list secrets 403 && break
  sleep 0.25
done
audited list pods 200 || fail "the audit log lacks scdf's pod list"
audited list secrets 403 || fail "the audit log lacks scdf's refused secret list"
log "SCDF's service account: pods, logs, CronJobs in $ns; no secrets, nothing in default; audited"

# --- stop: nothing left ---------------------------------------------------------------------------
t0=$SECONDS
bash "$SETUP" stop
stopped=1
log "stopped in $((SECONDS - t0)) s"
for p in "${pids[@]}"; do
  [[ ! -e /proc/$p ]] || fail "process $p ($(tr '\0' ' ' <"/proc/$p/cmdline")) still runs"
done
for p in /proc/[0-9]*; do
  if grep -qaF "$DIR" "$p/cmdline" 2>/dev/null; then
    fail "process ${p#/proc/} still runs: $(tr '\0' ' ' <"$p/cmdline")"
  fi
done
leftover=$(findmnt -rn -o TARGET | grep -F "$DIR" || true)
[[ -z $leftover ]] || fail "mounts remain: $leftover"
[[ $(sysctl vm.overcommit_memory kernel.panic kernel.panic_on_oops) == "$sysctls_before" ]] ||
  fail "sysctls not restored: $(sysctl vm.overcommit_memory kernel.panic kernel.panic_on_oops)"
for c in /sys/fs/cgroup/*/kubepods; do
  [[ ! -e $c ]] || fail "cgroup $c remains"
done
[[ ! -e $DIR/env ]] || fail "$DIR/env remains"
for f in "${absent_before[@]}"; do
  [[ ! -e $f ]] || fail "$f remains: $(ls -R "$f")"
done
rm -rf "$WORK"
log "nothing left: no process, mount, cgroup or folder of the kubelet's; sysctls as before"
log "PASS in $((SECONDS - began)) s (start ${startup} s)"
