#!/bin/sh
# bench/debian.sh [OUTDIR] [RUNS]: what base costs to run against a Debian 12
# cloud-style VM, measured the same way in the same run (BENCHMARKS.md, cost).
#
#  - base: `undistro cost --runs RUNS` on OUTDIR (default out/x86_64/base:
#    build it first), as make check and CI measure it;
#  - Debian: mmdebstrap bookworm, minbase plus systemd, openssh-server,
#    ifupdown, isc-dhcp-client and linux-image-cloud-amd64, no recommends
#    (made once, into o/bench/debian/); its root file system as an ext4 disk
#    (mke2fs -d, under fakeroot when not root: no mounts), booted RUNS times with
#    the qemu settings of undistro cost (pc, -m 1024, -smp 1, TCG, the disk
#    as NVMe in snapshot mode, user network with virtio-net, virtio-rng)
#    except that Debian's own kernel and initramfs are handed to qemu with
#    -kernel/-initrd (Debian's images boot through GRUB: loading them
#    directly saves Debian the boot loader's time; base's figure includes
#    SeaBIOS's syslinux). The same measurer (recipes/init/src/cost.c, here
#    built static against the host's glibc) runs from a systemd unit ordered
#    after multi-user.target, which first prints the ready line: Debian is
#    "ready" when multi-user.target is reached (networking has its lease, ssh
#    runs).
# Prints a markdown table: each figure for base and Debian (medians) and the
# ratio. RUNS 0 only makes the Debian VM. Needs mmdebstrap, fakeroot, qemu, zstd,
# jq (ci/install-deps); fetches Debian's packages from the archive the host's
# apt uses.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd -P)
out=${1:-$top/out/x86_64/base}
runs=${2:-3}
undistro=${UNDISTRO:-$top/undistro}
d=${DEBIAN_DIR:-$top/o/bench/debian}
idle=10
mkdir -p "$d"
[ -x "$undistro" ] || make -C "$top" undistro
[ -s "$out/disk.raw" ] || { echo "bench/debian.sh: no $out/disk.raw: build base first" >&2; exit 1; }

# The Debian VM, once
if [ ! -s "$d/debian.raw" ]; then
	cc -O2 -static -std=c11 -D_GNU_SOURCE -o "$d/cost" "$top/recipes/init/src/cost.c"
	cat >"$d/undistro-cost.service" <<EOF
[Unit]
Description=undistro cost: the ready line, then the idle measurement
After=multi-user.target

[Service]
Type=simple
ExecStart=/bin/sh -c 'echo "undistro: role debian ready" >/dev/console; exec /usr/local/bin/cost -i $idle >/dev/console 2>&1'

[Install]
WantedBy=multi-user.target
EOF
	printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n' >"$d/interfaces"
	if [ ! -s "$d/debian.tar" ]; then
		# shellcheck disable=SC2016 # $1 is the hooks' own: the chroot directory
		mmdebstrap --variant=minbase --aptopt='APT::Install-Recommends "false"' \
			--include=systemd,systemd-sysv,openssh-server,ifupdown,isc-dhcp-client,linux-image-cloud-amd64 \
			--customize-hook="copy-in $d/cost /usr/local/bin" \
			--customize-hook="copy-in $d/undistro-cost.service /etc/systemd/system" \
			--customize-hook="copy-in $d/interfaces /etc/network" \
			--customize-hook='echo debian >"$1/etc/hostname"' \
			--customize-hook='chroot "$1" systemctl enable undistro-cost.service' \
			bookworm "$d/debian.tar.tmp" >"$d/mmdebstrap.log" 2>&1 || { tail -30 "$d/mmdebstrap.log"; exit 1; }
		mv "$d/debian.tar.tmp" "$d/debian.tar"
	fi
	tar -xf "$d/debian.tar" -C "$d" --wildcards './boot/vmlinuz-*' './boot/initrd.img-*'
	mv "$d"/boot/vmlinuz-* "$d/vmlinuz"
	mv "$d"/boot/initrd.img-* "$d/initrd.img"
	# the files' bytes, and an ext4 disk a quarter larger (rounded to MiB)
	tar -tvf "$d/debian.tar" | awk '$1 ~ /^-/ { s += $3 } END { print s }' >"$d/rootfs_bytes"
	mib=$(($(cat "$d/rootfs_bytes") * 5 / 4 / 1048576 + 64))
	rm -rf "$d/debian.raw.tmp" "$d/root" "$d/image_zstd_bytes"
	mkdir "$d/root"
	# e2fsprogs 1.47.0 takes a directory, not a tarball: unpacked with its
	# owners and device nodes under fakeroot when we are not root (mke2fs,
	# in the same session, sees what tar recorded)
	fr=
	[ "$(id -u)" -eq 0 ] || fr=fakeroot
	# shellcheck disable=SC2016 # the inner shell's arguments
	$fr sh -c 'tar --numeric-owner -xpf "$1/debian.tar" -C "$1/root" &&
		mke2fs -q -t ext4 -L root -d "$1/root" "$1/debian.raw.tmp" "$2"' sh "$d" "${mib}M"
	rm -rf "$d/root"
	mv "$d/debian.raw.tmp" "$d/debian.raw"
