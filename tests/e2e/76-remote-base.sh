#!/bin/sh
# e2e: images (needs the real roles built by 40-build-base.sh; make check-quick skips it)
# Two machines share work through a remote package store (docs/remote.md):
# the store 40-build-base.sh filled pushes base's packages to nginx (WebDAV
# PUT, on loopback, as the test's user), then base is built into an empty
# store with an empty source cache and only that remote: nothing is built
# (every package of base's run-time closure and its kernel substituted, no
# build-only package fetched), and the rootfs, initramfs, manifest and
# disk.raw are byte-identical to 40-build-base.sh's. Prints the time of the
# empty machine's build (bench/remote.sh compares it with a build from
# source).
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
e2einit
needbuild base
w=$(mktemp -d /tmp/e2e-remote.XXXXXX)
trap 'davstop; rm -rf "$w"' EXIT
chmod 755 "$w"
mkdir -p "$w/keys" "$w/empty"
[ -z "$asuser" ] || chown -R 65534:65534 "$w"
as "$UNDISTRO" key new e2e "$w/keys" >/dev/null || fail "undistro key new"
cp "$w/keys/e2e.pub" "$w/trusted"
davstart "$w/ng"
url=http://127.0.0.1:$davport

# never a cold build here: every run-time package of 40-build-base.sh's
# image (its SBOM names their store keys) must be in the e2e store
keys=$(grep -o 'store key [0-9a-f]*; runtime' "$E2E/out/base/sbom.spdx.json" | cut -d' ' -f3 | tr -d ';')
[ -n "$keys" ] || fail "$E2E/out/base/sbom.spdx.json names no run-time package"
for k in $keys; do
	[ -d "$E2E/store/pkg/$k" ] || fail "the e2e store lacks $k of base: tests/e2e/40-build-base.sh must pass first"
done

# push: base's packages from the e2e store (no outputs: --packages)
as env UNDISTRO_CACHE="$E2E/cache" UNDISTRO_STORE="$E2E/store" UNDISTRO_WORK="$E2E/work" HOME="$E2E" \
	UNDISTRO_SIGNING_KEY="$w/keys/e2e.key" "$UNDISTRO" -C "$TOP" build --packages base -o "$w/pushout" --remote "$url" --push \
	>"$w/push" 2>&1 || { cat "$w/push"; fail "push of base"; }
if grep -q '^undistro: building' "$w/push"; then cat "$w/push"; fail "the push built packages"; fi
grep '^undistro: pushed [0-9]* packages' "$w/push" || { cat "$w/push"; fail "no push summary"; }
npushed=$(sed -n 's/^undistro: pushed \([0-9]*\) packages.*/\1/p' "$w/push")
[ "$npushed" -gt 3 ] || { cat "$w/push"; fail "only $npushed packages pushed"; }

# an empty machine: empty store, work directory and source cache; the epoch
# 40-build-base.sh's build used (its SBOM's creation time), as ci/repro does
SOURCE_DATE_EPOCH=$(date -u -d "$(jq -r .creationInfo.created "$E2E/out/base/sbom.spdx.json")" +%s)
export SOURCE_DATE_EPOCH
start=$(date +%s.%N)
as env UNDISTRO_CACHE="$w/empty/cache" UNDISTRO_STORE="$w/empty/store" UNDISTRO_WORK="$w/empty/work" \
	HOME="$w/empty" UNDISTRO_REMOTE="$url" UNDISTRO_TRUSTED_KEYS="$w/trusted" \
	"$UNDISTRO" -C "$TOP" build base -o "$w/empty/out" >"$w/warm" 2>&1 || { cat "$w/warm"; fail "build from the remote"; }
end=$(date +%s.%N)
if grep -q '^undistro: building' "$w/warm"; then cat "$w/warm"; fail "the empty machine built packages"; fi
nsub=$(grep -c '^undistro: substituted [a-z0-9+._-]* from' "$w/warm")
[ "$nsub" -gt 3 ] || { cat "$w/warm"; fail "only $nsub packages substituted"; }
[ "$(find "$w/empty/store/pkg" -mindepth 1 -maxdepth 1 | wc -l)" = "$nsub" ] ||
	fail "the empty machine's store holds more than it substituted"
for f in rootfs.tar.zst initramfs.cpio.zst manifest disk.raw; do
	cmp -s "$E2E/out/base/$f" "$w/empty/out/$f" || fail "$f differs from 40-build-base.sh's"
done
grep '^undistro: substituted [0-9]* packages' "$w/warm"
echo "base from the remote on an empty machine: $nsub packages substituted, nothing built," \
	"identical rootfs and disk.raw, $(echo "$end - $start" | bc) s in all ($npushed packages pushed)"
