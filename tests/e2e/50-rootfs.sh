#!/bin/sh
# e2e: images (needs the real roles built by 40-build-base.sh; make check-quick skips it)
# The rootfs of the real base role, built unprivileged (as nobody when run as
# root): nothing under usr/share/{man,doc,info,locale}, no headers, no static
# or libtool archives; every ELF file stripped, dynamic ones using the musl
# loader and no glibc; busybox from the rootfs runs in a user-namespace
# chroot; the manifest and both archives list the same paths; and two builds
# in different directories at different times give byte-identical archives.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"

. "$TOP/tests/e2e/lib.sh"
e2einit
work=$(mktemp -d /tmp/e2e-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
[ "$(id -u)" -ne 0 ] || chown 65534:65534 "$work"

# two assemblies in different directories at different times, from the
# store 40-build-base.sh filled (the packages' own reproducibility is ci/repro's)
build() {
	ud build base --no-image -o "$1" || fail "undistro build base -o $1 failed"
	for f in rootfs.tar.zst initramfs.cpio.zst manifest report; do
		[ -s "$1/$f" ] || fail "$1/$f is missing"
	done
}

start=$(date +%s)
build "$work/a"
echo "first build: $(($(date +%s) - start)) s"
sleep 1
start=$(date +%s)
build "$work/other/b"
echo "second build (warm store): $(($(date +%s) - start)) s"

# reproducible: both archives and the manifest
for f in rootfs.tar.zst initramfs.cpio.zst manifest; do
	cmp "$work/a/$f" "$work/other/b/$f" || fail "$f differs between two builds"
	echo "$f: $(sha256sum <"$work/a/$f" | cut -d' ' -f1)"
done

# the same paths in the tar, the cpio and the manifest
export LC_ALL=C
zstd -dc "$work/a/rootfs.tar.zst" | tar -t | sed 's,/$,,' | sort >"$work/tar.list"
zstd -dc "$work/a/initramfs.cpio.zst" | cpio -it --quiet | sed 's,/$,,' | sort >"$work/cpio.list"
# (manifest paths are escaped: a space, control character or backslash is \ooo)
sed 's/ -> .*//; s/.* //' "$work/a/manifest" | perl -pe 's/\\([0-3][0-7]{2})/chr(oct($1))/ge' |
	sort >"$work/manifest.list"
cmp "$work/tar.list" "$work/cpio.list" || fail "rootfs.tar.zst and initramfs.cpio.zst list different paths"
cmp "$work/tar.list" "$work/manifest.list" || fail "the manifest and rootfs.tar.zst list different paths"

# the strip policy
if grep -E '^usr/share/(man|doc|info|locale)(/|$)' "$work/tar.list"; then
	fail "documentation or locale files are left"
fi
if grep -E '^usr/include(/|$)|\.(h|a|la)$' "$work/tar.list"; then
	fail "headers or static/libtool archives are left"
fi

# owners, modes, devices and times as the archive says (no root needed)
zstd -dc "$work/a/rootfs.tar.zst" | tar -tv --numeric-owner >"$work/tar.long"
if grep -v ' 0/0 ' "$work/tar.long"; then
	fail "entries not owned by 0:0 in a role without users"
fi
grep -q '^crw------- 0/0 *5,1 .* dev/console$' "$work/tar.long" || fail "dev/console is not c 5 1, 0600"
grep -q '^crw-rw-rw- 0/0 *1,3 .* dev/null$' "$work/tar.long" || fail "dev/null is not c 1 3, 0666"
grep -q '^drwxrwxrwt 0/0 .* tmp/$' "$work/tar.long" || fail "tmp is not 1777"
[ "$(awk '{print $4, $5}' "$work/tar.long" | sort -u | wc -l)" -eq 1 ] || fail "entries have different mtimes"

# unpack as the unprivileged user (device nodes need root: skip them)
root="$work/root"
mkdir "$root"
[ "$(id -u)" -ne 0 ] || chown 65534:65534 "$root"
zstd -dc "$work/a/rootfs.tar.zst" | as tar -x -C "$root" --exclude=dev/console --exclude=dev/null ||
	fail "cannot unpack rootfs.tar.zst unprivileged"
for f in init etc/inittab etc/passwd etc/shadow etc/hostname etc/fstab etc/undistro/ready \
	etc/undistro/firstboot.conf etc/service/network/run etc/service/sshd/run usr/lib/undistro/rc \
	usr/lib/undistro/firstboot usr/lib/undistro/cost; do
	[ -e "$root/$f" ] || [ -L "$root/$f" ] || fail "$f is missing"
done
grep -q 'undistro: role base ready' "$root/etc/undistro/ready" || fail "the ready line is not generated"
# what the builder generates is shell too: it must pass shellcheck like the
# init package's scripts (08-shellcheck.sh)
shellcheck -s sh "$root/etc/undistro/ready" "$root/etc/service/sshd/run" || fail "generated scripts fail shellcheck"

# every ELF file: stripped; dynamic ones use the musl loader and no glibc
nelf=0
find "$root" -type f >"$work/files"
while IFS= read -r f; do
	[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
	nelf=$((nelf + 1))
	rel=${f#"$root"/}
	# relocatable objects (kernel modules) keep the symbol table they need
	syms='\.symtab|\.debug'
	if readelf -hW "$f" | grep -Eq 'Type: *REL '; then
		syms='\.debug'
	fi
	if readelf -SW "$f" | grep -Eq "$syms"; then
		fail "$rel is not stripped"
	fi
	interp=$(readelf -lW "$f" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
	case $interp in
	'' | /lib/ld-musl-x86_64.so.1) ;;
	*) fail "$rel uses the loader $interp" ;;
	esac
	if readelf -dW "$f" | grep -E 'NEEDED.*(libc\.so\.6|ld-linux)'; then
		fail "$rel needs glibc"
	fi
done <"$work/files"
[ "$nelf" -gt 0 ] || fail "no ELF files in the rootfs"
echo "ELF files: $nelf, all stripped, musl loader"

# busybox from the rootfs runs (a user-namespace chroot: no root needed)
out=$(as unshare -r chroot "$root" /bin/busybox echo undistro-ok) || fail "busybox does not run in the rootfs"
[ "$out" = undistro-ok ] || fail "busybox printed '$out'"
as unshare -r chroot "$root" /bin/sh -c 'exit 0' || fail "/bin/sh does not run in the rootfs"

# figures (goals: rootfs <= 2 MB uncompressed, initramfs <= 1 MB)
bytes=$(sed -n 's/^file bytes: //p' "$work/a/report")
cpio=$(wc -c <"$work/a/initramfs.cpio.zst")
echo "rootfs file bytes: $bytes; initramfs.cpio.zst: $cpio bytes"
[ "$bytes" -le 2097152 ] || echo "NOTE: rootfs is over the 2 MB goal"
[ "$cpio" -le 1048576 ] || echo "NOTE: initramfs is over the 1 MB goal"
sed -n '/^removed by/,$p' "$work/a/report"
echo "PASS"
