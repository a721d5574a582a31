#!/usr/bin/env bash
# Podman with its CNI network backend and a conflist using nlkit-cni, run
# inside the private network + mount namespace the test made for it:
#   unshare -n -m --propagation private test/cni/podman-run.sh SCRATCH
# SCRATCH holds bin/nlkit-cni, rootfs/ (the container) and receives the
# storage, the network configuration and the results. /run and /var/lib get
# fresh tmpfs mounts here (podman's and crun's run state, /run/netns, the CNI
# result cache), /etc/cni and /var/lib/containers are never used: nothing of
# the machine changes, and everything goes with the namespaces. /dev/shm gets
# one too (podman keeps its lock file there), and every mount is made with -n:
# util-linux would record it in /run/mount/utab, on the host's /run until the
# tmpfs is over it.
set -euo pipefail
S=$1
mount -n -t tmpfs tmpfs /run
mount -n -t tmpfs tmpfs /var/lib
mount -n -t tmpfs tmpfs /dev/shm
# crun refuses a hybrid cgroup layout (v1 controllers + an empty v2 tree); the
# container runs without cgroups (--cgroups disabled), so hide the v2 tree here
if mountpoint -q /sys/fs/cgroup/unified; then umount -l /sys/fs/cgroup/unified; fi
ip link set lo up

mkdir -p "$S/net.d" "$S/storage"
cat >"$S/net.d/nlkit.conflist" <<CONF
{ "cniVersion": "1.0.0", "name": "nlkit", "plugins": [
  { "type": "nlkit-cni", "bridge": "nlkpod0", "isGateway": true, "ipMasq": true, "stateDir": "$S/state",
    "capabilities": { "portMappings": true }, "ipam": { "ranges": [[{ "subnet": "10.89.0.0/24", "gateway": "10.89.0.1" }]] } }
]}
CONF
cat >"$S/containers.conf" <<CONF
[network]
network_backend = "cni"
cni_plugin_dirs = ["$S/bin", "/usr/lib/cni"]
network_config_dir = "$S/net.d"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
CONF
cat >"$S/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$S/storage"
runroot = "/run/containers/storage"
CONF
export CONTAINERS_CONF="$S/containers.conf" CONTAINERS_STORAGE_CONF="$S/storage.conf"

bridge_ports() { ip -j link show master nlkpod0 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s||"[]").length))'; }
greet() { exec 3<>"/dev/tcp/$1/$2" && head -n1 <&3; exec 3<&-; }

podman run -d --name web --network nlkit -p 8080:80 --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroups disabled --rootfs "$S/rootfs" /server >"$S/container-id"
ip=$(podman inspect -f '{{(index .NetworkSettings.Networks "nlkit").IPAddress}}' web)
{
  echo "ip=$ip"
  echo "direct=$(greet "$ip" 80)"
  echo "published=$(greet 127.0.0.1 8080)"
  echo "ports-before=$(bridge_ports)"
  nft -j list ruleset >"$S/nft-before.json"
  podman rm -f web >/dev/null
  echo "ports-after=$(bridge_ports)"
  nft -j list ruleset >"$S/nft-after.json"
} >"$S/results.txt"
cat "$S/results.txt"
