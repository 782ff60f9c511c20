# shellcheck shell=sh
# Shared by the tests on small synthetic recipe trees (sourced; not a test):
# synthinit NAME makes a fresh directory $t (removed on exit) holding
# $t/tree with stage2/, and cds there; u ARGS... runs undistro on that tree
# with the test's own cache, store and work directories, as nobody when we
# are root; own hands $t to nobody then; fail reports and exits. synthrole
# adds the recipes a role needs for a rootfs and images: init (the boot
# files and the commands they run) and kern (a placeholder kernel).
# fakedpkg DIR PACKAGE VERSION makes DIR a copy of dpkg's database (for
# DPKG_ADMINDIR) in which PACKAGE has another VERSION.
as=
if [ "$(id -u)" = 0 ]; then
	as="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
fail() { echo "FAIL: $*"; exit 1; }
own() { [ -z "$as" ] || chown -R 65534:65534 "$t"; }
# shellcheck disable=SC2086 # $as is empty or a command with arguments
u() { env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" $as "$UNDISTRO" -C "$t/tree" "$@"; }
synthinit() {
	t=$(mktemp -d "/tmp/undistro-$1.XXXXXX")
	trap 'rm -rf "$t"' EXIT
	chmod 755 "$t"
	cd "$t" || exit 1
	mkdir -p "$t/tree/recipes/roles" "$t/tree/stage2"
	cp "$TOP/stage2/mkwrapper" "$TOP/stage2/audit" "$TOP/stage2/host-tools" "$t/tree/stage2/"
	cp -R "$TOP/stage2/build-system" "$t/tree/stage2/"
}
synthrole() {
	r=$t/tree/recipes
	# the init package's boot files and the commands its scripts run
	cat >"$r/init.recipe" <<'EOF'
name = init
version = 1.0
release = 1
desc = boot files
license = MIT
toolchain = host
install <<END
mkdir -p "$DESTDIR/usr/lib/undistro" "$DESTDIR/bin"
for f in rc wait network dhcp shutdown firstboot cost netwait; do
	echo '#!/bin/sh' >"$DESTDIR/usr/lib/undistro/$f"
	chmod 755 "$DESTDIR/usr/lib/undistro/$f"
done
for c in sh init mount grep mkdir hostname cat mv rm sleep umount sync udhcpc ip gzip; do
	ln -s busybox "$DESTDIR/bin/$c"
done
echo '#!/bin/sh' >"$DESTDIR/bin/busybox"
chmod 755 "$DESTDIR/bin/busybox"
END
EOF
	# a placeholder bzImage with the headers image.c checks (x86_64): 4 KiB of
	# 'k' with "MZ", the PE offset 0x80 at 0x3c, "PE\0\0" and machine 0x8664 at
	# 0x80, "HdrS" at 0x202
	cat >"$r/kern.recipe" <<'EOF'
name = kern
version = 1.0
release = 1
desc = placeholder kernel
license = MIT
toolchain = host
install <<END
mkdir -p "$DESTDIR/boot"
python3 -c '
import sys
d = bytearray(b"k" * 4096)
d[0:2] = b"MZ"
d[0x3c:0x40] = bytes.fromhex("80000000")
d[0x80:0x86] = bytes.fromhex("504500006486")
d[0x202:0x206] = b"HdrS"
sys.stdout.buffer.write(d)' >"$DESTDIR/boot/vmlinuz"
END
EOF
}
fakedpkg() {
	mkdir -p "$1"
	awk -v p="$2" -v v="$3" '/^Package: / { cur = $2 } /^Version: / && cur == p { $0 = "Version: " v } { print }' \
		/var/lib/dpkg/status >"$1/status"
	grep -q "^Version: $3\$" "$1/status" || fail "fakedpkg: no package $2 in /var/lib/dpkg/status"
	ln -sfn /var/lib/dpkg/info "$1/info"
	[ ! -e /var/lib/dpkg/diversions ] || cp /var/lib/dpkg/diversions "$1/"
	own
}
