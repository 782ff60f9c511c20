#!/bin/sh
# undistro gc on a small synthetic tree: roles r1 (app, which build-depends
# on lib, which depends on base) and r2 (other) are built, and a package no
# role installs (extra); then app's recipe changes (r1 built again) and r2
# is deleted. gc lists exactly the entries no longer needed (extra, the old
# app, other), an entry of another key version and what tmp/ holds, and
# keeps lib (build-only: a later build needs it in app's sysroot); the dry
# run changes nothing; --delete removes exactly those; building r1 again
# builds nothing. A tree error makes gc refuse. Runs as nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/synth.sh"
synthinit gc
r=$t/tree/recipes
# shellcheck disable=SC2016 # $DESTDIR is the recipe's
recipe() { # name extra-line
	{
		printf 'name = %s\nversion = 1.0\nrelease = 1\ndesc = test package %s\nlicense = MIT\n' "$1" "$1"
		printf 'toolchain = host\n%s\n' "$2"
		printf 'install <<END\nmkdir -p "$DESTDIR/usr/share/%s"\necho %s >"$DESTDIR/usr/share/%s/id"\nEND\n' "$1" "$1" "$1"
	} >"$r/$1.recipe"
}
recipe base ""
recipe lib "depends = base"
recipe app "build-depends = lib"
recipe other "depends = base"
recipe extra ""
printf 'name = r1\npackages = app\n' >"$r/roles/r1.role"
printf 'name = r2\npackages = other\n' >"$r/roles/r2.role"
own

# key NAME: the key of NAME's newest store entry
key() { grep -l "^name $1\$" "$t"/store/pkg/*/info | xargs ls -t | head -1 | xargs dirname | xargs basename; }
# snap: every path under the store with inode, size, mtime and ctime; the
# host-tools cache may be refreshed (the other target's compilers)
snap() { find "$t/store" ! -path "$t/store/host-tools*" -printf '%p %i %s %T@ %C@\n' | sort; }
# listed NAME: the keys gc's output NAME lists, sorted
listed() { grep -E '^([0-9a-f]{64}|tmp/[^ ]+) ' "$t/$1" | cut -d' ' -f1 | sort; }

for what in r1 r2 extra; do
	u build --packages "$what" >"$t/b-$what" 2>&1 || { cat "$t/b-$what"; fail "build $what"; }
done
[ "$(find "$t/store/pkg" -mindepth 1 -maxdepth 1 | wc -l)" = 5 ] || fail "expected 5 store entries"
u gc >"$t/gc0" 2>&1 || { cat "$t/gc0"; fail "gc"; }
[ "$(listed gc0)" = "$(key extra)" ] || { cat "$t/gc0"; fail "gc lists more than extra"; }
grep -q "^$(key extra) extra [0-9.]* [KM]*i*B$" "$t/gc0" || { cat "$t/gc0"; fail "no 'KEY NAME SIZE' line for extra"; }
echo "built r1, r2, extra: gc lists extra only"

oldapp=$(key app)
sed -i 's/^desc = .*/desc = edited/' "$r/app.recipe"
u build --packages r1 >"$t/b-r1b" 2>&1 || { cat "$t/b-r1b"; fail "rebuild of r1"; }
[ "$(key app)" != "$oldapp" ] || fail "app's edit gave no new entry"
rm "$r/roles/r2.role"
keep="$(key base) $(key lib) $(key app)"
# an entry of another key version (another undistro): never needed by this one
fake=$(printf 'fake' | sha256sum | cut -c1-64)
mkdir -p "$t/store/pkg/$fake" "$t/store/tmp/killed.XXXXXX"
printf 'name base\nkey %s\n' "$fake" >"$t/store/pkg/$fake/info"
echo partial >"$t/store/tmp/killed.XXXXXX/pkg.tar.zst"
own
want=$(printf '%s\n' "$(key extra)" "$oldapp" "$(key other)" "$fake" tmp/killed.XXXXXX | sort)

snap >"$t/snap1"
u gc --dry-run >"$t/gc1" 2>&1 || { cat "$t/gc1"; fail "gc --dry-run"; }
u gc >"$t/gc1b" 2>&1 || { cat "$t/gc1b"; fail "gc"; }
snap >"$t/snap2"
cmp -s "$t/snap1" "$t/snap2" || { diff "$t/snap1" "$t/snap2"; fail "the dry run changed the store"; }
for f in gc1 gc1b; do
	[ "$(listed "$f")" = "$want" ] || { cat "$t/$f"; echo "want: $want"; fail "$f lists other entries"; }
	grep -q '^total: 5 entries, ' "$t/$f" || { cat "$t/$f"; fail "$f: no total"; }
	grep -q 'dry run: nothing removed' "$t/$f" || fail "$f does not say it is a dry run"
done
for k in $keep; do grep -q "^$k " "$t/gc1" && fail "gc lists $k, which r1 needs"; done
echo "after an edit of app and without r2: exactly the old app, other, extra, an old-version entry and tmp/"

u gc --delete >"$t/gc2" 2>&1 || { cat "$t/gc2"; fail "gc --delete"; }
[ "$(listed gc2)" = "$want" ] || { cat "$t/gc2"; fail "gc --delete listed other entries"; }
for k in $want; do
	case $k in tmp/*) [ ! -e "$t/store/$k" ] || fail "$k is still there" ;; *) [ ! -e "$t/store/pkg/$k" ] || fail "$k is still there" ;; esac
done
for k in $keep; do [ -d "$t/store/pkg/$k" ] || fail "$k was removed"; done
[ -z "$(ls -A "$t/store/tmp")" ] || { ls -la "$t/store/tmp"; fail "tmp/ is not empty"; }
u gc >"$t/gc3" 2>&1 || fail "gc after --delete"
grep -q '^total: 0 entries, 0 B ' "$t/gc3" || { cat "$t/gc3"; fail "gc after --delete still lists entries"; }
u build --packages r1 >"$t/b-r1c" 2>&1 || { cat "$t/b-r1c"; fail "build of r1 after gc"; }
! grep -q building "$t/b-r1c" || { cat "$t/b-r1c"; fail "r1 was not a no-op after gc"; }
echo "--delete: exactly those removed, r1 builds nothing"

# refusals: a tree error, usage
printf 'name = r3\npackages = nosuch\n' >"$r/roles/r3.role"
own
st=0
u gc --delete >"$t/gc4" 2>&1 || st=$?
[ "$st" = 1 ] || { cat "$t/gc4"; fail "gc on a broken tree: exit $st, want 1"; }
for k in $keep; do [ -d "$t/store/pkg/$k" ] || fail "gc on a broken tree removed $k"; done
rm "$r/roles/r3.role"
st=0
u gc --delete --dry-run >"$t/gc5" 2>&1 || st=$?
[ "$st" = 2 ] || { cat "$t/gc5"; fail "--delete --dry-run: exit $st, want 2"; }
echo "a broken tree: exit 1, nothing removed; --delete --dry-run: exit 2"
