#!/bin/sh
# e2e: images (needs the real roles built by 40-build-base.sh; make check-quick skips it)
# Boot the real images under qemu (TCG unless KVM works) and use them with
# real clients, as an unprivileged user: base reaches its ready line under
# SeaBIOS and under OVMF, and OpenSSH logs in with a key this test generates
# and hands in through fw_cfg (undistro run --ssh-key); web serves its
# overlay's page to curl through the forwarded port. Also: the image stage
# is reproducible (disk.raw rebuilt in another directory is identical).
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
needbuild base
needbuild web
t=$(mktemp -d /tmp/e2e-boot.XXXXXX)
trap 'bootstop; rm -rf "$t"' EXIT
chmod 755 "$t"
bootdir=$t

# base under SeaBIOS, with an ssh key handed in at boot
ssh-keygen -q -t ed25519 -N '' -C undistro-test -f "$t/key"
chmod 644 "$t/key.pub"
sshport=$(freeport)
boot base bios --ssh-key "$t/key.pub" --port "22:$sshport"
out=$(ssh -i "$t/key" -p "$sshport" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o ConnectTimeout=30 -o BatchMode=yes root@127.0.0.1 'echo "logged in as $(id -un) on $(hostname)"; uname -s') ||
	{ tail -20 "$t/bios.log"; fail "ssh into base"; }
echo "$out"
[ "$(echo "$out" | head -1)" = "logged in as root on base" ] || fail "ssh printed: $out"
[ "$(echo "$out" | tail -1)" = "Linux" ] || fail "ssh command output: $out"
# a key the image was not given is refused
ssh-keygen -q -t ed25519 -N '' -f "$t/other"
if ssh -i "$t/other" -p "$sshport" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o ConnectTimeout=30 -o BatchMode=yes root@127.0.0.1 true 2>/dev/null; then
	fail "an unknown key logged in"
fi
bootstop

# base under OVMF
boot base uefi --uefi
bootstop

# as root, where /dev/kvm opens: the KVM probe must answer for the CPU the
# guest gets (here KVM ran the probe's firmware with qemu's default CPU but
# aborted a -cpu host guest), else qemu dies and nothing boots
if [ -n "$asuser" ]; then
	saved=$asuser asuser=
	boot base root
	bootstop
	asuser=$saved
fi

# web: the page from overlays/web through the forwarded port
httpport=$(freeport)
boot web web --port "80:$httpport"
curl -fsS --max-time 30 "http://127.0.0.1:$httpport/" >"$t/page" || { tail -20 "$t/web.log"; fail "curl"; }
cmp "$t/page" "$TOP/overlays/web/srv/www/index.html" || fail "web served a different page"
echo "web: served overlays/web/srv/www/index.html ($(wc -c <"$t/page") bytes)"
bootstop

# rootfs = erofs (a role option): base's packages with the root file system
# on its own read-only erofs partition instead of an initramfs (the image
# holds no initramfs, so reaching the ready line means the kernel mounted the
# erofs partition as root and ran its init); a copy of the
# tree with one more role, so the store is shared (same recipes, same keys)
mkdir -p "$t/tree"
cp -r "$TOP/recipes" "$TOP/stage2" "$TOP/overlays" "$t/tree/"
printf 'name = ero\ninclude = base\nimage {\n\trootfs = erofs\n}\n' >"$t/tree/recipes/roles/ero.role"
[ -z "$asuser" ] || chown -R 65534:65534 "$t/tree"
as env UNDISTRO_CACHE="$E2E/cache" UNDISTRO_STORE="$E2E/store" UNDISTRO_WORK="$E2E/work" HOME="$E2E" \
	"$UNDISTRO" -C "$t/tree" build ero -o "$E2E/out/ero" >"$t/ero-build.log" 2>&1 ||
	{ cat "$t/ero-build.log"; fail "build of the erofs role"; }
grep -q "undistro: building" "$t/ero-build.log" && { cat "$t/ero-build.log"; fail "the erofs role rebuilt packages"; }
[ -s "$E2E/out/ero/root.erofs" ] || fail "no root.erofs"
sfdisk -d "$E2E/out/ero/disk.raw" | grep -c '^.*: start=' | grep -qx 2 || fail "disk.raw of ero has not 2 partitions"
# no initramfs in this image: the ready line can only come from the erofs root
boot_tree=$t/tree
boot ero ero
bootstop
boot_tree=$TOP

# the image stage is reproducible: the same role in another directory
ud build base -o "$t/again" >/dev/null 2>&1 || fail "second image build"
for f in disk.raw disk.qcow2 initramfs.cpio.zst rootfs.tar.zst; do
	cmp "$E2E/out/base/$f" "$t/again/$f" || fail "$f differs between two builds"
done
echo "disk.raw: $(sha256sum <"$t/again/disk.raw" | cut -d' ' -f1) in both builds"
