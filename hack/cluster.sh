#!/usr/bin/env bash
# A real single-node Kubernetes on this machine, for the cluster suite (test/cluster) and for trying
# Coffer by hand. Facts it is built on: ../shared/REAL-CLUSTER.md (pieces, versions, the settings this
# machine kind needs).
#
#   hack/cluster.sh build   build what is missing into bin/ (once): the Kubernetes multi-call binary,
#                           containerd + shim + ctr, CoreDNS, etcd, the pause image
#   hack/cluster.sh up      build, then start (or find running) containerd, etcd, kube-apiserver,
#                           kube-controller-manager, kube-scheduler, kubelet, kube-proxy, CoreDNS;
#                           waits for the node to be Ready and prints the kubeconfig path
#   hack/cluster.sh down    stop every process, and remove every mount, network namespace, bridge,
#                           iptables rule and file the cluster made
#   hack/cluster.sh status  exit 0 when the cluster is up and healthy
#
# Both up and down are idempotent: up on a healthy cluster only prints the kubeconfig; up on a broken
# or half-stopped one (a killed run) tears it down first. One cluster per machine (fixed ports).
# Needs root (uses sudo when not root) and Debian's runc, containernetworking-plugins, iptables,
# conntrack and openssl (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bin=$repo/bin
cmd=${1:-up}

if [ "$(id -u)" != 0 ] && [ "$cmd" != build ]; then
  exec sudo -E "$0" "$@"
fi

export GOFLAGS=-buildvcs=false GOWORK=off
state=${COFFER_CLUSTER_DIR:-/var/lib/coffer-cluster}
run=/run/coffer-cluster
sock=$run/containerd/containerd.sock
kubeconfig=$state/kubeconfig
node=coffer-node
pod_cidr=10.88.0.0/16
svc_cidr=10.96.0.0/16
dns_ip=10.96.0.10
bridge=coffer0
etcd_port=12379
pause_image=coffer.local/pause:1

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }

node_ip() {
  local ip
  ip=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1)
  [ -n "$ip" ] || ip=$(hostname -I | awk '{print $1}')
  [ -n "$ip" ] || die "no IPv4 address for the node"
  echo "$ip"
}

