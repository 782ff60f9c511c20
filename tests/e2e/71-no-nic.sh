#!/bin/sh
# e2e: images (needs base built by 40-build-base.sh; make check-quick skips it)
# base without a network device: the console says so once, and the network,
# sshd and the ready line wait; then a NIC is hot-plugged (qemu's monitor:
# netdev_add and device_add, ACPI PCI hot-plug, as EC2 attaches an ENI) and
# the kernel's announcement wakes the network service (netwait, no polling):
# DHCP gets a lease, sshd starts, the role becomes ready and answers on the
# forwarded port. qemu is run by hand here: `undistro run` always gives the
# guest a NIC. As nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
needbuild base
t=$(mktemp -d /tmp/e2e-nonic.XXXXXX)
qpid=
# qemu runs in a session of its own (setsid): the whole group is ended on
# exit, whatever the `as` wrapper forked
trap '[ -z "$qpid" ] || { kill -TERM "-$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; }; rm -rf "$t"' EXIT
chmod 755 "$t"
[ "$(id -u)" -ne 0 ] || chown 65534:65534 "$t"
log=$t/console.log
# waitfor PATTERN SECONDS: until the console shows PATTERN
waitfor() {
	i=0
	until grep -q "$1" "$log"; do
		i=$((i + 1))
		[ "$i" -le $(($2 * 2)) ] || { tail -30 "$log"; fail "no '$1' on the console after $2 s"; }
		kill -0 "$qpid" 2>/dev/null || { tail -30 "$log"; fail "qemu stopped"; }
		sleep 0.5
	done
}
# monitor COMMAND: one human monitor command, its answer on stdout
monitor() {
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
out = b""
def until_prompt():
    global out
    while not out.endswith(b"(qemu) "):
        out += s.recv(4096)
until_prompt()
out = b""
s.sendall(sys.argv[2].encode() + b"\n")
until_prompt()
sys.stdout.write(out.decode(errors="replace"))
' "$t/mon" "$1"
}
: >"$log"
[ "$(id -u)" -ne 0 ] || chown 65534:65534 "$log"
# shellcheck disable=SC2086 # $asuser is empty or a command with arguments
setsid $asuser qemu-system-x86_64 -M pc -accel tcg -m 256 -display none -no-reboot \
	-drive "if=none,id=d0,format=raw,snapshot=on,file=$E2E/out/base/disk.raw" \
	-device nvme,drive=d0,serial=undistro0,bootindex=0 -device virtio-rng-pci \
	-nic none -serial "file:$log" -monitor "unix:$t/mon,server=on,wait=off" &
qpid=$!
waitfor 'undistro: no Ethernet device' 400
# nothing after the network starts without one (sshd is `after = network`)
sleep 2
grep -q 'undistro: role base ready' "$log" && fail "ready without a network device"
grep -q 'Ethernet device .* appeared' "$log" && fail "a device appeared that was not plugged in"
port=$(freeport)
monitor "netdev_add user,id=n1,hostfwd=tcp:127.0.0.1:$port-:22" >"$t/m1"
monitor "device_add virtio-net-pci,netdev=n1,romfile=,id=nic1" >"$t/m2"
if grep -qi error "$t/m1" "$t/m2"; then
	cat "$t/m1" "$t/m2"
	fail "hot-plug refused by qemu"
fi
waitfor 'undistro: Ethernet device eth0 appeared' 120
waitfor 'undistro: role base ready' 120
[ "$(grep -c 'undistro: no Ethernet device' "$log")" = 1 ] || fail "the no-device message came more than once"
# dropbear -R makes its host keys on the first connection: that one may
# end before the key exchange, so a few tries
n=0
until ssh-keyscan -T 30 -p "$port" 127.0.0.1 2>"$t/keyscan.err" | grep -q ' ssh-ed25519 '; do
	n=$((n + 1))
	[ "$n" -lt 5 ] || { cat "$t/keyscan.err"; tail -20 "$log"; fail "no ssh host key through the hot-plugged NIC"; }
	sleep 1
done
echo "no NIC: message once; hot-plugged virtio-net: lease, sshd and ready"
