#!/bin/sh
# bench/remote.sh [--store DIR] [ROLE]: an empty machine (empty store, work
# directory and source cache) building ROLE's image (default base) from a
# warm remote package store, against the same build from source, in the same
# run (BENCHMARKS.md, remote). The remote is nginx with WebDAV PUT on
# loopback (tests/e2e/lib.sh's davstart, docs/remote.md).
#  1. cold: `undistro build ROLE` into an empty store and cache, from source
#     (about 15 minutes for base on 2 cores, most of it the kernel; sources
#     are downloaded too, unless UNDISTRO_MIRRORS has them);
#  2. that store pushes ROLE's packages to the remote (`build --packages
#     --push`, timed too);
#  3. warm: `undistro build ROLE` into another empty store and cache with only
#     the remote: every package substituted, nothing built.
# The outputs of 1 and 3 must be byte-identical (rootfs, initramfs, disk).
# --store DIR skips the cold half: DIR is a store that already holds ROLE's
# packages (tests/e2e/40-build-base.sh's o/e2e/store), pushed from as is; the
# reference outputs are then DIR/../out/ROLE when they exist.
# Runs as whoever starts it (nginx as nobody when that is root); scratch
# space under ${TMPDIR:-/tmp}, removed at the end.
set -eu
usage() { echo "usage: bench/remote.sh [--store DIR] [ROLE]" >&2; exit 2; }
store='' role=''
while [ $# -gt 0 ]; do
	case $1 in
	--store) [ $# -ge 2 ] || usage; store=$(cd "$2" && pwd); shift ;;
	-*) usage ;;
	*) [ -z "$role" ] || usage; role=$1 ;;
	esac
	shift
done
role=${role:-base}
TOP=$(cd "$(dirname "$0")/.." && pwd)
# one epoch for both halves: a commit to the tree while the cold half builds
# would otherwise give the warm half another one (the tree's last commit time)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || echo 946684800)}
export SOURCE_DATE_EPOCH
UNDISTRO=$TOP/undistro
[ -x "$UNDISTRO" ] || make -C "$TOP" undistro >&2
. "$TOP/tests/e2e/lib.sh"   # davstart: nginx, as nobody when root
t=$(mktemp -d "${TMPDIR:-/tmp}/bench-remote.XXXXXX")
trap 'davstop; rm -rf "$t"' EXIT
chmod 755 "$t"   # nginx runs as nobody when we are root
"$UNDISTRO" key new bench "$t" >/dev/null
davstart "$t/ng"
url=http://127.0.0.1:$davport
# run DIR ARGS...: undistro on the tree with DIR's store, work directory and
# source cache, with the environment's remote settings left out
run() {
	d=$1
	shift
	env -u UNDISTRO_REMOTE -u UNDISTRO_PUSH -u UNDISTRO_SIGNING_KEY -u UNDISTRO_TRUSTED_KEYS \
		UNDISTRO_CACHE="$d/cache" UNDISTRO_STORE="${store:-$d/store}" UNDISTRO_WORK="$d/work" HOME="$d" \
		"$@"
}
secs() { echo "$2 - $1" | bc; }
echo "## $role from a warm remote against from source ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"

ref=''
if [ -z "$store" ]; then
	mkdir -p "$t/cold"
	s=$(date +%s.%N)
	run "$t/cold" "$UNDISTRO" -C "$TOP" build "$role" -o "$t/cold/out" >"$t/cold.log" 2>&1 ||
		{ tail -30 "$t/cold.log"; echo "bench/remote.sh: the build from source failed" >&2; exit 1; }
	e=$(date +%s.%N)
	echo "from source, empty machine: $(secs "$s" "$e") s ($(grep -c '^undistro: built [^ ]* in' "$t/cold.log") packages built)"
	ref=$t/cold/out
	from=$t/cold
else
	[ ! -s "$store/../out/$role/disk.raw" ] || ref=$store/../out/$role
	from=$t/from
	mkdir -p "$from"
	echo "from source: not measured (--store $store)"
fi

s=$(date +%s.%N)
run "$from" env UNDISTRO_SIGNING_KEY="$t/bench.key" "$UNDISTRO" -C "$TOP" build --packages "$role" -o "$from/out" --remote "$url" \
	--push >"$t/push.log" 2>&1 || { tail -30 "$t/push.log"; echo "bench/remote.sh: the push failed" >&2; exit 1; }
e=$(date +%s.%N)
if grep -q '^undistro: building' "$t/push.log"; then
	echo "bench/remote.sh: the store of the push lacked packages of $role (it built them)" >&2
	exit 1
fi
echo "push: $(secs "$s" "$e") s ($(sed -n 's/^undistro: pushed \([0-9]* packages ([^)]*)\).*/\1/p' "$t/push.log"))"

store=''
mkdir -p "$t/warm"
s=$(date +%s.%N)
run "$t/warm" env UNDISTRO_TRUSTED_KEYS="$t/bench.pub" "$UNDISTRO" -C "$TOP" build "$role" -o "$t/warm/out" \
	--remote "$url" >"$t/warm.log" 2>&1 || { tail -30 "$t/warm.log"; echo "bench/remote.sh: the warm build failed" >&2; exit 1; }
e=$(date +%s.%N)
if grep -q '^undistro: building' "$t/warm.log"; then
	echo "bench/remote.sh: the warm build built packages" >&2
	exit 1
fi
echo "from the warm remote, empty machine: $(secs "$s" "$e") s" \
	"($(sed -n 's/^undistro: \(substituted [0-9]* packages ([^)]*)\) from .* in \(.*\)$/\1 in \2/p' "$t/warm.log"))"
if [ -n "$ref" ]; then
	for f in rootfs.tar.zst initramfs.cpio.zst disk.raw; do
		cmp -s "$ref/$f" "$t/warm/out/$f" || { echo "bench/remote.sh: $f differs from $ref/$f" >&2; exit 1; }
	done
	echo "outputs: rootfs, initramfs and disk.raw identical to $ref's"
fi
