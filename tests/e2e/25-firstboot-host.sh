#!/bin/sh
# The first-boot agent (recipes/init/src/firstboot) on the host against the
# IMDSv2 emulator (imds-server -l), on fake roots (-r): keys, hostname,
# /run/undistro files and user-data (plain and gzip'ed) from IMDS and from a
# fake fw_cfg tree; token renewal after a 401; and the bounds: a service that
# says 401 forever, stalls, trickles, answers 5 MB or garbage costs at most
# the 10 s metadata deadline and installs nothing; off EC2 with nothing
# listening it is one try under ~1.5 s; a user-data script that sleeps 40 s
# holds the ready marker 30 s; the IPv6 fallback to an unroutable address is
# bounded. Both programs are built with the host cc and the house flags. As
# root it runs as nobody from a copy (the agent needs no privilege when the
# accounts in the fake passwd are the invoking user).
set -eu
fail() { echo "FAIL: $*"; exit 1; }
if [ "$(id -u)" = 0 ] && [ -z "${FBTEST:-}" ]; then
	: "${TOP:?}"
	t=$(mktemp -d /tmp/undistro-firstboot.XXXXXX)
	trap 'rm -rf "$t"' EXIT
	cp -r "$TOP/recipes/init/src" "$t/src"
	cp "$0" "$t/test.sh"
	chown -R 65534:65534 "$t"
	chmod 755 "$t"
	setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$t" FBTEST="$t" sh "$t/test.sh"
	exit
fi
if [ -n "${FBTEST:-}" ]; then
	t=$FBTEST
else
	: "${TOP:?}"
	t=$(mktemp -d /tmp/undistro-firstboot.XXXXXX)
	trap 'rm -rf "$t"' EXIT
	cp -r "$TOP/recipes/init/src" "$t/src"
fi
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	[ -n "${FBTEST:-}" ] || rm -rf "$t"
}
trap cleanup EXIT
rm -f "$t/src/"*.o "$t/src/firstboot" "$t/src/imds-server"
make -C "$t/src" firstboot imds-server >"$t/make.log" 2>&1 || { cat "$t/make.log"; fail "build"; }
fb=$t/src/firstboot

