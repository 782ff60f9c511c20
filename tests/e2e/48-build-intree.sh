#!/bin/sh
# In-tree sources (`source { dir = PATH }`) on a synthetic tree (host
# toolchain, nothing fetched): the build sees the directories' files (one in
# $SRC, one in $SRC/lib, exec bits kept, dot-files too, .git left out);
# fetch has nothing to do; a second run is a store hit, and so is a touch;
# editing one file rebuilds with a new key; a symlink in the directory, or a
# dir leading out of the tree, is refused at the source's line (exit 1); a
# file changed after the key was computed fails the build (exit 3). As
# nobody when root, and then once as root itself, which gives the same key.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/synth.sh"
synthinit intree
mkdir -p "$t/tree/src/app/.git" "$t/tree/src/app/doc" "$t/tree/src/lib"
echo 'data v1' >"$t/tree/src/app/data.txt"
printf '#!/bin/sh\necho run\n' >"$t/tree/src/app/run.sh"
chmod 755 "$t/tree/src/app/run.sh"
echo 'x=1' >"$t/tree/src/app/.config"
echo 'ref: refs/heads/main' >"$t/tree/src/app/.git/HEAD"
echo 'int f(void);' >"$t/tree/src/lib/lib.h"
# shellcheck disable=SC2016 # the $SRC and $DESTDIR references are for the recipe
cat >"$t/tree/recipes/app.recipe" <<'EOF'
name = app
version = 1.0
release = 1
desc = built from in-tree sources
license = MIT
toolchain = host

source {
	dir = src/app
}

source {
	dir  = src/lib
	dest = lib
}

install <<END
test -x "$SRC/run.sh" && test ! -x "$SRC/data.txt"
test -f "$SRC/.config" && test -d "$SRC/doc" && test ! -e "$SRC/.git"
test -f "$SRC/lib/lib.h"
mkdir -p "$DESTDIR/usr/share/app"
cp "$SRC/data.txt" "$DESTDIR/usr/share/app/data"
END
EOF
printf 'name = r\npackages = app\n' >"$t/tree/recipes/roles/r.role"
own

u fetch r >"$t/out0" 2>&1 || { cat "$t/out0"; fail "fetch of in-tree sources"; }
u fetch --offline r >"$t/out0b" 2>&1 || { cat "$t/out0b"; fail "offline fetch of in-tree sources"; }
echo "fetch: nothing to fetch, online or offline"

u build --packages r >"$t/out1" 2>&1 || { cat "$t/out1"; fail "first build"; }
grep -q '^undistro: built app in' "$t/out1" || { cat "$t/out1"; fail "app not built"; }
sum=$(echo 'data v1' | sha256sum | cut -d' ' -f1)
grep -q "f 0644 8 $sum usr/share/app/data" "$t"/store/pkg/*/manifest || fail "the build did not see src/app/data.txt"
set -- "$t"/store/pkg/*
[ $# = 1 ] || fail "$# store entries after the first build, want 1"
key1=${1##*/}
echo "first build: the build saw both directories"

touch "$t/tree/src/app/data.txt" "$t/tree/src/app/.git/HEAD"
echo 'ref: refs/heads/other' >"$t/tree/src/app/.git/HEAD"
u build --packages r >"$t/out2" 2>&1 || { cat "$t/out2"; fail "second build"; }
! grep -q building "$t/out2" || { cat "$t/out2"; fail "a touch or .git rebuilt app"; }
echo "second build, touch, .git: store hit"

echo 'data v2' >"$t/tree/src/app/data.txt"
u build --packages r >"$t/out3" 2>&1 || { cat "$t/out3"; fail "build after an edit"; }
grep -q '^undistro: building app' "$t/out3" || { cat "$t/out3"; fail "an edit did not rebuild app"; }
set -- "$t"/store/pkg/*
[ $# = 2 ] || fail "$# store entries after an edit, want 2 (a new key)"
key2=${1##*/}
[ "$key2" != "$key1" ] || key2=${2##*/}
grep -q "f 0644 8 $(echo 'data v2' | sha256sum | cut -d' ' -f1) usr/share/app/data" "$t/store/pkg/$key2/manifest" ||
	fail "the rebuild did not see the edit"
echo "edit: rebuilt with a new key"

# root itself copies the sources (the build still runs as nobody): same key
if [ -n "$as" ]; then
	env UNDISTRO_CACHE="$t/cache-root" UNDISTRO_STORE="$t/store-root" UNDISTRO_WORK="$t/work-root" HOME="$t" \
		"$UNDISTRO" -C "$t/tree" build --packages r >"$t/out3b" 2>&1 || { cat "$t/out3b"; fail "build as root"; }
	[ -d "$t/store-root/pkg/$key2" ] || fail "root's build has another key"
	cmp "$t/store-root/pkg/$key2/pkg.tar.zst" "$t/store/pkg/$key2/pkg.tar.zst" || fail "root's build differs"
	echo "as root: the same key and archive"
fi

ln -s /etc/passwd "$t/tree/src/app/doc/passwd"
own
st=0; u build --packages r >"$t/out4" 2>&1 || st=$?
[ "$st" = 1 ] || { cat "$t/out4"; fail "symlink: exit $st, want 1"; }
grep -q "recipes/app.recipe:9:2: $t/tree/src/app/doc/passwd is a symbolic link: in-tree sources hold regular files and directories only" "$t/out4" ||
	{ cat "$t/out4"; fail "symlink not named at the source's line"; }
rm "$t/tree/src/app/doc/passwd"
echo "symlink: refused at its source's line"

mkdir -p "$t/outside"
ln -s "$t/outside" "$t/tree/src/out"
sed -i 's|dir  = src/lib|dir  = src/out|' "$t/tree/recipes/app.recipe"
own
st=0; u check >"$t/out5" 2>&1 || st=$?
[ "$st" = 1 ] || { cat "$t/out5"; fail "dir out of the tree: exit $st, want 1"; }
grep -q "recipes/app.recipe:13:2: in-tree source directory $t/tree/src/out leads out of the tree" "$t/out5" ||
	{ cat "$t/out5"; fail "dir out of the tree not refused"; }
sed -i 's|dir  = src/out|dir  = src/lib|' "$t/tree/recipes/app.recipe"
echo "dir out of the tree: refused"

# a file edited after the key was computed (while a build dependency
# builds) and before the copy: the build fails, saying so
# shellcheck disable=SC2016 # $DESTDIR is the recipe's
printf 'name = slow\nversion = 1\nrelease = 1\ndesc = slow\nlicense = MIT\ntoolchain = host\ninstall <<END\nsleep 3\nmkdir -p "$DESTDIR/usr/share/slow"\nEND\n' \
	>"$t/tree/recipes/slow.recipe"
echo 'build-depends = slow' >>"$t/tree/recipes/app.recipe"
own
st=0
u build --packages r >"$t/out6" 2>&1 &
pid=$!
i=0
until grep -q '^undistro: building slow' "$t/out6"; do
	i=$((i + 1))
	[ "$i" -lt 300 ] || { cat "$t/out6"; fail "slow did not start"; }
	sleep 0.1
done
echo edited >>"$t/tree/src/app/data.txt"
wait "$pid" || st=$?
[ "$st" = 3 ] || { cat "$t/out6"; fail "changed while building: exit $st, want 3"; }
grep -q "recipes/app.recipe:9:2: in-tree source src/app changed while the package was being built" "$t/out6" ||
	{ cat "$t/out6"; fail "no message about the change"; }
echo "changed while building: the build fails"
