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
pids=
cleanup() {
	for p in $pids; do kill -TERM "-$p" 2>/dev/null || true; done
	rm -rf "$t"
}
trap cleanup EXIT
chmod 755 "$t"
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
asuser=
[ "$(id -u)" -ne 0 ] || asuser="setpriv --reuid=65534 --regid=65534 --clear-groups"

# boot ROLE NAME [run options...]: start qemu in its own session, wait for
# the ready line on the serial console
boot() {
	role=$1 name=$2
	shift 2
	log=$t/$name.log
	: >"$log"
	[ -z "$asuser" ] || chown 65534:65534 "$log" "$t"
	start=$(date +%s)
	# shellcheck disable=SC2086 # $asuser is empty or a command with arguments
	setsid env HOME="$E2E" $asuser "$UNDISTRO" -C "$TOP" run -o "$E2E/out/$role" \
		--serial-log "$log" --timeout 400 "$@" "$role" >"$t/$name.run" 2>&1 &
	pid=$!
	pids="$pids $pid"
	i=0
	until grep -q "undistro: role $role ready" "$log"; do
		i=$((i + 1))
		[ $i -lt 800 ] || { tail -30 "$log"; cat "$t/$name.run"; fail "$name: no ready line after 400 s"; }
		kill -0 "$pid" 2>/dev/null || { tail -30 "$log"; cat "$t/$name.run"; fail "$name: qemu stopped before the ready line"; }
		sleep 0.5
	done
	echo "$name: ready after $(($(date +%s) - start)) s"
}
# stop: end every guest and wait until it is gone (its ports are free again)
stop() {
	for p in $pids; do kill -TERM "-$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	pids=
}

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
stop

# base under OVMF
boot base uefi --uefi
stop

# web: the page from overlays/web through the forwarded port
httpport=$(freeport)
boot web web --port "80:$httpport"
curl -fsS --max-time 30 "http://127.0.0.1:$httpport/" >"$t/page" || { tail -20 "$t/web.log"; fail "curl"; }
cmp "$t/page" "$TOP/overlays/web/srv/www/index.html" || fail "web served a different page"
echo "web: served overlays/web/srv/www/index.html ($(wc -c <"$t/page") bytes)"
stop

# the image stage is reproducible: the same role in another directory
ud build base -o "$t/again" >/dev/null 2>&1 || fail "second image build"
for f in disk.raw disk.qcow2 initramfs.cpio.zst rootfs.tar.zst; do
	cmp "$E2E/out/base/$f" "$t/again/$f" || fail "$f differs between two builds"
done
echo "disk.raw: $(sha256sum <"$t/again/disk.raw" | cut -d' ' -f1) in both builds"
