#!/bin/sh
# bench/boot.sh [OUTDIR] [RUNS]: boot time under TCG, median of RUNS (5).
#  - our kernel vs Debian's cloud kernel (linux-image-cloud-amd64), both
#    booting the same initramfs (OUTDIR/initramfs.cpio.zst, default
#    out/base) directly (-kernel), to the kernel's "Run /init as init
#    process" line: the baseline, measured in the same run;
#  - our whole disk image (SeaBIOS, syslinux, NVMe) to the role's ready line.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/out/$(uname -m)/base}
runs=${2:-5}
t=$(mktemp -d /tmp/undistro-boot.XXXXXX)
trap 'rm -rf "$t"' EXIT
cd "$t"
# Debian's cloud kernel, unpacked without root
dep=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
apt-get download "$dep" >/dev/null 2>&1
dpkg-deb -x ./*.deb deb
debk=$(ls deb/boot/vmlinuz-*)
# ours: boot/vmlinuz from the role's kernel package, through the store
ours=$t/ours
mkdir -p ours
# the image's FAT holds /vmlinuz: take it from there (mtools, no mount)
mcopy -i "$out/disk.raw@@1M" ::/vmlinuz "$ours/vmlinuz"

# time CMD... until PATTERN appears on the serial log; prints seconds
timeto() {
	pat=$1
	shift
	: >serial
	s=$(date +%s.%N)
	"$@" -serial file:serial -display none -no-reboot >/dev/null 2>&1 &
	q=$!
	until grep -q "$pat" serial 2>/dev/null; do
		sleep 0.05
		kill -0 $q 2>/dev/null || break
	done
	e=$(date +%s.%N)
	kill $q 2>/dev/null || true
	wait $q 2>/dev/null || true
	echo "$e - $s" | bc
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
direct() { # kernel
	timeto 'Run /init as init process' qemu-system-x86_64 -accel tcg -m 512 -nic none \
		-kernel "$1" -initrd "$out/initramfs.cpio.zst" -append "console=ttyS0"
}
i=0
while [ $i -lt "$runs" ]; do
	direct "$ours/vmlinuz" >>ours.t
	direct "$debk" >>deb.t
	timeto "undistro: role base ready" qemu-system-x86_64 -accel tcg -m 256 \
		-drive "if=none,id=d0,format=raw,snapshot=on,file=$out/disk.raw" \
		-device nvme,drive=d0,serial=b0,bootindex=0 -nic user,model=virtio-net-pci >>disk.t
	i=$((i + 1))
done
o=$(median <ours.t) d=$(median <deb.t) k=$(median <disk.t)
echo "| what | median of $runs (s) |"
echo "| --- | --- |"
echo "| our kernel, -kernel + initramfs, to /init | $o |"
echo "| Debian cloud kernel ($dep), same initramfs, to /init | $d |"
echo "| ratio ours / Debian | $(echo "scale=2; $o / $d" | bc) |"
echo "| our disk.raw, SeaBIOS + syslinux + NVMe, to the ready line | $k |"
echo
echo "sizes: bzImage $(wc -c <"$ours/vmlinuz") B, Debian's $(wc -c <"$debk") B;" \
	"disk.raw $(wc -c <"$out/disk.raw") B, zstd -19: $(zstd -19 -c "$out/disk.raw" | wc -c) B"
