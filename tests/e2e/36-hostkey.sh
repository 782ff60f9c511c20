#!/bin/sh
# Store keys name the build machine's programs (builder/hostid.h), on a small
# synthetic tree: recipe a declares `tools = bison`, b declares nothing. With
# a dpkg database (DPKG_ADMINDIR: a copy of the real one) that gives bison
# another version, a is rebuilt and b is not; another make (in
# stage2/host-tools) rebuilds both; the real database again builds nothing.
# Without a dpkg database the programs are named by their sha256. The info
# of each entry says what went into its key. A no-op build runs no program
# (the identities come from STORE/host-tools), and a bad line of
# stage2/host-tools is reported at its line. Runs as nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/synth.sh"
command -v dpkg-query >/dev/null || { echo "skipped: no dpkg-query (not Debian)"; exit 0; }
synthinit hostkey
r=$t/tree/recipes
# shellcheck disable=SC2016 # $DESTDIR is the recipe's
recipe() { # name tools-line
	{
		printf 'name = %s\nversion = 1.0\nrelease = 1\ndesc = test package %s\nlicense = MIT\n' "$1" "$1"
		printf 'toolchain = host\n%s\n' "$2"
		printf 'install <<END\nmkdir -p "$DESTDIR/usr/share/%s"\necho %s >"$DESTDIR/usr/share/%s/id"\nEND\n' "$1" "$1" "$1"
	} >"$r/$1.recipe"
}
recipe a "tools = bison"
recipe b ""
own

# b NAME [env...]: build a and b, the output in $t/NAME
b() {
	n=$1
	shift
	# shellcheck disable=SC2086 # $as is empty or a command with arguments
	env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" "$@" \
		$as "$UNDISTRO" -C "$t/tree" build --packages a b >"$t/$n" 2>&1 || { cat "$t/$n"; fail "build $n"; }
}
# built NAME: the packages the build NAME built, sorted, on one line
built() { sed -n 's/^undistro: building //p' "$t/$1" | sort | tr '\n' ' '; }
# info PKG: the info file of PKG's newest store entry
info() { grep -l "^name $1\$" "$t"/store/pkg/*/info | xargs ls -t | head -1; }

b out1
[ "$(built out1)" = "a b " ] || fail "first build built '$(built out1)'"
ia=$(info a)
ib=$(info b)
grep -q '^tool bison bison:[a-z0-9]* [^ ]*$' "$ia" || { cat "$ia"; fail "a's info names no bison package"; }
! grep -q '^tool ' "$ib" || { cat "$ib"; fail "b's info names a tool it does not declare"; }
for f in "$ia" "$ib"; do
	grep -q '^host make make:[a-z0-9]* [^ ]*$' "$f" || { cat "$f"; fail "$f names no make package"; }
	grep -q '^host gcc/cc1 [^ ]* [^ ]*$' "$f" || { cat "$f"; fail "$f names no cc1 package"; }
done
echo "first build: info names host packages (make, gcc/cc1) and a's bison"

# the no-op: nothing built, no program run (only undistro itself is executed)
b out2
[ -z "$(built out2)" ] || fail "the no-op built '$(built out2)'"
if command -v strace >/dev/null; then
	# shellcheck disable=SC2086 # $as is empty or a command with arguments
	env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" \
		strace -f -o "$t/strace" -e trace=execve $as "$UNDISTRO" -C "$t/tree" build --packages a b \
		>"$t/out2s" 2>&1 || { cat "$t/out2s"; fail "no-op under strace"; }
	n=$(grep -c 'execve(' "$t/strace" | tr -d ' ')
	want=1
	[ -z "$as" ] || want=2   # setpriv, then undistro
	[ "$n" = "$want" ] || { grep execve "$t/strace"; fail "the no-op ran $n programs, want $want"; }
fi
echo "no-op: nothing built, no program run"

# bison of another version: a only
fakedpkg "$t/dpkg-bison" bison 9:9.9-fake
b out3 DPKG_ADMINDIR="$t/dpkg-bison"
[ "$(built out3)" = "a " ] || fail "another bison rebuilt '$(built out3)', want 'a '"
grep -q '^tool bison bison:[a-z0-9]* 9:9.9-fake$' "$(info a)" || fail "a's info does not name the other bison"
b out3b DPKG_ADMINDIR="$t/dpkg-bison"
[ -z "$(built out3b)" ] || fail "the same bison rebuilt '$(built out3b)'"
echo "another bison: a rebuilt, b not"

# make of another version: both
fakedpkg "$t/dpkg-make" make 9.9-fake
b out4 DPKG_ADMINDIR="$t/dpkg-make"
[ "$(built out4)" = "a b " ] || fail "another make rebuilt '$(built out4)', want 'a b '"
grep -q '^host make make:[a-z0-9]* 9.9-fake$' "$(info b)" || fail "b's info does not name the other make"
echo "another make: a and b rebuilt"

# back to the real database: the first entries are still there
b out5
[ -z "$(built out5)" ] || fail "the real database again rebuilt '$(built out5)'"
echo "the real database again: nothing rebuilt"

# no dpkg database: sha256 of the file that runs
mkdir -p "$t/no-dpkg"
own
b out6 DPKG_ADMINDIR="$t/no-dpkg"
[ "$(built out6)" = "a b " ] || fail "without dpkg rebuilt '$(built out6)', want 'a b '"
grep -qx "host make sha256:$(sha256sum "$(readlink -f /usr/bin/make)" | cut -c1-64)" "$(info b)" ||
	{ cat "$(info b)"; fail "without dpkg, b's info does not name make's sha256"; }
grep -qx "tool bison sha256:$(sha256sum "$(readlink -f /usr/bin/bison)" | cut -c1-64)" "$(info a)" ||
	fail "without dpkg, a's info does not name bison's sha256"
echo "without dpkg: named by sha256"

# a bad line of the list: its file, line and column, exit 4, nothing built
echo "target Bad" >>"$t/tree/stage2/host-tools"
st=0
# shellcheck disable=SC2086 # $as is empty or a command with arguments
env UNDISTRO_CACHE="$t/cache" UNDISTRO_STORE="$t/store" UNDISTRO_WORK="$t/work" HOME="$t" \
	$as "$UNDISTRO" -C "$t/tree" build --packages a b >"$t/out7" 2>&1 || st=$?
[ "$st" = 4 ] || { cat "$t/out7"; fail "a bad host-tools line: exit $st, want 4"; }
n=$(wc -l <"$t/tree/stage2/host-tools" | tr -d ' ')
grep -q "stage2/host-tools:$n:8: bad program name 'Bad'" "$t/out7" || { cat "$t/out7"; fail "no error at the line"; }
echo "bad list line: reported at its line"