# ---------------------------------------------------------------------------------------------- build
# go_build <output> <module dir> <package> [ldflags]: once; the binary appears atomically.
go_build() {
  local out=$1 dir=$2 pkg=$3 ldflags=${4:-}
  [ -x "$out" ] && return 0
  (
    flock 9
    [ -x "$out" ] && exit 0
    tmp=$(mktemp -d "$bin/.build-XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    log "building $(basename "$out") from $dir (once)"
    start=$SECONDS
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/out" "$pkg")
    mv -f "$tmp/out" "$out"
    log "built $(basename "$out") in $((SECONDS - start))s"
  ) 9>"$out.lock"
  rm -f "$out.lock"
}

need_debian_packages() {
  local pkgs=()
  command -v runc >/dev/null 2>&1 || pkgs+=(runc)
  [ -x /usr/lib/cni/bridge ] || pkgs+=(containernetworking-plugins)
  command -v iptables >/dev/null 2>&1 || pkgs+=(iptables)
  command -v conntrack >/dev/null 2>&1 || pkgs+=(conntrack)
  command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
  command -v curl >/dev/null 2>&1 || pkgs+=(curl)
  command -v ss >/dev/null 2>&1 || pkgs+=(iproute2)
  command -v ip >/dev/null 2>&1 || pkgs+=(iproute2)
  command -v flock >/dev/null 2>&1 || pkgs+=(util-linux)
  if [ ${#pkgs[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    log "installing: ${pkgs[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
}

build() {
  mkdir -p "$bin"
  need_debian_packages
  # Kubernetes: one binary, one build, shared with envtest (hack/envtest-assets.sh).
  hack/envtest-assets.sh >/dev/null
  for c in kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    ln -sfn kube "$bin/$c"
  done
  local ctd=github.com/containerd/containerd/v2
  for c in containerd containerd-shim-runc-v2 ctr; do
    if [ ! -x "$bin/$c" ]; then
      log "building $c v2.4.2 (once; containerd takes minutes cold)"
      local tmp
      tmp=$(mktemp -d "$bin/.build-XXXXXX")
      CGO_ENABLED=0 GOBIN="$tmp" go install "$ctd/cmd/$c@v2.4.2"
      mv -f "$tmp/$c" "$bin/$c"
      rm -rf "$tmp"
    fi
  done
  go_build "$bin/coredns" hack/tools/coredns .
  go_build "$bin/pause" hack/tools/images ./cmd/pause
  go_build "$bin/coffer-image" hack/tools/images ./cmd/coffer-image
  if [ ! -f "$bin/images/pause.tar" ]; then
    mkdir -p "$bin/images"
    "$bin/coffer-image" -tag "$pause_image" -file "$bin/pause:/pause:0755" -entrypoint /pause \
      -user 65535:65535 -o "$bin/images/pause.tar.tmp"
    mv -f "$bin/images/pause.tar.tmp" "$bin/images/pause.tar"
  fi
}

# --------------------------------------------------------------------------------------------- status
pid_alive() { # pid_alive <name>
  local f=$state/pids/$1 pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

components=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns)

kubectl() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

healthy() {
  local c
  for c in "${components[@]}"; do pid_alive "$c" || return 1; done
  kubectl get --raw /readyz >/dev/null 2>&1 || return 1
  [ "$(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# ----------------------------------------------------------------------------------------------- down
# Everything the cluster made, found from its own records (pid files, its state and run directories,
# its bridge and chain names), so a killed run's leftovers are found too and nothing else is touched.
down() {
  local c pid
  # Pods first: every process in the kubelet's cgroups (containers and sandboxes).
  kill_pids() { # kill_pids <signal> <pid>...
    local sig=$1; shift
    [ $# -gt 0 ] && kill "-$sig" "$@" 2>/dev/null || true
  }
  pod_pids() { cat /sys/fs/cgroup/*/kubepods*/cgroup.procs /sys/fs/cgroup/*/kubepods*/*/cgroup.procs \
    /sys/fs/cgroup/*/kubepods*/*/*/cgroup.procs /sys/fs/cgroup/*/kubepods*/*/*/*/cgroup.procs 2>/dev/null | sort -u; }
  for c in kubelet kube-proxy; do
    if pid_alive "$c"; then kill "$(cat "$state/pids/$c")" 2>/dev/null || true; fi
  done
  for _ in 1 2 3; do
    # shellcheck disable=SC2046
    kill_pids KILL $(pod_pids)
    [ -z "$(pod_pids)" ] && break
    sleep 1
  done
  # containerd's shims: found by our socket path in their arguments.
  shims() {
    local p
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/exe" 2>/dev/null)" = "$bin/containerd-shim-runc-v2" ] && { echo "${p#/proc/}"; continue; }
      tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "-address $sock" && echo "${p#/proc/}"
    done
    return 0
  }
  for c in coredns kube-scheduler kube-controller-manager containerd kube-apiserver etcd; do
    pid_alive "$c" && kill "$(cat "$state/pids/$c")" 2>/dev/null || true
  done
  # shellcheck disable=SC2046
  kill_pids KILL $(shims)
  for c in "${components[@]}"; do
    for _ in $(seq 1 50); do pid_alive "$c" || break; sleep 0.2; done
    pid_alive "$c" && kill -KILL "$(cat "$state/pids/$c")" 2>/dev/null || true
  done
  # Mounts under our directories (containerd's rootfs and shm, kubelet volumes, netns), deepest first.
  local m
  for _ in 1 2 3; do
    m=$(awk -v a="$state" -v b="$run" -v c="/run/netns/cni-" '
      index($2, a) == 1 || index($2, b) == 1 || index($2, c) == 1 { print $2 }' /proc/mounts | sort -r)
    [ -z "$m" ] && break
    while read -r p; do umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true; done <<<"$m"
  done
  # Network namespaces the runtime made for our pods (CNI names them cni-<uuid>).
  local ns
  for ns in /run/netns/cni-*; do
    [ -e "$ns" ] || continue
    umount "$ns" 2>/dev/null || true
    rm -f "$ns"
  done
  ip link show "$bridge" >/dev/null 2>&1 && ip link delete "$bridge" 2>/dev/null || true
  # iptables: every rule and chain of kube-proxy, the kubelet and the CNI plugins (KUBE-*, CNI-*).
  local t
  for t in iptables ip6tables; do
    command -v "$t-save" >/dev/null 2>&1 || continue
    local rules
    rules=$("$t-save" 2>/dev/null) || continue
    if grep -q -E 'KUBE-|CNI-' <<<"$rules"; then
      grep -v -E 'KUBE-|CNI-' <<<"$rules" | "$t-restore" || log "could not clean $t rules"
    fi
  done
  command -v conntrack >/dev/null 2>&1 && conntrack -D -s "$pod_cidr" >/dev/null 2>&1 || true
  # Files: our state and run directories, and the pod log links the kubelet keeps in /var/log/containers.
  local l
  for l in /var/log/containers/*.log; do
    [ -L "$l" ] || continue
    case "$(readlink "$l")" in "$state"/*) rm -f "$l" ;; esac
  done
  if [ -f "$state/ip_forward" ]; then sysctl -qw net.ipv4.ip_forward="$(cat "$state/ip_forward")" || true; fi
  rm -rf "$run"
  if [ -d "$state" ]; then
    if ! rm -rf "$state" 2>/dev/null; then
      sleep 1
      rm -rf "$state" || die "could not remove $state (still mounted?)"
    fi
  fi
  log "down: nothing of the cluster is left"
}

# ------------------------------------------------------------------------------------------------- up
pki() {
  local d=$state/pki ip=$1
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj /CN=coffer-cluster-ca 2>/dev/null
    cat >apiserver.ext <<EOF
subjectAltName=IP:127.0.0.1,IP:$ip,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth
EOF
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    # The apiserver's client certificate for the kubelet (logs, exec).
    echo extendedKeyUsage=clientAuth >client.ext
    openssl req -newkey rsa:2048 -nodes -keyout kubelet-client.key -out kubelet-client.csr \
      -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" 2>/dev/null
    openssl x509 -req -in kubelet-client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile client.ext -out kubelet-client.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  )
  local token
  token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token,admin,admin,system:masters" >"$state/tokens.csv"
  chmod 600 "$state/tokens.csv"
  cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: coffer
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: "$d/ca.crt"}
users:
- name: admin
  user: {token: "$token"}
contexts:
- name: coffer
  context: {cluster: coffer, user: admin}
current-context: coffer
EOF
  chmod 600 "$kubeconfig"
}

start() { # start <name> <command...>: in the background, its own session, logs to $state/logs/<name>.log
  local name=$1; shift
  setsid "$@" >>"$state/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$state/pids/$name"
}

wait_for() { # wait_for <what> <seconds> <command...>
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      log "timed out after ${secs}s waiting for $what; last log lines:"
      tail -n 30 "$state/logs/"*.log >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

up() {
  build
  if healthy; then
    log "already running"
    echo "$kubeconfig"
    return 0
  fi
  if [ -d "$state" ] || [ -d "$run" ]; then
    log "a cluster that is not healthy is left over: tearing it down first"
    down
  fi
  local p
  for p in 6443 $etcd_port 10250 10256 10257 10259; do
    if ss -Hltn "sport = :$p" | grep -q .; then die "port $p is in use by another process: one cluster per machine"; fi
  done
  local ip
  ip=$(node_ip)
  local started=$SECONDS
  mkdir -p "$state"/{pids,logs,etc,cni,pod-logs,kubelet} "$run"
  modprobe br_netfilter 2>/dev/null || true
  sysctl -n net.ipv4.ip_forward >"$state/ip_forward"
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || log "net.bridge.bridge-nf-call-iptables not settable"
  pki "$ip"
  # A start that fails (an error, or a wait that timed out) leaves nothing behind.
  trap 'rc=$?; if [ $rc != 0 ]; then log "start failed: tearing down"; down; fi; exit $rc' EXIT

  # containerd, with the CRI settings this machine needs (REAL-CLUSTER.md).
  mkdir -p "$state/etc/cni"
  cat >"$state/etc/cni/10-coffer.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "coffer", "plugins": [
  {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$pod_cidr"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$state/cni"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
  cat >"$state/etc/containerd.toml" <<EOF
version = 3
root = "$state/containerd"
state = "$run/containerd"
[grpc]
  address = "$sock"
[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = 'io.containerd.runc.v2'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      SystemdCgroup = false
      BinaryName = '$(command -v runc)'
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['/usr/lib/cni']
    conf_dir = '$state/etc/cni'
[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = '$pause_image'
EOF
  PATH=$bin:$PATH start containerd "$bin/containerd" --config "$state/etc/containerd.toml"
  wait_for containerd 60 "$bin/ctr" --address "$sock" version
  local msg
  if ! msg=$("$bin/ctr" --address "$sock" -n k8s.io images import "$bin/images/pause.tar" 2>&1); then
    echo "$msg" >&2
    exit 1
  fi

  start etcd "$bin/etcd" --name coffer --data-dir "$state/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
    --initial-cluster coffer=http://127.0.0.1:12380 --listen-metrics-urls ""
  local k=$state/pki
  KUBE_FOLLOW_PARENT=0 start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" --secure-port 6443 --advertise-address "$ip" \
    --tls-cert-file "$k/apiserver.crt" --tls-private-key-file "$k/apiserver.key" --client-ca-file "$k/ca.crt" \
    --token-auth-file "$state/tokens.csv" --authorization-mode Node,RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$k/sa.pub" --service-account-signing-key-file "$k/sa.key" \
    --service-cluster-ip-range "$svc_cidr" --allow-privileged=true \
    --kubelet-client-certificate "$k/kubelet-client.crt" --kubelet-client-key "$k/kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP --profiling=false --enable-priority-and-fairness=false
  wait_for kube-apiserver 180 kubectl get --raw /readyz

  start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$kubeconfig" \
    --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
    --service-account-private-key-file "$k/sa.key" --root-ca-file "$k/ca.crt" \
    --service-cluster-ip-range "$svc_cidr" --leader-elect=false --bind-address 127.0.0.1 \
    --use-service-account-credentials=false --profiling=false
  start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$kubeconfig" \
    --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --profiling=false

  cat >"$state/etc/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$sock
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
podCIDR: $pod_cidr
clusterDNS: [$dns_ip]
clusterDomain: cluster.local
podLogsDir: $state/pod-logs
readOnlyPort: 0
address: $ip
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $k/ca.crt}
authorization: {mode: AlwaysAllow}
# The machine's disk is shared and often fuller than the defaults allow; images are imported, not
# pulled, so image garbage collection must never remove them.
evictionHard: {memory.available: 100Mi, nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF
  start kubelet "$bin/kubelet" --config "$state/etc/kubelet.yaml" --kubeconfig "$kubeconfig" \
    --root-dir "$state/kubelet" --hostname-override "$node" --node-ip "$ip"

  cat >"$state/etc/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $kubeconfig}
mode: iptables
clusterCIDR: $pod_cidr
hostnameOverride: $node
bindAddress: $ip
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  start kube-proxy "$bin/kube-proxy" --config "$state/etc/kube-proxy.yaml"

  # CoreDNS on the host, reached by pods through the kube-dns Service and a hand-written EndpointSlice.
  cat >"$state/etc/Corefile" <<EOF
.:53 {
  bind $ip
  errors
  health 127.0.0.1:18080
  ready 127.0.0.1:18181
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig $kubeconfig
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  cache 30
}
EOF
  start coredns "$bin/coredns" -conf "$state/etc/Corefile"
  kubectl apply --server-side -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: $dns_ip
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: kube-dns-host, namespace: kube-system, labels: {kubernetes.io/service-name: kube-dns}}
addressType: IPv4
endpoints:
- addresses: ["$ip"]
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
EOF
  wait_for "node $node Ready" 180 node_ready
  wait_for "CoreDNS ready" 60 curl -fsS http://127.0.0.1:18181/ready
  wait_for "default service account" 60 kubectl -n default get serviceaccount default
  trap - EXIT
  log "up in $((SECONDS - started))s (node $node, $ip); kubeconfig:"
  echo "$kubeconfig"
}

node_ready() {
  [ "$(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

case "$cmd" in
  build) build ;;
  up) up ;;
  down) down ;;
  status) healthy ;;
  kubeconfig) echo "$kubeconfig" ;;
  *) die "usage: $0 build|up|down|status|kubeconfig" ;;
esac
