#!/bin/sh
# bench/watch.sh [RUNS]: undistro watch on a synthetic role (tests/e2e/synth.sh:
# host toolchain, a placeholder kernel, no sources), in one run:
#  1. the no-op `undistro build r` (hyperfine), the baseline;
#  2. an overlay edit under `undistro watch r`, RUNS times (default 5): the
#     seconds from the edit to a new rootfs.tar.zst, and to the cycle's status
#     line (rootfs and images), medians.
# Builds only the synthetic packages; the real recipes are not touched.
set -eu
runs=${1:-5}
TOP=$(cd "$(dirname "$0")/.." && pwd)
UNDISTRO=$TOP/undistro
. "$TOP/tests/e2e/synth.sh"
as=     # the benchmark runs as whoever starts it
synthinit bench-watch
synthrole
printf 'name = r\npackages = init\nkernel = kern\noverlays = web\n' >"$r/roles/r.role"
mkdir -p "$t/tree/overlays/web/srv"
echo page >"$t/tree/overlays/web/srv/index.html"
export SOURCE_DATE_EPOCH=1700000000 UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t"
u=$UNDISTRO
o=$t/out/$(uname -m)/r
"$u" -C "$t/tree" build -o "$o" r >/dev/null 2>&1

echo "## watch on a synthetic role ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
hyperfine -N -w 3 -r 20 --export-markdown "$t/noop.md" "$u -C $t/tree build -o $o r" >/dev/null
tail -1 "$t/noop.md"

"$u" -C "$t/tree" watch -o "$o" r >"$t/w.out" 2>"$t/w.err" &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$t"' EXIT
lines() { grep -c '^undistro: watch: ' "$t/w.out" || true; }
until [ "$(lines)" -ge 1 ]; do sleep 0.05; done
i=0
: >"$t/rootfs"
: >"$t/cycle"
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	before=$(stat -c %i.%Y "$o/rootfs.tar.zst")
	start=$(date +%s.%N)
	echo "page $i" >"$t/tree/overlays/web/srv/index.html"
	while [ "$(stat -c %i.%Y "$o/rootfs.tar.zst" 2>/dev/null || echo "$before")" = "$before" ]; do sleep 0.01; done
	echo "$(date +%s.%N) - $start" | bc >>"$t/rootfs"
	until [ "$(lines)" -ge $((i + 1)) ]; do sleep 0.01; done
	echo "$(date +%s.%N) - $start" | bc >>"$t/cycle"
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "overlay edit -> new rootfs.tar.zst: median $(median "$t/rootfs") s; -> status line (rootfs and images):" \
	"median $(median "$t/cycle") s ($runs edits; 150 ms of it is the debounce)"
grep '^undistro: watch: ' "$t/w.out" | tail -1
