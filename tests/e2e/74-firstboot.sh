#!/bin/sh
# e2e: images (needs base built by 40-build-base.sh; make check-quick skips it)
# First boot as an EC2 instance would see it, as an unprivileged user: base
# boots under qemu with `undistro run --imds`, whose guest network sends
# 169.254.169.254:80 to our IMDSv2 emulator (recipes/init/src/imds-server.c,
# one process per connection) and whose SMBIOS says Amazon EC2. The agent
# (/usr/lib/undistro/firstboot) must install every metadata key (OpenSSH logs
# in with both), set the host name and /etc/hosts, record the instance id and
# region, run the user-data script (plain and gzip) and report its status, get
# a new token after a 401, and exit. A broken service (401 forever, a 5 MB key,
# a server that stalls) must not hold the ready line past the agent's bound;
# without metadata (plain qemu network, not EC2) it gives up after one try.
# fw_cfg (run --hostname/--user-data/--ssh-key) works without a network
# source, and a role's login-user receives the keys.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
needbuild base
t=$(mktemp -d /tmp/e2e-firstboot.XXXXXX)
trap 'bootstop; rm -rf "$t"' EXIT
chmod 755 "$t"
bootdir=$t
mkdir "$t/src" "$t/logs"
cp "$TOP/recipes/init/src/"* "$t/src/"
make -s -C "$t/src" imds-server >/dev/null || fail "compile the IMDS emulator"
# the emulator runs as the guest's user: it logs (and keeps state) there
[ -z "$asuser" ] || chown 65534:65534 "$t/logs"

ssh-keygen -q -t ed25519 -N '' -C first -f "$t/key0"
ssh-keygen -q -t ecdsa -N '' -C second -f "$t/key1"
chmod 644 "$t/key0.pub" "$t/key1.pub"
# metadata MODE: a metadata directory for the emulator; requests are logged
# to $t/logs/MODE
metadata() {
	md=$t/md-$1
	mkdir -p "$md/meta-data/public-keys" "$md/meta-data/placement"
	echo i-0abc123def4567890 >"$md/meta-data/instance-id"
	echo eu-west-1 >"$md/meta-data/placement/region"
	echo ip-10-1-2-3.eu-west-1.compute.internal >"$md/meta-data/hostname"
	echo ip-10-1-2-3.eu-west-1.compute.internal >"$md/meta-data/local-hostname"
	cp "$t/key0.pub" "$md/meta-data/public-keys/0"
	cp "$t/key1.pub" "$md/meta-data/public-keys/1"
	[ -z "$asuser" ] || chown -R 65534:65534 "$md"
}
imds() { # NAME MODE: the --imds command serving metadata NAME in MODE
	echo "$t/src/imds-server -d $t/md-$1 -L $t/logs/$1 -m $2"
}
sshin() { # PORT KEY USER COMMAND
	ssh -i "$2" -p "$1" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=30 -o BatchMode=yes "$3@127.0.0.1" "$4"
}
readyafter() { sed -n 's/.*: ready after \([0-9]*\) s$/\1/p' "$t/$1.ready"; }
bootready() { # ROLE NAME ARGS...: boot, keep its "ready after" line
	boot "$@" | tee "$t/$2.ready"
}

# 1. everything served: keys, host name, instance id, user-data
metadata ok
# shellcheck disable=SC2016 # expanded by the guest
printf '#!/bin/sh\necho "user-data says hello as $(id -un)"\necho ran >/run/user-data-ran\n' >"$t/md-ok/user-data"
port=$(freeport)
bootready base ok --imds "$(imds ok ok)" --port "22:$port"
# shellcheck disable=SC2016 # expanded by the guest
out=$(sshin "$port" "$t/key0" root 'hostname; grep "^127.0.1.1" /etc/hosts; cat /run/undistro/instance-id /run/undistro/region /run/undistro/metadata /run/user-data-ran; for c in /proc/[0-9]*/comm; do cat "$c"; done 2>/dev/null | grep -c firstboot || :') ||
	{ tail -30 "$t/ok.log"; fail "ssh with the first metadata key"; }
echo "$out"
[ "$(echo "$out" | sed -n 1p)" = ip-10-1-2-3 ] || fail "host name is not the metadata's first label"
echo "$out" | sed -n 2p | grep -q '^127\.0\.1\.1[[:space:]]*ip-10-1-2-3$' || fail "/etc/hosts has no 127.0.1.1 line for the host name"
[ "$(echo "$out" | sed -n 3,6p | tr '\n' ' ')" = "i-0abc123def4567890 eu-west-1 imds ran " ] ||
	fail "instance id, region, source or user-data marker wrong"
