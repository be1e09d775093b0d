#!/usr/bin/env bash
# A real single-node Kubernetes cluster for the test suite, as root on Debian, bound to loopback:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd with runc, and the
# kubelet, each a background process with its PID file and log under .cache/kubernetes/.
#
#   bash scripts/setup-kubernetes.sh start         starts it (a no-op when it runs), waits until
#                                                  the node is Ready, writes .cache/kubernetes/env
#   bash scripts/setup-kubernetes.sh stop          stops all of it and undoes what it changed
#   bash scripts/setup-kubernetes.sh status        what runs (exit 0 only when all of it does)
#   bash scripts/setup-kubernetes.sh import-image <podman image>...
#                                                  copies podman images into the cluster's
#                                                  containerd (pods use imagePullPolicy: Never)
#
# The binaries come from scripts/kubernetes/build.sh (built once into a cache folder keyed by
# version), the pod sandbox image from scripts/kubernetes/pause.go. Certificates, configs,
# etcd's data, containerd's root and state and the kubelet's root all live under
# .cache/kubernetes/: nothing under /etc changes and no service is enabled. What the kubelet
# changes outside (three sysctls, its cgroups, two folders at fixed paths) is put back by `stop`.
#
# Not a production cluster: no kube-proxy, no DNS, no CNI network (pods run with hostNetwork
# and reach the host's servers on 127.0.0.1), one node, images imported rather than pulled.
# docs/kubernetes-cluster.md says what is real and what it costs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

log() { printf 'setup-kubernetes: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

DIR=$ROOT/.cache/kubernetes
PKI=$DIR/pki
CONF=$DIR/conf
LOGS=$DIR/logs
RUN=$DIR/run
DATA=$DIR/data
CACHE=${SCDF_TASK_TOOL_CACHE:-/var/cache/generator-scdf-task}

# The namespace SCDF launches into, as scripts/kubernetes/scdf-rbac.yaml names it.
NAMESPACE=scdf-tasks
# The node's name is also the address the API server reaches the kubelet at (logs, stop): it
# must resolve to loopback on any machine, which only `localhost` does.
NODE=localhost
# The API server and etcd off their usual ports, so that a developer's own cluster or etcd does
# not collide with them; the kubelet on its own defaults.
API_PORT=16443
ETCD_PORT=12379
ETCD_PEER_PORT=12380
KUBELET_PORT=10250
KUBELET_HEALTHZ_PORT=10248
API_URL=https://127.0.0.1:$API_PORT
SOCK=$RUN/containerd.sock
# The three sysctls the kubelet sets machine-wide when it starts (kubelet's
# setupKernelTunables); `stop` restores the values saved before.
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)
# The kubelet makes these whatever its root folder (its device-plugin socket; links to the
# containers' logs), innermost first.
KUBELET_FIXED_DIRS=(/var/lib/kubelet/device-plugins /var/lib/kubelet /var/log/containers)
# Start order; `stop` goes the other way round.
COMPONENTS=(etcd kube-apiserver containerd kube-controller-manager kube-scheduler kubelet)
# Seconds the API server may take to be ready, and the node; seconds a process has between
# SIGTERM and SIGKILL. Generous: the machine may be shared with a parallel build.
START_TIMEOUT=${SCDF_TEST_K8S_START_TIMEOUT:-180}
STOP_GRACE=15

[[ ${1-} ]] || die "usage: setup-kubernetes.sh start|stop|status|import-image <image>..."
COMMAND=$1
shift
[[ $(id -u) -eq 0 ]] || die "run as root (it starts containerd and the kubelet)"

# --- processes ----------------------------------------------------------------------------------

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }

# Alive and still the process the PID file was written for: every command line of ours names a
# path under $DIR, so a PID reused by an unrelated process is never taken for it.
alive() {
  local pid cmdline
  pid=$(pid_of "$1")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$DIR"* ]]
}

# Starts a daemon in a session of its own, so that the caller's Ctrl-C or the end of the calling
# test does not reach it, with no descriptor of the caller's open (a lock held with flock, the
# pipe of a test capturing this script's output would otherwise stay open as long as it runs).
launch() {
  local name=$1
  shift
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid "$@" </dev/null >"$LOGS/$name.log" 2>&1
  ) &
  echo $! >"$RUN/$name.pid"
}

