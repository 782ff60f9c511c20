#!/bin/sh
# bench/build.sh [ROLE]: the build stage's figures for BENCHMARKS.md.
#  1. cold build of ROLE (default base) from an empty store: stage2, packages,
#     kernel, rootfs, images; sources from the shared cache (UNDISTRO_CACHE);
#  2. no-op rebuild of the packages: wall time (hyperfine), against
#     `undistro check` on the same tree in the same run (the floor: loading
#     the tree), and stat-family system calls per input file (strace -f -c);
#  3. rebuild after an edit of busybox's recipe: what is rebuilt, how long.
# WARM=STORE skips step 1: the store STORE (e.g. o/e2e/store, after
# make check) is hard-linked into the benchmark's own store instead.
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
if [ -n "${WARM:-}" ]; then
	mkdir -p "$t/store"
	cp -al "$WARM/pkg" "$t/store/pkg"
	"$u" -C "$t/tree" build "$role" -o "$t/out" >/dev/null 2>&1
	echo "## warm store from $WARM (no cold build)"
else
	echo "## cold build of $role ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
	s=$(date +%s.%N)
	"$u" -C "$t/tree" build "$role" -o "$t/out" 2>&1 | grep -E '^undistro: built' | tail -1
	e=$(date +%s.%N)
	cold=$(echo "$e - $s" | bc)
	echo "cold build: ${cold} s wall"
fi

echo "## no-op rebuild"
hyperfine -N -w 2 -r 10 --export-markdown "$t/noop.md" \
	"$u -C $t/tree check" "$u -C $t/tree build --packages $role -o $t/out" >/dev/null
cat "$t/noop.md"
# stat-family calls (stat, lstat, fstat, newfstatat, statx; not statfs), less
# those of `undistro --version` (the dynamic loader's, before main), same run
stats() { strace -f -c -o "$t/strace" "$@" >/dev/null 2>&1; awk '$NF ~ /stat/ && $NF !~ /statfs/ { n += $4 } END { print n + 0 }' "$t/strace"; }
all=$(stats "$u" -C "$t/tree" build --packages "$role" -o "$t/out")
floor=$(stats "$u" --version)
inputs=$(find "$t/tree/recipes" "$t/tree/stage2" -type f | wc -l)
echo "stat-family calls: $all, of which $floor before main (undistro --version);" \
	"$((all - floor)) for $inputs input files ($(echo "scale=2; ($all - $floor) / $inputs" | bc) per file)"

echo "## rebuild after editing busybox's recipe"
f=$t/tree/recipes/busybox/busybox.recipe
echo "# edited by bench/build.sh" >>"$f"
s=$(date +%s.%N)
"$u" -C "$t/tree" build --packages "$role" -o "$t/out" 2>&1 | grep -E '^undistro: (building|built)' || true
e=$(date +%s.%N)
echo "rebuild: $(echo "$e - $s" | bc) s"

echo "## assembling $role from the warm store (rootfs, initramfs, no image)"
# baseline, same run: zstd -19 of the two uncompressed archives with the CLI
# (the compression alone, which is most of the assembly)
zstd -q -dc "$t/out/rootfs.tar.zst" >"$t/rootfs.tar"
zstd -q -dc "$t/out/initramfs.cpio.zst" >"$t/initramfs.cpio"
hyperfine -N -w 1 -r 5 --export-markdown "$t/rootfs.md" \
	"zstd -q -f -19 -T2 $t/rootfs.tar $t/initramfs.cpio" \
	"$u -C $t/tree build $role --no-image --force -o $t/out" >/dev/null
cat "$t/rootfs.md"
