#!/bin/sh
# The hostile-tarball tests (tests/unit/test_unpack.c with archives made by
# tests/unit/hostile.py: every attack in every compression refused, nothing
# created outside the destination) again as an unprivileged user; as root
# they run as nobody from a copy nobody can read. Then a check that the
# generator really makes hostile archives: GNU tar, unguarded, would write
# through the symlink chain and outside the destination.
set -eu
: "${TOP:?}"
bin="$TOP/o/tests/test_unpack"
[ -x "$bin" ] || { echo "31-unpack-hostile: $bin not built (make units)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/e2e-unpack.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/tests/unit" "$tmp/gen/out" "$tmp/gen/outside"
cp "$bin" "$tmp/"
cp "$TOP/tests/unit/hostile.py" "$tmp/tests/unit/"
chmod -R a+rX "$tmp"
if [ "$(id -u)" = 0 ]; then
	(cd "$tmp" && setpriv --reuid=65534 --regid=65534 --clear-groups env -u HOME TOP="$tmp" ./test_unpack)
else
	echo "31-unpack-hostile: not root; run.sh already ran test_unpack as $(id -un)"
fi

# The archives are what they claim: unguarded extraction escapes.
python3 "$TOP/tests/unit/hostile.py" "$tmp/gen/out" "$tmp/gen/outside"
mkdir -p "$tmp/gen/build/case/src"
tar -C "$tmp/gen/build/case/src" -xf "$tmp/gen/out/symlink-chain.tar" 2>/dev/null || true
[ -L "$tmp/gen/build/case/src/pkg/x/g" ] || { echo "31-unpack-hostile: symlink-chain.tar lost its chain" >&2; exit 1; }
# unstripped, pkg/x/g leads three levels above pkg/: to gen/build
[ -d "$tmp/gen/build/case/src/pkg/x/g/case" ] || {
	echo "31-unpack-hostile: the chain in symlink-chain.tar does not lead outside" >&2; exit 1; }
tar -C "$tmp/gen/build/case/src" -xPf "$tmp/gen/out/absolute.tar" 2>/dev/null || true
[ -f "$tmp/gen/outside/evil" ] || { echo "31-unpack-hostile: absolute.tar does not aim outside" >&2; exit 1; }
echo "31-unpack-hostile: ok"