# data NAME [USER-DATA-FILE]: answers for the server in $t/NAME
data() {
	d=$t/$1
	mkdir -p "$d/meta-data/placement" "$d/meta-data/public-keys"
	echo i-0123456789abcdef0 >"$d/meta-data/instance-id"
	echo eu-west-1 >"$d/meta-data/placement/region"
	echo Ip-10-0-0-5.eu-west-1.compute.internal >"$d/meta-data/hostname"
	echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0 key0' >"$d/meta-data/public-keys/0"
	echo 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAB key1' >"$d/meta-data/public-keys/1"
	[ $# -lt 2 ] || cp "$2" "$d/user-data"
}
# root NAME VENDOR: a fake root $t/NAME whose DMI says VENDOR
root() {
	r=$t/$1
	mkdir -p "$r/etc" "$r/run/undistro" "$r/root" "$r/var/log" "$r/sys/class/dmi/id"
	echo "root:x:$(id -u):$(id -g):root:/root:/bin/sh" >"$r/etc/passwd"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tundistro\n' >"$r/etc/hosts"
	echo undistro >"$r/etc/hostname"
	echo "$2" >"$r/sys/class/dmi/id/sys_vendor"
}
# serve NAME MODE DATA: imds-server on a free port (sets port), log $t/NAME.log
serve() {
	"$t/src/imds-server" -l 0 -d "$t/$3" -L "$t/$1.log" -m "$2" >"$t/$1.port" &
	pids="$pids $!"
	i=0
	until [ -s "$t/$1.port" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "imds-server -m $2 did not start"
		sleep 0.1
	done
	port=$(cat "$t/$1.port")
}
# agent NAME ARGS...: the agent on root $t/NAME; output NAME.out, status
# NAME.rc, wall time in ms NAME.ms
agent() {
	n=$1
	shift
	a0=$(date +%s%N)
	rc=0
	"$fb" -r "$t/$n" "$@" >"$t/$n.out" 2>&1 || rc=$?
	echo "$rc" >"$t/$n.rc"
	echo $((($(date +%s%N) - a0) / 1000000)) >"$t/$n.ms"
}
# check NAME MAXMS: the agent finished with 0 within MAXMS, left the marker
check() {
	[ "$(cat "$t/$1.rc")" = 0 ] || { cat "$t/$1.out"; fail "$1: exit status $(cat "$t/$1.rc")"; }
	[ "$(cat "$t/$1.ms")" -le "$2" ] || { cat "$t/$1.out"; fail "$1: took $(cat "$t/$1.ms") ms (bound $2)"; }
	[ -e "$t/$1/run/undistro/firstboot" ] || fail "$1: no ready marker"
	echo "$1: $(cat "$t/$1.ms") ms"
	sed 's/^/    /' "$t/$1.out"
}
nokeys() {
	[ ! -e "$t/$1/root/.ssh/authorized_keys" ] || fail "$1: keys written: $(head -c 200 "$t/$1/root/.ssh/authorized_keys")"
}

# shellcheck disable=SC2016 # expanded by the user-data script
printf '#!/bin/sh\necho "user-data ran as $(id -u) in $HOME"\necho to stderr >&2\nexit 3\n' >"$t/ud-plain"
printf '#!/bin/sh\necho gzip user-data ran\n' | gzip -c >"$t/ud-gzip"
printf '#!/bin/sh\necho sleeping\nsleep 40\necho woke\nexit 7\n' >"$t/ud-sleep"
data plain "$t/ud-plain"
data gzip "$t/ud-gzip"
data sleep "$t/ud-sleep"
data nouser
ec2="Amazon EC2"

# The slow cases first, in the background: each costs its bound
for m in 401 stall trickle huge garbage; do
	root "f$m" "$ec2"
	serve "f$m" "$m" nouser
	agent "f$m" -e "127.0.0.1:$port" &
	pids="$pids $!"
done
# IPv6 fallback: v4 stalls (a timeout), the machine has a v6 default route,
# and the v6 address is unroutable (100::/64, the discard prefix)
root v6 "$ec2"
mkdir -p "$t/v6/proc/net"
echo '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0' \
	>"$t/v6/proc/net/ipv6_route"
serve v6 stall nouser
agent v6 -e "127.0.0.1:$port" -6 "[100::1]:80" &
pids="$pids $!"
# user-data that sleeps 40 s: the marker after 30 s, the status at the end
root sleep "$ec2"
serve sleep ok sleep
sleep0=$(date +%s%N)
agent sleep -e "127.0.0.1:$port" &
sleeper=$!
pids="$pids $!"

# plain: everything from IMDS
root plain "$ec2"
serve plain ok plain
agent plain -e "127.0.0.1:$port"
check plain 3000
r=$t/plain
[ "$(grep -c '^ssh-' "$r/root/.ssh/authorized_keys")" = 2 ] || fail "plain: two keys expected"
[ "$(stat -c %a "$r/root/.ssh")" = 700 ] || fail "plain: mode of .ssh"
[ "$(stat -c %a "$r/root/.ssh/authorized_keys")" = 600 ] || fail "plain: mode of authorized_keys"
grep -q '^undistro: firstboot: 2 ssh key(s) for root from imds$' "$t/plain.out" || fail "plain: key line"
[ "$(cat "$r/etc/hostname")" = ip-10-0-0-5 ] || fail "plain: /etc/hostname"
[ "$(grep -c '^127\.0\.1\.1' "$r/etc/hosts")" = 1 ] || { cat "$r/etc/hosts"; fail "plain: 127.0.1.1 lines"; }
grep -q "^127.0.1.1	ip-10-0-0-5$" "$r/etc/hosts" || fail "plain: hosts line"
grep -q '^127.0.0.1	localhost$' "$r/etc/hosts" || fail "plain: localhost line lost"
[ "$(cat "$r/run/undistro/instance-id")" = i-0123456789abcdef0 ] || fail "plain: instance-id"
[ "$(cat "$r/run/undistro/region")" = eu-west-1 ] || fail "plain: region"
[ "$(cat "$r/run/undistro/metadata")" = imds ] || fail "plain: metadata source"
grep -q "^user-data ran as $(id -u) in $r/root$" "$t/plain.out" || { cat "$t/plain.out"; fail "plain: user-data output"; }
grep -q '^to stderr$' "$r/var/log/user-data.log" || fail "plain: user-data log"
grep -q '^undistro: firstboot: user-data exited with status 3$' "$t/plain.out" || fail "plain: user-data status"
[ "$(stat -c %a "$r/run/undistro/user-data")" = 700 ] || fail "plain: user-data mode"
# a second run (another lease) adds no key twice and runs no script again
agent plain -e "127.0.0.1:$port"
[ "$(grep -c '^ssh-' "$r/root/.ssh/authorized_keys")" = 2 ] || fail "plain: keys added twice"
grep -q 'already started this boot' "$t/plain.out" || fail "plain: user-data ran twice"

# gzip'ed user-data, and a token that expires once: the agent asks for a second one
root gzip "$ec2"
serve gzip expire-once gzip
agent gzip -e "127.0.0.1:$port"
check gzip 3000
grep -q '^gzip user-data ran$' "$t/gzip.out" || { cat "$t/gzip.out"; fail "gzip: user-data did not run"; }
grep -q 'user-data exited with status 0$' "$t/gzip.out" || fail "gzip: status"
[ "$(grep -c '^PUT /latest/api/token 200$' "$t/gzip.log")" = 2 ] || { cat "$t/gzip.log"; fail "expire-once: no second token"; }
grep -q '^GET /latest/meta-data/instance-id 401$' "$t/gzip.log" || fail "expire-once: no 401"
[ "$(grep -c '^ssh-' "$t/gzip/root/.ssh/authorized_keys")" = 2 ] || fail "expire-once: keys"

# fw_cfg: used instead of the network (nothing asked of the server), keys
# for the account firstboot.conf names
root fw "QEMU"
f=$t/fw/sys/firmware/qemu_fw_cfg/by_name/opt/undistro
mkdir -p "$f/authorized_keys" "$f/hostname" "$f/user-data" "$t/fw/etc/undistro" "$t/fw/home/admin"
printf 'ssh-ed25519 AAAAfw key\nnot a key\necdsa-sha2-nistp256 AAAAe key2\n' >"$f/authorized_keys/raw"
echo fwhost >"$f/hostname/raw"
printf '#cloud-config\nusers: []\n' >"$f/user-data/raw"
printf 'user admin\nbogus line\n' >"$t/fw/etc/undistro/firstboot.conf"
echo "admin:x:$(id -u):$(id -g)::/home/admin:/bin/sh" >>"$t/fw/etc/passwd"
serve fw ok plain
agent fw -e "127.0.0.1:$port"
check fw 1000
[ ! -s "$t/fw.log" ] || fail "fw_cfg: the network was used"
[ "$(grep -c . "$t/fw/home/admin/.ssh/authorized_keys")" = 2 ] || fail "fw_cfg: keys for admin"
grep -q '2 ssh key(s) for admin from fw_cfg' "$t/fw.out" || fail "fw_cfg: key line"
grep -q 'firstboot.conf:2: ignored' "$t/fw.out" || fail "fw_cfg: unknown config line not warned about"
grep -q 'user-data ignored.*cloud-config' "$t/fw.out" || fail "fw_cfg: cloud-config not reported"
[ "$(cat "$t/fw/etc/hostname")" = fwhost ] || fail "fw_cfg: hostname"
[ "$(cat "$t/fw/run/undistro/metadata")" = fw_cfg ] || fail "fw_cfg: metadata source"

# not on EC2, nothing listening: one try, one line, done at once
root off "QEMU"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
agent off -e "127.0.0.1:$port"
check off 1500
[ "$(wc -l <"$t/off.out")" = 1 ] || { cat "$t/off.out"; fail "off: more than one console line"; }
[ "$(cat "$t/off/run/undistro/metadata")" = none ] || fail "off: metadata source"
# not on EC2, a server that stalls: still one bounded try
root offstall "QEMU"
serve offstall stall nouser
agent offstall -e "127.0.0.1:$port"
check offstall 1500
[ "$(grep -c '^PUT' "$t/offstall.log")" = 1 ] || fail "offstall: more than one try"

# the slow cases: bounded by the 10 s metadata deadline (+2 s margin), no key
wait_for() { # NAME: until the agent on root NAME has finished
	i=0
	until [ -s "$t/$1.ms" ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail "$1: the agent has not finished after 60 s"
		sleep 0.1
	done
}
for m in 401 stall trickle huge garbage; do
	wait_for "f$m"
	check "f$m" 12000
	nokeys "f$m"
done
grep -q '401 even with a new token' "$t/f401.out" || fail "401: not reported"
grep -q 'timed out' "$t/fstall.out" || fail "stall: not reported"
grep -q 'over 64 KiB: refused' "$t/fhuge.out" || { cat "$t/fhuge.out"; fail "huge: not reported"; }
grep -q 'malformed answer' "$t/fgarbage.out" || { cat "$t/fgarbage.out"; fail "garbage: not reported"; }
wait_for v6
check v6 12000
grep -q '\[100::1\]' "$t/v6.out" || { cat "$t/v6.out"; fail "v6: the IPv6 address was not tried"; }

# the sleeper: marker after ~30 s (not 40), the status when it ends
i=0
until [ -e "$t/sleep/run/undistro/firstboot" ]; do
	i=$((i + 1))
	[ $i -lt 400 ] || fail "sleep: no marker after 40 s"
	sleep 0.1
done
ms=$((($(date +%s%N) - sleep0) / 1000000))
[ "$ms" -ge 30000 ] || fail "sleep: marker after $ms ms, before the 30 s bound"
[ "$ms" -le 32000 ] || fail "sleep: marker after $ms ms (expected 30 s)"
echo "sleep: marker after $ms ms"
grep -q 'still running after 30 s' "$t/sleep.out" || fail "sleep: bound not said"
! grep -q 'exited with status' "$t/sleep.out" || fail "sleep: status before the end"
wait "$sleeper"
grep -q '^woke$' "$t/sleep.out" || { cat "$t/sleep.out"; fail "sleep: output after the bound lost"; }
grep -q 'user-data exited with status 7$' "$t/sleep.out" || fail "sleep: status not reported at the end"
echo "sleep: agent done after $(cat "$t/sleep.ms") ms"
echo "25-firstboot-host: all passed"