# Sends SIGTERM, then SIGKILL after a bound, and waits until the process has gone.
terminate() {
  local pid=$1 grace=$2 what=$3 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "$what ($pid) still runs ${grace} s after SIGTERM: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "$what ($pid) survives SIGKILL"
}

# Stops components together: SIGTERM to each, then waits for each in turn.
stop_components() {
  local c pids=() names=() i
  for c in "$@"; do
    if alive "$c"; then
      pids+=("$(pid_of "$c")")
      names+=("$c")
      kill -TERM "${pids[-1]}" 2>/dev/null || true
    fi
  done
  for i in "${!pids[@]}"; do terminate "${pids[i]}" "$STOP_GRACE" "${names[i]}"; done
  for c in "$@"; do rm -f "$RUN/$c.pid"; done
}

# Waits up to $1 seconds for a command to succeed; on time-out shows the component's log.
wait_for() {
  local timeout=$1 what=$2 component=$3 deadline
  shift 3
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [[ $component != - ]] && ! alive "$component"; then
      tail -n 40 "$LOGS/$component.log" >&2 || true
      die "$component exited while waiting for $what (log: $LOGS/$component.log)"
    fi
    if ((SECONDS >= deadline)); then
      [[ $component == - ]] || tail -n 40 "$LOGS/$component.log" >&2 || true
      die "no $what after $timeout s"
    fi
    sleep 0.5
  done
}

# --- binaries and images --------------------------------------------------------------------------

installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }

install_packages() {
  local missing=() p
  # containerd runs the pods through runc; the CNI plugins give the pod sandboxes their loopback.
  for p in containerd runc containernetworking-plugins; do installed "$p" || missing+=("$p"); done
  # What this script itself runs: certificates, health checks, the port check.
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  command -v ss >/dev/null || missing+=(iproute2)
  ((${#missing[@]})) || return 0
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 -print -quit 2>/dev/null) ]]; then
    apt-get update -qq
  fi
  log "installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's package enables and starts its own containerd under systemd, with the config from
  # /etc; this cluster runs its own, so the packaged service is turned off again.
  if [[ -d /run/systemd/system ]] && systemctl is-enabled --quiet containerd 2>/dev/null; then
    log "disabling the packaged containerd service (this cluster runs its own)"
    systemctl disable --now --quiet containerd
  fi
}

# Builds them the first time (scripts/kubernetes/build.sh; cached); remembers where they are for
# `status`, which never builds.
binaries() {
  local dirs
  dirs=$(bash "$ROOT/scripts/kubernetes/build.sh") || die "scripts/kubernetes/build.sh failed"
  mkdir -p "$RUN"
  printf '%s\n' "$dirs" >"$RUN/bin-dirs"
  known_binaries
}
known_binaries() {
  K8S_BIN=$(sed -n 1p "$RUN/bin-dirs" 2>/dev/null || true)
  ETCD_BIN=$(sed -n 2p "$RUN/bin-dirs" 2>/dev/null || true)
  KUBECTL=$K8S_BIN/kubectl
}

GO=$(command -v go || echo /usr/local/go/bin/go)
PAUSE_KEY=$(sha256sum "$ROOT/scripts/kubernetes/pause.go" | cut -c1-12)
PAUSE_DIR=$CACHE/kubernetes-pause-$PAUSE_KEY
PAUSE_IMAGE=localhost/generator-scdf-task/pause:$PAUSE_KEY

