#!/bin/sh
# A role's outputs are keyed by their inputs (builder/outkey.h), on a small
# synthetic tree (host toolchain, a placeholder kernel, no sources): a second
# build prints "up to date" and writes nothing under the output directory or
# the store; an overlay edit (contents or executable bit), a role edit, another
# SOURCE_DATE_EPOCH, a key file edit, a missing output, another undistro
# binary and --force redo the outputs without building a package; a rebuild
# that fails half way leaves no key, so the next build redoes the outputs even
# when its inputs are those of the last complete build. Runs as nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/synth.sh"
synthinit outkey
r=$t/tree/recipes
synthrole
printf 'name = r\npackages = init\nkernel = kern\noverlays = web\nhostname = one\n' >"$r/roles/r.role"
printf 'user root {\n\tkeys = keys/root.pub\n}\nimage {\n\tformats = raw, qcow2\n}\n' >>"$r/roles/r.role"
mkdir -p "$t/tree/overlays/web/srv" "$t/tree/keys"
echo hello >"$t/tree/overlays/web/srv/index.html"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOutkeyOutkeyOutkeyOutkeyOutkeyOutkeyOutkey one" >"$t/tree/keys/root.pub"
o=$t/out/$(uname -m)/r
export SOURCE_DATE_EPOCH=1700000000
own

# b NAME [options]: a build of r, its output in $t/NAME; fails the test
# unless it succeeds
b() {
	n=$1
	shift
	u build "$@" r >"$t/$n" 2>&1 || { cat "$t/$n"; fail "build $n"; }
}
# redone NAME: the build redid the outputs and built no package
redone() {
	! grep -q 'building' "$t/$1" || { cat "$t/$1"; fail "$1: a package was built"; }
	! grep -q 'up to date' "$t/$1" || { cat "$t/$1"; fail "$1: not redone"; }
	[ -s "$o/.undistro-outkey" ] || fail "$1: no key after the build"
}
uptodate() {
	grep -q "^undistro: .*/r is up to date$" "$t/$1" || { cat "$t/$1"; fail "$1: not up to date"; }
	! grep -q 'building' "$t/$1" || fail "$1: a package was built"
}
# snap: every file under the outputs and the store with inode, size, mtime
# and ctime (any write changes a ctime)
snap() { find "$o" "$t/store" -printf '%p %i %s %T@ %C@\n' | sort; }

b out1
[ "$(grep -c '^undistro: built [a-z]* in' "$t/out1")" = 2 ] || { cat "$t/out1"; fail "expected 2 package builds"; }
for f in rootfs.tar.zst initramfs.cpio.zst manifest report disk.raw disk.qcow2 register-image.json sbom.spdx.json; do
	[ -s "$o/$f" ] || fail "no $f"
	grep -qx "$f" "$o/.undistro-outkey" || fail "the key file does not name $f"
done
echo "first build: outputs and key"

# the no-op: nothing written (ctimes, inodes), and, under strace, no
# write-mode open, rename, unlink or mkdir under the outputs or the store
snap >"$t/snap1"
b out2
uptodate out2
snap >"$t/snap2"
cmp -s "$t/snap1" "$t/snap2" || { diff "$t/snap1" "$t/snap2"; fail "the no-op build changed files"; }
if command -v strace >/dev/null; then
	# shellcheck disable=SC2086 # $as is empty or a command with arguments
	env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" \
		strace -f -o "$t/strace" -e trace=openat,open,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,rmdir \
		$as "$UNDISTRO" -C "$t/tree" build r >"$t/out2s" 2>&1 || { cat "$t/out2s"; fail "no-op under strace"; }
	uptodate out2s
	if grep -E "\"($t|out)/" "$t/strace" | grep -E 'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|rename|unlink|mkdir|rmdir' |
		grep -v '= -1 E'; then
		fail "the no-op build wrote the lines above"
	fi
fi
echo "no-op: up to date, nothing written"

# an overlay edit: new rootfs and images, no package built
echo changed >"$t/tree/overlays/web/srv/index.html"
b out3
redone out3
grep -q "^f 0644 0:0 8 $(printf 'changed\n' | sha256sum | cut -c1-64) overlay:web srv/index.html$" "$o/manifest" ||
	fail "the manifest does not show the edited overlay file"
b out3b
uptodate out3b
chmod 755 "$t/tree/overlays/web/srv/index.html"
b out4
redone out4
grep -q "^f 0755 .* srv/index.html$" "$o/manifest" || fail "the manifest does not show the executable bit"
echo "overlay edits: redone (contents, executable bit), no package built"

# the role, the epoch, a key file
sed -i 's/^hostname = one$/hostname = two/' "$r/roles/r.role"
b out5
redone out5
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOutkeyOutkeyOutkeyOutkeyOutkeyOutkeyOutkey two" >"$t/tree/keys/root.pub"
b out6
redone out6
SOURCE_DATE_EPOCH=1700000001 b out7
redone out7
SOURCE_DATE_EPOCH=1700000001 b out7b
uptodate out7b
echo "role, key file and epoch edits: redone"

# a missing output, --force, --no-image
rm "$o/disk.qcow2"
b out8
redone out8
[ -s "$o/disk.qcow2" ] || fail "disk.qcow2 not made again"
b out9 --force
redone out9
b out10 --no-image
redone out10
grep -q disk.raw "$o/.undistro-outkey" && fail "a --no-image key names disk.raw"
b out11
redone out11
echo "missing output, --force, --no-image: redone"

# another undistro binary (the same program with one more byte) does not
# reuse the outputs of this one
cp "$UNDISTRO" "$t/undistro2"
printf x >>"$t/undistro2"
own
UNDISTRO=$t/undistro2 b out12
redone out12
b out13
redone out13
echo "another undistro binary: redone"

# a rebuild that fails half way (in the image stage, after the rootfs was
# rewritten) leaves no key; the next build, with the inputs of the last
# complete one, redoes the outputs instead of trusting them
mkdir -p "$t/fakebin"
printf '#!/bin/sh\necho fake qemu-img failure >&2\nexit 3\n' >"$t/fakebin/qemu-img"
chmod 755 "$t/fakebin/qemu-img"
cp "$t/tree/overlays/web/srv/index.html" "$t/index.html.saved"
echo "half way" >"$t/tree/overlays/web/srv/index.html"
own
st=0
PATH="$t/fakebin:$PATH" u build r >"$t/out14" 2>&1 || st=$?
[ "$st" = 3 ] || { cat "$t/out14"; fail "failing image stage: exit $st, want 3"; }
[ ! -e "$o/.undistro-outkey" ] || fail "a failed rebuild left a key"
grep -q "$(printf 'half way\n' | sha256sum | cut -c1-64) overlay:web srv/index.html$" "$o/manifest" ||
	fail "the failed rebuild did not rewrite the rootfs first (the test needs it to)"
cp "$t/index.html.saved" "$t/tree/overlays/web/srv/index.html"
chmod 755 "$t/tree/overlays/web/srv/index.html"
b out15
redone out15
grep -q "$(printf 'changed\n' | sha256sum | cut -c1-64) overlay:web srv/index.html$" "$o/manifest" ||
	fail "the rootfs of the failed rebuild was kept"
echo "failed rebuild: no key left, the next build redoes"
