#!/bin/sh
# e2e: images (builds the real roles for aarch64; make check-quick skips it)
# base and web for aarch64 (Graviton), cross-built on this x86_64 machine
# from source as an unprivileged user with the scripts CI runs
# (ci/build-image --arch aarch64, ci/artifacts), into the store the x86_64
# build uses (store keys name the target, so nothing is shared by mistake).
# Checks that the outputs are arm64 (ELF machine and loader of the image's
# programs, the kernel's PE machine, no BIOS boot code, register-image.json)
# and that every recipe's test block ran (under qemu-aarch64). Later tests
# (72-boot-aarch64.sh) boot $TOP/o/e2e/out-aarch64/{base,web}.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
e2einit
out=$E2E/out-aarch64
cib() {
	as env PATH=/usr/bin:/bin UNDISTRO="$UNDISTRO" UNDISTRO_CACHE="$E2E/cache" UNDISTRO_STORE="$E2E/store" \
		UNDISTRO_WORK="$E2E/work" HOME="$E2E" sh "$TOP/ci/build-image" --arch aarch64 --out "$out" "$@"
}
t=$(mktemp -d /tmp/e2e-aarch64.XXXXXX)
trap 'rm -rf "$t"' EXIT
for role in base web; do
	start=$(date +%s)
	cib "$role" >"$E2E/build-aarch64-$role.log" 2>&1 ||
		{ tail -40 "$E2E/build-aarch64-$role.log"; fail "ci/build-image --arch aarch64 $role"; }
	echo "build aarch64 $role: $(($(date +%s) - start)) s"
	for f in rootfs.tar.zst initramfs.cpio.zst manifest report disk.raw disk.qcow2 disk.vhd disk.vmdk \
		register-image.json sbom.spdx.json; do
		[ -s "$out/$role/$f" ] || fail "out-aarch64/$role/$f is missing"
	done
	a=$(as env ARTIFACTS="$E2E/artifacts" UNDISTRO_COMMIT=e2e sh "$TOP/ci/artifacts" "$role" aarch64 "$out/$role")
	[ "$a" = "$E2E/artifacts/undistro-$role-aarch64-e2e" ] || fail "ci/artifacts printed $a"
	(cd "$a" && sha256sum -c --quiet SHA256SUMS) || fail "$a/SHA256SUMS does not check"
	grep -q '"Architecture": "arm64"' "$out/$role/register-image.json" || fail "register-image.json is not arm64"
	grep -q '"BootMode": "uefi"' "$out/$role/register-image.json" || fail "register-image.json is not uefi"
done

# the image's programs are AArch64 ELF files for musl's aarch64 loader
mkdir "$t/root"
zstd -dc "$out/base/rootfs.tar.zst" | tar -x -C "$t/root" --exclude='./dev/*' --exclude='dev/*'
readelf -h "$t/root/bin/busybox" | grep -q 'Machine:.*AArch64' || fail "bin/busybox is not AArch64"
readelf -l "$t/root/bin/busybox" | grep -q 'interpreter: /lib/ld-musl-aarch64.so.1' ||
	fail "bin/busybox does not use /lib/ld-musl-aarch64.so.1"
[ -e "$t/root/lib/ld-musl-aarch64.so.1" ] || fail "no /lib/ld-musl-aarch64.so.1 in the rootfs"
readelf -h "$t/root/usr/bin/dropbearmulti" | grep -q 'Machine:.*AArch64' || fail "dropbear is not AArch64"

# UEFI only: no BIOS boot code, no syslinux; systemd-boot for arm64 and a
# kernel that is an EFI application for arm64 (PE machine 0xaa64)
[ "$(head -c 440 "$out/base/disk.raw" | tr -d '\0' | wc -c)" -eq 0 ] || fail "disk.raw has BIOS boot code"
MTOOLS_SKIP_CHECK=1 mdir -b -i "$out/base/disk.raw@@1M" ::/EFI/BOOT | grep -qx '::/EFI/BOOT/BOOTAA64.EFI' ||
	fail "no /EFI/BOOT/BOOTAA64.EFI"
MTOOLS_SKIP_CHECK=1 mcopy -i "$out/base/disk.raw@@1M" ::/vmlinuz "$t/vmlinuz"
pe=$(od -An -tu4 -j60 -N4 "$t/vmlinuz" | tr -d ' ')
[ "$(od -An -tx2 -j$((pe + 4)) -N2 "$t/vmlinuz" | tr -d ' ')" = aa64 ] || fail "the kernel is not a PE for arm64"

# every recipe's test block ran, for a foreign target too (qemu-aarch64):
# each package this run built has a log with its test phase
n=0
for l in "$out"/*/logs/*.log; do
	[ -e "$l" ] || continue
	grep -q '^==> test' "$l" || { tail -20 "$l"; fail "${l##*/}: the test phase did not run"; }
	n=$((n + 1))
done
if grep -q 'undistro: building' "$E2E/build-aarch64-base.log"; then
	[ "$n" -ge 4 ] || fail "only $n build logs for a cold build of base"
fi
echo "aarch64: $n package build logs, each with its tests run"

# a second build rebuilds nothing
cib base >"$E2E/rebuild-aarch64.log" 2>&1 || fail "rebuild"
if grep -q 'undistro: building' "$E2E/rebuild-aarch64.log"; then cat "$E2E/rebuild-aarch64.log"; fail "second build rebuilt packages"; fi
ls -l "$out/base"
