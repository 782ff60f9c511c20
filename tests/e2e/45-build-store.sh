#!/bin/sh
# The build stage on a small synthetic tree (host toolchain, no sources, so it
# runs in seconds): the sandbox has no network and cannot write outside its
# directories; a second run rebuilds nothing; editing one recipe rebuilds it
# and its dependents only; SIGKILL at random moments never leaves a partial
# store entry and the next run completes. Runs as nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/synth.sh"
synthinit build
# shellcheck disable=SC2016 # the $DESTDIR references are for the recipe
recipe() { # name deps extra-install-line
	{
		printf 'name = %s\nversion = 1.0\nrelease = 1\ndesc = test package %s\n' "$1" "$1"
		printf 'license = MIT\ntoolchain = host\n'
		[ -z "$2" ] || printf 'depends = %s\n' "$2"
		printf 'install <<END\nmkdir -p "$DESTDIR/usr/share/%s"\necho %s >"$DESTDIR/usr/share/%s/id"\n%s\nEND\n' \
			"$1" "$1" "$1" "$3"
	} >"$t/tree/recipes/$1.recipe"
}
recipe base "" ""
recipe lib "base" ""
recipe app "lib" "sleep 1"
recipe other "base" ""
printf 'name = r\npackages = app, other\n' >"$t/tree/recipes/roles/r.role"
own

u build --packages r >"$t/out1" 2>&1 || { cat "$t/out1"; fail "first build"; }
[ "$(grep -c '^undistro: built [a-z]* in' "$t/out1")" = 4 ] || { cat "$t/out1"; fail "expected 4 builds"; }
for d in "$t"/store/pkg/*; do
	for f in pkg.tar.zst manifest info; do [ -s "$d/$f" ] || fail "$d/$f missing"; done
done
grep -q 'f 0644 4 [0-9a-f]\{64\} usr/share/app/id' "$t"/store/pkg/*/manifest || fail "manifest line"
echo "first build: 4 packages"

u build --packages r >"$t/out2" 2>&1 || fail "no-op build"
if grep -q 'building' "$t/out2"; then cat "$t/out2"; fail "second run rebuilt something"; fi
echo "no-op rebuild: nothing built"

