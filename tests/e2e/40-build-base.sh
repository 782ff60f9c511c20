#!/bin/sh
# e2e: images (builds the real roles; make check-quick skips it)
# Build the base and web roles from source, from nothing, as an unprivileged
# user (nobody when run as root), with the scripts CI runs: ci/build-image
# (stage2, packages, kernel, rootfs, images) and ci/artifacts (the upload
# directory with SHA256SUMS). Later tests use these outputs:
# $TOP/o/e2e/out/{base,web}, store $TOP/o/e2e/store, source cache
# $TOP/o/e2e/cache (tests/e2e/lib.sh).
# With a remote package store (UNDISTRO_REMOTE and UNDISTRO_TRUSTED_KEYS
# given to tests/run.sh, which passes them as E2E_REMOTE and
# E2E_TRUSTED_KEYS: CI's check job), what it holds is substituted instead of
# built; the reproducibility gate (95-repro.sh) then compares that with a
# build from source.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
e2einit
# ci/build-image as nobody with a Debian user's PATH (no /usr/sbin, where
# sfdisk and mkfs.vfat live), the e2e cache and store
cib() {
	as env PATH=/usr/bin:/bin UNDISTRO="$UNDISTRO" UNDISTRO_CACHE="$E2E/cache" UNDISTRO_STORE="$E2E/store" \
		UNDISTRO_WORK="$E2E/work" HOME="$E2E" UNDISTRO_REMOTE="${E2E_REMOTE:-}" \
		UNDISTRO_TRUSTED_KEYS="${E2E_TRUSTED_KEYS:-}" sh "$TOP/ci/build-image" --out "$E2E/out" "$@"
}
for role in base web; do
	start=$(date +%s)
	cib "$role" >"$E2E/build-$role.log" 2>&1 || { tail -40 "$E2E/build-$role.log"; fail "ci/build-image $role"; }
	echo "build $role: $(($(date +%s) - start)) s"
	for f in rootfs.tar.zst initramfs.cpio.zst manifest report disk.raw disk.qcow2 disk.vhd disk.vmdk \
		register-image.json sbom.spdx.json; do
		[ -s "$E2E/out/$role/$f" ] || fail "out/$role/$f is missing"
	done
	# the directory CI uploads: every file listed with a checksum that holds
	a=$(as env ARTIFACTS="$E2E/artifacts" UNDISTRO_COMMIT=e2e sh "$TOP/ci/artifacts" "$role" x86_64 "$E2E/out/$role")
	[ "$a" = "$E2E/artifacts/undistro-$role-x86_64-e2e" ] || fail "ci/artifacts printed $a"
	(cd "$a" && sha256sum -c --quiet SHA256SUMS) || fail "$a/SHA256SUMS does not check"
	for f in disk.raw disk.qcow2 disk.vhd disk.vmdk manifest sbom.spdx.json register-image.json; do
		grep -q "  $f\$" "$a/SHA256SUMS" || fail "$f is not in $a/SHA256SUMS"
	done
done
grep '^undistro: built' "$E2E/build-base.log" || true
# a second build of base rebuilds no package
cib base >"$E2E/rebuild.log" 2>&1 || fail "rebuild"
if grep -q 'undistro: building' "$E2E/rebuild.log"; then cat "$E2E/rebuild.log"; fail "second build rebuilt packages"; fi
ls -l "$E2E/out/base"
