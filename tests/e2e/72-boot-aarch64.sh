#!/bin/sh
# e2e: images (needs the aarch64 roles built by 42-build-aarch64.sh; make check-quick skips it)
# Boot the aarch64 images under qemu-system-aarch64 (`undistro run --arch
# aarch64`: the virt machine, AAVMF, NVMe, TCG) as an unprivileged user:
# base reaches its ready line, OpenSSH logs in with a key this test
# generates and hands in through fw_cfg, and `uname -m` says aarch64; web
# serves its overlay's page to curl through the forwarded port.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
[ -s "$E2E/out-aarch64/base/disk.raw" ] || fail "no out-aarch64/base/disk.raw: 42-build-aarch64.sh must pass first"
[ -s "$E2E/out-aarch64/web/disk.raw" ] || fail "no out-aarch64/web/disk.raw: 42-build-aarch64.sh must pass first"
t=$(mktemp -d /tmp/e2e-boot-aarch64.XXXXXX)
trap 'bootstop; rm -rf "$t"' EXIT
chmod 755 "$t"
bootdir=$t boot_out=$E2E/out-aarch64 boot_arch=aarch64 boot_timeout=600

ssh-keygen -q -t ed25519 -N '' -C undistro-test -f "$t/key"
chmod 644 "$t/key.pub"
sshport=$(freeport)
boot base base --ssh-key "$t/key.pub" --port "22:$sshport"
out=$(ssh -i "$t/key" -p "$sshport" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o ConnectTimeout=60 -o BatchMode=yes root@127.0.0.1 'echo "logged in as $(id -un) on $(hostname)"; uname -m') ||
	{ tail -20 "$t/base.log"; fail "ssh into base (aarch64)"; }
echo "$out"
[ "$(echo "$out" | head -1)" = "logged in as root on base" ] || fail "ssh printed: $out"
[ "$(echo "$out" | tail -1)" = aarch64 ] || fail "uname -m printed: $out"
bootstop

httpport=$(freeport)
boot web web --port "80:$httpport"
curl -fsS --max-time 60 "http://127.0.0.1:$httpport/" >"$t/page" || { tail -20 "$t/web.log"; fail "curl (aarch64)"; }
cmp "$t/page" "$TOP/overlays/web/srv/www/index.html" || fail "web (aarch64) served a different page"
echo "web (aarch64): served overlays/web/srv/www/index.html ($(wc -c <"$t/page") bytes)"
bootstop