fi

[ "$runs" -gt 0 ] || exit 0   # RUNS 0: only make the Debian VM

t=$(mktemp -d /tmp/undistro-debian.XXXXXX)
trap 'rm -rf "$t"' EXIT

# base, through undistro cost
"$undistro" -q -C "$top" cost --runs "$runs" -o "$out" base >"$t/base.table"
cp "$out/cost.json" "$t/base.json"

# Debian: seconds from starting qemu to the ready line, then the cost line
i=0
while [ "$i" -lt "$runs" ]; do
	: >"$t/serial"
	s=$(date +%s.%N)
	qemu-system-x86_64 -nodefaults -no-user-config -M pc -accel tcg -m 1024 -smp 1 -display none \
		-drive "if=none,id=d0,format=raw,snapshot=on,file=$d/debian.raw" \
		-device nvme,drive=d0,serial=undistro0 \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= -device virtio-rng-pci \
		-kernel "$d/vmlinuz" -initrd "$d/initrd.img" \
		-append "root=/dev/nvme0n1 rw console=ttyS0,115200 net.ifnames=0 quiet" \
		-serial "file:$t/serial" -no-reboot >/dev/null 2>&1 &
	q=$!
	r=
	n=0
	# (the serial getty's prompt may come first on the line)
	until grep -q 'undistro: cost 1 ' "$t/serial" 2>/dev/null; do
		if [ -z "$r" ] && grep -q 'undistro: role debian ready' "$t/serial"; then
			r=$(echo "$(date +%s.%N) - $s" | bc)
		fi
		n=$((n + 1))
		if [ "$n" -ge 6000 ] || ! kill -0 "$q" 2>/dev/null; then
			kill "$q" 2>/dev/null || true
			tail -20 "$t/serial"
			echo "bench/debian.sh: no cost line from Debian" >&2
			exit 1
		fi
		sleep 0.05
	done
	kill "$q" 2>/dev/null || true
	wait "$q" 2>/dev/null || true
	# the line's KEY=VALUE words as one JSON object per boot
	tr -d '\r' <"$t/serial" | sed -n 's/.*undistro: cost 1 //p' | tr ' ' '\n' |
		awk -F= -v r="$r" 'BEGIN { printf "{\"boot_to_ready_s\": %.3f", r } NF == 2 { printf ", \"%s\": %s", $1, $2 }
			END { print "}" }' >>"$t/debian.runs"
	i=$((i + 1))
done
# the image never changes once made: compressed once (minutes at level 19)
[ -s "$d/image_zstd_bytes" ] || zstd -19 -q -c "$d/debian.raw" | wc -c >"$d/image_zstd_bytes"
zb=$(cat "$d/image_zstd_bytes")
jq -s --argjson ib "$(stat -c %s "$d/debian.raw")" --argjson zb "$zb" --argjson rb "$(cat "$d/rootfs_bytes")" '
	def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	. as $r | {image_bytes: $ib, image_zstd_bytes: $zb, rootfs_bytes: $rb} +
	([$r[0] | keys[] | {(.): ([$r[][.]] | median)}] | add)' "$t/debian.runs" >"$t/debian.json"

echo "| figure | base | Debian 12 | base / Debian |"
echo "| --- | --- | --- | --- |"
for k in image_bytes image_zstd_bytes rootfs_bytes boot_to_ready_s idle_memory_kib idle_processes \
	idle_userspace_processes idle_context_switches_per_s boot_read_bytes; do
	jq -r -n --arg k "$k" --slurpfile b "$t/base.json" --slurpfile d "$t/debian.json" \
		'"| \($k) | \($b[0][$k]) | \($d[0][$k]) | \(if $d[0][$k] > 0 then ($b[0][$k] / $d[0][$k] * 1000 | round / 1000) else "-" end) |"'
done
echo
echo "medians of $runs boots each (base: undistro cost; Debian: $(basename "$(tar -tf "$d/debian.tar" | grep -m1 '^\./boot/vmlinuz-')" | sed 's/^vmlinuz-//'), -kernel/-initrd)"