# The sandbox image, keyed by the program's source: a static binary in a one-layer image,
# written as a `docker save` archive by hand (no engine needed), once.
pause_image() {
  [[ -f $PAUSE_DIR/image.tar ]] && return 0
  [[ -x $GO ]] || die "go is missing; scripts/setup-system.sh installs it"
  log "building the pod sandbox image $PAUSE_IMAGE"
  mkdir -p "$CACHE"
  local tmp arch layer config
  tmp=$(mktemp -d "$CACHE/.kubernetes-pause-XXXXXX")
  mkdir -p "$tmp/rootfs" "$tmp/image"
  CGO_ENABLED=0 GOTOOLCHAIN=local "$GO" build -trimpath -ldflags "-s -w" -o "$tmp/rootfs/pause" \
    "$ROOT/scripts/kubernetes/pause.go"
  arch=$("$GO" env GOARCH)
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp/rootfs" -cf "$tmp/layer.tar" pause
  layer=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
  mkdir -p "$tmp/image/$layer"
  mv "$tmp/layer.tar" "$tmp/image/$layer/layer.tar"
  printf '{"architecture":"%s","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$layer" >"$tmp/config.json"
  config=$(sha256sum "$tmp/config.json" | cut -d' ' -f1)
  mv "$tmp/config.json" "$tmp/image/$config.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
    "$config" "$PAUSE_IMAGE" "$layer" >"$tmp/image/manifest.json"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp/image" -cf "$tmp/image.tar" .
  rm -rf "$tmp/rootfs" "$tmp/image"
  rm -rf "$PAUSE_DIR"
  mv "$tmp" "$PAUSE_DIR"
}

ctr_k8s() { ctr --address "$SOCK" --namespace k8s.io "$@"; }

# --- certificates and configs ---------------------------------------------------------------------

# A key and a certificate signed by the cluster's CA: name, subject, optional subjectAltName.
# Kept while valid for another day, so that a client holding the CA stays valid across restarts.
issue() {
  local name=$1 subject=$2 san=${3-}
  if [[ -f $PKI/$name.crt ]] && openssl x509 -checkend 86400 -noout -in "$PKI/$name.crt" >/dev/null 2>&1 &&
    openssl verify -CAfile "$PKI/ca.crt" "$PKI/$name.crt" >/dev/null 2>&1; then
    return 0
  fi
  local ext=$PKI/$name.ext
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n $san ]]; then
      echo "extendedKeyUsage=serverAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -subj "$subject" \
    -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 365 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
  chmod 600 "$PKI/$name.key"
}