[ "$(echo "$out" | sed -n 7p)" = 0 ] || fail "the agent is still running after ready"
sshin "$port" "$t/key1" root true || fail "ssh with the second metadata key"
grep -q 'user-data says hello as root' "$t/ok.log" || fail "user-data output is not on the console"
grep -q 'undistro: firstboot: user-data exited with status 0' "$t/ok.log" || fail "user-data status not reported"
grep -q '^PUT /latest/api/token' "$t/logs/ok" || fail "no IMDSv2 token request"
bootstop

# 2. the first GET with a token answers 401: a new token; gzip user-data
#    that fails: its status is reported
metadata expire
printf '#!/bin/sh\necho "compressed user-data"\nexit 3\n' | gzip -9 >"$t/md-expire/user-data"
bootready base expire --imds "$(imds expire expire-once)"
[ "$(grep -c '^PUT /latest/api/token' "$t/logs/expire")" -ge 2 ] ||
	{ cat "$t/logs/expire"; fail "no new token after a 401"; }
grep -q 'compressed user-data' "$t/expire.log" || fail "gzip user-data did not run"
grep -q 'undistro: firstboot: user-data exited with status 3' "$t/expire.log" || fail "exit status 3 not reported"
bootstop

# 3. without metadata (qemu's usual network, not EC2): one bounded try
bootready base none
grep -q 'undistro: role base ready' "$t/none.log"
grep -q '^undistro: firstboot: .*no instance metadata\|^undistro: firstboot: .*metadata' "$t/none.log" ||
	{ tail -20 "$t/none.log"; fail "the agent said nothing without metadata"; }
base=$(readyafter none)
bootstop

# 4. broken services: ready within the agent's 10 s metadata deadline of the
#    unbroken boot (plus slack for TCG); no key from a 5 MB answer
for mode in 401 huge stall; do
	metadata "$mode"
	if [ "$mode" = huge ]; then
		head -c 5000000 /dev/zero | tr '\0' 'A' | sed 's/^/ssh-ed25519 /' >"$t/md-huge/meta-data/public-keys/1"
	fi
	port=$(freeport)
	# huge: key 1 is 5 MB (key 0 is fine); the others: the emulator's mode
	srvmode=$mode
	[ "$mode" != huge ] || srvmode=ok
	bootready base "$mode" --imds "$(imds "$mode" "$srvmode")" --port "22:$port"
	took=$(readyafter "$mode")
	echo "$mode: ready after $took s (no metadata: $base s)"
	[ "$took" -le $((base + 25)) ] || fail "$mode: the agent held ready for $((took - base)) s"
	grep -q '^undistro: firstboot: ' "$t/$mode.log" || fail "$mode: the agent said nothing"
	if [ "$mode" = huge ]; then
		n=$(sshin "$port" "$t/key0" root 'wc -c </root/.ssh/authorized_keys') || fail "huge: ssh with key 0"
		[ "$n" -lt 1000 ] || fail "huge: authorized_keys holds $n bytes"
	fi
	bootstop
done

# 5. fw_cfg: host name and user-data without a network source; a role whose
#    login-user is admin: the key goes to admin, not root
mkdir -p "$t/tree"
cp -r "$TOP/recipes" "$TOP/stage2" "$TOP/overlays" "$t/tree/"
printf 'name = ops\ninclude = base\nlogin-user = admin\nuser admin {\n}\n' >"$t/tree/recipes/roles/ops.role"
[ -z "$asuser" ] || chown -R 65534:65534 "$t/tree"
as env UNDISTRO_CACHE="$E2E/cache" UNDISTRO_STORE="$E2E/store" UNDISTRO_WORK="$E2E/work" HOME="$E2E" \
	"$UNDISTRO" -C "$t/tree" build ops -o "$E2E/out/ops" >"$t/ops-build.log" 2>&1 ||
	{ cat "$t/ops-build.log"; fail "build of role ops"; }
printf '#!/bin/sh\necho "fw_cfg user-data ran"\n' >"$t/ud"
chmod 644 "$t/ud"
port=$(freeport)
boot_tree=$t/tree
bootready ops fwcfg --ssh-key "$t/key0.pub" --user-data "$t/ud" --hostname fw-host --port "22:$port"
boot_tree=$TOP
out=$(sshin "$port" "$t/key0" admin 'id -un; hostname; cat /run/undistro/metadata') ||
	{ tail -20 "$t/fwcfg.log"; fail "ssh as admin"; }
[ "$(echo "$out" | tr '\n' ' ')" = "admin fw-host fw_cfg " ] || fail "fw_cfg boot: $out"
if sshin "$port" "$t/key0" root true 2>/dev/null; then
	fail "root took the key meant for login-user admin"
fi
grep -q 'fw_cfg user-data ran' "$t/fwcfg.log" || fail "fw_cfg user-data did not run"
bootstop
