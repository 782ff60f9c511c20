#!/bin/sh
# e2e: images (needs the real roles built by 40-build-base.sh; make check-quick skips it)
# The image stage end to end, without the rest of the pipeline: a tiny
# initramfs (busybox-static from Debian, /init prints a marker and powers off)
# and the kernel from recipes/linux ($UNDISTRO_KERNEL) become an image twice
# (all outputs must be byte-identical), which then boots under qemu with
# SeaBIOS and with OVMF; each boot must print the marker on the serial log.
# Runs as nobody (re-executing itself through setpriv when started as root).
# Driver: o/tests/test_image (tests/unit/test_image.c, driver mode).
set -eu
: "${TOP:?TOP must name the repository root (tests/run.sh sets it)}"
drv="$TOP/o/tests/test_image"
marker="undistro-e2e: init reached"

# the kernel the pipeline built: from base's disk image (tests/e2e/40-build-base.sh)
if [ -z "${UNDISTRO_KERNEL:-}" ] && [ -s "$TOP/o/e2e/out/base/disk.raw" ]; then
	UNDISTRO_KERNEL=$TOP/o/e2e/vmlinuz
	mcopy -o -i "$TOP/o/e2e/out/base/disk.raw@@1M" ::/vmlinuz "$UNDISTRO_KERNEL"
fi
if [ -z "${UNDISTRO_KERNEL:-}" ]; then
	echo "SKIP: UNDISTRO_KERNEL is not set (the bzImage built from recipes/linux, i.e. its boot/vmlinuz)"
	exit 0
fi
[ -r "$UNDISTRO_KERNEL" ] || { echo "FAIL: cannot read UNDISTRO_KERNEL=$UNDISTRO_KERNEL"; exit 1; }
[ -x "$drv" ] || { echo "FAIL: $drv is missing: run make units"; exit 1; }

if [ "$(id -u)" = 0 ]; then
	tmp=$(mktemp -d /tmp/60-image-boot.XXXXXX)
	cp "$UNDISTRO_KERNEL" "$tmp/vmlinuz"
	chown -R 65534:65534 "$tmp"
	exec setpriv --reuid=65534 --regid=65534 --clear-groups \
		env HOME="$tmp" E2E_TMP="$tmp" UNDISTRO_KERNEL="$tmp/vmlinuz" sh "$0"
fi
tmp=${E2E_TMP:-$(mktemp -d)}
trap 'rm -rf "$tmp"' EXIT
export TMPDIR="$tmp" SOURCE_DATE_EPOCH=1700000000

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }

# busybox-static, unpacked without installing
(cd "$tmp" && apt-get download -q busybox-static >/dev/null)
dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/bb"

# The initramfs: no device nodes (nobody cannot make them), so /init mounts
# devtmpfs before it can reach the console.
root="$tmp/root"
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys"
cp "$tmp/bb/bin/busybox" "$root/bin/busybox"
cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec >/dev/console 2>&1 </dev/console
echo "$marker"
/bin/busybox poweroff -f
EOF
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | zstd -q -19 >"$tmp/initrd"

# Two builds, byte for byte the same.
for d in a b; do
	start=$(now)
	UNDISTRO_TEST_FILTER=test_envbuild UNDISTRO_INITRAMFS="$tmp/initrd" \
		UNDISTRO_IMAGE_OUT="$tmp/$d" "$drv" >"$tmp/build-$d.log" 2>&1 ||
		{ cat "$tmp/build-$d.log"; echo "FAIL: image build $d"; exit 1; }
	grep -q '\[  PASSED  \] 1 test' "$tmp/build-$d.log" ||
		{ cat "$tmp/build-$d.log"; echo "FAIL: image build $d did not run"; exit 1; }
	echo "image build $d: $(since "$start") s"
done
for f in disk.raw disk.qcow2 disk.vhd disk.vmdk register-image.json; do
	cmp "$tmp/a/$f" "$tmp/b/$f" || { echo "FAIL: $f differs between two builds"; exit 1; }
	echo "reproducible: $f $(sha256sum <"$tmp/a/$f" | cut -c1-16) $(wc -c <"$tmp/a/$f") bytes"
done
echo "disk.raw zstd -19: $(zstd -q -19 -c "$tmp/a/disk.raw" | wc -c) bytes;" \
	"kernel $(wc -c <"$UNDISTRO_KERNEL"), initramfs $(wc -c <"$tmp/initrd") bytes"

# Boot under SeaBIOS (syslinux) and OVMF (systemd-boot).
for fw in bios uefi; do
	log="$tmp/$fw.log"
	uefi=0
	[ "$fw" = uefi ] && uefi=1
	start=$(now)
	UNDISTRO_TEST_FILTER=test_envboot UNDISTRO_IMAGE_OUT="$tmp/a" UNDISTRO_BOOT_LOG="$log" \
		UNDISTRO_BOOT_UEFI=$uefi UNDISTRO_BOOT_TIMEOUT=180 "$drv" >"$tmp/run-$fw.log" 2>&1 ||
		{ cat "$tmp/run-$fw.log"; tail -40 "$log" 2>/dev/null; echo "FAIL: $fw boot"; exit 1; }
	if ! grep -q "$marker" "$log"; then
		tail -40 "$log"
		echo "FAIL: $fw boot did not reach /init"
		exit 1
	fi
	echo "boot $fw: marker reached, qemu done in $(since "$start") s"
done
echo "PASS"