certificates() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  if ! openssl x509 -checkend 86400 -noout -in "$PKI/ca.crt" >/dev/null 2>&1; then
    log "writing a new cluster CA"
    rm -f "$PKI"/*.crt "$PKI"/*.key
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
      -subj "/CN=generator-scdf-task test cluster CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    chmod 600 "$PKI/ca.key"
  fi
  issue apiserver "/CN=kube-apiserver" \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.96.0.1"
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  issue admin "/O=system:masters/CN=kubernetes-admin"
  issue controller-manager "/CN=system:kube-controller-manager"
  issue scheduler "/CN=system:kube-scheduler"
  issue kubelet-client "/O=system:nodes/CN=system:node:$NODE"
  issue kubelet "/CN=$NODE" "DNS:$NODE,IP:127.0.0.1"
  if [[ ! -f $PKI/sa.key ]]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
    openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
    chmod 600 "$PKI/sa.key"
  fi
}

kubeconfig() {
  local file=$1 user=$2
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: scdf-test
    cluster:
      server: $API_URL
      certificate-authority: $PKI/ca.crt
users:
  - name: $user
    user:
      client-certificate: $PKI/$user.crt
      client-key: $PKI/$user.key
contexts:
  - name: $user
    context: {cluster: scdf-test, user: $user, namespace: ${3:-default}}
current-context: $user
EOF
  chmod 600 "$file"
}

configs() {
  mkdir -p "$CONF/cni"
  kubeconfig "$DIR/admin.kubeconfig" admin "$NAMESPACE"
  kubeconfig "$CONF/controller-manager.kubeconfig" controller-manager
  kubeconfig "$CONF/scheduler.kubeconfig" scheduler
  kubeconfig "$CONF/kubelet.kubeconfig" kubelet-client

  # Only what SCDF's service account does is recorded, at Metadata level (who, verb, resource,
  # answer; never a body): a launch refused for a missing permission shows here.
  cat >"$CONF/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: ["system:serviceaccount:$NAMESPACE:scdf"]
  - level: None
EOF

  # containerd: its own root, state, socket and plugin folders; the CRI plugin with runc on
  # cgroupfs (no systemd here); restrict_oom_score_adj because CAP_SYS_RESOURCE may be missing
  # from the bounding set (then runc cannot lower the sandbox's oom_score_adj and fails).
  cat >"$CONF/containerd.toml" <<EOF
version = 2
root = "$DATA/containerd"
state = "$RUN/containerd"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  level = "warn"

[plugins."io.containerd.internal.v1.opt"]
  path = "$DATA/containerd-opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc || echo /usr/bin/runc)"
        Root = "$RUN/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CONF/cni"
EOF

  # The runtime reports its network ready only with a CNI network configured. Pods run with
  # hostNetwork; a sandbox of its own gets only a loopback interface: nothing is created on the
  # host (no bridge, no iptables rule).
  cat >"$CONF/cni/10-loopback.conflist" <<'EOF'
{
  "cniVersion": "1.0.0",
  "name": "loopback-only",
  "plugins": [{"type": "loopback"}]
}
EOF

  # failCgroupV1, cgroupDriver: a cgroup v1 host without systemd. oomScoreAdj 0: see containerd
  # above. The image garbage collector is off, since imported images cannot be pulled again;
  # eviction thresholds are low because the disk is shared with the rest of the suite.
  # makeIPTablesUtilChains off: no iptables chain on the host.
  cat >"$CONF/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
containerRuntimeEndpoint: unix://$SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
oomScoreAdj: 0
failSwapOn: false
makeIPTablesUtilChains: false
resolvConf: /etc/resolv.conf
podLogsDir: $DATA/pod-logs
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
serializeImagePulls: false
EOF
}

# --- start ----------------------------------------------------------------------------------------

running() {
  local c
  for c in "${COMPONENTS[@]}"; do alive "$c" || return 1; done
}

kubectl_admin() { "$KUBECTL" --kubeconfig "$DIR/admin.kubeconfig" --request-timeout=10s "$@"; }

node_ready() {
  local out
  out=$(kubectl_admin get node "$NODE" \
    -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.spec.taints}') || return 1
  # Ready, and the node controller has lifted the not-ready taint the node was created with.
  [[ $out == True/ ]]
}

start() {
  if running; then
    # A loaded machine may answer slowly: a running cluster is restarted only when its API
    # server stays unready for half a minute.
    local deadline=$((SECONDS + 30))
    until kubectl_admin get --raw /readyz >/dev/null 2>&1; do
      ((SECONDS < deadline)) || break
      sleep 1
    done
    if ((SECONDS < deadline)); then
      log "already running (node $NODE, API $API_URL); nothing to do"
      return 0
    fi
    log "running, but the API server is not ready: starting again"
  fi
  # Whatever a crash or a kill left behind (stale PID files, mounts, containers) goes first.
  stop quiet
  local started=$SECONDS port
  # Another cluster (another checkout's, say) would make this one fail half-way, less clearly.
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$KUBELET_PORT" "$KUBELET_HEALTHZ_PORT"; do
    [[ -z $(ss -ltnH "sport = :$port") ]] ||
      die "port $port is taken: $(ss -ltnpH "sport = :$port" | awk '{print $NF}' | head -1); another cluster running?"
  done
  # A unix socket's path holds at most 107 bytes (containerd adds ".ttrpc").
  ((${#SOCK} <= 100)) || die "the checkout's path is too long for containerd's socket: $SOCK"
  mkdir -p "$LOGS" "$RUN" "$DATA"
  pause_image
  certificates
  configs
  for s in "${SYSCTLS[@]}"; do printf '%s=%s\n' "$s" "$(sysctl -n "$s")"; done >"$RUN/sysctl.saved"
  # Folders the kubelet makes at fixed paths whatever its root: `stop` removes those it made.
  for d in "${KUBELET_FIXED_DIRS[@]}"; do [[ -e $d ]] || echo "$d"; done >"$RUN/made-dirs"
  # A start that fails half-way leaves nothing running.
  trap 'log "start failed: stopping what was started"; stop quiet' EXIT

  launch etcd "$ETCD_BIN/etcd" --name default --data-dir "$DATA/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level warn
  wait_for 60 "etcd health" etcd curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

  launch kube-apiserver "$K8S_BIN/kube-apiserver" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --endpoint-reconciler-type none \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" --anonymous-auth=false \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range 10.96.0.0/24 \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI/ca.crt" \
    --kubelet-preferred-address-types Hostname \
    --audit-policy-file "$CONF/audit-policy.yaml" --audit-log-path "$LOGS/audit.log" \
    --audit-log-maxsize 50 --audit-log-maxbackup 1 \
    --profiling=false
  wait_for "$START_TIMEOUT" "API server ready" kube-apiserver kubectl_admin get --raw /readyz

  launch containerd containerd --config "$CONF/containerd.toml"
  wait_for 60 "containerd" containerd ctr_k8s version
  # (Listed first, then searched: grep -q ending early would fail the pipe under pipefail.)
  if ! grep -qxF "$PAUSE_IMAGE" <<<"$(ctr_k8s images ls -q)"; then
    ctr_k8s images import "$PAUSE_DIR/image.tar" >/dev/null
  fi

  # The controllers the suite needs: Jobs and CronJobs; the garbage collector (a deleted Job's
  # pods); namespaces; service accounts with their token Secrets and the CA ConfigMap a pod's
  # token volume mounts; the node controller (lifts the not-ready taint, marks the node); pod and
  # finished-Job clean-up.
  launch kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$CONF/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$CONF/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$CONF/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
    --controllers job-controller,cronjob-controller,garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,node-lifecycle-controller,pod-garbage-collector-controller,ttl-after-finished-controller \
    --use-service-account-credentials \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt"
  launch kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$CONF/scheduler.kubeconfig" \
    --authentication-kubeconfig "$CONF/scheduler.kubeconfig" \
    --authorization-kubeconfig "$CONF/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false
  launch kubelet "$K8S_BIN/kubelet" --config "$CONF/kubelet.yaml" \
    --kubeconfig "$CONF/kubelet.kubeconfig" --hostname-override "$NODE" --root-dir "$DATA/kubelet"

  wait_for "$START_TIMEOUT" "Ready node $NODE" kubelet node_ready
  for c in kube-controller-manager kube-scheduler; do
    alive "$c" || {
      tail -n 40 "$LOGS/$c.log" >&2
      die "$c exited (log: $LOGS/$c.log)"
    }
  done

  # The namespace SCDF launches into, and what SCDF may do there.
  kubectl_admin get namespace "$NAMESPACE" >/dev/null 2>&1 || kubectl_admin create namespace "$NAMESPACE" >/dev/null
  kubectl_admin apply -f "$ROOT/scripts/kubernetes/scdf-rbac.yaml" >/dev/null
  # A pod is admitted only once its namespace's default service account exists, and starts only
  # once the CA ConfigMap its token volume mounts is there.
  wait_for 60 "service account default in $NAMESPACE" - kubectl_admin -n "$NAMESPACE" get serviceaccount default
  wait_for 60 "ConfigMap kube-root-ca.crt in $NAMESPACE" - kubectl_admin -n "$NAMESPACE" get configmap kube-root-ca.crt
  wait_for 60 "the token of service account scdf" - scdf_token
  write_env
  trap - EXIT
  log "started in $((SECONDS - started)) s: node $NODE Ready, API $API_URL, namespace $NAMESPACE"
  log "settings for the tests: $DIR/env"
}

scdf_token() {
  local token
  token=$(kubectl_admin -n "$NAMESPACE" get secret scdf-token -o 'jsonpath={.data.token}') || return 1
  [[ -n $token ]] || return 1
  (
    umask 077
    base64 -d <<<"$token" >"$DIR/scdf.token"
  )
}

write_env() {
  # A kubeconfig holding SCDF's token, for clients that read one (its context names the namespace).
  (
    umask 077
    cat >"$DIR/scdf.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: scdf-test
    cluster: {server: $API_URL, certificate-authority: $PKI/ca.crt}
users:
  - name: scdf
    user: {tokenFile: $DIR/scdf.token}
contexts:
  - name: scdf
    context: {cluster: scdf-test, user: scdf, namespace: $NAMESPACE}
current-context: scdf
EOF
  )
  {
    echo "# Written by scripts/setup-kubernetes.sh start; removed by stop."
    echo "# kubectl as cluster admin (system:masters), in the namespace below."
    printf 'export KUBECONFIG=%q\n' "$DIR/admin.kubeconfig"
    printf 'export SCDF_TEST_KUBECTL=%q\n' "$KUBECTL"
    printf 'export SCDF_TEST_K8S_API_URL=%q\n' "$API_URL"
    printf 'export SCDF_TEST_K8S_CA_FILE=%q\n' "$PKI/ca.crt"
    echo "# SCDF's service account (scripts/kubernetes/scdf-rbac.yaml): its token, and a kubeconfig with it."
    printf 'export SCDF_TEST_K8S_SERVICE_ACCOUNT=%q\n' scdf
    printf 'export SCDF_TEST_K8S_TOKEN_FILE=%q\n' "$DIR/scdf.token"
    printf 'export SCDF_TEST_K8S_SCDF_KUBECONFIG=%q\n' "$DIR/scdf.kubeconfig"
    printf 'export SCDF_TEST_K8S_NAMESPACE=%q\n' "$NAMESPACE"
    printf 'export SCDF_TEST_K8S_NODE=%q\n' "$NODE"
    printf 'export SCDF_TEST_K8S_CONTAINERD_SOCKET=%q\n' "$SOCK"
    echo "# What SCDF's service account did, one JSON line per request (Metadata level)."
    printf 'export SCDF_TEST_K8S_AUDIT_LOG=%q\n' "$LOGS/audit.log"
  } >"$DIR/env"
}

# --- stop -----------------------------------------------------------------------------------------

# Mount points at or under a folder, deepest first (findmnt escapes blanks as \x20).
mounts_under() {
  findmnt -rn -o TARGET | while IFS= read -r m; do
    m=$(printf '%b' "$m")
    [[ $m == "$1" || $m == "$1"/* ]] && printf '%s\n' "$m"
  done | sort -r
}

stop() {
  local quiet=${1-} c p crashed=
  [[ -n $quiet ]] || log "stopping"
  # The kubelet first, so that nothing restarts what goes next; the control plane stays up
  # while containerd is emptied.
  stop_components kubelet kube-scheduler kube-controller-manager
  if alive containerd; then
    # Every pod's containers and sandboxes: SIGTERM, SIGKILL after a bound, then removed with
    # their snapshots (the containers would outlive containerd in their shims otherwise).
    local ids
    ids=$(ctr_k8s tasks ls -q 2>/dev/null || true)
    for c in $ids; do ctr_k8s tasks kill --all --signal SIGTERM "$c" >/dev/null 2>&1 || true; done
    for _ in $(seq 1 50); do
      [[ -z $(ctr_k8s tasks ls 2>/dev/null | awk 'NR>1 && $3 != "STOPPED"') ]] && break
      sleep 0.1
    done
    for c in $ids; do
      ctr_k8s tasks kill --all --signal SIGKILL "$c" >/dev/null 2>&1 || true
      ctr_k8s tasks delete --force "$c" >/dev/null 2>&1 || true
    done
    for c in $(ctr_k8s containers ls -q 2>/dev/null || true); do
      ctr_k8s containers delete "$c" >/dev/null 2>&1 || true
    done
  elif compgen -G "$RUN/containerd/io.containerd.runtime.v2.task/*/*" >/dev/null; then
    # containerd ended with containers in it: its store would bring them back on the next start.
    crashed=1
  fi
  stop_components containerd
  # Containers containerd could not delete (it had crashed, say) are runc's to end: its state
  # folder lists them with their init PIDs.
  local runc_root=$RUN/runc/k8s.io
  if [[ -d $runc_root ]]; then
    for c in $(runc --root "$runc_root" list -q 2>/dev/null || true); do
      log "removing container $c left running"
      runc --root "$runc_root" delete --force "$c" >/dev/null 2>&1 || true
    done
  fi
  # Shims outlive containerd: each serves this containerd's socket, named on its command line.
  local argv i
  for p in /proc/[0-9]*; do
    mapfile -d '' argv 2>/dev/null <"$p/cmdline" || continue
    [[ ${argv[0]-} == */containerd-shim* ]] || continue
    for ((i = 1; i < ${#argv[@]}; i++)); do
      if [[ ${argv[i - 1]} == -address && ${argv[i]} == "$SOCK" ]]; then
        terminate "${p#/proc/}" 5 "containerd-shim ${p#/proc/}"
        break
      fi
    done
  done
  stop_components kube-apiserver
  stop_components etcd

  # What the kubelet and containerd mounted (token volumes, sandboxes' /dev/shm, root file
  # systems), innermost first.
  local m
  while IFS= read -r m; do
    [[ -n $m ]] || continue
    umount "$m" 2>/dev/null || umount -l "$m" || die "cannot unmount $m"
  done < <(mounts_under "$DIR")
  [[ -z $(mounts_under "$DIR") ]] || die "mounts remain under $DIR: $(mounts_under "$DIR" | tr '\n' ' ')"

  # The pod cgroups the kubelet made (cgroupfs driver): empty now, removed leaf first.
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    if [[ -d $c ]]; then find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
  done

  # The kubelet's socket and log links at its fixed paths; the folders if it made them.
  if [[ -f $RUN/made-dirs ]]; then
    rm -f /var/lib/kubelet/device-plugins/kubelet.sock
    local link
    for link in /var/log/containers/*.log; do
      if [[ -L $link && $(readlink "$link") == "$DATA"/* ]]; then rm -f "$link"; fi
    done
    while IFS= read -r d; do rmdir "$d" 2>/dev/null || true; done <"$RUN/made-dirs"
    rm -f "$RUN/made-dirs"
  fi

  if [[ -f $RUN/sysctl.saved ]]; then
    while IFS='=' read -r key value; do
      [[ $(sysctl -n "$key") == "$value" ]] || sysctl -q -w "$key=$value"
    done <"$RUN/sysctl.saved"
    rm -f "$RUN/sysctl.saved"
  fi

  # The next start begins from an empty cluster; images stay in containerd's content store,
  # unless containerd crashed with containers in it.
  rm -rf "$DATA/etcd" "$DATA/kubelet" "$DATA/pod-logs" "$RUN/containerd" "$RUN/runc"
  if [[ -n $crashed ]]; then
    log "containerd had ended with containers in its store: its store is emptied (import images again)"
    rm -rf "$DATA/containerd"
  fi
  rm -f "$SOCK" "$SOCK.ttrpc"
  # containerd's shims put their sockets under /run/containerd/s whatever the config says: the
  # folders go once empty (a containerd of the machine's own keeps its socket there).
  rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null || true
  rm -f "$DIR/env" "$DIR/scdf.token" "$DIR/scdf.kubeconfig"
  [[ -n $quiet ]] || log "stopped"
}

status() {
  local c rc=0
  for c in "${COMPONENTS[@]}"; do
    if alive "$c"; then
      printf '%-24s running (pid %s)\n' "$c" "$(pid_of "$c")"
    else
      printf '%-24s stopped\n' "$c"
      rc=1
    fi
  done
  if ((rc == 0)); then
    if node_ready; then echo "node $NODE Ready; API $API_URL; namespace $NAMESPACE"; else
      echo "node $NODE not Ready"
      rc=1
    fi
  fi
  return "$rc"
}

import_images() {
  (($#)) || die "usage: setup-kubernetes.sh import-image <podman image>..."
  alive containerd || die "the cluster is not running (setup-kubernetes.sh start)"
  # shellcheck disable=SC1091
  [[ -f $ROOT/.cache/containers.env ]] && source "$ROOT/.cache/containers.env"
  local image
  for image in "$@"; do
    podman image exists "$image" || die "no podman image $image"
  done
  local started=$SECONDS
  podman save --multi-image-archive --format docker-archive "$@" | ctr_k8s images import - >/dev/null
  local listed
  listed=$(ctr_k8s images ls -q)
  for image in "$@"; do
    grep -qxF "$(podman image inspect --format '{{index .RepoTags 0}}' "$image")" <<<"$listed" ||
      die "containerd does not list $image after the import"
  done
  log "imported $* in $((SECONDS - started)) s"
}

case $COMMAND in
  start)
    install_packages
    binaries
    start
    ;;
  stop) stop ;;
  status)
    known_binaries
    status
    ;;
  import-image) import_images "$@" ;;
  *) die "unknown command $COMMAND (start, stop, status, import-image)" ;;
esac
