#!/bin/sh
# The network device waiter (recipes/init/src/netwait.c) on the host, built
# with the host cc and the house flags, on fake sysfs roots (-r): it picks
# the least-named Ethernet device backed by hardware and nothing virtual or
# non-Ethernet; -n says "none" at once; without -n it sleeps until the kernel
# announces a network device, and a device that shows up in sysfs without an
# event does not wake it (it does not poll). The kernel's announcement is a
# veth pair made in a network namespace of our own (unshare -rn), whose
# uevents reach listeners in that namespace only: the host's devices are
# untouched, and it runs as nobody.
set -eu
: "${TOP:?}"
fail() { echo "FAIL: $*"; exit 1; }
as=
[ "$(id -u)" != 0 ] || as="setpriv --reuid=65534 --regid=65534 --clear-groups"
t=$(mktemp -d /tmp/undistro-netwait.XXXXXX)
trap 'kill "$pid" 2>/dev/null || :; rm -rf "$t"' EXIT
pid=
chmod 755 "$t"
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wmissing-prototypes -Werror -O2 \
	-o "$t/netwait" "$TOP/recipes/init/src/netwait.c"
# nic ROOT NAME TYPE [hw]: a device in the fake sysfs
nic() {
	mkdir -p "$1/sys/class/net/$2"
	echo "$3" >"$1/sys/class/net/$2/type"
	[ -z "${4:-}" ] || mkdir "$1/sys/class/net/$2/device"
}
r=$t/root
mkdir -p "$r/sys/class/net"
nic "$r" lo 772 hw
nic "$r" sit0 776
nic "$r" br0 1
nic "$r" wlan0 801 hw
out=$("$t/netwait" -n -r "$r") && fail "-n found '$out' among lo, sit0, a bridge and a wireless device"
[ -z "$out" ] || fail "-n printed '$out' when there is no device"
# the least name wins whatever readdir's order
nic "$r" ens5 1 hw
nic "$r" eth1 1 hw
[ "$("$t/netwait" -n -r "$r")" = ens5 ] || fail "ens5 and eth1: not ens5"
nic "$r" enp0s3 1 hw
[ "$("$t/netwait" -r "$r")" = enp0s3 ] || fail "a present device: netwait did not print it at once"
"$t/netwait" -x >/dev/null 2>&1 && fail "an unknown option was accepted"
"$t/netwait" extra >/dev/null 2>&1 && fail "an operand was accepted"

# Waiting: an empty root, a namespace of our own
r=$t/wait
mkdir -p "$r/sys/class/net"
chown -R 65534:65534 "$t" 2>/dev/null || :
cat >"$t/ns.sh" <<'EOF'
set -eu
t=$1
"$t/netwait" -r "$t/wait" >"$t/out" 2>"$t/err" &
echo $! >"$t/pid"
# a device in sysfs without an event: it sleeps on
sleep 0.5
mkdir -p "$t/wait/sys/class/net/eth0/device"
echo 1 >"$t/wait/sys/class/net/eth0/type"
sleep 1
[ ! -s "$t/out" ] || { echo "woke up without an event: $(cat "$t/out")"; exit 1; }
kill -0 "$(cat "$t/pid")" || { echo "exited without an event: $(cat "$t/err")"; exit 1; }
# the kernel announces a device (virtual: only the event matters here)
ip link add v0 type veth peer name v1
i=0
while kill -0 "$(cat "$t/pid")" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -le 100 ] || { echo "no wake-up 10 s after the event"; exit 1; }
	sleep 0.1
done
wait "$(cat "$t/pid")" || { echo "exit $?: $(cat "$t/err")"; exit 1; }
[ "$(cat "$t/out")" = eth0 ] || { echo "printed '$(cat "$t/out")'"; exit 1; }
EOF
# shellcheck disable=SC2086 # $as is empty or a command with arguments
$as unshare -rn sh "$t/ns.sh" "$t" || fail "waiting for a device"
echo "ok"
