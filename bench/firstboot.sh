#!/bin/sh
# bench/firstboot.sh [RUNS]: what the first-boot agent costs boot to ready.
# Boots base's disk.raw (OUT, default o/e2e/out/base from `make check`) RUNS
# times (default 5) under TCG with `undistro run` in four ways, each to the
# role's ready line, and prints the medians and their difference from the
# first:
#   fw_cfg   first-boot data from qemu's fw_cfg (a host name): the agent
#            makes no network request; the baseline
#   none     qemu's usual network, no metadata, not EC2: one bounded try
#   imds     an emulated EC2 instance (undistro run --imds and the IMDSv2
#            emulator): token, instance id, region, host name, two keys
#   stall    an emulated EC2 instance whose metadata service accepts and
#            never answers: the agent's 10 s deadline
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
out=${OUT:-$top/o/e2e/out/base}
undistro=${UNDISTRO:-$top/undistro}
[ -s "$out/disk.raw" ] || { echo "bench/firstboot.sh: no $out/disk.raw (make check or undistro build base)" >&2; exit 1; }
t=$(mktemp -d /tmp/undistro-firstboot.XXXXXX)
trap 'rm -rf "$t"' EXIT
mkdir "$t/src" "$t/md" "$t/md/meta-data" "$t/md/meta-data/placement" "$t/md/meta-data/public-keys"
cp "$top/recipes/init/src/"* "$t/src/"
make -s -C "$t/src" imds-server >/dev/null
echo i-0abc123def4567890 >"$t/md/meta-data/instance-id"
echo eu-west-1 >"$t/md/meta-data/placement/region"
echo ip-10-1-2-3.eu-west-1.compute.internal >"$t/md/meta-data/hostname"
ssh-keygen -q -t ed25519 -N '' -f "$t/k0"
ssh-keygen -q -t ed25519 -N '' -f "$t/k1"
cp "$t/k0.pub" "$t/md/meta-data/public-keys/0"
cp "$t/k1.pub" "$t/md/meta-data/public-keys/1"

. "$top/bench/lib.sh"
for _ in $(seq "$runs"); do
	benchready "$out" --hostname bench >>"$t/fw_cfg"
	benchready "$out" >>"$t/none"
	benchready "$out" --imds "$t/src/imds-server -d $t/md -m ok" >>"$t/imds"
	benchready "$out" --imds "$t/src/imds-server -d $t/md -m stall" >>"$t/stall"
done
base=$(median <"$t/fw_cfg")
echo "boot to ready of base under TCG, median of $runs (s), and the difference from fw_cfg:"
for m in fw_cfg none imds stall; do
	v=$(median <"$t/$m")
	printf '  %-7s %6.2f  %+6.2f  (runs: %s)\n' "$m" "$v" "$(echo "$v - $base" | bc -l)" "$(sort -n "$t/$m" | tr '\n' ' ')"
done