# store entries do not depend on where the tree is or on the umask: a copy
# of the tree elsewhere, built with umask 002 into another store, gives the
# same entries byte for byte
cp -r "$t/tree" "$t/tree2"
own
# shellcheck disable=SC2086 # $as is empty or a command with arguments
(umask 002 && env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store2" UNDISTRO_WORK="$t/work2" HOME="$t" \
	$as "$UNDISTRO" -C "$t/tree2" build --packages r) >"$t/out2b" 2>&1 || { cat "$t/out2b"; fail "build of the copy"; }
n=0
for d in "$t"/store/pkg/*; do
	for f in pkg.tar.zst manifest info; do
		cmp "$d/$f" "$t/store2/pkg/${d##*/}/$f" || fail "store entry ${d##*/}/$f differs for a moved tree and umask 002"
	done
	n=$((n + 1))
done
echo "moved tree, umask 002: $n identical store entries"
rm -rf "$t/tree2" "$t/store2" "$t/work2"

# editing lib rebuilds lib and app, not base or other
sed -i 's/^desc = .*/desc = edited/' "$t/tree/recipes/lib.recipe"
u build --packages r >"$t/out3" 2>&1 || { cat "$t/out3"; fail "rebuild"; }
got=$(sed -n 's/^undistro: building //p' "$t/out3" | sort | tr '\n' ' ')
[ "$got" = "app lib " ] || fail "edit of lib rebuilt '$got', want 'app lib '"
echo "edit rebuilds: $got"

# the build machine's compiler is part of every key (builder/hostid.h): with
# a dpkg database (DPKG_ADMINDIR) that gives its package another version,
# everything is rebuilt once; the identities come from STORE/host-tools then
cc=$(sed -n 's/^host gcc \([^: ]*\):.*/\1/p' "$t"/store/pkg/*/info | head -1)
[ -n "$cc" ] || fail "no 'host gcc PACKAGE' line in the info of a store entry"
fakedpkg "$t/dpkg" "$cc" 99.1-fake
DPKG_ADMINDIR=$t/dpkg u build --packages r >"$t/out3b" 2>&1 || { cat "$t/out3b"; fail "build with another gcc"; }
[ "$(grep -c '^undistro: building' "$t/out3b")" = 4 ] || { cat "$t/out3b"; fail "another gcc did not rebuild all 4"; }
DPKG_ADMINDIR=$t/dpkg u build --packages r >"$t/out3c" 2>&1 || fail "no-op with another gcc"
! grep -q building "$t/out3c" || fail "the same gcc rebuilt something"
grep -q "^id gcc $cc:[a-z0-9]* 99.1-fake$" "$t/store/host-tools" || fail "STORE/host-tools lacks the other gcc"
u build --packages r >"$t/out3d" 2>&1 || fail "back to the real gcc"
! grep -q building "$t/out3d" || fail "the real gcc's packages were rebuilt"
echo "toolchain identity: another gcc (package version) rebuilds all"

# the sandbox: no network, nothing writable outside its own directories
recipe net "" "python3 -c 'import socket; socket.create_connection((\"10.0.2.2\", 80), 3)'"
recipe escape "" "echo x >$t/escaped"
printf 'name = n\npackages = net\n' >"$t/tree/recipes/roles/n.role"
printf 'name = e\npackages = escape\n' >"$t/tree/recipes/roles/e.role"
own
st=0; u build --packages n >"$t/out4" 2>&1 || st=$?
[ "$st" = 3 ] || { cat "$t/out4"; fail "network build: exit $st, want 3"; }
grep -q 'Network is unreachable' "$t/out4" || { cat "$t/out4"; fail "no network error shown"; }
grep -q 'undistro: full log: ' "$t/out4" || fail "no log path"
echo "network: refused"
st=0; u build --packages e >"$t/out5" 2>&1 || st=$?
{ [ "$st" = 3 ] && [ ! -e "$t/escaped" ]; } || { cat "$t/out5"; fail "write outside: exit $st"; }
grep -q "$t/escaped" "$t/out5" || { cat "$t/out5"; fail "no message about the write"; }
echo "write outside: refused"

# SIGKILL at random moments: never a partial entry; the next run completes
rm -rf "$t/store"
i=0
while [ $i -lt 8 ]; do
	sed -i "s/^release = .*/release = $((i + 2))/" "$t/tree/recipes/base.recipe"
	u build --packages r >/dev/null 2>&1 &
	pid=$!
	sleep "$(( i % 3 )).$(( (i * 37) % 10 ))"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for d in "$t"/store/pkg/*; do
		[ -d "$d" ] || continue
		for f in pkg.tar.zst manifest info; do [ -s "$d/$f" ] || fail "partial entry $d after kill $i"; done
	done
	i=$((i + 1))
done
u build --packages r >"$t/out6" 2>&1 || { cat "$t/out6"; fail "run after kills"; }
u build --packages r >"$t/out7" 2>&1
if grep -q building "$t/out7"; then fail "not complete after kills"; fi
echo "8 kills: store consistent, next run completed"

# `tools`: a build-machine program a recipe needs is looked up before the
# build starts; a missing one is named at its recipe line (exit 4)
recipe tl "" ""
sed -i 's/^toolchain = host$/toolchain = host\ntools = sh, no-such-tool-here/' "$t/tree/recipes/tl.recipe"
own
st=0; u build --packages tl >"$t/out8" 2>&1 || st=$?
[ "$st" = 4 ] || { cat "$t/out8"; fail "missing tool: exit $st, want 4"; }
grep -q "tl.recipe:7:.*'no-such-tool-here', which is not in /usr/bin:/bin" "$t/out8" || { cat "$t/out8"; fail "missing tool not named at its line"; }
grep -q "'sh'" "$t/out8" && fail "sh reported missing"
[ ! -e "$t/work/$(uname -m)/tl" ] || fail "the build started although a tool is missing"
echo "tools: a missing one is named at its recipe line before building"
