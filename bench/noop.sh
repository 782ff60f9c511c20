#!/bin/sh
# bench/noop.sh [NFILES]: the no-op `undistro build ROLE` for BENCHMARKS.md,
# on a synthetic role (tests/e2e/synth.sh: host toolchain, a placeholder
# kernel, no sources) whose overlay holds NFILES files (default 200):
#  1. wall time (hyperfine) of the no-op build against, in the same run,
#     `build --force` (the outputs redone: what every build did before output
#     keys) and `undistro check` (loading the tree: the floor);
#  2. stat-family system calls of the no-op per input file (recipes, role,
#     overlay files), less those before main (`undistro --version`);
#  3. the no-op once the build machine changed: STORE/host-tools removed
#     before each run, so the programs of stage2/host-tools are identified
#     again (dpkg-query, the compilers asked for their parts).
# Builds only the synthetic packages; the real recipes are not touched.
set -eu
n=${1:-200}
TOP=$(cd "$(dirname "$0")/.." && pwd)
UNDISTRO=$TOP/undistro
. "$TOP/tests/e2e/synth.sh"
as=     # the benchmark runs as whoever starts it
synthinit bench-noop
synthrole
printf 'name = r\npackages = init\nkernel = kern\noverlays = web\n' >"$r/roles/r.role"
mkdir -p "$t/tree/overlays/web/srv"
i=0
while [ "$i" -lt "$n" ]; do
	echo "page $i" >"$t/tree/overlays/web/srv/p$i.html"
	i=$((i + 1))
done
export SOURCE_DATE_EPOCH=1700000000 UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t"
u=$UNDISTRO
"$u" -C "$t/tree" build r >/dev/null 2>&1
"$u" -C "$t/tree" build r 2>&1 | grep -q 'is up to date' || { echo "the second build is not a no-op" >&2; exit 1; }

echo "## no-op build of a synthetic role ($n overlay files; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
hyperfine -N -w 3 -r 20 --export-markdown "$t/noop.md" \
	"$u -C $t/tree check" "$u -C $t/tree build r" >/dev/null
hyperfine -N -w 1 -r 5 --export-markdown "$t/force.md" "$u -C $t/tree build --force r" >/dev/null
cat "$t/noop.md"
tail -1 "$t/force.md"
stats() { strace -f -c -o "$t/strace" "$@" >/dev/null 2>&1; awk '$NF ~ /stat/ && $NF !~ /statfs/ { n += $4 } END { print n + 0 }' "$t/strace"; }
all=$(stats "$u" -C "$t/tree" build r)
floor=$(stats "$u" --version)
inputs=$(find "$t/tree/recipes" "$t/tree/overlays" -type f | wc -l)
echo "stat-family calls: $all, of which $floor before main (undistro --version);" \
	"$((all - floor)) for $inputs input files ($(echo "scale=2; ($all - $floor) / $inputs" | bc) per file)"
hyperfine -N -r 10 --prepare "rm -f $t/store/host-tools" --export-markdown "$t/miss.md" "$u -C $t/tree build r" >/dev/null
echo "no-op after a change of the build machine (STORE/host-tools removed before each run):"
tail -1 "$t/miss.md"
