#!/bin/sh
# e2e: images (needs the aarch64 store of 42-build-aarch64.sh; make check-quick skips it)
# The service roles for aarch64 (Graviton), cross-built into the e2e store:
# proxy, cache and resolver images are made (only their own packages build:
# zlib, pcre2, nginx, redis, dnsmasq, each with its recipe test run under
# qemu-aarch64), and the services' programs in them are AArch64 ELF files
# for musl's aarch64 loader. 75-services.sh boots and uses the x86_64 ones.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
e2einit
out=$E2E/out-aarch64
[ -s "$out/base/disk.raw" ] || fail "no $out/base/disk.raw: tests/e2e/42-build-aarch64.sh must pass first"
t=$(mktemp -d /tmp/e2e-services-aarch64.XXXXXX)
trap 'rm -rf "$t"' EXIT
for role in proxy cache resolver; do
	start=$(date +%s)
	ud build --arch aarch64 "$role" -o "$out/$role" >"$E2E/build-aarch64-$role.log" 2>&1 ||
		{ tail -40 "$E2E/build-aarch64-$role.log"; fail "build --arch aarch64 $role"; }
	echo "build aarch64 $role: $(($(date +%s) - start)) s"
	if grep -q 'undistro: building linux' "$E2E/build-aarch64-$role.log"; then
		fail "$role rebuilt the kernel: base's store entries were not reused"
	fi
	for f in disk.raw rootfs.tar.zst register-image.json; do
		[ -s "$out/$role/$f" ] || fail "out-aarch64/$role/$f is missing"
	done
	grep -q '"Architecture": "arm64"' "$out/$role/register-image.json" || fail "$role: register-image.json is not arm64"
done

# each package this run built ran its test block (under qemu-aarch64)
for l in "$out"/proxy/logs/*.log "$out"/cache/logs/*.log "$out"/resolver/logs/*.log; do
	[ -e "$l" ] || continue
	grep -q '^==> test' "$l" || { tail -20 "$l"; fail "${l##*/}: the test phase did not run"; }
done

# the services' programs (and nginx's zlib; pcre2 is linked into nginx) are AArch64 ELF files for musl's loader
check() { # ROLE FILE...
	role=$1
	shift
	rm -rf "$t/root"
	mkdir "$t/root"
	zstd -dc "$out/$role/rootfs.tar.zst" | tar -x -C "$t/root" --exclude='./dev/*' --exclude='dev/*'
	for f; do
		[ -f "$t/root/$f" ] || fail "$role: no /$f"
		readelf -h "$t/root/$f" | grep -q 'Machine:.*AArch64' || fail "$role: /$f is not AArch64"
		readelf -l "$t/root/$f" | grep -q 'interpreter: /lib/ld-musl-aarch64.so.1' ||
			fail "$role: /$f does not use /lib/ld-musl-aarch64.so.1"
	done
}
check proxy usr/sbin/nginx
for f in nginx.conf mime.types; do
	[ -f "$t/root/etc/nginx/$f" ] || fail "proxy: no /etc/nginx/$f"
done
for l in "$t"/root/usr/lib/libz.so.*; do
	[ -L "$l" ] || [ ! -f "$l" ] && continue
	readelf -h "$l" | grep -q 'Machine:.*AArch64' || fail "proxy: ${l#"$t/root"} is not AArch64"
done
check cache usr/bin/redis-server usr/bin/redis-cli
check resolver usr/sbin/dnsmasq
echo "aarch64: proxy, cache and resolver images with AArch64 programs"
