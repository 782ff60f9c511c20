#!/bin/sh
# Builds started by root get no privileges: the build runs as nobody inside
# its user namespace, without capabilities (bounding set included), with
# no_new_privs and no further user namespaces. tests/e2e/sandbox-probe, run
# as a recipe's install script, tries to remount its read-only binds, to
# write into the recipe tree, /usr and /etc, to read /etc/shadow and to
# regain capabilities (unshare, setpriv); all must fail, and the recipe tree
# and the host must be unchanged. Run as root (as CI does), undistro is
# started by root itself, and the tree and work directory lie under a 0700
# directory nobody cannot search (as ~/.cache does under /root); run as
# another user, the same checks apply to that user's sandbox.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
t=$(mktemp -d /tmp/undistro-sandbox.XXXXXX)   # mode 0700
escapes="/usr/undistro-sandbox-escape /etc/undistro-sandbox-escape"
# shellcheck disable=SC2086 # $escapes is a list of paths
cleanup() { rm -rf "$t"; [ "$(id -u)" != 0 ] || rm -f $escapes; }
trap cleanup EXIT
cd "$t"
fail() { echo "FAIL: $*"; exit 1; }
u() { env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" \
	"$UNDISTRO" -C "$t/tree" "$@"; }
for tool in bwrap mount unshare setpriv sha256sum; do
	command -v "$tool" >/dev/null || fail "$tool is missing"
done
if [ "$(id -u)" = 0 ]; then
	echo "started by root: the build must run as nobody without capabilities"
else
	echo "started by uid $(id -u) (not root): checking this user's sandbox; CI runs this test as root too"
fi

mkdir -p "$t/tree/recipes/roles" "$t/tree/recipes/probe" "$t/tree/stage2"
cp "$TOP/stage2/mkwrapper" "$TOP/stage2/audit" "$TOP/stage2/host-tools" "$t/tree/stage2/"
cp "$TOP/tests/e2e/sandbox-probe" "$t/tree/recipes/probe/probe.sh"
# shellcheck disable=SC2016 # $RECIPE_DIR is for the recipe
printf '%s\n' 'name = probe' 'version = 1.0' 'release = 1' 'desc = sandbox probe' 'license = MIT' \
	'toolchain = host' 'install <<END' 'sh "$RECIPE_DIR/probe.sh"' 'END' >"$t/tree/recipes/probe/probe.recipe"
printf 'name = p\npackages = probe\n' >"$t/tree/recipes/roles/p.role"
sums() { (cd "$t/tree" && find . -print | sort && find . -type f -exec sha256sum {} + | sort); }
before=$(sums)

st=0
u build --keep --packages p >"$t/run1" 2>&1 || st=$?
log=$(find "$t" -name probe.log | head -n 1)
[ -f "$log" ] || { cat "$t/run1"; fail "no log $log"; }
grep -E '^(refused|BREACH):' "$log" || true
[ "$st" = 0 ] || { cat "$t/run1"; fail "the build failed (exit $st): a check was breached or the sandbox did not start"; }
n=$(grep -c '^refused:' "$log")
[ "$n" -ge 30 ] || fail "only $n checks ran"
! grep -q '^BREACH' "$log" || fail "breach"
echo "sandbox: $n attempts refused"

[ "$(sums)" = "$before" ] || fail "the recipe tree changed"
for f in $escapes; do
	[ ! -e "$f" ] || fail "$f was written on the host"
done
echo "recipe tree unchanged (sha256 of every file), nothing written to /usr or /etc"

# what the build wrote stays usable: the store entry is complete, and the
# work directory (nobody's when root) is replaced by the next build
for d in "$t"/store/pkg/*; do
	for f in pkg.tar.zst manifest info; do [ -s "$d/$f" ] || fail "store entry lacks $f"; done
done
grep -q ' report$' "$t"/store/pkg/*/manifest || fail "report missing from the package"
if [ "$(id -u)" = 0 ]; then
	[ "$(stat -c %u "$t/work/$(uname -m)/probe/dest/report")" = 65534 ] || fail "the build did not run as nobody"
	[ "$(stat -c %u "$t"/store/pkg/*/pkg.tar.zst)" = 0 ] || fail "the store entry is not root's"
	echo "root: the build wrote as uid 65534, the store is root's"
fi
sed -i 's/^release = .*/release = 2/' "$t/tree/recipes/probe/probe.recipe"
u build --packages p >"$t/run2" 2>&1 || { cat "$t/run2"; fail "second build over the kept work directory"; }
[ ! -e "$t/work/$(uname -m)/probe" ] || fail "work directory left after a successful build"
echo "second build over the kept work directory: ok"
