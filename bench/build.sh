#!/bin/sh
# bench/build.sh [ROLE]: the build stage's figures for BENCHMARKS.md.
#  1. cold build of ROLE (default base) from an empty store: stage2, packages,
#     kernel, rootfs, images; sources from the shared cache (UNDISTRO_CACHE);
#  2. no-op rebuild of the packages: wall time (hyperfine), against
#     `undistro check` on the same tree in the same run (the floor: loading
#     the tree), and stat-family system calls per input file (strace -f -c);
#  3. rebuild after an edit of busybox's recipe: what is rebuilt, how long.
set -eu
role=${1:-base}
top=$(cd "$(dirname "$0")/.." && pwd)
u=$top/undistro
t=$(mktemp -d /tmp/undistro-bench.XXXXXX)
trap 'rm -rf "$t"' EXIT
cp -r "$top/recipes" "$top/stage2" "$top/overlays" "$t/" 2>/dev/null
mkdir -p "$t/tree" && mv "$t/recipes" "$t/stage2" "$t/overlays" "$t/tree/"
export UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" SOURCE_DATE_EPOCH=1700000000
cd "$t"
echo "## cold build of $role ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
s=$(date +%s.%N)
"$u" -C "$t/tree" build "$role" -o "$t/out" 2>&1 | grep -E '^undistro: built' | tail -1
e=$(date +%s.%N)
cold=$(echo "$e - $s" | bc)
echo "cold build: ${cold} s wall"

echo "## no-op rebuild"
hyperfine -N -w 2 -r 10 --export-markdown "$t/noop.md" \
	"$u -C $t/tree check" "$u -C $t/tree build --packages $role -o $t/out" >/dev/null
cat "$t/noop.md"
strace -f -c -o "$t/strace" -e trace=%stat "$u" -C "$t/tree" build --packages "$role" -o "$t/out" 2>/dev/null
stats=$(awk '$NF ~ /stat/ { n += $4 } END { print n + 0 }' "$t/strace")
inputs=$(find "$t/tree/recipes" "$t/tree/stage2" -type f | wc -l)
echo "stat-family calls: $stats for $inputs input files ($(echo "scale=2; $stats / $inputs" | bc) per file)"

echo "## rebuild after editing busybox's recipe"
f=$t/tree/recipes/busybox/busybox.recipe
echo "# edited by bench/build.sh" >>"$f"
s=$(date +%s.%N)
"$u" -C "$t/tree" build --packages "$role" -o "$t/out" 2>&1 | grep -E '^undistro: (building|built)' || true
e=$(date +%s.%N)
echo "rebuild: $(echo "$e - $s" | bc) s"
