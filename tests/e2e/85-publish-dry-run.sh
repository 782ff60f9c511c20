#!/bin/sh
# e2e: images (needs the real roles built by 40-build-base.sh; make check-quick skips it)
# ci/publish-ami --dry-run for the real base build ($TOP/o/e2e/out/base from
# tests/e2e/40-build-base.sh): the AWS calls it would make, in order, with
# the parameters of register-image.json (UEFI-preferred boot, ENA, IMDSv2,
# root device, x86_64, the imported snapshot) and the Commit and ContentHash
# tags; no AWS CLI is needed (a fake `aws` on PATH proves none is run). Then
# its usage errors, and ci/artifacts on the same build (SHA256SUMS checks).
set -eu
: "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
needbuild base
out=$E2E/out/base
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
printf '#!/bin/sh\necho "aws was run: $*" >&2\nexit 99\n' >"$tmp/bin/aws"
chmod +x "$tmp/bin/aws"
hash=$(sha256sum "$out/disk.raw" | cut -d' ' -f1)
commit=${UNDISTRO_COMMIT:-$(git -c safe.directory="$TOP" -C "$TOP" rev-parse HEAD)}

PATH=$tmp/bin:$PATH "$TOP/ci/publish-ami" --dry-run --region eu-west-1 --bucket test-bucket --out "$out" base \
	>"$tmp/calls" 2>"$tmp/err" || { cat "$tmp/calls" "$tmp/err"; fail "publish-ami --dry-run"; }
cat "$tmp/calls"
! grep -q 'aws was run' "$tmp/err" || fail "the dry run ran aws"

# expect LINE-PATTERN DESCRIPTION: a printed call matches (grep -E)
expect() {
	grep -Eq -- "$1" "$tmp/calls" || fail "no call: $2 (pattern: $1)"
}
expect '^aws ec2 describe-images --region eu-west-1 --owners self .*tag:ContentHash,Values='"$hash" \
	"look-up by content hash"
expect '^aws s3 cp --region eu-west-1 .*/disk\.(vhd|raw) s3://test-bucket/undistro/base/'"$hash"'\.(vhd|raw)$' \
	"upload"
expect '^aws ec2 import-snapshot --region eu-west-1 .*--disk-container .*"Format":"(VHD|RAW)".*"UserBucket":\{"S3Bucket":"test-bucket","S3Key":"undistro/base/'"$hash"'\.(vhd|raw)"\}' \
	"import-snapshot from the bucket"
expect '^aws ec2 describe-import-snapshot-tasks --region eu-west-1 --import-task-ids import-snap-DRYRUN ' \
	"wait for the import"
for p in '--boot-mode uefi-preferred' '--ena-support' '--imds-support v2\.0' '--root-device-name /dev/xvda' \
	'--architecture x86_64' '--virtualization-type hvm' '--name undistro-base-[0-9]+' \
	'--block-device-mappings .*"DeviceName":"/dev/xvda".*"SnapshotId":"snap-DRYRUN"'; do
	expect "^aws ec2 register-image --region eu-west-1 .*$p" "register-image $p"
done
! grep -q '@SNAPSHOT_ID@' "$tmp/calls" || fail "the snapshot placeholder was not replaced"
expect "^aws ec2 create-tags --region eu-west-1 --resources ami-DRYRUN snap-DRYRUN .*Key=Commit,Value=$commit .*Key=ContentHash,Value=$hash" \
	"tags"
# in this order, one call each
calls=$(grep '^aws ' "$tmp/calls" | cut -d' ' -f2-3 | tr '\n' ' ')
[ "$calls" = "ec2 describe-images s3 cp ec2 import-snapshot ec2 describe-import-snapshot-tasks ec2 register-image ec2 create-tags " ] ||
	fail "calls out of order: $calls"
grep -q '^ami-DRYRUN$' "$tmp/calls" || fail "no AMI id printed"

# usage errors
if "$TOP/ci/publish-ami" --dry-run --bogus base >/dev/null 2>&1; then fail "accepted --bogus"; fi
if "$TOP/ci/publish-ami" --dry-run >/dev/null 2>&1; then fail "accepted no role"; fi
if "$TOP/ci/publish-ami" --dry-run --out "$tmp" base >/dev/null 2>"$tmp/err"; then fail "accepted a dir without an image"; fi
grep -q 'build the role first' "$tmp/err" || fail "no hint to build first"
if PATH=$tmp/bin:$PATH AWS_REGION='' AWS_DEFAULT_REGION='' "$TOP/ci/publish-ami" --bucket b --out "$out" base \
	>/dev/null 2>"$tmp/err"; then fail "ran without a region"; fi
grep -q 'no region' "$tmp/err" || fail "no region complaint"

# ci/artifacts: the upload directory, with sums that check
ARTIFACTS=$tmp/art UNDISTRO_COMMIT=$commit "$TOP/ci/artifacts" base x86_64 "$out" >"$tmp/dir" || fail "ci/artifacts"
dir=$(cat "$tmp/dir")
[ "$dir" = "$tmp/art/undistro-base-x86_64-$commit" ] || fail "artifact directory $dir"
for f in disk.raw manifest sbom.spdx.json register-image.json SHA256SUMS; do
	[ -s "$dir/$f" ] || fail "artifacts: no $f"
done
(cd "$dir" && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS does not check"
[ "$(grep -c . "$dir/SHA256SUMS")" -eq "$(($(find "$dir" -type f | wc -l) - 1))" ] || fail "SHA256SUMS misses files"
echo "publish dry run and artifacts: ok"
