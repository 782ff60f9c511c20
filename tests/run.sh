#!/bin/sh
# Run every test: cmocka units, the units again under ASan/UBSan where built,
# golden resolution cases, then the shell end-to-end tests in tests/e2e/
# (sorted by name; NN- prefixes give the order). Exit non-zero if any fails.
# TESTS=pattern limits the shell tests to names matching the pattern.
# Tests marked "# e2e: images" build and boot the real roles (a cold build of
# stage2, packages and kernel); QUICK=1 (make check-quick) skips them.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
export UNDISTRO="$top/undistro" UNDISTRO_ASAN="$top/undistro-asan" TOP="$top"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# A remote package store of the caller's (docs/remote.md) is read by the
# tests' build of the real roles only (40-build-base.sh, as E2E_REMOTE and
# E2E_TRUSTED_KEYS); every other test counts what it builds and sets up its
# own servers, and no test pushes.
export E2E_REMOTE="${UNDISTRO_REMOTE:-}" E2E_TRUSTED_KEYS="${UNDISTRO_TRUSTED_KEYS:-}"
unset UNDISTRO_REMOTE UNDISTRO_PUSH UNDISTRO_SIGNING_KEY UNDISTRO_TRUSTED_KEYS
fail=0
pass=0
for t in "$top"/o/tests/test_* "$top"/o-asan/tests/test_*; do
	[ -x "$t" ] || continue
	case $t in *.log) continue ;; esac
	name=${t##*/}
	case $t in */o-asan/*) name=$name-asan ;; esac
	if "$t" >"$top/o/tests/$name.log" 2>&1; then
		pass=$((pass + 1)); echo "PASS unit $name"
	else
		fail=$((fail + 1)); echo "FAIL unit $name (log: o/tests/$name.log)"; tail -20 "$top/o/tests/$name.log"
	fi
done
for t in "$top"/tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	name=${t##*/}
	case $name in lib.sh | synth.sh) continue ;; esac   # sourced by the tests, not tests
	case "$name" in *${TESTS:-}*) ;; *) continue ;; esac
	if [ -n "${QUICK:-}" ] && grep -q '^# e2e: images' "$t"; then
		echo "---- e2e $name: skipped (QUICK=1, make check-quick)"
		continue
	fi
	log="$top/o/tests/${name%.sh}.log"
	mkdir -p "$top/o/tests"
	start=$(date +%s)
	if sh "$t" >"$log" 2>&1; then
		pass=$((pass + 1)); echo "PASS e2e $name ($(( $(date +%s) - start ))s)"
	else
		fail=$((fail + 1)); echo "FAIL e2e $name (log: o/tests/${name%.sh}.log)"; tail -30 "$log"
	fi
done
echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
