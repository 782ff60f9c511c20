#!/bin/sh
# Golden resolution cases. Each tests/golden/NAME/ holds a small recipe tree
# (recipes/, recipes/roles/), cmd (the undistro arguments, one line, split at
# blanks) and expected (stdout and stderr as the user sees them, then a line
# "exit N"). Every case runs in its own directory (so messages name
# recipes/...) with $UNDISTRO and, when built, with $UNDISTRO_ASAN, and must
# match expected exactly.
# UPDATE=1 rewrites expected from $UNDISTRO's output (review the diff);
# CASES=pattern runs only the cases whose names match.
set -u
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${UNDISTRO:-$top/undistro}
asan=${UNDISTRO_ASAN:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# run BINARY CASEDIR: print what the user sees and the exit status
run() {
	(
		prog=$1
		cd "$2" || exit 1
		read -r args <cmd
		set -f
		# shellcheck disable=SC2086 # cmd is split at blanks on purpose
		set -- $args
		"$prog" "$@" 2>&1
		echo "exit $?"
	) 2>&1
}

[ -x "$bin" ] || { echo "no undistro binary at $bin"; exit 1; }
for dir in "$top"/tests/golden/*/; do
	dir=${dir%/}
	name=${dir##*/}
	[ -f "$dir/cmd" ] || continue
	case $name in *${CASES:-}*) ;; *) continue ;; esac
	if [ "${UPDATE:-}" = 1 ]; then
		run "$bin" "$dir" >"$dir/expected"
		echo "updated $name"
		pass=$((pass + 1))
		continue
	fi
	for b in "$bin" "$asan"; do
		if [ -z "$b" ] || [ ! -x "$b" ]; then continue; fi
		run "$b" "$dir" >"$tmp/out"
		if diff -u "$dir/expected" "$tmp/out" >"$tmp/diff" 2>&1; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			echo "FAIL $name (${b##*/}):"
			cat "$tmp/diff"
		fi
	done
done
echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
