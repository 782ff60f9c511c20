#!/bin/sh
# The store is not trusted (store.h): a byte flipped in an archive (its
# mtime put back), two packages' archives swapped, a manifest edited or
# deleted: each entry is named in a warning and rebuilt, and the next run is
# a no-op. Damage the verification stamp cannot see (the stamp rewritten to
# match, like bit rot below the file system) is caught when the archive is
# read for a sysroot: the entry is named and taken out, the run fails with
# status 4, and the next run rebuilds it. Synthetic tree, host toolchain, no
# sources; as nobody when root.
set -eu
: "${UNDISTRO:?}" "${TOP:?}"
. "$TOP/tests/e2e/synth.sh"
synthinit damage
# shellcheck disable=SC2016 # the $DESTDIR references are for the recipe
recipe() { # name depends build-depends
	{
		printf 'name = %s\nversion = 1.0\nrelease = 1\ndesc = test package %s\n' "$1" "$1"
		printf 'license = MIT\ntoolchain = host\n'
		[ -z "$2" ] || printf 'depends = %s\n' "$2"
		[ -z "$3" ] || printf 'build-depends = %s\n' "$3"
		printf 'install <<END\nmkdir -p "$DESTDIR/usr/share/%s"\n' "$1"
		printf 'seq 1 20000 >"$DESTDIR/usr/share/%s/data"\necho %s >"$DESTDIR/usr/share/%s/id"\nEND\n' "$1" "$1" "$1"
	} >"$t/tree/recipes/$1.recipe"
}
recipe base "" ""
recipe lib "base" ""
recipe app "lib" ""
recipe tool "" "lib"
printf 'name = r\npackages = app, tool\n' >"$t/tree/recipes/roles/r.role"
own

# entry NAME: the store directory of package NAME
entry() { dirname "$(grep -l "^name $1\$" "$t"/store/pkg/*/info)"; }
# run N WANT...: a build that must rebuild exactly the packages WANT, with
# a damage warning naming each
run() {
	n=$1
	shift
	u build --packages r >"$t/out$n" 2>&1 || { cat "$t/out$n"; fail "run $n"; }
	got=$(sed -n 's/^undistro: building //p' "$t/out$n" | sort | tr '\n' ' ')
	[ "$got" = "$* " ] || { cat "$t/out$n"; fail "run $n rebuilt '$got', want '$* '"; }
	for p in "$@"; do
		grep -q "^undistro: warning: store entry [0-9a-f]\{64\} ($p) is damaged (.*): rebuilding\$" "$t/out$n" ||
			{ cat "$t/out$n"; fail "run $n: no damage warning naming $p"; }
	done
	u build --packages r >"$t/noop$n" 2>&1 || { cat "$t/noop$n"; fail "no-op after run $n"; }
	! grep -q 'building\|damaged' "$t/noop$n" || { cat "$t/noop$n"; fail "run after $n is not a no-op"; }
}

u build --packages r >"$t/out0" 2>&1 || { cat "$t/out0"; fail "first build"; }
[ "$(grep -c '^undistro: building' "$t/out0")" = 4 ] || { cat "$t/out0"; fail "expected 4 builds"; }
for d in "$t"/store/pkg/*; do
	grep -q '^archive-sha256 [0-9a-f]\{64\}$' "$d/info" || fail "$d/info records no archive-sha256"
	grep -q '^manifest-sha256 [0-9a-f]\{64\}$' "$d/info" || fail "$d/info records no manifest-sha256"
	[ -s "$d/verified" ] || fail "$d/verified missing"
	zstd -lv "$d/pkg.tar.zst" 2>&1 | grep -q 'Check: XXH64' || fail "$d/pkg.tar.zst has no zstd content checksum"
done
echo "entries record their hashes; archives carry zstd checksums"

# flip one byte in the middle of app's archive, mtime and size unchanged
a=$(entry app)/pkg.tar.zst
sz=$(stat -c %s "$a")
printf '\377' | dd of="$a" bs=1 seek=$((sz / 2)) conv=notrunc 2>/dev/null
touch -r "$(entry app)/info" "$a"
run 1 app
grep "pkg.tar.zst has sha256 [0-9a-f]\{64\}, the entry records" "$t/out1" || { cat "$t/out1"; fail "reason not shown"; }
echo "flipped byte: detected, app rebuilt, then a no-op"

# swap base's and lib's archives
b=$(entry base)/pkg.tar.zst l=$(entry lib)/pkg.tar.zst
mv "$b" "$t/x" && mv "$l" "$b" && mv "$t/x" "$l"
run 2 base lib
echo "swapped archives: both detected and rebuilt, then a no-op"

# edit lib's manifest
sed -i 's/^f 0644 [0-9]* /f 0755 1 /' "$(entry lib)/manifest"
run 3 lib
grep -q "(lib) is damaged (manifest has sha256" "$t/out3" || { cat "$t/out3"; fail "manifest edit: reason"; }
echo "edited manifest: detected, rebuilt, then a no-op"

# delete app's manifest
rm "$(entry app)/manifest"
run 4 app
grep -q "(app) is damaged (manifest: No such file or directory)" "$t/out4" || { cat "$t/out4"; fail "deleted manifest: reason"; }
echo "deleted manifest: detected, rebuilt, then a no-op"

# damage the stamp cannot see: lib's archive corrupted, then its stamp
# rewritten to match (as bit rot leaves it); tool's rebuild reads lib for its
# sysroot and must stop there, taking lib out of the store
sed -i 's/^desc = .*/desc = edited/' "$t/tree/recipes/tool.recipe"
own
d=$(entry lib)
sz=$(stat -c %s "$d/pkg.tar.zst")
printf '\377\377\377\377' | dd of="$d/pkg.tar.zst" bs=1 seek=$((sz / 2)) conv=notrunc 2>/dev/null
for f in pkg.tar.zst manifest info; do stat -c '%d %i %s %.9Y %.9Z' "$d/$f"; done >"$d/verified"
st=0; u build --packages r >"$t/out5" 2>&1 || st=$?
[ "$st" = 4 ] || { cat "$t/out5"; fail "reading a rotten archive: exit $st, want 4"; }
grep "^undistro: store entry ${d##*/} (lib) is damaged (.*): removed it; run the build again to rebuild it" "$t/out5" ||
	{ cat "$t/out5"; fail "rotten archive: no message naming lib"; }
[ ! -e "$d" ] || fail "the rotten entry is still in the store"
u build --packages r >"$t/out6" 2>&1 || { cat "$t/out6"; fail "rebuild after the rotten archive"; }
got=$(sed -n 's/^undistro: building //p' "$t/out6" | sort | tr '\n' ' ')
[ "$got" = "lib tool " ] || { cat "$t/out6"; fail "after the rotten archive rebuilt '$got', want 'lib tool '"; }
u build --packages r >"$t/out7" 2>&1 || fail "no-op after the rotten archive"
! grep -q 'building\|damaged' "$t/out7" || { cat "$t/out7"; fail "not a no-op after the rotten archive"; }
echo "rotten archive read for a sysroot: named, taken out, exit 4; rebuilt by the next run"
