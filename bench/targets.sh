#!/bin/sh
# bench/targets.sh [RUNS]: aarch64 against x86_64, side by side, from one run.
#  - cold build: the per-package build times `undistro build` printed for
#    each target's cold build of base (the logs of that run: X86_LOG and
#    AA_LOG, default the e2e logs o/e2e/build-base.log and
#    o/e2e/build-aarch64-base.log that `make check` writes), kernel and
#    total, and their ratio;
#  - boot: each target's base disk.raw (X86_OUT, AA_OUT: default
#    o/e2e/out/base and o/e2e/out-aarch64/base) booted RUNS times (default 5)
#    with `undistro run` under TCG to the role's ready line; the median, and
#    aarch64 over x86_64 through UEFI (the only way Graviton boots) and
#    through SeaBIOS.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
x86log=${X86_LOG:-$top/o/e2e/build-base.log} aalog=${AA_LOG:-$top/o/e2e/build-aarch64-base.log}
x86out=${X86_OUT:-$top/o/e2e/out/base} aaout=${AA_OUT:-$top/o/e2e/out-aarch64/base}
undistro=${UNDISTRO:-$top/undistro}
t=$(mktemp -d /tmp/undistro-targets.XXXXXX)
trap 'rm -rf "$t"' EXIT

# the "undistro: built N packages: NAME SECS ..." line of a build log
builtline() { grep -a '^undistro: built [0-9]* packages*:' "$1" | tail -1; }
# secs NAME LINE: NAME's seconds in a built line; total: their sum
secs() { echo "$2" | tr ' ' '\n' | sed -n "/^$1\$/{n;s/s\$//;p;q}"; }
total() { echo "$1" | sed 's/^[^:]*://' | tr ' ' '\n' | sed -n 's/^\([0-9.]*\)s$/\1/p' | paste -sd+ | bc; }
for l in "$x86log" "$aalog"; do
	[ -n "$(builtline "$l" 2>/dev/null)" ] || { echo "bench/targets.sh: no cold build in $l (make check writes it)" >&2; exit 1; }
done
xl=$(builtline "$x86log") al=$(builtline "$aalog")
xk=$(secs linux "$xl") ak=$(secs linux "$al") xt=$(total "$xl") at=$(total "$al")
echo "cold build of base (sum of package build times, -j2 budget shared):"
printf '  %-8s kernel %7.1f s   all packages %7.1f s\n' x86_64 "$xk" "$xt" aarch64 "$ak" "$at"
printf '  aarch64 / x86_64: kernel %.2f, all packages %.2f\n' "$(echo "$ak / $xk" | bc -l)" "$(echo "$at / $xt" | bc -l)"

. "$top/bench/lib.sh"
for _ in $(seq "$runs"); do
	benchready "$x86out" --arch x86_64 >>"$t/x86-bios"
	benchready "$x86out" --arch x86_64 --uefi >>"$t/x86-uefi"
	benchready "$aaout" --arch aarch64 >>"$t/aa-uefi"
done
xb=$(median <"$t/x86-bios") xu=$(median <"$t/x86-uefi") au=$(median <"$t/aa-uefi")
echo "boot to 'undistro: role base ready' under TCG, median of $runs:"
printf '  x86_64  SeaBIOS %6.2f s   UEFI (OVMF) %6.2f s\n' "$xb" "$xu"
printf '  aarch64 UEFI (AAVMF, virt, neoverse-n1) %6.2f s\n' "$au"
printf '  aarch64 / x86_64: over UEFI %.2f, over x86 SeaBIOS %.2f\n' "$(echo "$au / $xu" | bc -l)" "$(echo "$au / $xb" | bc -l)"
printf '  disk.raw zstd -19: x86_64 %d B, aarch64 %d B\n' "$(zstd -19 -c "$x86out/disk.raw" | wc -c)" \
	"$(zstd -19 -c "$aaout/disk.raw" | wc -c)"
