#!/bin/sh
# e2e: images (needs the real roles built by 40-build-base.sh; make check-quick skips it)
# The SBOM of the real builds (tests/e2e/40-build-base.sh: $TOP/o/e2e/out/
# {base,web}/sbom.spdx.json, store $TOP/o/e2e/store):
#  - tests/sbom/validate.py: SPDX 2.3 schema, unique ids, relationship ends,
#    every license id on the SPDX list, LicenseRefs declared, and the image
#    package's SHA256 equal to disk.raw's;
#  - against the build: every package of `undistro resolve --json ROLE` is
#    listed with its version, the image CONTAINS exactly the runtime ones,
#    every store key named exists in the store, every package that owns a
#    file of the image (manifest) is CONTAINed, the creation time is the
#    tree's epoch, the namespace names the commit;
#  - the validator refuses a broken copy (a license id not on the list).
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
validate="/usr/bin/python3 $TOP/tests/sbom/validate.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
epoch=${SOURCE_DATE_EPOCH:-$(git -c safe.directory="$TOP" -C "$TOP" log -1 --format=%ct)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
commit=${UNDISTRO_COMMIT:-$(git -c safe.directory="$TOP" -C "$TOP" rev-parse HEAD)}

for role in base web; do
	needbuild "$role"
	out=$E2E/out/$role
	sbom=$out/sbom.spdx.json
	[ -s "$sbom" ] || fail "$sbom is missing"
	$validate --image "$out/disk.raw" "$sbom" || fail "$role: SBOM invalid"

	"$UNDISTRO" -C "$TOP" resolve --json "$role" >"$tmp/plan.json" || fail "resolve $role"
	# name version runtime, from the plan and from the SBOM
	jq -r '.packages[] | "\(.name) \(.version) \(.runtime)"' "$tmp/plan.json" | sort >"$tmp/want"
	jq -r '. as $d | .packages[] | select(.SPDXID != "SPDXRef-Image") | . as $p
		| "\(.name) \(.versionInfo) \([$d.relationships[] | select(.spdxElementId == "SPDXRef-Image"
			and .relationshipType == "CONTAINS" and .relatedSpdxElement == $p.SPDXID)] | length == 1)"' \
		"$sbom" | sort >"$tmp/got"
	diff -u "$tmp/want" "$tmp/got" || fail "$role: the SBOM's packages differ from the plan (- plan, + SBOM)"
	echo "$role: $(wc -l <"$tmp/got") packages, as planned"

	jq -r '.packages[].comment' "$sbom" | sed -n 's/.*store key \([0-9a-f]\{64\}\).*/\1/p' >"$tmp/keys"
	[ "$(wc -l <"$tmp/keys")" -eq "$(wc -l <"$tmp/want")" ] || fail "$role: not every package names its store key"
	while read -r key; do
		[ -d "$E2E/store/pkg/$key" ] || fail "$role: store key $key is not in $E2E/store"
	done <"$tmp/keys"

	# owners of the image's files (manifest column 6) that are packages
	jq -r '. as $d | .packages[] | select(.SPDXID as $id | any($d.relationships[];
		.spdxElementId == "SPDXRef-Image" and .relationshipType == "CONTAINS" and .relatedSpdxElement == $id))
		| .name' "$sbom" | sort >"$tmp/contained"
	awk '{ print $6 }' "$out/manifest" | grep -v '^-$\|^overlay:' | sort -u >"$tmp/owners"
	extra=$(comm -23 "$tmp/owners" "$tmp/contained")
	[ -z "$extra" ] || fail "$role: the image has files of packages the SBOM does not list: $extra"

	[ "$(jq -r .creationInfo.created "$sbom")" = "$created" ] || fail "$role: created is not $created"
	jq -r .documentNamespace "$sbom" | grep -q "/$role/$commit/[0-9a-f]\{64\}$" ||
		fail "$role: the namespace does not name role $role and commit $commit"
	echo "$role: $(jq '.relationships | length' "$sbom") relationships; valid"
done

# The validator must refuse what SPDX refuses.
jq '.packages[1].licenseDeclared = "MIT AND Public-Domain"' "$E2E/out/base/sbom.spdx.json" >"$tmp/bad.json"
if $validate "$tmp/bad.json" >"$tmp/bad.log" 2>&1; then
	fail "the validator accepted a license id that is not on the SPDX list"
fi
grep -q "'Public-Domain' is not an SPDX license id" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "wrong complaint"; }
jq '.relationships += [{"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS",
	"relatedSpdxElement": "SPDXRef-Package-nothing"}]' "$E2E/out/base/sbom.spdx.json" >"$tmp/bad.json"
if $validate "$tmp/bad.json" >/dev/null 2>&1; then
	fail "the validator accepted a relationship to an element that does not exist"
fi
echo "sbom: ok"
