#!/bin/sh
# Hostile files in a recipe tree (a small synthetic one, host toolchain, no
# sources): a recipe, role, key file or mirror entry that is a FIFO is
# refused at once (every command runs under timeout: a hang fails the test);
# a recipe that is a link to /dev/zero or a huge file is refused without
# eating memory; key files and overlay directories that lead out of the tree
# are refused, while a symlink inside an overlay is data and passes; a
# packaged file whose name holds a newline or a space gets one escaped line
# in the store manifest. Runs as nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
t=$(mktemp -d /tmp/undistro-hostile.XXXXXX)
trap 'rm -rf "$t"' EXIT
chmod 755 "$t"
as=
if [ "$(id -u)" = 0 ]; then
	as="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
# shellcheck disable=SC2086 # $as is empty or a command with arguments
u() {
	env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" \
		timeout 20 $as "$UNDISTRO" -C "$t/tree" "$@"
}
fail() { echo "FAIL: $*"; exit 1; }
own() { [ -z "$as" ] || chown -R 65534:65534 "$t"; }
# expect CODE PATTERN ARGS...: undistro ARGS exits CODE and says PATTERN
expect() {
	code=$1 pat=$2
	shift 2
	rc=0
	u "$@" >"$t/out" 2>&1 || rc=$?
	[ "$rc" != 124 ] || fail "undistro $* hung (killed by timeout)"
	[ "$rc" = "$code" ] || { cat "$t/out"; fail "undistro $*: exit $rc, expected $code"; }
	grep -q -- "$pat" "$t/out" || { cat "$t/out"; fail "undistro $*: no '$pat'"; }
}

mkdir -p "$t/tree/recipes/roles" "$t/tree/overlays" "$t/tree/keys" "$t/tree/stage2" "$t/mirror"
cp "$TOP/stage2/mkwrapper" "$TOP/stage2/audit" "$TOP/stage2/host-tools" "$t/tree/stage2/"
# shellcheck disable=SC2016 # $DESTDIR is for the recipe
{
	printf 'name = app\nversion = 1.0\nrelease = 1\ndesc = a package with odd file names\n'
	printf 'license = MIT\ntoolchain = host\n'
	printf 'install <<END\nmkdir -p "$DESTDIR/usr/share"\n'
	printf 'echo x >"$DESTDIR/usr/share/two\nlines -> forged"\necho y >"$DESTDIR/usr/share/a b"\nEND\n'
} >"$t/tree/recipes/app.recipe"
printf 'name = r\npackages = app\n' >"$t/tree/recipes/roles/r.role"
own
expect 0 "1 recipes and 1 roles checked" check

# recipes and roles that are not regular files
mkfifo "$t/tree/recipes/fifo.recipe"
expect 1 "recipes/fifo.recipe is a FIFO, not a regular file" check
rm "$t/tree/recipes/fifo.recipe"
ln -s /dev/zero "$t/tree/recipes/zero.recipe"
expect 1 "recipes/zero.recipe is a character device" check
rm "$t/tree/recipes/zero.recipe"
dd if=/dev/zero of="$t/tree/recipes/huge.recipe" bs=1M count=0 seek=2 2>/dev/null
expect 1 "recipes/huge.recipe is larger than" check
rm "$t/tree/recipes/huge.recipe"
mkfifo "$t/tree/recipes/roles/fifo.role"
expect 1 "recipes/roles/fifo.role is a FIFO" check
rm "$t/tree/recipes/roles/fifo.role"
echo "FIFO, device and huge recipes and roles refused"

# key files: a FIFO, a link out of the tree
mkfifo "$t/tree/keys/fifo.pub"
ln -s /etc/passwd "$t/tree/keys/out.pub"
printf 'name = r\npackages = app\nuser admin {\n\tkeys = keys/fifo.pub, keys/out.pub\n}\n' \
	>"$t/tree/recipes/roles/r.role"
expect 1 "r.role:4:9: .*keys/fifo.pub is a FIFO" check
grep -q "r.role:4:24: key file .*keys/out.pub leads out of the tree" "$t/out" || { cat "$t/out"; fail "key link"; }
rm "$t/tree/keys/fifo.pub" "$t/tree/keys/out.pub"
echo "FIFO and outside key files refused"

# overlays: the directory itself must stay in the tree; links inside are data
ln -s / "$t/tree/overlays/r"
printf 'name = r\npackages = app\n' >"$t/tree/recipes/roles/r.role"
expect 1 "overlay directory .*overlays/r leads out of the tree" check
rm "$t/tree/overlays/r"
mkdir -p "$t/tree/overlays/r/etc"
ln -s /etc/shadow "$t/tree/overlays/r/etc/link"
ln -s ../../.. "$t/tree/overlays/r/up"
expect 0 "checked, no errors" check
echo "overlay leading out refused; links inside an overlay accepted"

# a mirror entry that is a FIFO: refused, not read for ever
sha=0000000000000000000000000000000000000000000000000000000000000000
{
	printf 'name = src\nversion = 1.0\nrelease = 1\ndesc = a package with a source\n'
	printf 'license = MIT\ntoolchain = host\n'
	printf 'source {\n\turl = file:///nonexistent/src-1.0.tar.gz\n\tsha256 = %s\n}\n' "$sha"
	printf 'install <<END\ntrue\nEND\n'
} >"$t/tree/recipes/src.recipe"
mkfifo "$t/mirror/src-1.0.tar.gz"
own
expect 4 "not a regular file" fetch --mirror "$t/mirror" src
echo "FIFO mirror entry refused"

# a packaged name with a newline and a space: one escaped manifest line each
rm "$t/tree/recipes/src.recipe"
expect 0 "built app" build --packages app
m=$(cat "$t"/store/pkg/*/manifest)
printf '%s\n' "$m" | grep -qx 'f 0644 2 [0-9a-f]\{64\} usr/share/two\\012lines\\040->\\040forged' ||
	{ printf '%s\n' "$m"; fail "newline name not escaped"; }
printf '%s\n' "$m" | grep -qx 'f 0644 2 [0-9a-f]\{64\} usr/share/a\\040b' || { printf '%s\n' "$m"; fail "space"; }
[ "$(printf '%s\n' "$m" | grep -c .)" = 4 ] || { printf '%s\n' "$m"; fail "manifest has forged lines"; }
echo "store manifest names escaped"
