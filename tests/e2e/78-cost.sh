#!/bin/sh
# e2e: images (needs base and web built by 40-build-base.sh; make check-quick skips it)
# undistro cost on the real images, as an unprivileged user: base and web
# for x86_64 and base for aarch64 are measured (three boots each, under TCG)
# against the budgets their role files set, so a commit that makes them
# dearer fails here; cost.json holds
# every figure as a sane number (checked against the files where they say
# the same thing, not against fixed results). A copy of the tree whose base
# budget is too small fails with exit 5 naming the role file and the budget's
# line; a guest that cannot be ready in time fails with exit 4 and the
# console's last lines; a role without a built image names the build command.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/lib.sh"
needbuild base
needbuild web
[ -s "$E2E/out-aarch64/base/disk.raw" ] || fail "no out-aarch64/base/disk.raw: 42-build-aarch64.sh must pass first"
t=$(mktemp -d /tmp/e2e-cost.XXXXXX)
trap 'rm -rf "$t"' EXIT
chmod 755 "$t"
[ -z "$asuser" ] || chown 65534:65534 "$t"

# figure FILE NAME: a top-level number of cost.json
figure() { jq -e --arg k "$2" '.[$k] | numbers' "$1"; }

for run in base web aarch64/base; do
	role=${run#*/} arch=x86_64 o=$E2E/out/$run
	case $run in aarch64/*) arch=aarch64 o=$E2E/out-aarch64/$role ;; esac
	start=$(date +%s)
	ud cost --arch "$arch" -o "$o" "$role" >"$t/$role.table" 2>"$t/$role.err" ||
		{ cat "$t/$role.table" "$t/$role.err"; fail "undistro cost $run (over its budget: exit 5)"; }
	echo "cost $run: $(($(date +%s) - start)) s"
	cat "$t/$role.table"
	j=$o/cost.json
	for k in image_bytes image_zstd_bytes rootfs_bytes boot_to_ready_s idle_memory_kib idle_processes \
		idle_userspace_processes idle_context_switches_per_s boot_read_bytes; do
		figure "$j" "$k" >/dev/null || fail "$role: cost.json has no number $k"
		grep -q "^$k " "$t/$role.table" || fail "$role: the table has no $k"
	done
	# what the files say
	[ "$(figure "$j" image_bytes)" = "$(stat -c %s "$o/disk.raw")" ] || fail "$role: image_bytes is not disk.raw's size"
	z=$(zstd -19 -q -c "$o/disk.raw" | wc -c)
	jq -e --argjson z "$z" '.image_zstd_bytes > 0 and .image_zstd_bytes < .image_bytes and
		(.image_zstd_bytes - $z | if . < 0 then -. else . end) < $z / 20' "$j" >/dev/null ||
		fail "$role: image_zstd_bytes $(figure "$j" image_zstd_bytes) is not about zstd -19's $z"
	rb=$(awk '$1 == "f" { s += $4 } END { print s }' "$o/manifest")
	[ "$(figure "$j" rootfs_bytes)" = "$rb" ] || fail "$role: rootfs_bytes is not the manifest's $rb"
	[ "$(jq -r .image_sha256 "$j")" = "$(sha256sum "$o/disk.raw" | cut -c1-64)" ] || fail "$role: image_sha256"
	# what the guest says: plausible for a small machine with 1024 MiB
	jq -e '.runs == 3 and (.per_run | length) == 3 and
		.boot_to_ready_s > 0.5 and .boot_to_ready_s < 300 and
		.idle_memory_kib > 1024 and .idle_memory_kib < .median.mem_total_kib and
		.median.mem_total_kib > 900000 and .median.mem_total_kib <= 1048576 and
		.idle_userspace_processes >= 3 and .idle_processes > .idle_userspace_processes and
		all(.per_run[]; .idle_processes == .idle_userspace_processes + .idle_kernel_threads) and
		.idle_context_switches_per_s >= 0 and .median.idle_s >= 10 and
		.boot_read_bytes > 0 and .boot_read_bytes < .image_bytes and
		.settings.memory_mib == 1024 and .settings.cpus == 1 and .settings.accel == "tcg"' "$j" >/dev/null ||
		{ cat "$j"; fail "$role: implausible figures"; }
	# each median lies within its spread, and is one of the three runs (odd count)
	jq -e '.median | to_entries | all(.key as $k | .value as $m |
		($m >= $ARGS.named.j.spread[$k][0] and $m <= $ARGS.named.j.spread[$k][1]) and
		([$ARGS.named.j.per_run[][$k]] | index($m)) != null)' --argjson j "$(cat "$j")" "$j" >/dev/null ||
		{ cat "$j"; fail "$role: a median outside its runs"; }
done
# web runs one more service than base
jq -e -n --slurpfile b "$E2E/out/base/cost.json" --slurpfile w "$E2E/out/web/cost.json" \
	'$w[0].idle_userspace_processes == $b[0].idle_userspace_processes + 1' >/dev/null ||
	fail "web does not have one user-space process more than base (httpd)"

# a budget too small, in a copy of the tree (same recipes: the built image is
# the same role): exit 5 at the budget's line; cost.json and the table still
# written, beside links to base's image
mkdir -p "$t/tree" "$t/out"
cp -r "$TOP/recipes" "$TOP/stage2" "$TOP/overlays" "$t/tree/"
line=$(grep -n '^[[:space:]]*idle_userspace_processes[[:space:]]*=' "$t/tree/recipes/roles/base.role" | cut -d: -f1)
[ -n "$line" ] || fail "base.role has no idle_userspace_processes budget"
sed -i "${line}s/=.*/= 1/" "$t/tree/recipes/roles/base.role"
for f in disk.raw manifest; do ln -s "$E2E/out/base/$f" "$t/out/$f"; done
[ -z "$asuser" ] || chown -R 65534:65534 "$t/tree" "$t/out"
rc=0
as env HOME="$E2E" "$UNDISTRO" -C "$t/tree" cost --runs 1 -o "$t/out" base >"$t/tight.table" 2>"$t/tight.err" || rc=$?
cat "$t/tight.table" "$t/tight.err"
[ "$rc" -eq 5 ] || fail "a budget exceeded exited $rc, not 5"
grep -Eq "^undistro: $t/tree/recipes/roles/base\.role:$line:2: idle_userspace_processes [0-9]+ exceeds the budget 1\$" \
	"$t/tight.err" || fail "the error does not name base.role:$line:2 with the figure and the limit"
grep -q '^idle_userspace_processes .*  1  EXCEEDED$' "$t/tight.table" || fail "the table does not mark the figure"
jq -e '.runs == 1' "$t/out/cost.json" >/dev/null || fail "no cost.json beside the links"

# a guest that cannot be ready in 2 s: exit 4 and the console's last lines
rc=0
as env HOME="$E2E" "$UNDISTRO" -C "$TOP" cost --runs 1 --timeout 2 -o "$t/out" base >"$t/slow.out" 2>&1 || rc=$?
cat "$t/slow.out"
[ "$rc" -eq 4 ] || fail "a guest that was not ready in time exited $rc, not 4"
grep -q "no line 'undistro: role base ready' on the console within 2 s" "$t/slow.out" || fail "no timeout message"
grep -q "the console's last lines:" "$t/slow.out" || fail "the console's last lines are not shown"

# no built image: the build command to run
mkdir "$t/empty"
rc=0
"$UNDISTRO" -C "$TOP" cost -o "$t/empty" base >"$t/none.out" 2>&1 || rc=$?
cat "$t/none.out"
[ "$rc" -eq 1 ] || fail "no built image: exit $rc, not 1"
grep -q "build it first with \`undistro build --arch $(uname -m) -o $t/empty base\`" "$t/none.out" ||
	fail "no built image: the build command is not named"
echo "cost: ok"
