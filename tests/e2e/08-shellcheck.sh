#!/bin/sh
# Every shell file of the tree passes shellcheck (all severities): CI and
# install scripts, stage2's wrapper and audit, the build systems' default
# steps (stage2/build-system), benchmarks, the tests, and the init
# package's boot scripts that run in every image (recipes/init/src).
# A file counts as shell by its #! line or its .sh name, so a new script is
# covered without being listed here.
set -eu
: "${TOP:?}"
cd "$TOP"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
for f in .ci/run ci/* stage2/* stage2/build-system/* bench/* tests/run.sh tests/e2e/* recipes/init/src/*; do
	[ -f "$f" ] || continue
	case $f in
	*.sh) ;;
	recipes/init/src/profile) ;;   # sourced by the login shell: no #! line
	*) head -n 1 "$f" | grep -q '^#!.*sh' || continue ;;
	esac
	echo "$f"
done >"$list"
n=$(wc -l <"$list")
[ "$n" -ge 30 ] || { cat "$list"; echo "FAIL: only $n shell files found"; exit 1; }
grep -qx recipes/init/src/rc "$list" || { echo "FAIL: the init scripts are not checked"; exit 1; }
grep -qx stage2/build-system/cmake "$list" || { echo "FAIL: stage2/build-system is not checked"; exit 1; }
# -x -P: follow the files the tests source (lib.sh, synth.sh)
# shellcheck disable=SC2046 # one file name per line, none with blanks
shellcheck -x -P tests/e2e $(cat "$list")
echo "shellcheck: $n files clean"
