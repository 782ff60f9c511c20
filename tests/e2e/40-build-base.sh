#!/bin/sh
# e2e: images (needs the real roles built: make check-images)
# Build the base and web roles from source, from nothing, as an unprivileged
# user (nobody when run as root): stage2, packages, rootfs, images. Later
# tests use these outputs: $TOP/o/e2e/out/{base,web}, store $TOP/o/e2e/store,
# source cache $TOP/o/e2e/cache (tests/e2e/lib.sh).
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
e2einit
for role in base web; do
	start=$(date +%s)
	ud build "$role" -o "$E2E/out/$role" >"$E2E/build-$role.log" 2>&1 || {
		tail -40 "$E2E/build-$role.log"; fail "undistro build $role"; }
	echo "build $role: $(($(date +%s) - start)) s"
	for f in rootfs.tar.zst initramfs.cpio.zst manifest report disk.raw disk.qcow2 disk.vhd disk.vmdk \
		register-image.json sbom.spdx.json; do
		[ -s "$E2E/out/$role/$f" ] || fail "out/$role/$f is missing"
	done
done
grep '^undistro: built' "$E2E/build-base.log" || true
# a second build of base rebuilds no package
ud build base -o "$E2E/out/base" >"$E2E/rebuild.log" 2>&1 || fail "rebuild"
if grep -q 'undistro: building' "$E2E/rebuild.log"; then cat "$E2E/rebuild.log"; fail "second build rebuilt packages"; fi
ls -l "$E2E/out/base"
